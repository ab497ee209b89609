"""A grading worker: a process that autogrades submissions one at a time, each in its own kernel and sandbox.

    python -m grader.classroom.worker          (started by autograde; reads jobs on stdin)

Each job is one line of JSON on standard input: ``{"workdir", "assignment", "student", "cell_timeout",
"max_chars", "walls", "uid", "private", "memory"}``. ``workdir`` is a private copy of the course (its configuration, the
assignment's source, a copy of the gradebook, and that one submission), so workers never share a gradebook or a
folder. The learner's notebook runs in a kernel of its own behind a wall (``grader.classroom.isolation``: a folder
under ``walls``, the user ``uid``, the ``private`` folders covered), against the account this worker holds and
serves; the test cells are run here, by the ``Judge`` (``grader.classroom.judge``), which also interrupts any
answer cell that runs past the per-cell timeout. When the notebook is done every process the worker started is
ended, then the worker answers on standard output with one line of JSON: the outcome, the executed notebooks as
the worker kept them in memory (``Record``), and what each test cell's checks found (``Judge.findings``, for the
class report); it then waits for the next job. The parent's pipes are on descriptors
no kernel inherits.

The worker lives for a whole batch because importing nbgrader costs more than grading a short notebook; nothing
of a submission survives in it but the account, which the next notebook's start resets (the learner's code only
ever runs in the kernel; the worker runs the instructor's tests).
The parent kills the worker's whole process group if one submission runs past the per-notebook limit, and starts
a fresh worker for the rest.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.classroom.child import answer, pipes
from grader.classroom.course import Course
from grader.classroom.isolation import become_subreaper, kill_descendants


class Record(NbGraderPreprocessor):
    """The last of the worker's preprocessors: keeps each executed notebook in the worker's memory.

    The parent records what is kept here, sent over the worker's own pipe, never a file on disk: a process of the
    kernel's that outlived it could have rewritten a file before the grade is recorded.
    """

    kept: dict = {}

    def preprocess(self, nb, resources):
        Record.kept[resources["nbgrader"]["notebook"]] = nbformat.writes(nb)
        return nb, resources


def grade(workdir: Path, assignment: str, student: str, cell_timeout: int, max_chars: int,
          walls: Optional[str] = None, uid: int = -1, private: Sequence[str] = (), memory: int = 0) -> dict:
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
        "Judge.memory": memory,
        "LimitOutputSize.max_chars": max_chars,
        "Autograde.autograde_preprocessors": preprocessors + [LimitOutputSize, Record],
    })
    Record.kept = {}
    Judge.findings = {}
    result = api.autograde(assignment, student, force=True, create=True)
    return {"success": bool(result.get("success")), "log": result.get("log", ""), "error": result.get("error", ""),
            "notebooks": dict(Record.kept), "findings": dict(Judge.findings)}


def serve(jobs, answers) -> None:
    """Grade each job read from ``jobs``; answer each with one line of JSON: the outcome and the executed notebooks."""
    from grader.classroom.judge import SPOILED

    for line in jobs:
        if not line.strip():
            continue
        job = json.loads(line)
        workdir = Path(job["workdir"])
        try:
            outcome = grade(workdir, job["assignment"], job["student"], int(job["cell_timeout"]),
                            int(job["max_chars"]), job.get("walls"), int(job.get("uid", -1)),
                            job.get("private") or (), int(job.get("memory") or 0))
        except BaseException as error:  # the parent must learn what happened, whatever it was
            outcome = {"success": False, "log": "", "error": f"{type(error).__name__}: {error}", "notebooks": {}}
        finally:
            kill_descendants()  # whatever the kernel left running, before anything of its notebook is sent
        answer(answers, outcome)
        if SPOILED.is_set():  # the account may still change: the next submission gets a fresh worker and account
            return


def _watch_parent() -> None:
    """End the worker, and every process it started, when the batch's process is gone (killed, or out of memory)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                kill_descendants()
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    jobs, answers = pipes()  # a kernel inherits its worker's standard descriptors: never the parent's pipes
    become_subreaper()  # a process that leaves the kernel's session still comes back to the worker, to be ended
    _watch_parent()
    # The account and the checks are loaded once per worker; each notebook then starts from a reset account.
    from grader import sandbox
    from grader.checks import load_all

    sandbox.start()
    load_all()
    serve(jobs, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
