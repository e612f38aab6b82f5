"""rnn-course grade: scores, the reason of each failure, the feedback report, and the sealing of a
run against a hostile submission (temporary folder, restored tests, checks that cannot be patched,
hidden tests that cannot be copied), strict --timeout, Ctrl-C → 130."""

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rnn_course.classroom import grading
from rnn_course.cli import main

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "chapters" / "exercises" / "01_rnn_basics.ipynb"
STUDENT = ROOT / "student" / "exercises" / "01_rnn_basics.ipynb"
TESTS = ["ex1_test", "ex2_test", "predict_test"]


def _cli(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "rnn_course.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_solution_edition_scores_full_marks():
    results = grading.grade_cells(SOLUTION)
    assert [r.grade_id for r in results] == TESTS
    assert all(r.passed and r.message == "" for r in results)
    assert grading.total_score(results) == (3.0, 3.0)


def test_student_edition_scores_zero_and_says_why():
    results = grading.grade_cells(STUDENT, reference=SOLUTION)
    assert grading.total_score(results) == (0.0, 3.0)
    assert all("还没有实现" in r.message or "NameError" in r.message for r in results), results


def test_reference_restores_tampered_tests():
    """A submission that replaced its locked tests by `pass` is graded by the instructor's tests."""
    tampered = nbformat.read(STUDENT, as_version=4)
    for cell in tampered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"
    reference = nbformat.read(SOLUTION, as_version=4)
    tests = grading._restore_tests(tampered, reference)
    ref_sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in reference.cells
                   if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    restored = {c.metadata["nbgrader"]["grade_id"]: c.source for c in tampered.cells
                if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    assert restored == ref_sources and len(tests) == 3
    deleted = copy.deepcopy(tampered)  # a deleted test still counts towards the maximum
    deleted.cells = [c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "ex2_test"]
    assert sum(c.metadata["nbgrader"]["points"] for c in grading._restore_tests(deleted, reference)) == 3


def _hostile_submission(folder: Path, leak: Path) -> Path:
    """The student edition with: a wrong step (b_hh forgotten), a working final-state function,
    the checks monkeypatched away, an attempt to delete ../chapters and to copy the hidden tests."""
    nb = nbformat.read(STUDENT, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["ex1_solution"].source = ("def my_rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):\n"
                                    "    return np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T)\n"
                                    "import rnn_course.checks, rnn_course.exercises, shutil\n"
                                    "rnn_course.checks.check_rnn_step = lambda *a, **k: None\n"
                                    "rnn_course.exercises.check_close = lambda *a, **k: None\n"
                                    "check_close = check_equal = check_true = lambda *a, **k: None\n"
                                    "shutil.rmtree('../chapters', ignore_errors=True)\n"
                                    "open('written_by_student.txt', 'w').write('x')\n")
    by_id["ex2_solution"].source = ("def my_rnn_final_state(xs, W_ih, W_hh, b_ih, b_hh):\n"
                                    "    h = np.zeros((xs.shape[0], W_hh.shape[0]))\n"
                                    "    for t in range(xs.shape[1]):\n"
                                    "        h = np.tanh(xs[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)\n"
                                    "    return h\n")
    by_id["predict_answer"].source = 'answer = "A"'
    dump = nbformat.v4.new_code_cell(f"open({str(leak)!r}, 'w').write(repr(In) + repr(globals().get('_i', '')))",
                                     id="leak")
    nb.cells.append(dump)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chapters").mkdir()
    (folder / "chapters" / "keep.txt").write_text("instructor file", encoding="utf-8")
    path = folder / "submission" / "01_rnn_basics.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def test_grade_is_sealed_and_explains_failures(tmp_path):
    leak = tmp_path / "leak.txt"
    path = _hostile_submission(tmp_path / "class", leak)
    report = tmp_path / "alice.md"
    proc = _cli("grade", path, "--reference", SOLUTION, "--feedback", report)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    # The monkeypatched checks did not help: the wrong step fails with the mistake named.
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line and not line.startswith(" ")}
    assert "未通过 failed" in lines["ex1_test"] and lines["ex1_test"].endswith("0/1")
    assert "少了 b_hh" in proc.stdout
    assert "通过 passed" in lines["ex2_test"] and lines["ex2_test"].endswith("1/1")  # partial credit
    assert "预测与测量不符" in proc.stdout  # the hidden answer key, restored from the reference
    assert "教师评分 teacher" in lines["explain"]
    assert proc.stdout.splitlines()[0].startswith("ex1_test"), proc.stdout[:500]  # nothing before the report
    assert "score: 1/3 (+ 1 teacher-graded)" in proc.stdout
    assert "running over TCP" not in out and "Traceback" not in out and "WARNING" not in out
    # The run happened in a temporary folder: nothing next to the submission was touched.
    assert (tmp_path / "class" / "chapters" / "keep.txt").is_file()
    assert not (path.parent / "written_by_student.txt").exists()
    # Later cells could not read the restored hidden tests from the input history.
    leaked = leak.read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in leaked and "预测与测量不符" not in leaked and grading.SEALED not in leaked
    assert "answer = " in leaked  # the dump itself worked: the student's own cells are there
    # The feedback report holds the score and the reason.
    text = report.read_text(encoding="utf-8")
    assert "**1 / 3**" in text and "少了 b_hh" in text and "`explain`" in text
    # Re-grading replaces an earlier report, never another file.
    assert main(["grade", str(SOLUTION), "--feedback", str(report)]) == 0
    assert "**3 / 3**" in report.read_text(encoding="utf-8")
    other = tmp_path / "notes.md"
    other.write_text("my own notes", encoding="utf-8")
    assert main(["grade", str(SOLUTION), "--feedback", str(other)]) == 2
    assert other.read_text(encoding="utf-8") == "my own notes"


def test_grade_options_are_strict(tmp_path, capsys):
    for bad in ("0", "-1"):
        assert main(["grade", str(SOLUTION), "--timeout", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--timeout" in err
    with pytest.raises(Exception, match="timeout"):
        grading.grade_cells(SOLUTION, timeout=0)
    assert main(["grade", str(SOLUTION), "--feedback", ""]) == 2
    assert "--feedback" in capsys.readouterr().err


def test_grade_command_errors(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "Traceback" not in err
    text = tmp_path / "answers.txt"
    text.write_text("not a notebook", encoding="utf-8")
    assert main(["grade", str(text)]) == 2
    assert "not a Jupyter notebook" in capsys.readouterr().err
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ this is not json", encoding="utf-8")
    assert main(["grade", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable Jupyter notebook" in err
    no_tests = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1", id="c1")]), no_tests)
    assert main(["grade", str(no_tests)]) == 2
    assert "no graded test cells" in capsys.readouterr().err


def test_grade_ctrl_c_exits_130(tmp_path):
    started = tmp_path / "started"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f"import time\nopen({str(started)!r}, 'w').write('1')\nwhile True:\n"
                                     "    time.sleep(0.1)\n", id="c1")
    cell.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": True, "locked": True,
                                 "grade_id": "loop", "points": 1}
    nb.cells.append(cell)
    path = tmp_path / "loop.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.Popen([sys.executable, "-m", "rnn_course.cli", "grade", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not started.exists() and time.time() < deadline:  # wait until the kernel is inside the loop
        time.sleep(0.5)
    assert started.exists(), "the kernel never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip().count("\n") == 0 and "interrupted" in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_feedback_markdown_lists_written_answers():
    results = [grading.TestResult("ex1_test", 1.0, False, "h_t 不对：少了 b_hh"),
               grading.TestResult("ex2_test", 2.0, True)]
    written = [grading.WrittenTask("explain", 1.0, "在这里写你的回答（几句话即可，由教师批改）。")]
    text = grading.feedback_markdown("a.ipynb", results, written)
    assert text.startswith(grading.FEEDBACK_HEADER) and "**2 / 3**" in text and "（未作答）" in text
    lines = grading.report_lines(results, written)
    assert lines[1] == "    → h_t 不对：少了 b_hh" and lines[-1] == "score: 2/3 (+ 1 teacher-graded)"
