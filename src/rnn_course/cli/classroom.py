"""``rnn-course student | grade | slides | site | runtimes`` — the classroom tools of
:mod:`rnn_course.classroom` on the command line."""

from __future__ import annotations

from pathlib import Path

from rnn_course.classroom.grading import grade_cells, total_score
from rnn_course.classroom.notebooks import CHAPTER_GLOB, chapter_notebooks, read_notebook
from rnn_course.classroom.runtimes import course_table
from rnn_course.classroom.site import build_site
from rnn_course.classroom.slides import annotate_file, build_slides
from rnn_course.classroom.student import stale_student_editions, write_student_editions
from rnn_course.errors import CourseError


def register(sub) -> None:
    p = sub.add_parser("student", help="write student editions of the exercises (solutions removed)")
    p.add_argument("--source", default="chapters/exercises", help="instructor notebooks (default: %(default)s)")
    p.add_argument("--out", default="student/exercises", help="output folder (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="only check that the committed copies are current")
    p.set_defaults(func=run_student)

    p = sub.add_parser("slides", help="reveal.js slides of the chapters (jupyter nbconvert --to slides)")
    p.add_argument("notebooks", nargs="*", help="chapter notebooks (default: every chapters/NN_*.ipynb)")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.add_argument("--out", default="build/slides", help="output folder (default: %(default)s)")
    p.add_argument("--annotate", action="store_true",
                   help="also write the slide metadata into the notebooks themselves (for jupyterlab-rise)")
    p.add_argument("--no-html", action="store_true", help="with --annotate: only annotate, build no HTML")
    p.set_defaults(func=run_slides)

    p = sub.add_parser("grade", help="grade an exercise notebook offline (points of passing test cells)")
    p.add_argument("notebook", help="the submitted exercise notebook (.ipynb)")
    p.add_argument("--reference", help="instructor edition: its test cells replace the submission's")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: %(default)s)")
    p.set_defaults(func=run_grade)

    p = sub.add_parser("site", help="build the static course website (Sphinx + myst-nb, stored outputs)")
    p.add_argument("--out", default="build/site", help="output folder (default: %(default)s)")
    p.add_argument("--conf", default="docs/site", help="Sphinx configuration folder (default: %(default)s)")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.set_defaults(func=run_site)

    p = sub.add_parser("runtimes", help="Markdown table of stored run times and exercises per chapter")
    p.add_argument("--chapters", default="chapters", help="chapter folder (default: %(default)s)")
    p.add_argument("--exercises", default="chapters/exercises", help="exercise folder (default: %(default)s)")
    p.set_defaults(func=run_runtimes)


def run_student(args) -> int:
    if args.check:
        stale = stale_student_editions(args.source, args.out)
        if stale:
            raise CourseError(f"student editions out of date: {', '.join(stale)} (run `rnn-course student`)")
        print("student editions are up to date")
        return 0
    for path in write_student_editions(args.source, args.out):
        print(f"wrote {path}")
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
    results = grade_cells(args.notebook, reference=args.reference, timeout=args.timeout)
    for r in results:
        print(f"{r.grade_id:<20} {'通过 passed' if r.passed else '未通过 failed':<14} "
              f"{r.points if r.passed else 0:g}/{r.points:g}")
    score, max_score = total_score(results)
    print(f"score: {score:g}/{max_score:g}")
    return 0


def run_site(args) -> int:
    index = build_site(args.out, args.conf, chapter_notebooks(args.chapters))
    print(f"wrote {index}")
    return 0


def run_runtimes(args) -> int:
    print(course_table(args.chapters, args.exercises))
    return 0
