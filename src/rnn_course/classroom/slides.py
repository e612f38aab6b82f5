"""Lecture slides: slide metadata from each cell's own content, reveal.js HTML via nbconvert.

:func:`annotate_slides` sets ``metadata.slideshow.slide_type`` on every cell (headings start slides),
so ``jupyter nbconvert --to slides`` and ``jupyterlab-rise`` present a chapter well; :func:`build_slides`
writes reveal.js HTML.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from rnn_course.classroom.notebooks import heading_level, read_notebook
from rnn_course.errors import CourseError


def slide_type(cell, previous=None) -> str:
    """The slide type of ``cell`` given the cell before it (``None`` for the first cell).

    ``#``/``##`` headings start a slide, ``###`` and deeper a sub-slide (a vertical slide in
    reveal.js); any cell that follows a code cell starts a sub-slide so that one slide never holds
    two code outputs; empty cells are skipped; everything else continues the current slide.
    """
    if not cell.source.strip():
        return "skip"
    level = heading_level(cell)
    if previous is None or level in (1, 2):
        return "slide"
    if level >= 3 or previous.cell_type == "code":
        return "subslide"
    return "-"


def annotate_slides(nb):
    """Set ``metadata.slideshow.slide_type`` on every cell (in place; returns ``nb``).

    Depends only on cell types and sources, so it is deterministic and idempotent; sources and
    outputs are untouched. Also sets ``metadata.rise.scroll`` so long slides scroll in RISE.
    """
    previous = None
    for cell in nb.cells:
        cell.metadata.setdefault("slideshow", {})["slide_type"] = slide_type(cell, previous)
        if cell.source.strip():
            previous = cell
    nb.metadata.setdefault("rise", {})["scroll"] = True
    return nb


def annotate_file(path) -> bool:
    """Annotate a notebook file in place; returns whether the file changed."""
    path = Path(path)
    before = path.read_text(encoding="utf-8")
    after = nbformat.writes(annotate_slides(read_notebook(path))) + "\n"
    if after == before:
        return False
    path.write_text(after, encoding="utf-8")
    return True


def build_slides(chapter_paths, out_dir="build/slides") -> list:
    """reveal.js HTML for each notebook via ``jupyter nbconvert --to slides``; returns the paths.

    Notebooks are annotated in a temporary copy first (the originals are not modified), so the
    slides are right even for a chapter that carries no slide metadata yet. The HTML loads
    reveal.js, RequireJS and MathJax from a CDN when it is opened: presenting offline works through
    ``jupyterlab-rise`` instead (``pip install -e ".[teach]"``).
    """

    paths = [Path(p) for p in chapter_paths]
    if not paths:
        raise CourseError("no chapter notebooks to build slides from")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnn-slides-") as tmp:
        copies = []
        for path in paths:
            copy_path = Path(tmp) / path.name
            nbformat.write(annotate_slides(read_notebook(path)), copy_path)
            copies.append(str(copy_path))
        cmd = [sys.executable, "-m", "nbconvert", "--to", "slides", "--output-dir", str(out_dir.resolve()),
               "--SlidesExporter.reveal_scroll=True", "--log-level=ERROR", *copies]
        run_tool(cmd, "jupyter nbconvert --to slides")
    return [out_dir / f"{p.stem}.slides.html" for p in paths]


def run_tool(cmd, what: str, staging=None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    for line in warnings:  # show the tool's own warnings (e.g. a broken link in a chapter)
        print(line.replace(f"{staging}{os.sep}", "") if staging else line, file=sys.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise CourseError(f"{what} failed: {tail[0]}")
