"""The exercises mechanism: every test cell passes against the solutions, fails against the
generated student stubs, and the committed student editions are up to date."""

from pathlib import Path

import nbformat
import pytest

from rnn_course.classroom import notebooks, student

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "chapters" / "exercises"
STUDENT = ROOT / "student" / "exercises"
NOTEBOOKS = student.exercise_notebooks(SOURCE)
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_every_chapter_has_an_exercise_notebook():
    assert CHAPTERS, "no chapters found"
    assert [p.stem for p in NOTEBOOKS] == CHAPTERS


# Modules a setup cell may import: none of them holds the implementation an exercise asks for.
ALLOWED_SETUP_IMPORTS = {"rnn_course", "numpy", "paddle", "math", "rnn_course.checks", "rnn_course.benchmarks",
                         "rnn_course.data"}


def _code_imports(source: str) -> set:
    import ast

    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found |= {node.module} if node.level == 0 else set()
            if node.module == "rnn_course":
                found |= {f"rnn_course.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_structure(path):
    """Points per test cell, one predict-then-measure task with a hidden answer key, one written
    answer for the teacher with a model answer in docs/teaching.md, and no shortcut imports."""
    nb = nbformat.read(path, as_version=4)
    graded = notebooks.graded_cells(nb)
    assert 2 <= len(graded) <= 8, f"{path.name}: {len(graded)} graded cells (want 2–8)"
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions if c.cell_type == "code")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta.get("grade"):
            assert meta["points"] > 0 and meta["schema_version"] == 3
            assert meta["locked"] == (cell.cell_type == "code")
    predictions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "predict_test"]
    assert len(predictions) == 1, f"{path.name}: one predict-then-measure task"
    assert "check_choice(answer" in predictions[0].source and "### BEGIN HIDDEN TESTS" in predictions[0].source
    written = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 1 and written[0].metadata["nbgrader"]["solution"], f"{path.name}: one written answer"
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    assert f"### 第 {path.stem[:2]} 章练习 简答参考答案" in guide, f"model answer of {path.name} missing in docs/teaching.md"
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert _code_imports(setup.source) <= ALLOWED_SETUP_IMPORTS, f"{path.name}: setup imports a reference"
    text = "".join(c.source for c in nb.cells).replace("随机种子", "")
    assert "种子" not in text and "隐藏状态" not in text and "记忆单元" not in text


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


def test_old_import_path_still_works():
    """Student notebooks saved before the checks moved import them from rnn_course.exercises."""
    from rnn_course import checks, exercises

    assert exercises.check_close is checks.check_close and exercises.check_equal is checks.check_equal


def _toy_source(folder, body="x = 1"):
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f"### BEGIN SOLUTION\n{body}\n### END SOLUTION\n", id="c1")
    cell.metadata["nbgrader"] = {"schema_version": 3, "solution": True, "grade": False, "locked": False,
                                 "grade_id": "s"}
    nb.cells.append(cell)
    nbformat.write(nb, folder / "01_toy.ipynb")


def test_student_command_check_and_errors(tmp_path, capsys):
    from rnn_course.cli import main

    assert main(["student", "--check", "--source", str(SOURCE), "--out", str(STUDENT)]) == 0
    assert main(["student", "--check", "--source", str(SOURCE), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "out of date" in err and "--force" not in err
    assert main(["student", "--source", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    for extra in ([], ["--check"]):
        assert main(["student", *extra, "--source", str(empty), "--out", str(tmp_path / "o")]) == 2
        assert "no exercise notebooks" in capsys.readouterr().err
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
    bad_json = tmp_path / "badjson"
    bad_json.mkdir()
    (bad_json / "01_x.ipynb").write_text("{ not json", encoding="utf-8")
    assert main(["student", "--source", str(bad_json), "--out", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable Jupyter notebook" in err


def test_student_command_never_overwrites_a_learners_work(tmp_path, capsys):
    from rnn_course.cli import main

    src, out = tmp_path / "src", tmp_path / "out"
    _toy_source(src)
    assert main(["student", "--source", str(src), "--out", str(out)]) == 0
    target = out / "01_toy.ipynb"
    generated = target.read_text(encoding="utf-8")
    assert "NotImplementedError" in generated and "x = 1" not in generated
    # Regenerating an unchanged edition is a no-op; a new instructor version replaces an untouched copy.
    assert main(["student", "--source", str(src), "--out", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out
    _toy_source(src, "x = 2")
    assert main(["student", "--source", str(src), "--out", str(out)]) == 0
    assert target.read_text(encoding="utf-8") == generated  # the stub itself did not change
    # The learner saves work; the teacher then changes the exercise: the work is kept.
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source = "x = 42  # my answer"
    nbformat.write(nb, target)
    mine = target.read_text(encoding="utf-8")
    _toy_source(src, "y = 3\n### END SOLUTION\nprint('new cell')\n### BEGIN SOLUTION\ny = 4")
    assert main(["student", "--check", "--source", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "01_toy.ipynb" in err and "keeps" in err and "--force" not in err
    assert main(["student", "--source", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "01_toy.ipynb" in err and "--force" in err
    assert target.read_text(encoding="utf-8") == mine
    assert main(["student", "--force", "--source", str(src), "--out", str(out)]) == 0
    assert "new cell" in target.read_text(encoding="utf-8")
    # A tool that only touched metadata (not the answers) does not block regeneration; a scratch cell does.
    nb = nbformat.read(target, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, target)

    def new_statement(text):
        nb = nbformat.read(src / "01_toy.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell(text, id=f"md{len(nb.cells)}"))
        nbformat.write(nb, src / "01_toy.ipynb")

    new_statement("说明，第 2 版")
    assert main(["student", "--source", str(src), "--out", str(out)]) == 0
    assert "第 2 版" in target.read_text(encoding="utf-8")
    nb = nbformat.read(target, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("my_scratch = 1", id="scratch"))
    nbformat.write(nb, target)
    new_statement("说明，第 3 版")
    assert main(["student", "--source", str(src), "--out", str(out)]) == 2
    assert "my_scratch" in target.read_text(encoding="utf-8")


def test_student_command_read_only_out(tmp_path, capsys):
    import os

    from rnn_course.cli import main

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    src, out = tmp_path / "src", tmp_path / "ro"
    _toy_source(src)
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main(["student", "--source", str(src), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot write" in err
    finally:
        out.chmod(0o700)
