"""feedback: one HTML page per student and notebook, from nbgrader's own GenerateFeedback.

    python -m grader.classroom.feedback          (started by ``feedback``; reads one student per line on stdin)

nbgrader's feedback shows test cells as they ran, hidden tests included. Here ``HideHiddenTests`` runs first: a
hidden region is replaced by a note, tracebacks in those cells are cut down to the error's message, which is the
check's feedback, and no line of a hidden test or of the solution (read from ``source/``) is left in any output.
Then ``SanitizeMarkup`` disarms the learner's markup, and nbconvert renders with ``sanitize_html`` and this
package's ``clean_html``: no script of a learner runs in the browser that opens the page.

Each student's pages are written by a separate process, within a time limit (``timeout``, 120 s unless said): a
notebook built to make rendering slow costs its own page, which the summary names, and the class gets theirs. The
process lives for the batch (importing nbgrader costs more than a page); one that runs past the limit is killed
with everything it started, and a fresh one takes the next student.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.classroom import status
from grader.classroom.child import Child, Ended, TimedOut, answer, pipes
from grader.classroom.course import Course, UserError, printable

PAGE_TIMEOUT = 120  # seconds one student's feedback may take
STARTUP_TIMEOUT = 120  # seconds the process that writes pages may take to import nbgrader


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
    return f"not graded: {printable(str(recorded.get('reason') or 'no autograded notebook'))}"


def overrides(hidden: list, solutions: list) -> dict:
    """nbgrader's configuration for GenerateFeedback: secrets hidden, markup disarmed, HTML sanitised."""
    from nbgrader.converters import GenerateFeedback

    from grader.classroom.preprocessors import HideHiddenTests, SanitizeMarkup

    preprocessors = [HideHiddenTests, SanitizeMarkup] + list(GenerateFeedback.preprocessors.make_dynamic_default())
    return {"GenerateFeedback.preprocessors": preprocessors, "HideHiddenTests.hidden": sorted(hidden),
            "HideHiddenTests.solutions": sorted(solutions), "HTMLExporter.sanitize_html": True,
            "HTMLExporter.filters": {"clean_html": "grader.classroom.preprocessors.clean_html"}}


def write_pages(root: str, assignment: str, student: str, hidden: list, solutions: list) -> dict:
    """One student's pages, with nbgrader's API; what nbgrader said."""
    outcome = Course(root).api(**overrides(hidden, solutions)).generate_feedback(assignment, student, force=True)
    return {"success": bool(outcome.get("success")), "log": str(outcome.get("log") or ""),
            "error": str(outcome.get("error") or "")}


class Pages:
    """The process that writes pages (this module run as a program), driven one student at a time."""

    def __init__(self, log):
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        self.child = Child([sys.executable, "-m", "grader.classroom.feedback"], env, log)
        try:  # it says when it has imported nbgrader: a student's time limit counts that student's pages only
            ready = self.child.answer(STARTUP_TIMEOUT)
        except (TimedOut, Ended):
            ready = {}
        if not ready.get("ready"):
            self.close(kill=True)
            log.seek(0)
            raise UserError("The process that writes feedback pages did not start: "
                            f"{_last_line(log.read()[-2000:])}. Check that nbgrader imports in this Python "
                            f"({sys.executable} -c 'import nbgrader').")

    def write(self, job: dict, timeout: float) -> Optional[dict]:
        """What nbgrader said, or None if the process ran past ``timeout`` seconds (it is then killed)."""
        try:
            return self.child.ask(job, timeout)
        except TimedOut:
            return None
        except Ended:
            self.close(kill=True)
            return {"success": False, "log": "", "error": "the process writing the pages ended before it finished"}

    @property
    def alive(self) -> bool:
        return self.child.alive

    def close(self, kill: bool = False) -> None:
        self.child.close(kill)


def feedback(course: Course, assignment: str, students: Optional[list] = None,
             timeout: float = PAGE_TIMEOUT) -> Feedback:
    import nbformat

    from grader.classroom.preprocessors import secrets

    if timeout <= 0:
        raise UserError(f"The time limit for one student's feedback must be more than 0 seconds, not {timeout:g}.")
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
    result = Feedback(assignment)
    with tempfile.TemporaryFile("w+") as log:
        pages = None
        try:
            for student in graded:
                why = _no_notebook(course, assignment, student)
                if why:
                    result.without[student] = why
                    continue
                if pages is None or not pages.alive:
                    pages = Pages(log)
                job = {"root": str(course.root), "assignment": assignment, "student": student,
                       "hidden": sorted(hidden), "solutions": sorted(solutions)}
                outcome = pages.write(job, timeout)
                if outcome is None:
                    shutil.rmtree(course.folder("feedback", student, assignment), ignore_errors=True)  # half-written
                    result.without[student] = (
                        f"feedback stopped after {timeout:g} s, the limit for one student's pages: something in "
                        f"autograded/{student}/{assignment}/ makes it slow to render; look at it, or give it longer "
                        "with --timeout")
                    pages = None
                    continue
                if not outcome.get("success"):  # one student's page, not the class's
                    result.without[student] = "nbgrader could not write it: " + _last_line(
                        f"{outcome.get('log', '')}{outcome.get('error', '')}")
                    continue
                result.pages.extend(sorted(Path(course.folder("feedback", student, assignment)).glob("*.html")))
        finally:
            if pages is not None:
                pages.close()
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return printable(lines[-1] if lines else "no message")[:200]


def serve(jobs, answers) -> None:
    """Write each student's pages as ``jobs`` ask, one line of JSON each; answer each with one line of JSON."""
    for line in jobs:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            outcome = write_pages(job["root"], job["assignment"], job["student"], job["hidden"], job["solutions"])
        except Exception as error:  # this student's pages, not the batch's
            outcome = {"success": False, "log": "", "error": f"{type(error).__name__}: {error}"}
        answer(answers, outcome)


def main() -> None:
    jobs, answers = pipes()  # answers only: whatever nbgrader or nbconvert prints goes to the log
    import nbgrader.converters  # noqa: F401 (the slow part, before the first student's clock starts)

    import grader.classroom.preprocessors  # noqa: F401

    answer(answers, {"ready": True})
    serve(jobs, answers)


if __name__ == "__main__":
    main()
