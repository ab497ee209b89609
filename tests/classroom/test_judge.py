"""The judge runs test cells in the grader's own process, with outputs in the shape nbgrader scores."""

from __future__ import annotations

import nbformat
from nbgrader.utils import determine_grade

from grader.classroom.judge import Judge, run_test


def _test_cell(source: str, grade_id: str = "test-1", points: float = 2) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id,
                                 "points": points, "schema_version": 3, "task": False}
    return cell


def _graded(outputs) -> float:
    cell = _test_cell("")
    cell.outputs = outputs
    return determine_grade(cell)[0]


def test_the_last_value_is_partial_credit_and_prints_are_kept():
    outputs = run_test("print('feedback line')\n1.5", 3)
    assert [o.output_type for o in outputs] == ["stream", "execute_result"]
    assert outputs[0].text == "feedback line\n" and outputs[1].data["text/plain"] == "1.5"
    assert _graded(outputs) == 1.5


def test_a_failed_assertion_scores_nothing_and_says_why():
    outputs = run_test("assert False, 'the role is missing'", 1)
    assert outputs[-1].output_type == "error" and outputs[-1].ename == "AssertionError"
    assert "the role is missing" in outputs[-1].evalue
    assert _graded(outputs) == 0


def test_a_passing_test_with_no_value_gets_full_marks_and_warnings_do_not_cost_points():
    outputs = run_test("import warnings\nwarnings.warn('old API')\nx = 1", 1)
    assert outputs == [] and _graded(outputs) == 2


def test_each_test_runs_in_a_fresh_namespace():
    run_test("leak = 1", 1)
    outputs = run_test("leak", 2)
    assert outputs[-1].ename == "NameError"


def test_only_the_gradebooks_own_source_runs_for_a_test_cell(tmp_path):
    judge = Judge()
    judge._tests = {"test-1": "print('released test')\n2.0"}
    forged = _test_cell("open(%r, 'w').write('ran')\n2.0" % str(tmp_path / "ran"))
    cell, _ = judge.preprocess_cell(forged, {}, 0)
    assert cell.outputs[0].text == "released test\n" and _graded(cell.outputs) == 2.0
    unknown = _test_cell("open(%r, 'w').write('ran')\n2.0" % str(tmp_path / "ran"), grade_id="test-forged")
    cell, _ = judge.preprocess_cell(unknown, {}, 1)
    assert cell.outputs[0].ename == "NotTheReleasedTest" and _graded(cell.outputs) == 0
    assert not (tmp_path / "ran").exists()
