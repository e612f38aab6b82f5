"""Classroom and publishing: offline grading, lecture slides, the course website.

* :func:`grade` runs an exercise notebook (a student's submission) in a fresh ``python3`` kernel
  and adds up the points of the nbgrader test cells that ran without error — no gradebook, no
  network. With ``reference=`` the test cells are first restored from the instructor edition, so
  a submission whose locked tests were edited is still graded by the real tests.
* :func:`annotate_slides` sets ``metadata.slideshow.slide_type`` on every cell from the cell's own
  content (headings start slides), so ``jupyter nbconvert --to slides`` and ``jupyterlab-rise``
  present a chapter well; :func:`build_slides` writes reveal.js HTML.
* :func:`build_site` builds a static website (Sphinx + myst-nb, stored outputs, no execution).
* :func:`course_table` reads each chapter's run time from the execution timestamps that
  ``nbconvert --execute`` stores in the notebook, and lists each chapter's exercises.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rnn_course.errors import CourseError

CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
_HEADING = re.compile(r"^(#{1,6})\s+\S")


# --------------------------------------------------------------------------------------------
# Reading notebooks
# --------------------------------------------------------------------------------------------
def read_notebook(path):
    """Read a notebook; a missing file or a file that is not a notebook is a :class:`CourseError`."""
    import nbformat

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


# --------------------------------------------------------------------------------------------
# Offline grading
# --------------------------------------------------------------------------------------------
@dataclass
class TestResult:
    grade_id: str
    points: float
    passed: bool


def _graded(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade"))


def _restore_tests(nb, reference) -> list:
    """Copy every graded cell's source from ``reference`` into ``nb`` (matched by grade_id).

    Returns the reference's graded cells, which define the maximum score. Tests the student
    deleted stay in the maximum and score zero.
    """
    ref_tests = [c for c in reference.cells if _graded(c)]
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
    tests = [c for c in nb.cells if _graded(c)]
    if reference is not None:
        tests = _restore_tests(nb, read_notebook(reference))
    if not tests:
        raise CourseError(f"{path.name} has no graded test cells (nbgrader metadata grade: true)")
    for cell in nb.cells:  # a submission's stored outputs prove nothing
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None

    ok_ids = set()

    def on_cell_executed(cell, cell_index, execute_reply):
        if execute_reply and execute_reply.get("content", {}).get("status") == "ok" and _graded(cell):
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


def grade(path, reference=None, timeout: int = 600) -> tuple:
    """``(score, max_score)`` of an exercise notebook, executed offline (see :func:`grade_cells`)."""
    results = grade_cells(path, reference=reference, timeout=timeout)
    return sum(r.points for r in results if r.passed), sum(r.points for r in results)


# --------------------------------------------------------------------------------------------
# Slides
# --------------------------------------------------------------------------------------------
def _heading_level(cell) -> int:
    if cell.cell_type != "markdown":
        return 0
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    match = _HEADING.match(first)
    return len(match.group(1)) if match else 0


def slide_type(cell, previous=None) -> str:
    """The slide type of ``cell`` given the cell before it (``None`` for the first cell).

    ``#``/``##`` headings start a slide, ``###`` and deeper a sub-slide (a vertical slide in
    reveal.js); any cell that follows a code cell starts a sub-slide so that one slide never holds
    two code outputs; empty cells are skipped; everything else continues the current slide.
    """
    if not cell.source.strip():
        return "skip"
    level = _heading_level(cell)
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
    import nbformat

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
    import nbformat

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
        _run(cmd, "jupyter nbconvert --to slides")
    return [out_dir / f"{p.stem}.slides.html" for p in paths]


def _run(cmd, what: str, staging=None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    for line in warnings:  # show the tool's own warnings (e.g. a broken link in a chapter)
        print(line.replace(f"{staging}{os.sep}", "") if staging else line, file=sys.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise CourseError(f"{what} failed: {tail[0]}")


# --------------------------------------------------------------------------------------------
# Website
# --------------------------------------------------------------------------------------------
def build_site(out_dir="build/site", conf_dir="docs/site", chapter_paths=None, exercise_paths=None,
               extra_docs=("docs/teaching.md",)) -> Path:
    """Build the static course website with Sphinx + myst-nb from the notebooks' stored outputs.

    A staging folder gets ``conf_dir``'s files, the chapters (``chapters/``), the student editions
    of the exercises (``exercises/``) and ``extra_docs``; ``index.md`` picks them up with glob
    toctrees. Nothing is executed (``nb_execution_mode = "off"``) and nothing is downloaded.
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
        for doc in map(Path, extra_docs):
            if doc.is_file():
                shutil.copy2(doc, stage / doc.name)
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(Path(tmp) / "doctrees"),
               str(stage), str(out_dir.resolve())]
        _run(cmd, "sphinx-build", staging=stage)
    return out_dir / "index.html"


