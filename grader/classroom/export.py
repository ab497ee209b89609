"""export: grades from the gradebook as CSV, one row per collected submission, one column per graded part.

``--format canvas`` writes instead the file Canvas's gradebook imports (Grades, Import): the columns Canvas names
(``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``), a ``Points Possible`` row, and one column per
assignment with each student's total, for every student on the roster. Canvas matches a student by these columns, so
the roster carries them (``sis_user_id``, ``sis_login_id``, ``section``, ``lms_id``; by default the SIS User ID is the
roster's ``id`` and the SIS Login ID its ``email``). A submission that was not graded, or none at all, is left blank,
which Canvas imports as no change: an instructor decides, the file never records a zero nobody earned.

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


FORMATS = ("parts", "canvas")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_rows(course: Course, assignments: list[str], roster: Optional[Path] = None) -> tuple[list[str], list[dict]]:
    """Canvas's gradebook import: one row per student on the roster, one column per assignment (the total)."""
    from grader.classroom.collect import read_roster

    students = read_roster(course, roster)
    header, table = rows(course, assignments)
    totals = {(row["student"], row["assignment"]): row for row in table}
    maxima = {row["assignment"]: row["max"] for row in table}
    points = {"Student": "Points Possible", **{a: maxima.get(a, _max_score(course, a)) for a in assignments}}
    out = [points]
    for sid, known in sorted(students.items(), key=lambda item: (item[1]["last_name"] or "", item[1]["first_name"]
                                                                  or "", item[0])):
        name = ", ".join(n for n in (known["last_name"], known["first_name"]) if n) or sid
        row = {"Student": name, "ID": known["lms_id"] or "", "SIS User ID": known["sis_user_id"] or sid,
               "SIS Login ID": known["sis_login_id"] or known["email"] or sid, "Section": known["section"] or ""}
        for assignment in assignments:
            graded = totals.get((sid, assignment))
            row[assignment] = graded["total"] if graded and graded["status"].startswith("graded") else ""
        out.append(row)
    return CANVAS_COLUMNS + list(assignments), out


def _max_score(course: Course, assignment: str) -> str:
    with course.gradebook() as gb:
        return f"{float(gb.find_assignment(assignment).max_score):g}"


def export(course: Course, assignments: list[str], output: Optional[Path] = None, *, format: str = "parts",
           roster: Optional[Path] = None) -> str:
    for assignment in assignments:
        course.require_assignment(assignment)
    if format not in FORMATS:
        raise UserError(f"There is no export format {format!r}: choose {' or '.join(FORMATS)}.")
    header, table = rows(course, assignments) if format == "parts" else canvas_rows(course, assignments, roster)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: as_text(value) for key, value in row.items()} for row in table)
    text = buffer.getvalue()
    if output is not None:
        Path(output).write_text(text)
    return text
