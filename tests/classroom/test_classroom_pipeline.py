"""The golden pipeline: a class of sample submissions (correct, partial, wrong, broken and hostile) goes through
release, collect, autograde, feedback and export, and every part of every submission gets exactly its expected
score (tests/fixtures/classroom/<assignment>/expected_scores.json)."""

from __future__ import annotations

import csv
import io
import json

import nbformat
import pytest

from grader.classroom import Course
from grader.classroom import samples
from grader.classroom.autograde import autograde
from grader.classroom.collect import collect
from grader.classroom.export import export
from grader.classroom.feedback import feedback
from grader.classroom.release import release
from support import ROOT, copy_course

ASSIGNMENT = "01-community-protocol"
EXPECTED = json.loads((ROOT / "tests/fixtures/classroom" / ASSIGNMENT / "expected_scores.json").read_text())

TAMPER = """
import grader.checks as checks
from grader.checks import Result, protocol
Result.assert_full_marks = lambda self: None
Result.score = lambda self: float(self.max_points)
protocol.ec2_only = protocol.several_services = lambda *a, **k: Result("x", "x", 2, 2)
"""


def _delete_cell(grade_id):
    def mutate(nb):
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return mutate


def _broken(nb):
    """Deleted, retyped and reordered cells."""
    _delete_cell("test-protocol-2")(nb)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "protocol-3-answer":
            cell.cell_type = "markdown"
            cell.pop("outputs", None), cell.pop("execution_count", None)
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
    answer, test = ids.index("protocol-4-answer"), ids.index("test-protocol-4")
    nb.cells[answer], nb.cells[test] = nb.cells[test], nb.cells[answer]


def _tampering(nb):
    nb.cells.insert(2, nbformat.v4.new_code_cell(TAMPER))


CLASS = {
    "correct": ({}, None),
    "partial": ({
        "protocol-1-answer": 'iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=json.dumps({"Version": '
                             '"2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
                             '["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}))',
        "protocol-2-answer": 'iam.create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=json.dumps({"Version": '
                             '"2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
                             '"ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))',
        "protocol-4-answer": 'iam.create_role(RoleName="VisitorRole", AssumeRolePolicyDocument=json.dumps({"Version": '
                             '"2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": '
                             '"arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}))',
    }, None),
    "wrong": ({k: None for k in ("protocol-1-answer", "protocol-2-answer", "protocol-3-answer",
                                 "protocol-4-answer")}, None),
    "broken": ({"protocol-1-answer": "1 / 0"}, _broken),
    "looping": ({"protocol-2-answer": "while True:\n    pass"}, None),
    "exiting": ({"protocol-4-answer": "import sys\nsys.exit(3)"}, None),
    "shouting": ({"protocol-1-answer": samples.SOLVED}, None),  # the huge output is added below
    "tampering": ({"protocol-1-answer": "pass", "protocol-3-answer": "pass"}, _tampering),
    "crashing": ({"protocol-3-answer": "import os\nos._exit(1)"}, None),
    "sleepy": ({"protocol-1-answer": "import time\ntime.sleep(120)"}, None),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course_dir = root / "exercises"
    copy_course(course_dir)
    course = Course(course_dir)
    proof = release(course, ASSIGNMENT, prove=False)  # the solution itself is proven in test_classroom_release
    assert proof.ok, proof.summary()
    (course_dir / "students.csv").write_text("id,first_name,last_name,email\n" +
                                             "".join(f"{s},{s.title()},,\n" for s in CLASS))
    inbox = root / "inbox"
    for student, (answers, mutate) in CLASS.items():
        nb = samples.make(course, ASSIGNMENT, answers, mutate)
        if student == "shouting":
            for cell in nb.cells:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "protocol-1-answer":
                    cell.source += '\nprint("parcel! " * 1_000_000)'
        samples.write(nb, inbox / f"{student}.ipynb")
    collect(course, ASSIGNMENT, inbox)
    everyone_but_sleepy = [s for s in CLASS if s != "sleepy"]
    lines = io.StringIO()
    first = autograde(course, ASSIGNMENT, jobs=2, students=everyone_but_sleepy, cell_timeout=40,
                      notebook_timeout=300, progress=lambda g: lines.write(f"{g.student}\n"))
    second = autograde(course, ASSIGNMENT, jobs=1, students=["sleepy"], cell_timeout=300, notebook_timeout=15,
                       progress=lambda g: lines.write(f"{g.student}\n"))
    return course, first, second, lines.getvalue()


def _scores(course):
    table = list(csv.DictReader(io.StringIO(export(course, [ASSIGNMENT]))))
    parts = [f"test-protocol-{n}" for n in range(1, 5)]
    return {row["student"]: {**{p: float(row[p]) for p in parts}, "total": float(row["total"])} for row in table}


@pytest.mark.slow
def test_every_part_of_every_submission_gets_its_expected_score(graded):
    course, first, second, progress = graded
    assert _scores(course) == EXPECTED
    assert sorted(progress.split()) == sorted(CLASS)


@pytest.mark.slow
def test_what_went_wrong_is_said(graded):
    course, first, second, _ = graded
    problems = {g.student: g.problem for g in first.graded + second.graded if g.problem}
    assert set(problems) == {"crashing", "sleepy"}
    assert "kernel stopped" in problems["crashing"]
    assert "stopped after 15 s" in problems["sleepy"]


@pytest.mark.slow
def test_huge_output_is_cut_in_the_autograded_notebook(graded):
    course = graded[0]
    nb = nbformat.read(course.folder("autograded", "shouting", ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    size = sum(len(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert size < 50_000
    assert "output cut" in json.dumps(nb)


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests_and_says_what_went_wrong(graded):
    course = graded[0]
    result = feedback(course, ASSIGNMENT)
    assert len(result.pages) == len(CLASS)
    for page in result.pages:
        html = page.read_text()
        assert "HIDDEN TESTS" not in html and "hidden=True" not in html and "sys.modules" not in html
        assert "hidden tests ran here" in html or "not graded" in html.lower()
    partial = course.folder("feedback", "partial", ASSIGNMENT, f"{ASSIGNMENT}.html").read_text()
    assert "ecs-tasks.amazonaws.com may assume DeliveryRole too" in partial
    crashing = course.folder("feedback", "crashing", ASSIGNMENT, f"{ASSIGNMENT}.html").read_text()
    assert "This notebook was not graded" in crashing and "kernel stopped" in crashing


@pytest.mark.slow
def test_the_gradebook_keeps_every_submission(graded):
    course = graded[0]
    with course.gradebook() as gb:
        assert sorted(s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions) == sorted(CLASS)
