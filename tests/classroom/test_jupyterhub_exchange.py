"""A JupyterHub course: nbgrader's own exchange hands the assignment out and in, and this course grades what it brings.

On a hub the instructor releases to nbgrader's exchange, each learner fetches and submits from their own server, and
the instructor collects: nbgrader's ``collect`` writes ``submitted/<student>/<assignment>/``, the layout this
course's ``autograde`` reads. The whole round, with a scratch exchange: release, fetch as two students, answer,
submit, collect, autograde; the scores are the golden class's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from support import (PROTOCOL, PROTOCOL_WRONG, copy_course, golden_scores, gradebook_scores, instructor_runs,
                     solved_notebook)

COURSE_ID = "gated-community"
STUDENTS = {"correct": {}, "wrong": PROTOCOL_WRONG}


def _nbgrader(where: Path, *args: str, exchange: Path) -> str:
    """nbgrader's own command, as the hub runs it for an instructor or a learner in ``where``."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--course={COURSE_ID}", f"--Exchange.root={exchange}"]
    done = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.slow
def test_nbgraders_exchange_hands_out_and_in_and_autograde_grades_what_it_collected(tmp_path):
    course = copy_course(tmp_path / "instructor" / "course")
    (course / "students.csv").write_text("id,first_name,last_name,email\n" +
                                         "".join(f"{s},{s.title()},,\n" for s in STUDENTS))
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # as a hub's shared exchange is made
    instructor_runs(course, "release", PROTOCOL)
    _nbgrader(course, "release_assignment", PROTOCOL, exchange=exchange)

    for student, answers in STUDENTS.items():
        home = tmp_path / "home" / student
        home.mkdir(parents=True)
        _nbgrader(home, "fetch_assignment", PROTOCOL, exchange=exchange)
        fetched = home / PROTOCOL / f"{PROTOCOL}.ipynb"
        assert fetched.is_file(), f"fetch_assignment gave {student} no notebook"
        nbformat.write(solved_notebook(course, PROTOCOL, answers), str(fetched))
        _nbgrader(home, "submit", PROTOCOL, f"--student={student}", exchange=exchange)

    _nbgrader(course, "collect", PROTOCOL, exchange=exchange)
    for student in STUDENTS:
        assert (course / "submitted" / student / PROTOCOL / f"{PROTOCOL}.ipynb").is_file()
    said = instructor_runs(course, "autograde", PROTOCOL, "--jobs", "2")
    assert "not graded" not in said.lower(), said

    assert gradebook_scores(course, PROTOCOL, STUDENTS) == {student: golden_scores(student) for student in STUDENTS}
