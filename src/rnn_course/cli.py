"""The ``rnn-course`` command.

Each topic module that offers commands exposes ``register_cli(subparsers)``; this module wires them
together and turns a :class:`~rnn_course.errors.CourseError` (bad input) into one line on stderr
and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rnn_course.errors import CourseError

# Topic modules that add sub-commands (each defines register_cli(subparsers)).
COMMAND_MODULES = ["rnn_course.tour", "rnn_course.exercises_cli", "rnn_course.generate", "rnn_course.sentiment",
                   "rnn_course.publishing"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-course", description="循环神经网络实战课 — course tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv=None) -> int:
    import rnn_course  # noqa: F401  (quiet Paddle import first)

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CourseError as err:
        print(f"rnn-course: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
