"""``--device`` for the commands that train or predict (not a command group of its own).

A command adds the option with :func:`add_device_option`; :func:`rnn_course.cli.main` runs every
command inside :func:`device_from`, which puts the choice into ``$RNN_COURSE_DEVICE`` for the
duration of the command, so every ``rnn_course.setup()`` the command reaches (directly or inside
a training helper) uses it. A bad value or a missing GPU is a CourseError (one line, exit 2).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from rnn_course.runtime import DEVICE_ENV, resolve_device

DEVICE_HELP = f"cpu (default), gpu, gpu:N or auto (a GPU if there is one); default ${DEVICE_ENV}"


def add_device_option(parser) -> None:
    parser.add_argument("--device", default=None, metavar="DEVICE", help=DEVICE_HELP)


@contextmanager
def device_from(args):
    """Apply ``args.device`` (when the command has the option and it was given), then restore."""
    device = getattr(args, "device", None)
    if device is None:
        yield
        return
    resolve_device(device)  # fail before any work is done
    before = os.environ.get(DEVICE_ENV)
    os.environ[DEVICE_ENV] = device
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = before
