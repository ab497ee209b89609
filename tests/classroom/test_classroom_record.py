"""Recording never crashes a batch: what nbgrader cannot record is "not graded", with its reason, and says so.

No kernel runs here: ``record`` is what the parent does with a worker's result, and these tests make nbgrader's
recording fail on purpose to prove each fallback (NotGraded, then zeros written into the gradebook directly).
"""

from __future__ import annotations

import csv
import io

import pytest

from grader.classroom import Course, autograde, samples, status
from grader.classroom.collect import collect
from grader.classroom.export import export
from grader.classroom.preprocessors import NOTE
from grader.classroom.release import release
from support import copy_course

A = "01-community-protocol"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("record")
    copy_course(root / "exercises")
    course = Course(root / "exercises")
    assert release(course, A, prove=False).ok
    (root / "exercises" / "students.csv").write_text("id\nalice\nbob\n")
    for student in ("alice", "bob"):
        samples.write(samples.make(course, A, {}), root / "inbox" / f"{student}.ipynb")
    collect(course, A, root / "inbox")
    return course, root


def _rows(course):
    return {row["student"]: row for row in csv.DictReader(io.StringIO(export(course, [A])))}


def test_a_result_nbgrader_cannot_record_is_recorded_as_not_graded_with_its_reason(released, monkeypatch, tmp_path):
    course, _ = released
    real = autograde._record

    def replay_fails(course, assignment, student, work, problem):
        if problem is None:
            raise RuntimeError("KeyError: 'grade_id'")
        return real(course, assignment, student, work, problem)

    monkeypatch.setattr(autograde, "_record", replay_fails)
    problem = autograde.record(course, A, "alice", {}, None)
    assert problem.startswith("its result could not be recorded (KeyError: 'grade_id')")
    graded = course.folder("autograded", "alice", A, f"{A}.ipynb").read_text()
    assert NOTE in graded and "could not be recorded" in graded
    assert status.read(course, A, "alice") == {"graded": False, "reason": problem, "repairs": []}
    row = _rows(course)["alice"]
    assert row["status"] == f"not graded: {problem}" and row["total"] == "0"
    assert autograde.brief(problem) == "could not be recorded"


def test_when_nbgrader_cannot_even_mark_it_the_zeros_go_into_the_gradebook_directly(released, monkeypatch,
                                                                                     tmp_path):
    course, _ = released

    def always_fails(*args):
        raise RuntimeError("ValidationError: the notebook is beyond repair")

    monkeypatch.setattr(autograde, "_record", always_fails)
    problem = autograde.record(course, A, "bob", {}, "the notebook's kernel stopped while it ran")
    assert problem == "the notebook's kernel stopped while it ran"
    with course.gradebook() as gb:
        submission = gb.find_submission(A, "bob")
        assert (float(submission.score), float(submission.max_score)) == (0.0, 8.0)
        assert not submission.needs_manual_grade
    assert not list(course.folder("autograded", "bob", A).glob("*.ipynb"))
    assert _rows(course)["bob"]["status"] == f"not graded: {problem}"


def test_a_submission_collected_again_after_it_was_graded_is_not_shown_as_graded(released, tmp_path):
    course, _ = released
    autograde._record_zeros(course, A, "alice", "")  # a recorded submission, whatever its scores
    status.write(course, A, "alice", None, [])
    assert _rows(course)["alice"]["status"] == "graded"
    inbox = tmp_path / "again"
    samples.write(samples.make(course, A, {}), inbox / "alice.ipynb")
    collect(course, A, inbox, replace=True)
    assert _rows(course)["alice"]["status"].startswith("not graded: collected again after it was graded")


def test_the_verdict_names_every_student_not_graded_on_one_line():
    batch = autograde.Batch(A, [autograde.Graded("alice", 8, 8), autograde.Graded("bob", 0, 8, problem=(
        "grading stopped after 300 s, the limit for one notebook")), autograde.Graded("eve", 0, 8, problem=(
        "x.ipynb is not a notebook Jupyter can open"))])
    assert batch.summary().splitlines()[-1] == f"{A}: 1 graded, 2 NOT graded: bob (time limit), eve (not a notebook)"
    assert autograde.Batch(A, [autograde.Graded("alice", 8, 8)]).verdict() == f"{A}: all 1 graded"


def test_a_reason_names_the_exception_that_caused_it_not_nbgraders_pointer_to_a_traceback():
    log = ("[AutogradeApp | ERROR] There was an error processing assignment: /course/submitted/alice\n"
           "Traceback (most recent call last):\n  File \"nbconvert/preprocessors/base.py\", line 89\n"
           "    return self.preprocess_cell(cell, resources, index)\n"
           "OSError: AF_UNIX path too long\n"
           "[AutogradeApp | ERROR] nbgrader.converters.base.NbGraderException: Please see the the above traceback "
           "for details on the specific errors on the above failures.\n")
    assert autograde._explain_failure(log) == "nbgrader could not execute the notebook: OSError: AF_UNIX path too long"
    assert autograde._last_words("one plain line") == "one plain line"
