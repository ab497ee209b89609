"""Sample submissions made from the released notebook: the golden tests' class and the benchmark's.

A submission is the student version with each answer cell filled in: with the source's own solution (``SOLVED``),
with code given for it, or left as released. ``mutate`` then edits the whole notebook (delete, reorder or retype
cells) the way a learner might.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Optional

import nbformat

from grader.classroom.course import Course

SOLVED = object()
_SOLUTION = re.compile(r"###\s*BEGIN SOLUTION\s*\n(.*?)###\s*END SOLUTION[^\n]*\n?", re.S)


def solutions(course: Course, assignment: str) -> dict[str, str]:
    """grade_id -> the answer cell's full source in the source notebook, markers removed."""
    source = nbformat.read(course.source_notebook(assignment), as_version=4)
    out = {}
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            out[meta["grade_id"]] = _SOLUTION.sub(lambda m: m.group(1), cell.source)
    return out


def make(course: Course, assignment: str, answers: dict, mutate: Optional[Callable] = None,
         default=SOLVED) -> nbformat.NotebookNode:
    """The released notebook with ``answers`` (grade_id -> code or SOLVED); others get ``default``."""
    released = nbformat.read(course.folder("release", assignment, f"{assignment}.ipynb"), as_version=4)
    solved = solutions(course, assignment)
    for cell in released.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            answer = answers.get(grade_id, default)
            if answer is SOLVED:
                cell.source = solved[grade_id]
            elif answer is not None:
                cell.source = answer
    if mutate is not None:
        released = mutate(released) or released
    return released


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
