"""Lecture slides: slide metadata from each cell's own content, reveal.js HTML via nbconvert.

:func:`annotate_slides` sets ``metadata.slideshow.slide_type`` on every cell (headings start slides),
so ``jupyter nbconvert --to slides`` and ``jupyterlab-rise`` present a chapter well; :func:`build_slides`
writes reveal.js HTML that works offline.
"""

from __future__ import annotations

import os
import shutil
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


TEMPLATES = Path(__file__).resolve().parent / "templates"
SLIDE_TEMPLATE = "rnn_reveal"      # templates/rnn_reveal: nbconvert's reveal template, fully offline
ASSETS = "assets"                  # next to the decks: reveal.js/, mathjax/, fonts/
FIGURES = "figures"                # chapters/figures/*.svg, referenced from markdown as figures/<name>.svg


def copy_slide_assets(out_dir) -> Path:
    """reveal.js, MathJax and the Chinese web font into ``out_dir/assets`` (once; later builds reuse)."""
    from rnn_course.classroom import offline

    assets = Path(out_dir) / ASSETS
    offline.copy_reveal(assets / "reveal.js")
    offline.copy_mathjax(assets / "mathjax")
    offline.copy_cjk_font(assets / "fonts")
    return assets


def copy_figures(chapter_paths, out_dir) -> list:
    """Each chapter folder's ``figures/`` next to the output (markdown refers to ``figures/<name>``)."""
    copied = []
    for folder in {Path(p).resolve().parent / FIGURES for p in chapter_paths}:
        if folder.is_dir():
            for figure in sorted(folder.iterdir()):
                if figure.is_file():
                    target = Path(out_dir) / FIGURES / figure.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(figure, target)
                    copied.append(target)
    return copied


def build_slides(chapter_paths, out_dir="build/slides") -> list:
    """reveal.js HTML for each notebook via ``jupyter nbconvert --to slides``; returns the paths.

    Notebooks are annotated in a temporary copy first (the originals are not modified), so the
    slides are right even for a chapter that carries no slide metadata yet. The decks work offline:
    reveal.js 5, MathJax 3 and a Chinese web font are copied from pip packages into
    ``out_dir/assets/`` (see :mod:`rnn_course.classroom.offline`), the chapter figures into
    ``out_dir/figures/``, and every URL is relative — the folder works from a USB stick, over
    ``file://`` or from any web server; ``deck.html#/3`` opens slide 3.
    """

    paths = [Path(p) for p in chapter_paths]
    if not paths:
        raise CourseError("no chapter notebooks to build slides from")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_slide_assets(out_dir)
    copy_figures(paths, out_dir)
    with tempfile.TemporaryDirectory(prefix="rnn-slides-") as tmp:
        copies = []
        for path in paths:
            copy_path = Path(tmp) / path.name
            nbformat.write(annotate_slides(read_notebook(path)), copy_path)
            copies.append(str(copy_path))
        cmd = [sys.executable, "-m", "nbconvert", "--to", "slides", "--output-dir", str(out_dir.resolve()),
               "--template", SLIDE_TEMPLATE, f"--TemplateExporter.extra_template_basedirs={TEMPLATES}",
               f"--SlidesExporter.reveal_url_prefix={ASSETS}/reveal.js",
               "--SlidesExporter.reveal_theme=white",  # its fonts ship with reveal.js (others import web fonts)
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
