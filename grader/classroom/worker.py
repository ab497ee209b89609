"""A grading worker: a process that autogrades submissions one at a time, each in its own kernel and sandbox.

    python -m grader.classroom.worker          (started by autograde; reads jobs on stdin)

Each job is one line of JSON on standard input: ``{"workdir", "assignment", "student", "cell_timeout",
"max_chars", "walls", "uid", "private"}``. ``workdir`` is a private copy of the course (its configuration, the
assignment's source, a copy of the gradebook, and that one submission), so workers never share a gradebook or a
folder. The learner's notebook runs in a kernel of its own behind a wall (``grader.classroom.isolation``: a folder
under ``walls``, the user ``uid``, the ``private`` folders covered), against the account this worker holds and
serves; the test cells are run here, by the ``Judge`` (``grader.classroom.judge``), which also interrupts any
answer cell that runs past the per-cell timeout. The outcome goes to ``workdir/outcome.json``, then the worker answers ``done`` on
standard output and waits for the next job.

The worker lives for a whole batch because importing nbgrader costs more than grading a short notebook; nothing
of a submission survives in it but the finished outcome file and the account, which the next notebook's start
resets (the learner's code only ever runs in the kernel; the worker runs the instructor's tests).
The parent kills the worker's whole process group if one submission runs past the per-notebook limit, and starts
a fresh worker for the rest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from grader.classroom.course import Course


def grade(workdir: Path, assignment: str, student: str, cell_timeout: int, max_chars: int,
          walls: Optional[str] = None, uid: int = -1, private: Sequence[str] = ()) -> dict:
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from grader.classroom.judge import Judge
    from grader.classroom.preprocessors import LimitOutputSize

    course = Course(workdir)
    # nbgrader's own autograde preprocessors, the Judge in Execute's place, the character limit after the line limit.
    preprocessors = [Judge if p is Execute else p for p in Autograde.autograde_preprocessors.make_dynamic_default()]
    api = course.api(**{
        "Judge.timeout": cell_timeout,
        "Judge.startup_timeout": max(60, cell_timeout),
        "Judge.walls": walls or str(workdir.parent / "walls"),
        "Judge.uid": uid,
        "Judge.private": list(private),
        "LimitOutputSize.max_chars": max_chars,
        "Autograde.autograde_preprocessors": preprocessors + [LimitOutputSize],
    })
    result = api.autograde(assignment, student, force=True, create=True)
    return {"success": bool(result.get("success")), "log": result.get("log", ""), "error": result.get("error", "")}


def serve(jobs, answers) -> None:
    """Grade each job read from ``jobs`` and answer ``done`` on ``answers`` after its outcome file is written."""
    for line in jobs:
        if not line.strip():
            continue
        job = json.loads(line)
        workdir = Path(job["workdir"])
        try:
            outcome = grade(workdir, job["assignment"], job["student"], int(job["cell_timeout"]),
                            int(job["max_chars"]), job.get("walls"), int(job.get("uid", -1)),
                            job.get("private") or ())
        except BaseException as error:  # the parent must learn what happened, whatever it was
            outcome = {"success": False, "log": "", "error": f"{type(error).__name__}: {error}"}
        (workdir / "outcome.json").write_text(json.dumps(outcome))
        answers.write("done\n")
        answers.flush()


def main() -> int:
    # nbgrader logs to stdout and stderr; keep stdout for the answers alone.
    answers = sys.stdout
    sys.stdout = sys.stderr
    # The account and the checks are loaded once per worker; each notebook then starts from a reset account.
    from grader import sandbox
    from grader.checks import load_all

    sandbox.start()
    load_all()
    serve(sys.stdin, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
