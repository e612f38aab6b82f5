"""Old import path of the exercise checks.

The checks that exercise test cells call live in :mod:`rnn_course.checks` (basic assertions and the
diagnostic ``check_*`` toolkit). This module only keeps ``from rnn_course.exercises import
check_close`` working in student notebooks saved before the move, so a learner's saved work still
runs. New notebooks import from :mod:`rnn_course.checks`.
"""

from rnn_course.checks import check_close, check_equal, check_true

__all__ = ["check_close", "check_equal", "check_true"]
