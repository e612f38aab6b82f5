"""Repository-wide pytest hooks: report how long each notebook took under nbval.

The course promises ≤ 3 minutes per chapter and ≤ 20 minutes in all on a 2-core CPU; the summary at
the end of `make test` shows the measured times, so the promise is checked on every run.
"""

from collections import defaultdict

_NOTEBOOK_SECONDS = defaultdict(float)


def pytest_runtest_logreport(report):
    if report.nodeid.split("::")[0].endswith(".ipynb"):
        _NOTEBOOK_SECONDS[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_SECONDS:
        return
    terminalreporter.section("notebook run times (nbval)")
    chapters = 0.0
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
        if "/exercises/" not in path:
            chapters += seconds
    terminalreporter.write_line(f"{chapters:7.1f} s  all chapters (without exercises)")
