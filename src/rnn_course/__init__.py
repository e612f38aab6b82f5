"""rnn_course — the shared package of 循环神经网络实战课.

Import this package *before* ``paddle``: it silences Paddle's environment-dependent noise at its
source (see :mod:`rnn_course.runtime`). Then call :func:`setup` once at the top of every notebook.
"""

from rnn_course.runtime import quiet_paddle_import as _quiet_paddle_import

_quiet_paddle_import()

from rnn_course.runtime import setup  # noqa: E402

__version__ = "0.1.0"
__all__ = ["setup", "__version__"]
