"""Classroom and publishing: offline grading (the teacher guide's worked example), slide metadata,
reveal.js slides and the Sphinx website."""

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rnn_course.classroom import notebooks, runtimes, site, slides
from rnn_course.cli import main
from rnn_course.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = notebooks.chapter_notebooks(ROOT / "chapters")
SOLUTION = ROOT / "chapters" / "exercises" / "01_rnn_basics.ipynb"
STUDENT = ROOT / "student" / "exercises" / "01_rnn_basics.ipynb"
CHAPTER_01 = ROOT / "chapters" / "01_rnn_basics.ipynb"


# --------------------------------------------------------------------------------------------
# Grading (rnn-course grade)
# --------------------------------------------------------------------------------------------
# Grading itself (scores, feedback, sealing) is tested in tests/test_grading.py.


def _guide_block(name: str) -> str:
    """The fenced ```bash block of docs/teaching.md whose first line is `# <name>`."""
    text = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    matching = [b for b in blocks if b.startswith(f"# {name}")]
    assert len(matching) == 1, f"docs/teaching.md must hold exactly one ```bash block starting '# {name}'"
    return matching[0]


def test_teaching_guide_nbgrader_example(tmp_path):
    """The worked example of docs/teaching.md, run as written: nbgrader with a local SQLite
    gradebook grades the solution 3/4 and the unchanged student edition 0/4 (the 4th point is the
    teacher-graded written answer), offline."""
    script = tmp_path / "example.sh"
    script.write_text("set -euo pipefail\n" + _guide_block("grading-example"), encoding="utf-8")
    env = dict(os.environ, REPO=str(ROOT), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = (tmp_path / "course" / "grades.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    scores = {r.split(",")[header.index("student_id")]: (float(r.split(",")[header.index("score")]),
                                                         float(r.split(",")[header.index("max_score")]))
              for r in rows[1:]}
    assert scores == {"alice": (3.0, 4.0), "bob": (0.0, 4.0)}  # + 1 teacher-graded point (written answer)


# --------------------------------------------------------------------------------------------
# Slides
# --------------------------------------------------------------------------------------------
def _md(source, cid):
    return nbformat.v4.new_markdown_cell(source, id=cid)


def _code(source, cid):
    return nbformat.v4.new_code_cell(source, id=cid)


def _toy_notebook():
    return nbformat.v4.new_notebook(cells=[
        _md("# 第 0 章　标题", "a"), _code("import rnn_course", "b"), _md("## 1. 小节", "c"),
        _md("说明文字", "d"), _code("x = 1", "e"), _code("x", "f"), _md("结果解释", "g"),
        _md("### 细节", "h"), _md("", "i"), _md("   #不是标题", "j"),
    ])


def test_annotate_slides_rules():
    nb = slides.annotate_slides(_toy_notebook())
    types = [c.metadata["slideshow"]["slide_type"] for c in nb.cells]
    assert types == ["slide", "-", "slide", "-", "-", "subslide", "subslide", "subslide", "skip", "-"]
    assert nb.metadata["rise"]["scroll"] is True


def test_annotate_slides_is_deterministic_and_idempotent():
    for path in [CHAPTER_01, *CHAPTERS]:
        original = nbformat.read(path, as_version=4)
        once = slides.annotate_slides(copy.deepcopy(original))
        twice = slides.annotate_slides(copy.deepcopy(once))
        again = slides.annotate_slides(copy.deepcopy(original))
        assert once == twice == again, path.name
        for before, after in zip(original.cells, once.cells, strict=True):
            assert after.source == before.source and after.get("outputs") == before.get("outputs")
            assert after.metadata["slideshow"]["slide_type"] in {"slide", "subslide", "-", "fragment", "skip"}


def test_annotate_file_writes_once(tmp_path):
    path = tmp_path / "00_toy.ipynb"
    nbformat.write(_toy_notebook(), path)
    assert slides.annotate_file(path) is True
    first = path.read_bytes()
    assert slides.annotate_file(path) is False and path.read_bytes() == first


def test_every_chapter_carries_slide_metadata():
    """Chapters are presented with jupyterlab-rise, which reads the stored slide metadata.
    After editing a chapter run `rnn-course slides --annotate --no-html`."""
    assert CHAPTERS, "no chapters found"
    stale = [p.name for p in CHAPTERS
             if nbformat.read(p, as_version=4) != slides.annotate_slides(nbformat.read(p, as_version=4))]
    assert stale == [], f"slide metadata missing or stale in {stale}: run `rnn-course slides --annotate --no-html`"


