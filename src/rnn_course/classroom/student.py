"""Student editions of the exercise notebooks, made with nbgrader's own preprocessors.

Exercise notebooks (``chapters/exercises/NN_<slug>.ipynb``) are instructor editions in nbgrader's
format: solution cells hold ``### BEGIN SOLUTION`` / ``### END SOLUTION``, locked test cells carry
points. :func:`student_edition` turns one into the learner's copy (solutions →
``raise NotImplementedError()``, outputs cleared, test cells locked).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from rnn_course.errors import CourseError


def student_edition(nb):
    """Return the student edition of an instructor notebook (a new ``nbformat`` node)."""
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


def validate(path, invert: bool = False) -> dict:
    """Run a notebook with nbgrader's Validator. ``invert=False``: returns failing test cells;
    ``invert=True`` (for student stubs): returns test cells that *pass*. Empty dict = as expected."""
    from nbgrader.validator import Validator

    return Validator(invert=invert, ignore_checksums=True).validate(str(path))
