"""Run times and exercises per chapter, read from the execution timestamps stored in the notebooks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rnn_course.classroom.notebooks import chapter_notebooks, heading_level, read_notebook


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


def course_table(chapters="chapters", exercises="chapters/exercises") -> str:
    """A Markdown table: chapter, stored run time, exercises (points), exercises run time."""
    rows = ["| 章节 Chapter | 运行时间 Run time | 练习 Exercises | 练习运行时间 |", "|---|---|---|---|"]
    for path in chapter_notebooks(chapters):
        runtime = stored_runtime(read_notebook(path))
        ex_path = Path(exercises) / path.name
        titles, ex_time = "—", None
        if ex_path.is_file():
            ex_nb = read_notebook(ex_path)
            titles, ex_time = "；".join(exercise_titles(ex_nb)) or "—", stored_runtime(ex_nb)
        rows.append(f"| `{path.stem}` | {_fmt_seconds(runtime)} | {titles} | {_fmt_seconds(ex_time)} |")
    return "\n".join(rows)


def _fmt_seconds(seconds) -> str:
    return "not recorded" if seconds is None else f"{seconds:.0f} s"


# --------------------------------------------------------------------------------------------
# Command line
