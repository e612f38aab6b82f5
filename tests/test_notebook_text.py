"""Markdown hygiene of every notebook under chapters/ (lessons and exercises).

Two classes of defects that render wrongly but are easy to miss by eye:

* **Eaten LaTeX escapes.** A formula written in a non-raw Python string loses its backslash:
  ``"\\rho"`` becomes a carriage return + ``ho``, ``"\\tau"`` a tab + ``au``, ``"\\nabla"`` a newline +
  ``abla``, ``"\\frac"`` a form feed + ``rac``, ``"\\beta"`` a backspace + ``eta``. We flag every control
  character except the newline, and, inside math, every bare word that is a LaTeX command with its first
  letter eaten (``$ho = 1$``).
* **Bold that CommonMark will not render.** ``**`` only opens bold if it is *left-flanking* and only closes
  it if it is *right-flanking*. Next to full-width punctuation this fails: ``**数据泄漏（data leakage）**教训``
  shows literal asterisks, because the closer is preceded by punctuation and followed by a letter. Put the
  punctuation outside: ``**数据泄漏**（data leakage）教训``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").rglob("*.ipynb"))

# LaTeX commands whose first letter is a Python string escape (\a \b \f \n \r \t \v). What is left after the
# escape is eaten; single letters (o, u, f, m) are left out because they are ordinary math variables.
_ESCAPED_COMMANDS = (
    "alpha", "approx", "ast",
    "beta", "bar", "begin", "big", "bigl", "bigr", "Big", "boldsymbol", "bmatrix", "bot",
    "frac", "forall",
    "nabla", "neq", "not", "nolimits", "newline", "nu",
    "rho", "right", "rightarrow", "rangle", "rceil", "rfloor",
    "tau", "theta", "times", "text", "textbf", "tanh", "tilde", "top", "to", "triangleq",
    "vec", "varepsilon", "varphi", "vert", "vdots",
)
EATEN = sorted({c[1:] for c in _ESCAPED_COMMANDS if len(c) > 2}, key=len, reverse=True)
_EATEN_RE = re.compile(r"(?<![\\A-Za-z])(" + "|".join(EATEN) + r")(?![A-Za-z])")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_FENCE_RE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.S)
_MATH_RE = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") or (ch.isascii() and not ch.isalnum() and not ch.isspace())


def _is_letter(ch: str) -> bool:
    return ch.isalnum()


def _without_code(text: str) -> str:
    text = _FENCE_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return _CODE_SPAN_RE.sub("X", text)


def math_spans(text: str) -> list[str]:
    """The contents of $$…$$ and $…$ (code removed first)."""
    return [a or b for a, b in _MATH_RE.findall(_without_code(text))]


def bold_problems(text: str) -> list[str]:
    """`**` delimiters CommonMark will not treat as opener/closer next to (full-width) punctuation."""
    problems = []
    # math and code become a letter: their insides never hold ** and they read as ordinary content
    plain = _MATH_RE.sub("X", _without_code(text))
    for paragraph in re.split(r"\n\s*\n", plain):
        marks = [m.start() for m in re.finditer(r"(?<!\*)\*\*(?!\*)", paragraph)]
        for k, pos in enumerate(marks):
            before = paragraph[pos - 1] if pos > 0 else " "
            after = paragraph[pos + 2] if pos + 2 < len(paragraph) else " "
            snippet = paragraph[max(0, pos - 12):pos + 14].replace("\n", " ")
            if k % 2 == 0 and _is_letter(before) and _is_punct(after):
                problems.append(f"bold opener after a letter and before punctuation: …{snippet}…")
            if k % 2 == 1 and _is_punct(before) and _is_letter(after):
                problems.append(f"bold closer after punctuation and before a letter: …{snippet}…")
    return problems


def text_problems(text: str) -> list[str]:
    """Every problem found in one markdown string (empty list = clean)."""
    problems = []
    for m in _CONTROL_RE.finditer(text):
        context = text[max(0, m.start() - 15):m.end() + 10]
        problems.append(f"control character {m.group(0)!r} (eaten LaTeX escape?) in {context!r}")
    for span in math_spans(text):
        for m in _EATEN_RE.finditer(span):
            problems.append(f"LaTeX command with its backslash eaten: {m.group(1)!r} in ${span.strip()[:60]}$")
    return problems + bold_problems(text)


def markdown_cells(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            source = cell["source"]
            yield i, "".join(source) if isinstance(source, list) else source


# ----------------------------------------------------------------------------------------------
# The checker itself: it must fail on the defects it is meant to catch, and pass clean text.
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("broken", [
    "同一个 tanh 单元（$\rho = 1$）",          # \r eaten (non-raw string)
    "同一个 tanh 单元（$\nho = 1$）",          # … and then normalised to a newline
    "时间常数 $\tau$",                          # \t eaten: tab + "au"
    "$\\alpha \nabla L$",                      # \n eaten: newline + "abla"
    "$$\frac{1}{2}$$",                          # \f eaten
    "$\beta_1$",                                # \b eaten
    "$y = x ho$",                               # backslash lost, control character stripped
    "$a imes b$",
    "$\\text{ok} + ext{broken}$",
])
def test_checker_flags_eaten_escapes(broken):
    assert text_problems(broken), broken


@pytest.mark.parametrize("broken", [
    "**数据泄漏（data leakage）**教训",        # closer after "）", before a letter
    "按**（字）**切",                           # opener after a letter, before "（"
    "这是**字（character）**级别",
])
def test_checker_flags_bold_next_to_fullwidth_punctuation(broken):
    assert bold_problems(broken), broken


@pytest.mark.parametrize("clean", [
    r"谱半径 $\rho = 1$，时间常数 $\tau$，梯度 $\nabla L$，$\frac{1}{2}$，$\beta$，$\eta$，$\theta$",
    r"$$\begin{aligned} f_t &= \sigma(W_f\cdot[h_{t-1}, x_t] + b_f) && \text{遗忘门} \end{aligned}$$",
    "**数据泄漏**（data leakage）教训",
    "按**字**（character）切",
    "**它什么也没学到——也不可能学到。** 目标",
    "（**加法问题**）与 **RNN** 的 `a**b` 和 $x^{**}$",
    "行内代码 `\\rho` 与 `ho` 不是公式；正文里的 ho 也不是",
    "多行\n\n段落 **一**，**二**。",
])
def test_checker_passes_clean_text(clean):
    assert text_problems(clean) == [], text_problems(clean)


# ----------------------------------------------------------------------------------------------
# The repository
# ----------------------------------------------------------------------------------------------
def test_notebooks_found():
    assert any(p.parent.name == "exercises" for p in NOTEBOOKS) and len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "chapters")))
def test_notebook_markdown_is_clean(path):
    found = [f"cell {i}: {problem}" for i, text in markdown_cells(path) for problem in text_problems(text)]
    assert not found, f"{path.name}:\n" + "\n".join(found)
