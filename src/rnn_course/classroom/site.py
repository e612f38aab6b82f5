"""The static course website: Sphinx + myst-nb over the notebooks' stored outputs (nothing executed)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from rnn_course.classroom.notebooks import CHAPTER_GLOB, chapter_notebooks, read_notebook
from rnn_course.classroom.offline import copy_site_assets
from rnn_course.classroom.slides import copy_figures, run_tool
from rnn_course.errors import CourseError


def build_site(out_dir="build/site", conf_dir="docs/site", chapter_paths=None, exercise_paths=None,
               extra_docs=("docs/teaching.md",)) -> Path:
    """Build the static course website with Sphinx + myst-nb from the notebooks' stored outputs.

    A staging folder gets ``conf_dir``'s files, the chapters (``chapters/``), the student editions
    of the exercises (``exercises/``) and ``extra_docs``; ``index.md`` picks them up with glob
    toctrees. Nothing is executed (``nb_execution_mode = "off"``) and nothing is downloaded;
    the pages load MathJax and a Chinese web font from ``_static/`` (relative URLs), never a CDN.
    Returns the path of ``index.html``.
    """
    conf_dir = Path(conf_dir)
    if not (conf_dir / "conf.py").is_file():
        raise CourseError(f"Sphinx configuration not found: {conf_dir / 'conf.py'}")
    chapter_paths = chapter_notebooks() if chapter_paths is None else [Path(p) for p in chapter_paths]
    if exercise_paths is None:
        exercise_paths = sorted(Path("student/exercises").glob(CHAPTER_GLOB))
    if not chapter_paths:
        raise CourseError("no chapter notebooks to build the site from")
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="rnn-site-") as tmp:
        stage = Path(tmp) / "src"
        shutil.copytree(conf_dir, stage, ignore=shutil.ignore_patterns("_build", "__pycache__"))
        for sub, paths in (("chapters", chapter_paths), ("exercises", exercise_paths)):
            (stage / sub).mkdir()
            for path in map(Path, paths):
                read_notebook(path)  # a clear error for a missing or broken notebook
                shutil.copy2(path, stage / sub / path.name)
            copy_figures(paths, stage / sub)  # markdown refers to figures/<name>.svg
        # offline: MathJax and the Chinese web font become the site's _static/ files (see conf.py)
        copy_site_assets(stage / "_offline_static", mathjax=not os.environ.get("RNN_COURSE_MATHJAX"))
        for doc in map(Path, extra_docs):
            if doc.is_file():
                shutil.copy2(doc, stage / doc.name)
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(Path(tmp) / "doctrees"),
               str(stage), str(out_dir.resolve())]
        run_tool(cmd, "sphinx-build", staging=stage)
    return out_dir / "index.html"
