"""Student editions of the exercise notebooks, made with nbgrader's own preprocessors.

Exercise notebooks (``chapters/exercises/NN_<slug>.ipynb``) are instructor editions in nbgrader's
format: solution cells hold ``### BEGIN SOLUTION`` / ``### END SOLUTION``, locked test cells carry
points, hidden tests sit between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.
:func:`student_edition` turns one into the learner's copy (solutions → ``raise NotImplementedError()``,
written answers → a prompt, hidden tests removed, outputs cleared, test cells locked).

A learner's work is never overwritten: :func:`write_student_editions` records a SHA-256 of every file
it writes in ``.editions.json`` next to them, and refuses (listing the files) to replace a file whose
content is neither that recorded edition nor the new one and whose answer cells (nbgrader solution
cells) differ from the new edition's stubs — unless ``force=True``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import nbformat

from rnn_course.errors import CourseError

MANIFEST = ".editions.json"
CODE_STUB = "# 在这里写你的代码\nraise NotImplementedError()"
TEXT_STUB = "在这里写你的回答（几句话即可，由教师批改）。"


def student_edition(nb):
    """Return the student edition of an instructor notebook (a new ``nbformat`` node)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    nb = copy.deepcopy(nb)
    clear = ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB)
    for preprocessor in (clear, ClearHiddenTests(), LockCells(), ClearOutput()):
        nb, _ = preprocessor.preprocess(nb, {})
    for cell in nb.cells:  # execution timestamps of the instructor's last run mean nothing to students
        cell.metadata.pop("execution", None)
    return nb


def exercise_notebooks(source_dir) -> list:
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise CourseError(f"exercise folder not found: {source_dir}")
    found = sorted(p for p in source_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not found:
        raise CourseError(f"no exercise notebooks (*.ipynb) in {source_dir}")
    return found


def _render(path: Path) -> str:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # JSON errors, unknown nbformat, bad encoding
        raise CourseError(f"not a readable Jupyter notebook: {path} ({type(err).__name__})") from err
    try:
        return nbformat.writes(student_edition(nb)) + "\n"
    except RuntimeError as err:  # nbgrader: unbalanced BEGIN/END SOLUTION markers
        raise CourseError(f"{path.name}: {err} (check the BEGIN/END SOLUTION markers)") from err


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_manifest(out_dir: Path) -> dict:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def _plan(source_dir, out_dir) -> tuple:
    """``(changes, edited)``: name → new text for every file to write; names of files among them
    whose current content the learner changed (neither the recorded edition nor the new one)."""
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    changes, edited = {}, []
    for path in exercise_notebooks(source_dir):
        text, target = _render(path), out_dir / path.name
        try:
            current = target.read_text(encoding="utf-8") if target.exists() else None
        except (OSError, UnicodeDecodeError):
            current = ""  # unreadable: treat as the learner's
        if current == text:
            continue
        changes[path.name] = text
        if current is not None and manifest.get(path.name) != _digest(current) and _holds_work(current, text):
            edited.append(path.name)
    return changes, edited


def _holds_work(current: str, new: str) -> bool:
    """Whether ``current`` holds something a learner wrote that ``new`` would lose: an answer cell
    (nbgrader solution cell, by grade_id) that differs from the new stub, or a cell the new edition
    does not have. Anything else (statements, tests, metadata) is the instructor's or a tool's."""
    try:
        mine, theirs = nbformat.reads(current, as_version=4), nbformat.reads(new, as_version=4)
    except Exception:  # not a notebook any more: someone's own file, keep it
        return True

    def answers(nb):
        return {c.metadata["nbgrader"].get("grade_id"): c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("solution")}

    new_ids = {c.get("id") for c in theirs.cells}
    return answers(mine) != answers(theirs) or any(c.get("id") not in new_ids for c in mine.cells)


def write_student_editions(source_dir="chapters/exercises", out_dir="student/exercises", force=False) -> list:
    """Write the student edition of every exercise notebook that changed; returns the written paths.

    Refuses (a :class:`CourseError` listing them) when a file to be replaced holds edits of its
    own — a learner's work — unless ``force``.
    """
    out_dir = Path(out_dir)
    changes, edited = _plan(source_dir, out_dir)
    if edited and not force:
        raise CourseError(f"not overwriting {len(edited)} student edition(s) in {out_dir} that were edited after "
                          f"they were generated: {', '.join(edited)} (save your work elsewhere, or use --force "
                          "to replace them)")
    manifest = _read_manifest(out_dir)
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in changes.items():
            _atomic_write(out_dir / name, text)
            manifest[name] = _digest(text)
            written.append(out_dir / name)
        for path in exercise_notebooks(source_dir):  # record editions that were already current
            target = out_dir / path.name
            if path.name not in manifest and target.is_file():
                manifest[path.name] = _digest(target.read_text(encoding="utf-8"))
        _atomic_write(out_dir / MANIFEST, json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")
    except OSError as err:
        raise CourseError(f"cannot write student editions to {out_dir}: {err.strerror or err}") from err
    return written


def _atomic_write(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def stale_student_editions(source_dir="chapters/exercises", out_dir="student/exercises") -> list:
    """Names of student editions that are missing or differ from what would be generated now."""
    return sorted(_plan(source_dir, out_dir)[0])


def edited_student_editions(source_dir="chapters/exercises", out_dir="student/exercises") -> list:
    """Names of out-of-date student editions that hold a learner's own edits."""
    return _plan(source_dir, out_dir)[1]


def validate(path, invert: bool = False) -> dict:
    """Run a notebook with nbgrader's Validator. ``invert=False``: returns failing test cells;
    ``invert=True`` (for student stubs): returns test cells that *pass*. Empty dict = as expected."""
    from nbgrader.validator import Validator

    return Validator(invert=invert, ignore_checksums=True).validate(str(path))
