"""One submission, autograded in a process of its own: ``python -m grader.classroom.worker WORKDIR ASSIGNMENT STUDENT``.

``WORKDIR`` is a private copy of the course (its configuration, the assignment's source, a copy of the gradebook,
and this one submission), so workers never share a gradebook or a folder. The learner's notebook runs in its own
kernel, which starts its own sandbox; nbgrader's ``Execute`` interrupts any cell that runs past the per-cell
timeout. The parent kills this whole process if it runs past the per-notebook limit. The outcome is written to
``WORKDIR/outcome.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grader.classroom.course import Course


def grade(workdir: Path, assignment: str, student: str, cell_timeout: int, max_chars: int) -> dict:
    from nbgrader.converters import Autograde

    from grader.classroom.preprocessors import LimitOutputSize

    course = Course(workdir)
    api = course.api(**{
        "Execute.timeout": cell_timeout,
        "Execute.startup_timeout": max(60, cell_timeout),
        "LimitOutputSize.max_chars": max_chars,
        # nbgrader's own autograde preprocessors, with the character limit after its line limit.
        "Autograde.autograde_preprocessors": list(Autograde.autograde_preprocessors.make_dynamic_default()) + [LimitOutputSize],
    })
    result = api.autograde(assignment, student, force=True, create=True)
    return {"success": bool(result.get("success")), "log": result.get("log", ""), "error": result.get("error", "")}


def main(argv: list[str]) -> int:
    workdir, assignment, student, cell_timeout, max_chars = Path(argv[0]), argv[1], argv[2], int(argv[3]), \
        int(argv[4])
    try:
        outcome = grade(workdir, assignment, student, cell_timeout, max_chars)
    except BaseException as error:  # the parent must learn what happened, whatever it was
        outcome = {"success": False, "log": "", "error": f"{type(error).__name__}: {error}"}
    (workdir / "outcome.json").write_text(json.dumps(outcome))
    return 0 if outcome["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
