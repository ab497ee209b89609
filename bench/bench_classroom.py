"""The pipeline's speed: a class of submissions autograded by plain ``nbgrader autograde`` (one at a time) and by
``python -m grader.classroom autograde --jobs 2``, on the same machine in the same run; and one self-check.

Reported: the ratio serial / parallel (the goal on 2 cores is 1.8 or more), seconds per submission for each, and
the floor one submission cannot go below: one kernel start plus the notebook's own execution. The class size is
``BENCH_CLASS_SIZE`` (default 100). The pipeline is measured as it grades a class: test cells run by its workers
against the accounts they hold, each kernel walled off where the machine allows (``grader.classroom.isolation``);
its kernels start no account of their own, which is why it can come in under that floor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-community-protocol"


def _course(where: Path):
    from grader.classroom import Course

    shutil.copytree(ROOT / "exercises", where, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "gradebook.db", "students.csv", "__pycache__"))
    return Course(where)


def _class(course, size: int) -> Path:
    from grader.classroom import samples
    from grader.classroom.collect import collect
    from grader.classroom.release import release

    release(course, ASSIGNMENT, prove=False)
    students = [f"learner{n:03d}" for n in range(size)]
    (course.root / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in students))
    inbox = course.root.parent / f"inbox-{course.root.name}"
    wrong = {"protocol-2-answer": None}
    for number, student in enumerate(students):
        samples.write(samples.make(course, ASSIGNMENT, wrong if number % 3 == 0 else {}), inbox / f"{student}.ipynb")
    collect(course, ASSIGNMENT, inbox)
    return inbox


def _floor(course) -> float:
    """One kernel start plus the solution notebook's execution, as nbclient does it."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(course.source_notebook(ASSIGNMENT).parent)}}).execute()
    return time.perf_counter() - started


def _self_check() -> float:
    import os
    import tempfile

    from grader import sandbox
    from grader.selfcheck import check

    # each self-check is kept in the learner's record: the benchmark's go to a file of its own, not the home folder's
    os.environ.setdefault("GATED_COMMUNITY_PRACTICE", os.path.join(tempfile.mkdtemp(prefix="gated-bench-"),
                                                                   "practice.jsonl"))
    aws = sandbox.start()
    try:
        check("protocol-1")
        started = time.perf_counter()
        for _ in range(10):
            check("protocol-1")
        return (time.perf_counter() - started) / 10
    finally:
        aws.stop()


def run() -> dict:
    size = int(os.environ.get("BENCH_CLASS_SIZE", "100"))
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as scratch:
        scratch = Path(scratch)
        serial_course = _course(scratch / "serial")
        _class(serial_course, size)
        parallel_course = _course(scratch / "parallel")
        _class(parallel_course, size)
        floor = _floor(serial_course)

        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force",
                        f"--CourseDirectory.root={serial_course.root}"], cwd=serial_course.root, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        serial = time.perf_counter() - started

        from grader.classroom.autograde import autograde

        started = time.perf_counter()
        batch = autograde(parallel_course, ASSIGNMENT, jobs=2, progress=lambda graded: None)
        parallel = time.perf_counter() - started
        problems = sum(1 for g in batch.graded if g.problem)
    return {
        "ratio serial/parallel (goal >= 1.8)": serial / parallel,
        "submissions": size,
        "nbgrader autograde, serial: s per submission": serial / size,
        "pipeline --jobs 2: s per submission": parallel / size,
        "floor (kernel start + notebook): s": floor,
        "pipeline per submission / floor": parallel / size / floor,
        "submissions not graded": problems,
        "self-check: s (goal < 0.5)": _self_check(),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<48} {value:.3f}" if isinstance(value, float) else f"{key:<48} {value}")
