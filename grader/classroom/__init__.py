"""The instructor's pipeline on nbgrader's own API and gradebook, one module per stage.

``release`` (generate the student version and prove it) -> ``collect`` (submissions into ``submitted/``) ->
``autograde`` (each submission put back in its released shape by ``normalize``, then graded in parallel, each in its
own process, kernel and sandbox, and recorded with its ``status``) -> ``feedback`` (HTML that never shows a
hidden test) -> ``export`` (grades as CSV, with each submission's status, or Canvas's gradebook file); ``report``
(what the class misunderstood, from the ``diagnoses`` autograde records). Where classes live: ``gradescope`` (an
assignment as a Gradescope autograder, which grades each submission with the stages above) and ``github`` (a GitHub
Classroom starter repository). ``cli`` is the command line: ``python -m grader.classroom``.
"""

from grader.aws import browser

if browser.in_browser():
    from grader.errors import NotInThisBrowser

    raise NotInThisBrowser(
        "The classroom's tools (release, collect, autograde, feedback, export, report) run on the instructor's "
        "machine, where nbgrader and its kernels are: a learner in the browser self-checks with grader.selfcheck and "
        "hands in with File > Download.")

from grader.classroom.course import Course, UserError  # noqa: E402

__all__ = ["Course", "UserError"]
