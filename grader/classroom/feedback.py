"""feedback: one HTML page per student and notebook, from nbgrader's own GenerateFeedback.

nbgrader's feedback shows test cells as they ran, hidden tests included. Here ``HideHiddenTests`` runs first: a
hidden region is replaced by a note, tracebacks in those cells are cut down to the error's message, which is the
check's feedback, and no line of a hidden test or of the solution (read from ``source/``) is left in any output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.classroom import status
from grader.classroom.course import Course, UserError


@dataclass
class Feedback:
    assignment: str
    pages: list = field(default_factory=list)
    without: dict = field(default_factory=dict)  # student -> why there is no page

    def summary(self) -> str:
        text = f"{self.assignment}: wrote {len(self.pages)} feedback page(s) into feedback/"
        if self.without:
            text += "; no page for " + ", ".join(f"{s} ({why})" for s, why in sorted(self.without.items()))
        return text


def autograded_students(course: Course, assignment: str) -> list[str]:
    folder = course.folder("autograded")
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())


def _no_notebook(course: Course, assignment: str, student: str) -> Optional[str]:
    """Why a recorded submission has no autograded notebook to show, if it has none (it could not be read)."""
    if any(course.folder("autograded", student, assignment).glob("*.ipynb")):
        return None
    recorded = status.read(course, assignment, student) or {}
    return f"not graded: {recorded.get('reason') or 'no autograded notebook'}"


def feedback(course: Course, assignment: str, students: Optional[list] = None) -> Feedback:
    from nbgrader.converters import GenerateFeedback

    import nbformat

    from grader.classroom.preprocessors import HideHiddenTests, secrets

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
    hidden, solutions = set(), set()
    for name in course.notebook_names(assignment):
        found = secrets(nbformat.read(course.folder("source", assignment, f"{name}.ipynb"), as_version=4))
        hidden |= found[0]
        solutions |= found[1]
    preprocessors = [HideHiddenTests] + list(GenerateFeedback.preprocessors.make_dynamic_default())
    api = course.api(**{"GenerateFeedback.preprocessors": preprocessors, "HideHiddenTests.hidden": sorted(hidden),
                        "HideHiddenTests.solutions": sorted(solutions)})
    result = Feedback(assignment)
    for student in graded:
        why = _no_notebook(course, assignment, student)
        if why:
            result.without[student] = why
            continue
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome.get("success"):  # one student's page, not the class's
            result.without[student] = "nbgrader could not write it: " + _last_line(
                f"{outcome.get('log', '')}{outcome.get('error', '')}")
            continue
        result.pages.extend(sorted(Path(course.folder("feedback", student, assignment)).glob("*.html")))
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "no message")[:200]
