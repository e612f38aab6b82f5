"""``rnn-course student``: generate (or check) the student editions of the exercise notebooks."""

from __future__ import annotations

from rnn_course.errors import CourseError
from rnn_course.exercises import stale_student_editions, write_student_editions


def register_cli(sub) -> None:
    p = sub.add_parser("student", help="write student editions of the exercises (solutions removed)")
    p.add_argument("--source", default="chapters/exercises", help="instructor notebooks (default: %(default)s)")
    p.add_argument("--out", default="student/exercises", help="output folder (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="only check that the committed copies are current")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.check:
        stale = stale_student_editions(args.source, args.out)
        if stale:
            raise CourseError(f"student editions out of date: {', '.join(stale)} (run `rnn-course student`)")
        print("student editions are up to date")
        return 0
    for path in write_student_editions(args.source, args.out):
        print(f"wrote {path}")
    return 0
