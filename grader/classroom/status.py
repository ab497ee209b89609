"""The status of each collected submission: graded, not graded and why, or late; what export and autograde report.

nbgrader's gradebook holds scores, the due date and the submission's timestamp, but not whether a zero was earned
or is all that could be recorded. ``autograde`` therefore writes ``grading.json`` next to the autograded notebooks
(``autograded/<student>/<assignment>/grading.json``): ``{"graded": bool, "reason": str | null, "repairs": [...]}``,
where ``repairs`` are the cells that normalisation put back (see ``grader.classroom.normalize``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import nbformat

from grader.classroom.course import Course
from grader.classroom.normalize import NOTE_ID

FILE = "grading.json"


def path(course: Course, assignment: str, student: str) -> Path:
    return course.folder("autograded", student, assignment, FILE)


def write(course: Course, assignment: str, student: str, reason: Optional[str], repairs: list) -> None:
    target = path(course, assignment, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"graded": reason is None, "reason": reason, "repairs": repairs}, indent=1) + "\n")


def read(course: Course, assignment: str, student: str) -> Optional[dict]:
    try:
        return json.loads(path(course, assignment, student).read_text())
    except (OSError, ValueError):
        return None


def repairs(course: Course, assignment: str, student: str) -> list[str]:
    """The repairs listed in the note at the top of each autograded notebook of this submission."""
    found = []
    names = course.notebook_names(assignment)
    for name in names:
        file = course.folder("autograded", student, assignment, f"{name}.ipynb")
        try:
            nb = nbformat.read(file, as_version=4)
        except Exception:  # a notebook that is not there has nothing to list
            continue
        notes = [c for c in nb.cells if c.get("id") == NOTE_ID]
        for line in notes[0].source.splitlines()[1:] if notes else []:
            if line.startswith("- "):
                found.append(line[2:] if len(names) == 1 else f"{name}: {line[2:]}")
    return found


def late_by(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "late by less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return "late by " + " ".join(p for p in parts if p)


def describe(course: Course, assignment: str, student: str, submission) -> str:
    """One cell of the export's status column: ``graded``, ``not graded: why``, with ``; late by ...`` if late.

    ``submission`` is nbgrader's gradebook record of it, or None when it was collected but never recorded.
    """
    if submission is None:
        return (f"not graded: collected but not autograded (run: python -m grader.classroom autograde "
                f"{assignment})")
    recorded = read(course, assignment, student)
    text = "graded" if recorded is None or recorded.get("graded") else f"not graded: {recorded.get('reason')}"
    if _resubmitted(course, assignment, student):
        text = "not graded: collected again after it was graded (autograde it again)"
    seconds = float(submission.total_seconds_late or 0)
    if seconds > 0:
        text += f"; {late_by(seconds)}"
    return text


def _resubmitted(course: Course, assignment: str, student: str) -> bool:
    def stamp(stage: str) -> Optional[str]:
        try:
            return course.folder(stage, student, assignment, "timestamp.txt").read_text().strip()
        except OSError:
            return None

    submitted, graded = stamp("submitted"), stamp("autograded")
    return submitted is not None and graded is not None and submitted != graded
