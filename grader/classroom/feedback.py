"""feedback: one HTML page per student and notebook, from nbgrader's own GenerateFeedback.

nbgrader's feedback shows test cells as they ran, hidden tests included. Here ``HideHiddenTests`` runs first: a
hidden region is replaced by a note and tracebacks in those cells are cut down to the error's message, which is the
check's feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.classroom.course import Course, UserError


@dataclass
class Feedback:
    assignment: str
    pages: list = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.assignment}: wrote {len(self.pages)} feedback page(s) into feedback/"


def autograded_students(course: Course, assignment: str) -> list[str]:
    folder = course.folder("autograded")
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())


def feedback(course: Course, assignment: str, students: Optional[list] = None) -> Feedback:
    from nbgrader.converters import GenerateFeedback

    from grader.classroom.preprocessors import HideHiddenTests

    course.require_assignment(assignment)
    graded = autograded_students(course, assignment)
    if students:
        missing = sorted(set(students) - set(graded))
        if missing:
            raise UserError(f"{', '.join(missing)} have no autograded {assignment}: autograde first "
                            f"(python -m grader.classroom autograde {assignment}).")
        graded = [s for s in graded if s in students]
    if not graded:
        raise UserError(f"Nothing of {assignment} is autograded yet: run python -m grader.classroom autograde "
                        f"{assignment} first.")
    preprocessors = [HideHiddenTests] + list(GenerateFeedback.preprocessors.make_dynamic_default())
    api = course.api(**{"GenerateFeedback.preprocessors": preprocessors})
    result = Feedback(assignment)
    for student in graded:
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome.get("success"):
            raise UserError(f"nbgrader could not write {student}'s feedback:\n{outcome.get('log', '')}"
                            f"{outcome.get('error', '')}")
        result.pages.extend(sorted(Path(course.folder("feedback", student, assignment)).glob("*.html")))
    return result
