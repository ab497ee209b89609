"""export: grades from the gradebook as CSV, one row per student and assignment, one column per graded part."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

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
            for student in students:
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    continue
                row = {"student": student, "assignment": assignment}
                for notebook, cell in cells:
                    grade = gb.find_grade(cell, notebook, assignment, student)
                    row[cell] = f"{float(grade.score):g}"
                row["total"] = f"{float(submission.score):g}"
                row["max"] = f"{float(submission.max_score):g}"
                table.append(row)
    return ["student", "assignment"] + parts + ["total", "max"], table


def export(course: Course, assignments: list[str], output: Optional[Path] = None) -> str:
    for assignment in assignments:
        course.require_assignment(assignment)
    header, table = rows(course, assignments)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    text = buffer.getvalue()
    if output is not None:
        Path(output).write_text(text)
    return text
