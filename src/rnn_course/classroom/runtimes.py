"""Run times and exercises per chapter, read from the execution timestamps stored in the notebooks
or from the timing table that ``make test`` prints (the README's table is generated from the latter)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from rnn_course.classroom.notebooks import chapter_notebooks, heading_level, read_notebook
from rnn_course.errors import CourseError


def stored_runtime(nb):
    """Seconds from the first cell's start to the last cell's reply, from the ``execution``
    timestamps nbconvert/nbclient store; ``None`` if the notebook carries none. Kernel start-up
    (≈ 5 s here) is not included."""
    stamps = []
    for cell in nb.cells:
        meta = cell.metadata.get("execution", {})
        for key in ("iopub.execute_input", "shell.execute_reply"):
            if key in meta:
                stamps.append(datetime.fromisoformat(meta[key].replace("Z", "+00:00")))
    return (max(stamps) - min(stamps)).total_seconds() if len(stamps) >= 2 else None


def exercise_titles(nb) -> list:
    """The ``##`` headings of an exercise notebook (one per exercise)."""
    return [c.source.strip().splitlines()[0].lstrip("#").strip() for c in nb.cells if heading_level(c) == 2]


_LOG_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?) s\s+(\S+\.ipynb)\s*$")


def logged_runtimes(log_text: str) -> dict:
    """``{notebook file name: seconds}`` for chapters and ``{"exercises/<name>": seconds}`` for
    exercises, from the "notebook run times (nbval)" table at the end of a ``make test`` log."""
    times = {}
    for line in log_text.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            path = Path(match.group(2))
            key = f"exercises/{path.name}" if path.parent.name == "exercises" else path.name
            times[key] = float(match.group(1))
    if not times:
        raise CourseError("no notebook run times found: pass the output of `make test` "
                          "(its last table, 'notebook run times (nbval)')")
    return times


def course_table(chapters="chapters", exercises="chapters/exercises", log_text: str | None = None) -> str:
    """A Markdown table: chapter, run time, exercises, exercises run time — the times stored in the
    notebooks, or with ``log_text`` the times measured by a ``make test`` run (plus a total)."""
    logged = logged_runtimes(log_text) if log_text is not None else None
    rows = ["| 章节 Chapter | 运行时间 Run time | 练习 Exercises | 练习运行时间 |", "|---|---|---|---|"]
    total = 0.0
    for path in chapter_notebooks(chapters):
        ex_path = Path(exercises) / path.name
        ex_nb = read_notebook(ex_path) if ex_path.is_file() else None
        titles = ("；".join(exercise_titles(ex_nb)) or "—") if ex_nb is not None else "—"
        if logged is None:
            runtime = stored_runtime(read_notebook(path))
            ex_time = stored_runtime(ex_nb) if ex_nb is not None else None
        else:
            runtime, ex_time = logged.get(path.name), logged.get(f"exercises/{path.name}")
            total += runtime or 0.0
        rows.append(f"| `{path.stem}` | {_fmt_seconds(runtime)} | {titles} | {_fmt_seconds(ex_time)} |")
    if logged is not None:
        rows.append(f"| **all chapters** | **{total / 60:.1f} min** | | |")
    return "\n".join(rows)


def _fmt_seconds(seconds) -> str:
    return "not recorded" if seconds is None else f"{seconds:.0f} s"


# --------------------------------------------------------------------------------------------
# Command line
