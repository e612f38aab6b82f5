"""Checks of numeric command-line options shared by the command groups: a bad value is one
:class:`~rnn_course.errors.CourseError` naming the option (one line, exit code 2), before any work."""

from __future__ import annotations

import math
from pathlib import Path

from rnn_course import checkpoints
from rnn_course.errors import CourseError
from rnn_course.train import has_checkpoint

MAX_SEED = 2**32 - 1 - 16  # NumPy seeds are < 2**32; RNN_COURSE_SEED_OFFSET is added on top


def whole(value, option: str, low: int = 1, high: int | None = None) -> int:
    """A whole number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise CourseError(f"{option} must be a whole number {span}, got {value}")
    return value


def seed(value, option: str = "--seed") -> int:
    return whole(value, option, 0, MAX_SEED)


def number(value, option: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> float:
    """A finite number in the interval between ``low`` and ``high`` (open ends as given)."""
    ok = (isinstance(value, (int, float)) and math.isfinite(value)
          and (value > low if low_open else value >= low) and (value < high if high_open else value <= high))
    if not ok:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise CourseError(f"{option} must be a finite number in {span}, got {value}")
    return float(value)


def learning_rate(value, option: str = "--lr") -> float:
    return number(value, option, 0.0, 10.0, low_open=True)


def training_folder(out, kind: str, *, force: bool, resume: bool, replace_model: bool = False) -> Path:
    """``--out`` of a training command, checked before any training (nothing a user saved is replaced
    silently): a model of ``kind`` may go there, ``--resume`` needs an interrupted run in it, and an
    interrupted run is never discarded without ``--force``. ``replace_model`` allows replacing the model
    alone (``--init X --out X``). Its checkpoint is ``out / CHECKPOINT_DIR``."""
    folder = checkpoints.check_output_dir(out, kind, force=force or replace_model, resume=resume)
    checkpoint = folder / checkpoints.CHECKPOINT_DIR
    if resume and not has_checkpoint(checkpoint):
        raise CourseError(f"nothing to resume in {out}: it holds no interrupted run (leave out --resume)")
    if has_checkpoint(checkpoint) and not (resume or force):
        raise CourseError(f"{out} holds an interrupted run: add --resume to continue it, or --force to "
                          "discard it and start over")
    return folder
