"""One exception type for problems a learner can fix (bad input, missing files).

The command-line tool turns a :class:`CourseError` into one line on stderr and exit code 2.
"""


class CourseError(Exception):
    """A problem with the user's input, described in one clear sentence."""
