"""``rnn-course student | grade | slides | site | runtimes`` — the classroom tools of
:mod:`rnn_course.classroom` on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from rnn_course.classroom.grading import (
    feedback_markdown,
    grade_cells,
    report_lines,
    write_feedback,
    written_tasks,
)
from rnn_course.classroom.notebooks import CHAPTER_GLOB, chapter_notebooks, read_notebook
from rnn_course.classroom.runtimes import course_table
from rnn_course.classroom.site import build_site
from rnn_course.classroom.slides import annotate_file, build_slides
from rnn_course.classroom.student import (
    edited_student_editions,
    stale_student_editions,
    write_student_editions,
)
from rnn_course.errors import CourseError


def _folders(p, **options) -> None:
    """``--name FOLDER`` options: name=(default, what it is)."""
    for name, (default, what) in options.items():
        p.add_argument(f"--{name}", default=default, help=f"{what} (default: %(default)s)")


def register(sub) -> None:
    p = sub.add_parser("student", help="write student editions of the exercises (solutions removed)")
    _folders(p, source=("chapters/exercises", "instructor notebooks"), out=("student/exercises", "output folder"))
    p.add_argument("--check", action="store_true", help="only check that the committed copies are current")
    p.add_argument("--force", action="store_true",
                   help="also replace student editions that were edited after they were generated (their edits are lost)")
    p.set_defaults(func=run_student)

    p = sub.add_parser("slides", help="reveal.js slides of the chapters (jupyter nbconvert --to slides)")
    p.add_argument("notebooks", nargs="*", help="chapter notebooks (default: every chapters/NN_*.ipynb)")
    _folders(p, chapters=("chapters", "chapter folder"), out=("build/slides", "output folder"))
    p.add_argument("--annotate", action="store_true",
                   help="also write the slide metadata into the notebooks themselves (for jupyterlab-rise)")
    p.add_argument("--no-html", action="store_true", help="with --annotate: only annotate, build no HTML")
    p.set_defaults(func=run_slides)

    p = sub.add_parser(
        "grade", help="grade an exercise notebook offline (points of passing test cells, with the reason of each failure)",
        description="Run a submitted exercise notebook in a fresh kernel and add up the points of the test cells "
                    "that pass; print, under each failing test, the message it raised.",
        epilog="Sealing: the kernel runs in a new temporary folder holding only a copy of the submission; with "
               "--reference the instructor's test cells (hidden tests included) replace the submission's; test "
               "cells use a fresh private copy of rnn_course/checks.py, so reassigning rnn_course.checks.* in a "
               "solution cell has no effect, and their source is removed from the kernel's input history. "
               "Limits: the tests run in the same Python process as the student's code, so a determined student "
               "can still patch NumPy, Paddle, IPython or builtins, or read any file this account can read (the "
               "instructor notebooks, if they are on this machine). For exams, grade under an account or "
               "container that cannot read the instructor tree. Written answers are listed as teacher-graded.")
    p.add_argument("notebook", help="the submitted exercise notebook (.ipynb)")
    p.add_argument("--reference", help="instructor edition: its test cells replace the submission's")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell, at least 1 (default: %(default)s)")
    p.add_argument("--feedback", metavar="FILE.md",
                   help="also write a per-student report (score, each failing check's message, written answers)")
    p.set_defaults(func=run_grade)

    p = sub.add_parser("site", help="build the static course website (Sphinx + myst-nb, stored outputs)")
    _folders(p, out=("build/site", "output folder"), conf=("docs/site", "Sphinx configuration folder"),
             chapters=("chapters", "chapter folder"))
    p.set_defaults(func=run_site)

    p = sub.add_parser("runtimes", help="Markdown table of stored run times and exercises per chapter")
    _folders(p, chapters=("chapters", "chapter folder"), exercises=("chapters/exercises", "exercise folder"))
    p.add_argument("--from-log", metavar="FILE",
                   help="read the times measured by `make test` (its output saved to FILE; '-' = stdin) instead "
                        "of the times stored in the notebooks")
    p.set_defaults(func=run_runtimes)


def run_student(args) -> int:
    if args.check:
        stale = stale_student_editions(args.source, args.out)
        if stale:
            edited = edited_student_editions(args.source, args.out)
            note = (f"; {', '.join(edited)} hold edits of their own, which `rnn-course student` keeps"
                    if edited else "; `rnn-course student` regenerates them")
            raise CourseError(f"student editions out of date: {', '.join(stale)}{note}")
        print("student editions are up to date")
        return 0
    written = write_student_editions(args.source, args.out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("student editions are up to date")
    return 0


def run_slides(args) -> int:
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


def run_grade(args) -> int:
    if args.timeout < 1:
        raise CourseError(f"--timeout must be at least 1 second, got {args.timeout}")
    if args.feedback is not None and not str(args.feedback).strip():
        raise CourseError("--feedback needs a file name")
    submission = read_notebook(args.notebook)
    results = grade_cells(args.notebook, reference=args.reference, timeout=args.timeout)
    written = written_tasks(submission)
    for line in report_lines(results, written):
        print(line)
    if args.feedback:
        print(f"wrote {write_feedback(args.feedback, feedback_markdown(Path(args.notebook).name, results, written))}")
    return 0


def run_site(args) -> int:
    index = build_site(args.out, args.conf, chapter_notebooks(args.chapters))
    print(f"wrote {index}")
    return 0


def run_runtimes(args) -> int:
    log_text = None
    if args.from_log == "-":
        log_text = sys.stdin.read()
    elif args.from_log:
        try:
            log_text = Path(args.from_log).read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise CourseError(f"cannot read {args.from_log}: {err.strerror}") from None
    print(course_table(args.chapters, args.exercises, log_text))
    return 0
