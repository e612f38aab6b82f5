"""The ``rnn-course`` command: every argparse line of the course lives in this package.

One module per command group (``tour``, ``sentiment``, ``generate``, ``classroom``, …); each defines
``register(sub)``, which adds its sub-parsers and sets ``func`` to a handler ``run_<action>(args)``.
To add a command group, write ``cli/<group>.py`` with ``register(sub)`` and add its name to
``COMMAND_GROUPS`` below — a one-line change. :func:`main` turns a
:class:`~rnn_course.errors.CourseError` (bad input) into one line on stderr and exit code 2, never a
traceback, Ctrl-C into exit code 130, and a closed output pipe (``| head``) into a quiet exit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import rnn_course  # noqa: F401  (quiet Paddle import first)
from rnn_course.cli.device import device_from
from rnn_course.errors import CourseError

# Command groups, in the order `rnn-course --help` lists them (each is rnn_course.cli.<name>).
COMMAND_GROUPS = ["tour", "classroom", "generate", "sentiment", "translate", "doctor", "models"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-course", description="循环神经网络实战课 — course tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_GROUPS:
        importlib.import_module(f"rnn_course.cli.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with device_from(args):  # --device of the training/predict commands
            return int(args.func(args) or 0)
    except CourseError as err:
        print(f"rnn-course: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-course: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnn-course … | head -1` closed the pipe: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
