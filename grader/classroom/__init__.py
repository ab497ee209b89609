"""The instructor's pipeline on nbgrader's own API and gradebook, one module per stage.

``release`` (generate the student version and prove it) -> ``collect`` (submissions into ``submitted/``) ->
``autograde`` (each submission put back in its released shape by ``normalize``, then graded in parallel, each in its
own process, kernel and sandbox, and recorded with its ``status``) -> ``feedback`` (HTML that never shows a
hidden test) -> ``export`` (grades as CSV, with each submission's status). ``cli`` is the command line: ``python -m grader.classroom``.
"""

from grader.classroom.course import Course, UserError

__all__ = ["Course", "UserError"]
