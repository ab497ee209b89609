"""The instructor's pipeline on nbgrader's own API and gradebook, one module per stage.

``release`` (generate the student version and prove it) -> ``collect`` (submissions into ``submitted/``) ->
``autograde`` (in parallel, each submission in its own process, kernel and sandbox) -> ``feedback`` (HTML that
never shows a hidden test) -> ``export`` (grades as CSV). ``cli`` is the command line: ``python -m grader.classroom``.
"""

from grader.classroom.course import Course, UserError

__all__ = ["Course", "UserError"]
