"""One term per concept (docs/glossary.md): the variants the course does not use are flagged.

Scanned: the markdown (and the Chinese in code comments/strings) of chapters/*.ipynb and
chapters/exercises/*.ipynb, README.md and docs/**/*.md. A reference article quoted inside 「」 keeps its own
words; the mapping table of docs/glossary.md lists the variants on purpose and is exempt.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"

CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
# (banned pattern, what to write instead)
BANNED = [
    (r"记忆单元|记忆细胞|单元状态|门状态", "细胞状态 (cell state)"),
    (r"隐藏层?状态", "隐状态 (hidden state)"),
    (r"记号", "词元 (token); for notation write 记法"),
    (r"种子文章|种子\s*0\d\d|种子(?:的说法|说法|里的|说|的写法)", "参考文章 000–004 (种子 only means a random seed)"),
    (r"\b[Ss]eed (?:documents?|articles?)\b|\b[Ss]eeds?\s+00\d\b", "reference article(s) 000–004"),
    # "epoch" in Chinese prose: write 轮 (the first use may add the English: 轮（epoch）)
    (rf"(?<!轮（)(?<!轮次（)(?<!轮 \()(?<!轮\()(?:(?<={CJK})|(?<={CJK} ))epochs?\b|\bepochs?(?=\s?{CJK})(?![）)])",
     "轮 (epoch)"),
]
QUOTE = re.compile(r"「[^「」]*」")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def documents():
    """(label, text) for every piece of learner- or teacher-facing prose."""
    docs = []
    notebooks = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "chapters" / "exercises").glob("*.ipynb"))
    for path in notebooks:
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":  # only what a reader sees as language: comments and strings
                source = "\n".join(re.findall(r"#.*|\"[^\"\n]*\"|'[^'\n]*'", source))
            docs.append((f"{path.relative_to(ROOT)} cell {index}", source))
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if "_build" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path == GLOSSARY:  # the mapping table names the variants on purpose
            text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))
        docs.append((str(path.relative_to(ROOT)), text))
    return docs


def violations(text: str):
    """(variant found, suggestion, context) for each banned variant outside 「」 quotes."""
    found = []
    unquoted = QUOTE.sub(lambda m: " " * len(m.group()), text)
    for pattern, suggestion in BANNED:
        # code may say `epochs=3`; Chinese variants are flagged everywhere outside quotes
        scope = CODE.sub(lambda m: " " * len(m.group()), unquoted) if "epoch" in pattern else unquoted
        for match in re.finditer(pattern, scope):
            context = text[max(0, match.start() - 15):match.end() + 15].replace("\n", " ")
            found.append((match.group(), suggestion, context))
    return found


@pytest.mark.parametrize("text, expected", [
    ("LSTM 的记忆单元负责存储", ["记忆单元"]),
    ("参考文章 000 说「记忆单元负责存储」", []),
    ("初始化隐藏状态 h0", ["隐藏状态"]),
    ("隐状态与隐藏层（hidden layer）", []),
    ("种子文章 001 写作", ["种子文章"]),
    ("种子 004 的 Keras 例子", ["种子 004"]),
    ("检验种子的说法", ["种子的说法"]),
    ("两个随机种子；种子 0 与种子 1", []),
    ("每个 epoch 的时间", ["epoch"]),
    ("训练 10 轮（epoch），批大小 10", []),
    ("`--epochs 5` 训练", []),
    ("the five seed articles; seed 004's FAQ", ["seed articles", "seed 004"]),
    ("trained for 3 epochs with seeds 0 and 1", []),
    ("第一个记号是情感控制符", ["记号"]),
])
def test_the_checker_flags_exactly_the_variants(text, expected):
    assert [variant for variant, _, _ in violations(text)] == expected


def test_one_term_per_concept():
    problems = [f"{label}: «{variant}» → {suggestion}   …{context}…"
                for label, text in documents() for variant, suggestion, context in violations(text)]
    assert not problems, f"{len(problems)} term variants (see docs/glossary.md):\n" + "\n".join(problems)


def test_glossary_maps_every_banned_variant():
    table = GLOSSARY.read_text(encoding="utf-8")
    for variant in ["记忆单元", "记忆细胞", "单元状态", "门状态", "隐藏状态", "记号", "epoch", "种子文章"]:
        assert variant in table, f"docs/glossary.md does not map {variant}"
