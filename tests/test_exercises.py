"""The exercises mechanism: every test cell passes against the solutions, fails against the
generated student stubs, and the committed student editions are up to date."""

from pathlib import Path

import nbformat
import pytest

from rnn_course.classroom import notebooks, student
from rnn_course.exercises import check_close, check_equal

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "chapters" / "exercises"
STUDENT = ROOT / "student" / "exercises"
NOTEBOOKS = student.exercise_notebooks(SOURCE)
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_every_chapter_has_an_exercise_notebook():
    assert CHAPTERS, "no chapters found"
    assert [p.stem for p in NOTEBOOKS] == CHAPTERS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_structure(path):
    nb = nbformat.read(path, as_version=4)
    graded = notebooks.graded_cells(nb)
    assert 2 <= len(graded) <= 4, f"{path.name}: {len(graded)} graded cells (want 2–4)"
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions if c.cell_type == "code")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta.get("grade"):
            assert meta["points"] > 0 and meta["locked"] and meta["schema_version"] == 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_pass(path):
    assert student.validate(path) == {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_stubs_fail(path):
    stub = STUDENT / path.name
    assert stub.is_file(), f"missing student edition {stub} — run `rnn-course student`"
    assert "### BEGIN SOLUTION" not in stub.read_text(encoding="utf-8")
    assert student.validate(stub, invert=True) == {}, "a test cell passes without the learner's code"


def test_student_editions_up_to_date():
    assert student.stale_student_editions(SOURCE, STUDENT) == []


def test_student_edition_clears_solutions_and_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\n", id="c1")
    cell.metadata["nbgrader"] = {"schema_version": 3, "solution": True, "grade": False, "locked": False,
                                 "grade_id": "s1"}
    cell.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    nb.cells.append(cell)
    out = student.student_edition(nb)
    assert "b = 2" not in out.cells[0].source and "NotImplementedError" in out.cells[0].source
    assert out.cells[0].outputs == [] and "b = 2" in nb.cells[0].source  # the original is untouched


def test_check_helpers_name_the_problem():
    check_close([1.0, 2.0], [1.0, 2.0], "ok")
    with pytest.raises(AssertionError, match="检查 b_h"):
        check_close([1.0, 2.5], [1.0, 2.0], "h_t 与期望不符：检查 b_h")
    with pytest.raises(AssertionError, match="形状"):
        check_close([1.0], [1.0, 2.0], "shape")
    with pytest.raises(AssertionError, match="参数个数"):
        check_equal(3, 4, "参数个数不对")


def test_student_command_check_and_errors(tmp_path, capsys):
    from rnn_course.cli import main

    assert main(["student", "--check", "--source", str(SOURCE), "--out", str(STUDENT)]) == 0
    assert main(["student", "--check", "--source", str(SOURCE), "--out", str(tmp_path)]) == 2
    assert "out of date" in capsys.readouterr().err
    assert main(["student", "--source", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "Traceback" not in err
    broken = tmp_path / "src"
    broken.mkdir()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n", id="c1")
    cell.metadata["nbgrader"] = {"schema_version": 3, "solution": True, "grade": False, "locked": False,
                                 "grade_id": "s"}
    nb.cells.append(cell)
    nbformat.write(nb, broken / "99_broken.ipynb")
    assert main(["student", "--source", str(broken), "--out", str(tmp_path / "out")]) == 2
    assert "SOLUTION markers" in capsys.readouterr().err
