"""Grading works wherever an instructor runs it, not only where it was built.

The golden class of ``test_golden`` graded again as instructors' machines and LMS rosters make it:

* a temporary folder with a long path (macOS's, a hub's per-user folder, a CI runner's work folder: a Unix socket's
  path must stay under 108 bytes whatever ``TMPDIR`` is) that only its owner may enter (mode 0700, as ``mkdtemp``,
  ``XDG_RUNTIME_DIR`` and private-tmp services make them);
* a course folder whose path has spaces and letters beyond ASCII;
* student ids as an LMS writes them: e-mail addresses.

Every score must be the golden one, and the grades reach the LMS: Canvas's gradebook imports the file
``export --format canvas`` writes.
"""

from __future__ import annotations

import csv
import os

import nbformat
import pytest

from support import (PROTOCOL, PROTOCOL_WRONG, copy_course, golden_scores, gradebook_scores, instructor_runs,
                     solved_notebook)

CORRECT, WRONG = "amélie.o'neill@school.example.edu", "b.student+iam@school.example.edu"
STUDENTS = {CORRECT: ("correct", {}), WRONG: ("wrong", PROTOCOL_WRONG)}


@pytest.mark.slow
def test_the_golden_class_grades_the_same_from_a_long_private_tmpdir_and_a_course_with_spaces(tmp_path):
    temporary = tmp_path / ("t" * 60) / ("instructor-temporary-folder-" * 3)
    temporary.mkdir(parents=True)
    temporary.chmod(0o700)
    assert len(str(temporary)) >= 150
    root = tmp_path / "Cours d'été – IAM roles"
    course = copy_course(root / "the course")
    (course / "students.csv").write_text(
        "id,first_name,last_name,email,sis_user_id,section\n"
        f"{CORRECT},Amélie,O'Neill,{CORRECT},S-1001,IAM 101 (A)\n"
        f"{WRONG},=HYPERLINK(\"x\"),Student,{WRONG},,\n"      # a name a spreadsheet would run
        "c.absent@school.example.edu,Chris,Absent,c.absent@school.example.edu,S-1003,IAM 101 (B)\n", encoding="utf-8")
    env = dict(os.environ, TMPDIR=str(temporary))
    instructor_runs(course, "release", PROTOCOL, env=env)
    inbox = root / "hand-ins"
    inbox.mkdir()
    for student, (_, answers) in STUDENTS.items():
        nbformat.write(solved_notebook(course, PROTOCOL, answers), str(inbox / f"{student}.ipynb"))
    instructor_runs(course, "collect", PROTOCOL, str(inbox), env=env)
    said = instructor_runs(course, "autograde", PROTOCOL, "--jobs", "2", env=env)
    assert "not graded" not in said.lower(), said

    assert gradebook_scores(course, PROTOCOL, STUDENTS) == {student: golden_scores(kind)
                                                            for student, (kind, _) in STUDENTS.items()}
    assert not any(temporary.iterdir()), "autograde left something in the instructor's temporary folder"

    # The gradebook Canvas imports: Canvas's columns, the points possible, a row per student on the roster.
    exported = root / "canvas.csv"
    instructor_runs(course, "export", PROTOCOL, "--format", "canvas", "--output", str(exported), env=env)
    with open(exported, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", PROTOCOL]
    assert table[1] == ["Points Possible", "", "", "", "", "8"]
    assert table[2:] == [
        ["Absent, Chris", "", "S-1003", "c.absent@school.example.edu", "IAM 101 (B)", ""],  # nothing handed in
        ["O'Neill, Amélie", "", "S-1001", CORRECT, "IAM 101 (A)", "8"],
        ["Student, =HYPERLINK(\"x\")", "", WRONG, WRONG, "", "3"],  # not at a cell's start: nothing runs
    ]
