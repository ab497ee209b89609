"""export: grades from the gradebook as CSV, one row per collected submission, one column per graded part.

Every submission in ``submitted/`` has a row, recorded or not, and a ``status`` (see ``grader.classroom.status``):
``graded``, or ``not graded: why`` (a zero that was not earned, or a submission collected but never autograded, whose
parts are left empty), followed by ``; late by ...`` when nbgrader's gradebook has it past the due date.

The CSV is opened in spreadsheets, which run a cell that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a
carriage return), and a status can quote a submission (why it could not be graded). Every such text cell is written
with a leading ``'``, which spreadsheets show as text; numbers are written as they are; and no text can end a row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

from grader.classroom import status
from grader.classroom.course import Course, UserError


def rows(course: Course, assignments: list[str]) -> tuple[list[str], list[dict]]:
    from nbgrader.api import MissingEntry

    parts: list[str] = []
    table = []
    with course.gradebook() as gb:
        students = sorted(s.id for s in gb.students)
        for assignment in assignments:
            try:
                record = gb.find_assignment(assignment)
            except MissingEntry:
                raise UserError(f"{assignment} is not in the gradebook: release it first "
                                f"(python -m grader.classroom release {assignment}).") from None
            cells = [(nb.name, cell.name) for nb in record.notebooks for cell in nb.grade_cells]
            for _, cell in cells:
                if cell not in parts:
                    parts.append(cell)
            collected = set(_collected(course, assignment))
            for student in sorted(set(students) | collected):
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    submission = None
                if submission is None and student not in collected:
                    continue  # on the roster, but submitted nothing
                row = {"student": student, "assignment": assignment,
                       "status": status.describe(course, assignment, student, submission),
                       "max": f"{float(record.max_score):g}"}
                if submission is not None:
                    for notebook, cell in cells:
                        grade = gb.find_grade(cell, notebook, assignment, student)
                        row[cell] = f"{float(grade.score):g}"
                    row["total"] = f"{float(submission.score):g}"
                table.append(row)
    return ["student", "assignment", "status"] + parts + ["total", "max"], table


def _collected(course: Course, assignment: str) -> list[str]:
    folder = course.folder("submitted")
    if not folder.is_dir():
        return []
    return [p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / assignment).is_dir()]


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def as_text(value) -> str:
    """A CSV cell no spreadsheet runs: a number as it is, any other text that starts like a formula after a ``'``.

    A carriage return becomes a newline: Python's writer quotes a field with a newline, but not one with a lone
    carriage return, which a reader takes for the end of the row (a status could then add a row of its own).
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(_FORMULA):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def export(course: Course, assignments: list[str], output: Optional[Path] = None) -> str:
    for assignment in assignments:
        course.require_assignment(assignment)
    header, table = rows(course, assignments)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: as_text(value) for key, value in row.items()} for row in table)
    text = buffer.getvalue()
    if output is not None:
        Path(output).write_text(text)
    return text
