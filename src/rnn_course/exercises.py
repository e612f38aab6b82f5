"""Auto-checked exercises.

Exercise notebooks (``chapters/exercises/NN_<slug>.ipynb``) are instructor editions in nbgrader's
format: solution cells hold ``### BEGIN SOLUTION`` / ``### END SOLUTION``, locked test cells carry
points. :func:`student_edition` turns one into the learner's copy with nbgrader's own preprocessors
(solutions → ``raise NotImplementedError()``, outputs cleared, test cells locked). Test cells call
the ``check_*`` helpers below, whose messages (in Chinese) say which term is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnn_course.errors import CourseError


# --------------------------------------------------------------------------------------------
# Helpers used inside test cells
# --------------------------------------------------------------------------------------------
def check_close(actual, expected, message: str, atol: float = 1e-5) -> None:
    """Assert ``actual`` ≈ ``expected`` (same shape, max abs diff ≤ atol); fail with ``message``."""
    actual = np.asarray(actual.numpy() if hasattr(actual, "numpy") else actual, dtype=np.float64)
    expected = np.asarray(expected.numpy() if hasattr(expected, "numpy") else expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{message}（形状 {actual.shape}，应为 {expected.shape}）")
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    if not diff <= atol:
        raise AssertionError(f"{message}（最大误差 {diff:.3g}，允许 {atol:g}）")


def check_equal(actual, expected, message: str) -> None:
    """Assert ``actual == expected`` exactly; fail with ``message``."""
    if actual != expected:
        raise AssertionError(f"{message}（得到 {actual!r}，应为 {expected!r}）")


def check_true(condition, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# --------------------------------------------------------------------------------------------
# Student editions
# --------------------------------------------------------------------------------------------
def student_edition(nb):
    """Return the student edition of an instructor notebook (a new ``nbformat`` node)."""
    import copy

    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    nb = copy.deepcopy(nb)
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), LockCells(), ClearOutput()):
        nb, _ = preprocessor.preprocess(nb, {})
    for cell in nb.cells:  # execution timestamps of the instructor's last run mean nothing to students
        cell.metadata.pop("execution", None)
    return nb


def exercise_notebooks(source_dir) -> list:
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise CourseError(f"exercise folder not found: {source_dir}")
    return sorted(p for p in source_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _render(path: Path) -> str:
    import nbformat

    try:
        return nbformat.writes(student_edition(nbformat.read(path, as_version=4))) + "\n"
    except RuntimeError as err:  # nbgrader: unbalanced BEGIN/END SOLUTION markers
        raise CourseError(f"{path.name}: {err} (check the BEGIN/END SOLUTION markers)") from err


def write_student_editions(source_dir="chapters/exercises", out_dir="student/exercises") -> list:
    """Write the student edition of every exercise notebook; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in exercise_notebooks(source_dir):
        target = out_dir / path.name
        target.write_text(_render(path), encoding="utf-8")
        written.append(target)
    return written


def stale_student_editions(source_dir="chapters/exercises", out_dir="student/exercises") -> list:
    """Names of student editions that are missing or differ from what would be generated now."""
    out_dir = Path(out_dir)
    stale = []
    for path in exercise_notebooks(source_dir):
        target = out_dir / path.name
        if not target.is_file() or target.read_text(encoding="utf-8") != _render(path):
            stale.append(path.name)
    return stale


def graded_cells(nb) -> list:
    """The ids of test cells that carry points."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def validate(path, invert: bool = False) -> dict:
    """Run a notebook with nbgrader's Validator. ``invert=False``: returns failing test cells;
    ``invert=True`` (for student stubs): returns test cells that *pass*. Empty dict = as expected."""
    from nbgrader.validator import Validator

    return Validator(invert=invert, ignore_checksums=True).validate(str(path))
