"""Offline grading of exercise notebooks: run a submission, add up the points of the test cells that pass,
and tell the student *why* a test failed.

:func:`grade_cells` runs an exercise notebook (a student's submission) in a fresh ``python3`` kernel
and returns, per nbgrader test cell, whether it passed and the message it raised. No gradebook, no
network. How the run is sealed:

* **A temporary folder.** The kernel's working folder is a new temporary folder holding only a copy
  of the submission — never the instructor tree; it is deleted afterwards, with anything the
  submission wrote into it.
* **The real tests.** With ``reference=`` every test cell is restored from the instructor edition
  (hidden tests included), matched by ``grade_id``; a test the student deleted still counts in the
  maximum and scores 0. The restored notebook only lives in the grader's memory.
* **Checks the student cannot patch.** Before each test cell runs, the grader loads
  ``rnn_course/checks.py`` afresh from its file into a private module and binds ``checks`` and the
  ``check_*`` names to it, so reassigning ``rnn_course.checks.check_close`` (or the old
  ``rnn_course.exercises`` path) in a solution cell has no effect. After the test cell, its source
  is removed from the kernel's input history (``In``, ``_i…``), so later cells cannot copy the
  hidden tests; the kernel keeps its history in memory only.

Remaining limits (also in ``rnn-course grade --help`` and docs/teaching.md): the tests run in the
same Python process as the student's code, so a determined student can still patch NumPy, Paddle,
IPython or builtins from a solution cell, or read any file the grading account can read (the
instructor notebooks, if they are on the same machine). For exams, run ``grade`` under an account
or container that cannot read the instructor tree, and read the code of surprising scores.

Written answers (nbgrader markdown cells with ``grade: true``) are listed as teacher-graded and are
not part of the automatic score.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rnn_course.classroom.notebooks import is_graded, read_notebook
from rnn_course.errors import CourseError

SEALED = "# rnn-course grade: sealed test cell"
FEEDBACK_HEADER = "<!-- rnn-course grade feedback -->"
NOT_RUN = "没有运行：执行提前停止（超时或内核崩溃），后面的检查都记 0 分"


@dataclass
class TestResult:
    grade_id: str
    points: float
    passed: bool
    message: str = ""  # what the test raised (empty when it passed)


@dataclass
class WrittenTask:
    """A written answer graded by the teacher (nbgrader markdown cell with ``grade: true``)."""

    grade_id: str
    points: float
    answer: str


def _restore_tests(nb, reference) -> list:
    """Copy every graded cell's source from ``reference`` into ``nb`` (matched by grade_id).

    Returns the reference's graded cells, which define the maximum score. Tests the student
    deleted stay in the maximum and score zero.
    """
    ref_tests = [c for c in reference.cells if is_graded(c)]
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in ref_tests}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in by_id and cell.cell_type == "code":
            cell.source = by_id[grade_id].source
            cell.metadata["nbgrader"] = copy.deepcopy(by_id[grade_id].metadata["nbgrader"])
    return ref_tests


def written_tasks(nb) -> list:
    """The teacher-graded written answers of a notebook, with the student's text."""
    return [WrittenTask(c.metadata["nbgrader"]["grade_id"], float(c.metadata["nbgrader"].get("points", 0)),
                        c.source.strip())
            for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]


def _checks_file() -> str:
    import rnn_course

    return str(Path(rnn_course.__file__).resolve().parent / "checks.py")


def sealed_source(source: str, checks_file: str) -> str:
    """A test cell's source wrapped so that it uses a fresh, private copy of the checks and leaves
    no trace of itself in the kernel's input history."""
    body = "\n".join("    " + line if line.strip() else "" for line in source.splitlines()) or "    pass"
    return f"""{SEALED}
import importlib.util as _rc_util
_rc_spec = _rc_util.spec_from_file_location("_rnn_course_sealed_checks", {checks_file!r})
checks = _rc_util.module_from_spec(_rc_spec)
_rc_spec.loader.exec_module(checks)
check_choice, check_close, check_equal, check_true = (checks.check_choice, checks.check_close,
                                                      checks.check_equal, checks.check_true)
try:
{body}
finally:
    _rc_hm = get_ipython().history_manager
    for _rc_list in (_rc_hm.input_hist_parsed, _rc_hm.input_hist_raw):
        _rc_list[:] = ["" if {SEALED!r} in _rc_s else _rc_s for _rc_s in _rc_list]
    for _rc_name in ("_i00", "_i", "_ii", "_iii"):
        if {SEALED!r} in (getattr(_rc_hm, _rc_name, "") or ""):
            setattr(_rc_hm, _rc_name, "")
    for _rc_key in [k for k, v in get_ipython().user_ns.items() if k.startswith("_i") and isinstance(v, str)
                    and {SEALED!r} in v]:
        get_ipython().user_ns[_rc_key] = ""
"""


def _message(content: dict) -> str:
    name, value = content.get("ename", "Error"), str(content.get("evalue", "")).strip()
    if name == "AssertionError" and value:
        return value
    if name == "NameError":
        return f"{name}: {value}（定义它的单元格没有运行或出错了？先把上面的练习做完）"
    if name == "NotImplementedError":
        return "还没有实现：把 raise NotImplementedError() 换成你的代码"
    return f"{name}: {value}" if value else name


