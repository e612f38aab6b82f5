"""Reading notebooks for the classroom tools: chapter lists, nbgrader test cells, headings.

Every tool here reads notebooks through :func:`read_notebook`, so a missing or broken file is one
:class:`~rnn_course.errors.CourseError`.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from rnn_course.errors import CourseError

CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
_HEADING = re.compile(r"^(#{1,6})\s+\S")


def read_notebook(path):
    """Read a notebook; a missing file or a file that is not a notebook is a :class:`CourseError`."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"notebook not found: {path}")
    if path.suffix != ".ipynb":
        raise CourseError(f"not a Jupyter notebook (expected a .ipynb file): {path}")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # JSON errors, unknown nbformat, bad encoding
        raise CourseError(f"not a readable Jupyter notebook: {path} ({type(err).__name__})") from err
    return nb


def chapter_notebooks(folder="chapters") -> list:
    """The chapter notebooks ``NN_<slug>.ipynb`` in ``folder``, in chapter order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CourseError(f"chapter folder not found: {folder}")
    return sorted(folder.glob(CHAPTER_GLOB))


def is_graded(cell) -> bool:
    """Whether ``cell`` is an nbgrader test cell that carries points."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade"))


def graded_cells(nb) -> list:
    """The ids of test cells that carry points."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if is_graded(c)]


def heading_level(cell) -> int:
    """1–6 for a Markdown cell whose first line is a heading, else 0."""
    if cell.cell_type != "markdown":
        return 0
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    match = _HEADING.match(first)
    return len(match.group(1)) if match else 0
