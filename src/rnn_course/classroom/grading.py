"""Offline grading of exercise notebooks: run a submission, add up the points of the test cells that pass.

:func:`grade` runs an exercise notebook (a student's submission) in a fresh ``python3`` kernel and adds
up the points of the nbgrader test cells that ran without error — no gradebook, no network. With
``reference=`` the test cells are first restored from the instructor edition, so a submission whose
locked tests were edited is still graded by the real tests.
"""

from __future__ import annotations

import copy
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from rnn_course.classroom.notebooks import is_graded, read_notebook
from rnn_course.errors import CourseError


@dataclass
class TestResult:
    grade_id: str
    points: float
    passed: bool


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


def grade_cells(path, reference=None, timeout: int = 600) -> list:
    """Execute ``path`` offline and return one :class:`TestResult` per graded test cell.

    A test passes when its cell ran and the kernel replied ``ok`` (no exception). If the run stops
    early (time-out, dead kernel) the tests that did not run score zero.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = read_notebook(path)
    tests = [c for c in nb.cells if is_graded(c)]
    if reference is not None:
        tests = _restore_tests(nb, read_notebook(reference))
    if not tests:
        raise CourseError(f"{path.name} has no graded test cells (nbgrader metadata grade: true)")
    for cell in nb.cells:  # a submission's stored outputs prove nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None

    ok_ids = set()

    def on_cell_executed(cell, cell_index, execute_reply):
        if execute_reply and execute_reply.get("content", {}).get("status") == "ok" and is_graded(cell):
            ok_ids.add(cell.metadata["nbgrader"]["grade_id"])

    quiet = logging.getLogger("rnn_course.grade")  # nbclient logs "Executing notebook…" at INFO
    quiet.setLevel(logging.WARNING)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            on_cell_executed=on_cell_executed, log=quiet)
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as err:
        print(f"rnn-course: {path.name}: execution stopped early ({type(err).__name__}); "
              "tests that did not run score 0", file=sys.stderr)
    return [TestResult(c.metadata["nbgrader"]["grade_id"], float(c.metadata["nbgrader"].get("points", 0)),
                       c.metadata["nbgrader"]["grade_id"] in ok_ids) for c in tests]


def total_score(results) -> tuple:
    """``(score, max_score)``: points of the passing tests, points of all tests."""
    return sum(r.points for r in results if r.passed), sum(r.points for r in results)


def grade(path, reference=None, timeout: int = 600) -> tuple:
    """``(score, max_score)`` of an exercise notebook, executed offline (see :func:`grade_cells`)."""
    return total_score(grade_cells(path, reference=reference, timeout=timeout))
