"""``python -m rnn_course.cli`` — the same as the ``rnn-course`` command."""

import sys

from rnn_course.cli import main

sys.exit(main())