def grade_cells(path, reference=None, timeout: int = 600) -> list:
    """Execute ``path`` offline (see the module docstring) and return one :class:`TestResult` per
    graded test cell, with the message of every failing test."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise CourseError(f"timeout must be a whole number of seconds ≥ 1, got {timeout!r}")
    path = Path(path)
    nb = read_notebook(path)
    tests = [c for c in nb.cells if is_graded(c)]
    if reference is not None:
        tests = _restore_tests(nb, read_notebook(reference))
    if not tests:
        raise CourseError(f"{path.name} has no graded test cells (nbgrader metadata grade: true)")
    checks_file = _checks_file()
    for cell in nb.cells:  # a submission's stored outputs prove nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if is_graded(cell):
                cell.source = sealed_source(cell.source, checks_file)

    outcome = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        if is_graded(cell) and execute_reply:
            content = execute_reply.get("content", {})
            outcome[cell.metadata["nbgrader"]["grade_id"]] = "" if content.get("status") == "ok" else _message(content)

    quiet = logging.getLogger("rnn_course.grade")  # nbclient logs "Executing notebook…" at INFO
    quiet.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="rnn-course-grade-") as workdir:
        shutil.copyfile(path, Path(workdir) / "submission.ipynb")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": workdir}}, on_cell_executed=on_cell_executed,
                                log=quiet, extra_arguments=["--HistoryManager.hist_file=:memory:"])
        try:
            # The kernel process's own output ("running over TCP…", Paddle's C++ traceback when the
            # kernel is stopped) is not the student's business; cell outputs travel over ZMQ.
            client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
                           env=_kernel_env(workdir))
        except (CellTimeoutError, DeadKernelError) as err:
            if _interrupted(client):
                raise KeyboardInterrupt from None
            print(f"rnn-course: {path.name}: execution stopped early ({type(err).__name__}); "
                  "tests that did not run score 0", file=sys.stderr)
        except Exception:
            if _interrupted(client):  # Ctrl-C: nbclient already stopped the kernel, then tripped over it
                raise KeyboardInterrupt from None
            raise
    results = []
    for c in tests:
        grade_id = c.metadata["nbgrader"]["grade_id"]
        message = outcome.get(grade_id, NOT_RUN)
        results.append(TestResult(grade_id, float(c.metadata["nbgrader"].get("points", 0)), message == "", message))
    return results


def _interrupted(client) -> bool:
    """Whether nbclient's own SIGINT/SIGTERM handler ran (it shuts the kernel down, then the run fails)."""
    return getattr(client, "_async_cleanup_kernel_future", None) is not None


def _kernel_env(workdir: str) -> dict:
    env = dict(os.environ)
    env["PWD"] = workdir
    return env


def total_score(results) -> tuple:
    """``(score, max_score)``: points of the passing tests, points of all tests."""
    return sum(r.points for r in results if r.passed), sum(r.points for r in results)


def grade(path, reference=None, timeout: int = 600) -> tuple:
    """``(score, max_score)`` of an exercise notebook, executed offline (see :func:`grade_cells`)."""
    return total_score(grade_cells(path, reference=reference, timeout=timeout))


def report_lines(results, written=()) -> list:
    """The lines ``rnn-course grade`` prints: one per test, the failing test's message under it."""
    lines = []
    for r in results:
        lines.append(f"{r.grade_id:<20} {'通过 passed' if r.passed else '未通过 failed':<14} "
                     f"{r.points if r.passed else 0:g}/{r.points:g}")
        if not r.passed:
            lines.append(f"    → {r.message}")
    for w in written:
        lines.append(f"{w.grade_id:<20} {'教师评分 teacher':<14} –/{w.points:g}")
    score, max_score = total_score(results)
    extra = sum(w.points for w in written)
    lines.append(f"score: {score:g}/{max_score:g}" + (f" (+ {extra:g} teacher-graded)" if extra else ""))
    return lines


def feedback_markdown(name: str, results, written=()) -> str:
    """A per-student report in Markdown: score, every check with its message, the written answers."""
    score, max_score = total_score(results)
    out = [FEEDBACK_HEADER, f"# 练习反馈：{name}", "",
           f"自动评分：**{score:g} / {max_score:g}** 分" + (
               f"；另有 {sum(w.points for w in written):g} 分简答由教师评分" if written else ""), "",
           "| 检查 | 结果 | 得分 |", "|---|---|---|"]
    for r in results:
        out.append(f"| `{r.grade_id}` | {'通过' if r.passed else '未通过'} | {r.points if r.passed else 0:g}/{r.points:g} |")
    failing = [r for r in results if not r.passed]
    if failing:
        out += ["", "## 未通过的检查", ""]
        for r in failing:
            out += [f"- `{r.grade_id}`：{r.message}"]
    if written:
        out += ["", "## 简答（教师评分）", ""]
        for w in written:
            answer = w.answer if w.answer and "在这里写你的回答" not in w.answer else "（未作答）"
            out += [f"### `{w.grade_id}`（{w.points:g} 分）", "", answer, ""]
    return "\n".join(out).rstrip() + "\n"


def write_feedback(target, text: str) -> Path:
    """Write a feedback report; an existing file is replaced only if it is an earlier report."""
    target = Path(target)
    if str(target).strip() in ("", ".") or target.is_dir():
        raise CourseError(f"--feedback needs a file name, got {str(target)!r}")
    if target.exists():
        try:
            earlier = target.read_text(encoding="utf-8").startswith(FEEDBACK_HEADER)
        except (OSError, UnicodeDecodeError):
            earlier = False
        if not earlier:
            raise CourseError(f"{target} exists and is not an rnn-course feedback report; choose another file name")
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise CourseError(f"cannot write {target}: {err.strerror or err}") from err
    return target