# --------------------------------------------------------------------------------------------
# Run times and exercises per chapter (read from the stored notebooks)
# --------------------------------------------------------------------------------------------
def stored_runtime(nb):
    """Seconds from the first cell's start to the last cell's reply, from the ``execution``
    timestamps nbconvert/nbclient store; ``None`` if the notebook carries none. Kernel start-up
    (≈ 5 s here) is not included."""
    stamps = []
    for cell in nb.cells:
        meta = cell.metadata.get("execution", {})
        for key in ("iopub.execute_input", "shell.execute_reply"):
            if key in meta:
                stamps.append(datetime.fromisoformat(meta[key].replace("Z", "+00:00")))
    return (max(stamps) - min(stamps)).total_seconds() if len(stamps) >= 2 else None


def exercise_titles(nb) -> list:
    """The ``##`` headings of an exercise notebook (one per exercise)."""
    return [c.source.strip().splitlines()[0].lstrip("#").strip() for c in nb.cells if _heading_level(c) == 2]


def course_table(chapters="chapters", exercises="chapters/exercises") -> str:
    """A Markdown table: chapter, stored run time, exercises (points), exercises run time."""
    rows = ["| 章节 Chapter | 运行时间 Run time | 练习 Exercises | 练习运行时间 |", "|---|---|---|---|"]
    for path in chapter_notebooks(chapters):
        runtime = stored_runtime(read_notebook(path))
        ex_path = Path(exercises) / path.name
        titles, ex_time = "—", None
        if ex_path.is_file():
            ex_nb = read_notebook(ex_path)
            titles, ex_time = "；".join(exercise_titles(ex_nb)) or "—", stored_runtime(ex_nb)
        rows.append(f"| `{path.stem}` | {_fmt_seconds(runtime)} | {titles} | {_fmt_seconds(ex_time)} |")
    return "\n".join(rows)


def _fmt_seconds(seconds) -> str:
    return "not recorded" if seconds is None else f"{seconds:.0f} s"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def register_cli(sub) -> None:
    p = sub.add_parser("slides", help="reveal.js slides of the chapters (jupyter nbconvert --to slides)")
    p.add_argument("notebooks", nargs="*", help="chapter notebooks (default: every chapters/NN_*.ipynb)")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.add_argument("--out", default="build/slides", help="output folder (default: %(default)s)")
    p.add_argument("--annotate", action="store_true",
                   help="also write the slide metadata into the notebooks themselves (for jupyterlab-rise)")
    p.add_argument("--no-html", action="store_true", help="with --annotate: only annotate, build no HTML")
    p.set_defaults(func=_run_slides)

    p = sub.add_parser("grade", help="grade an exercise notebook offline (points of passing test cells)")
    p.add_argument("notebook", help="the submitted exercise notebook (.ipynb)")
    p.add_argument("--reference", help="instructor edition: its test cells replace the submission's")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: %(default)s)")
    p.set_defaults(func=_run_grade)

    p = sub.add_parser("site", help="build the static course website (Sphinx + myst-nb, stored outputs)")
    p.add_argument("--out", default="build/site", help="output folder (default: %(default)s)")
    p.add_argument("--conf", default="docs/site", help="Sphinx configuration folder (default: %(default)s)")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.set_defaults(func=_run_site)

    p = sub.add_parser("runtimes", help="Markdown table of stored run times and exercises per chapter")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.add_argument("--exercises", default="chapters/exercises", help="exercise folder (default: %(default)s)")
    p.set_defaults(func=lambda args: print(course_table(args.chapters, args.exercises)))


def _run_slides(args) -> int:
    paths = [Path(p) for p in args.notebooks] or chapter_notebooks(args.chapters)
    if not paths:
        raise CourseError(f"no chapter notebooks ({CHAPTER_GLOB}) in {args.chapters}")
    for path in paths:
        read_notebook(path)  # clear error for a missing or broken file before any work
    if args.annotate:
        changed = [p for p in paths if annotate_file(p)]
        print(f"slide metadata: {len(changed)} notebook(s) updated, {len(paths) - len(changed)} already current")
    if args.annotate and args.no_html:
        return 0
    for html in build_slides(paths, args.out):
        print(f"wrote {html}")
    return 0


def _run_grade(args) -> int:
    results = grade_cells(args.notebook, reference=args.reference, timeout=args.timeout)
    for r in results:
        print(f"{r.grade_id:<20} {'通过 passed' if r.passed else '未通过 failed':<14} "
              f"{r.points if r.passed else 0:g}/{r.points:g}")
    score, max_score = sum(r.points for r in results if r.passed), sum(r.points for r in results)
    print(f"score: {score:g}/{max_score:g}")
    return 0


def _run_site(args) -> int:
    index = build_site(args.out, args.conf, chapter_notebooks(args.chapters))
    print(f"wrote {index}")
    return 0