def test_build_slides_for_chapter_01(tmp_path):
    before = CHAPTER_01.read_bytes()
    (html,) = slides.build_slides([CHAPTER_01], tmp_path)
    text = html.read_text(encoding="utf-8")
    assert html.name == "01_rnn_basics.slides.html"
    assert "第 1 章" in text and "循环神经网络基础" in text
    assert text.count('<section') > 5, "the chapter should be split into many slides"
    assert CHAPTER_01.read_bytes() == before, "building slides must not modify the chapter"


def test_slides_command(tmp_path, capsys):
    work = tmp_path / "chapters"
    work.mkdir()
    nbformat.write(_toy_notebook(), work / "00_toy.ipynb")
    assert main(["slides", "--annotate", "--no-html", "--chapters", str(work)]) == 0
    assert "1 notebook(s) updated" in capsys.readouterr().out
    assert main(["slides", "--annotate", "--no-html", "--chapters", str(work)]) == 0
    assert "0 notebook(s) updated, 1 already current" in capsys.readouterr().out
    assert main(["slides", "--chapters", str(tmp_path / "nowhere")]) == 2
    assert "chapter folder not found" in capsys.readouterr().err
    assert main(["slides", str(tmp_path / "missing.ipynb")]) == 2
    assert "not found" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Website
# --------------------------------------------------------------------------------------------
def test_build_site(tmp_path):
    index = site.build_site(tmp_path / "site", ROOT / "docs" / "site", [CHAPTER_01], [STUDENT],
                                  extra_docs=[ROOT / "docs" / "teaching.md"])
    assert index == tmp_path / "site" / "index.html" and index.is_file()
    home = index.read_text(encoding="utf-8")
    assert "循环神经网络实战课" in home and 'lang="zh' in home and "chapters/01_rnn_basics.html" in home
    page = (tmp_path / "site" / "chapters" / "01_rnn_basics.html").read_text(encoding="utf-8")
    assert "循环神经网络基础" in page and "charset=\"utf-8\"" in page.lower()
    assert "mathjax" in page.lower() and r"\(" in page, "formulas go to MathJax"
    assert list((tmp_path / "site" / "_images").glob("*.png")), "stored plot outputs become images"
    assert (tmp_path / "site" / "exercises" / "01_rnn_basics.html").is_file()
    assert (tmp_path / "site" / "teaching.html").is_file()


def test_site_command_errors(tmp_path, capsys):
    assert main(["site", "--conf", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "Sphinx configuration not found" in capsys.readouterr().err


def test_course_table_reads_stored_runtimes():
    table = runtimes.course_table(ROOT / "chapters", ROOT / "chapters" / "exercises")
    line = next(row for row in table.splitlines() if "01_rnn_basics" in row)
    assert "练习 1" in line and re.search(r"\| \d+ s \|", line)
    nb = nbformat.read(CHAPTER_01, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    assert runtimes.stored_runtime(nb) is None


def test_guide_mentions_every_command():
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    for command in ("rnn-course student", "rnn-course grade", "nbgrader autograde", "make slides", "make site",
                    "jupyterlab-rise"):
        assert command in guide, command


def test_course_table_from_a_make_test_log(tmp_path):
    log = ("========== notebook run times (nbval) ==========\n\n"
           "    7.1 s  chapters/01_rnn_basics.ipynb\n   61.2 s  chapters/10_faq_and_comparison.ipynb\n"
           "    2.4 s  chapters/exercises/01_rnn_basics.ipynb\n  68.3 s  all chapters (without exercises)\n")
    table = runtimes.course_table(ROOT / "chapters", ROOT / "chapters" / "exercises", log)
    assert "| `01_rnn_basics` | 7 s |" in table and table.rstrip().endswith("| **all chapters** | **1.1 min** | | |")
    assert "| 2 s |" in table.splitlines()[2]  # the exercise time of chapter 01
    assert "| `02_bptt_and_gradients` | not recorded |" in table
    with pytest.raises(CourseError, match="make test"):
        runtimes.course_table(ROOT / "chapters", ROOT / "chapters" / "exercises", "no table here")
    (tmp_path / "log.txt").write_text(log, encoding="utf-8")
    assert main(["runtimes", "--from-log", str(tmp_path / "log.txt")]) == 0
    assert main(["runtimes", "--from-log", str(tmp_path / "missing.txt")]) == 2
