"""Normalisation: every slip a learner can make to a notebook's cells is put back before nbgrader sanitises it.

Each slip goes through nbgrader's own ``Autograde`` (sanitising, then recording into the gradebook) with execution
replaced by a step that runs nothing, so these tests need no kernel: what they prove is the notebook's shape and that
nbgrader records it. The honest score per part, with real kernels, is proven by tests/classroom/test_classroom_slips.py.
How nbgrader restores cells (OverwriteCells, DeduplicateIds, CheckCellMetadata):
https://nbgrader.readthedocs.io/en/stable/user_guide/autograding.html
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from grader.classroom import Course, samples
from grader.classroom.collect import collect
from grader.classroom.normalize import NOTE_ID, released_cells
from grader.classroom.release import release, secret_lines
from support import copy_course

A = "01-community-protocol"


class RunNothing(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        return nb, resources


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_of(nb, name):
    return next(c for c in nb.cells if grade_id(c) == name)


def duplicated_answer(nb):
    at = nb.cells.index(cell_of(nb, "protocol-1-answer"))
    nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))
    nb.cells[at].source = "first_copy = 1"


def duplicated_test(nb):
    at = nb.cells.index(cell_of(nb, "test-protocol-3"))
    nb.cells.insert(at, copy.deepcopy(nb.cells[at]))
    nb.cells[at + 1].source = "print('my own test')"


def answer_to_markdown(nb):
    cell = cell_of(nb, "protocol-2-answer")
    cell.cell_type = "markdown"
    cell.pop("outputs"), cell.pop("execution_count")


def check_cell_to_markdown(nb):
    cell = cell_of(nb, "test-protocol-2")
    cell.cell_type = "markdown"
    cell.pop("outputs"), cell.pop("execution_count")


def renamed_answer(nb):
    cell_of(nb, "protocol-3-answer").metadata.nbgrader["grade_id"] = "my-answer"


def renamed_after_a_deleted_answer(nb):
    nb.cells.remove(cell_of(nb, "protocol-1-answer"))
    cell_of(nb, "protocol-3-answer").metadata.nbgrader["grade_id"] = "my-answer"


def renamed_test(nb):
    cell_of(nb, "test-protocol-3").metadata.nbgrader["grade_id"] = "my-test"


def graded_answer(nb):
    cell_of(nb, "protocol-1-answer").metadata.nbgrader["grade"] = True


def ungraded_test(nb):
    cell_of(nb, "test-protocol-1").metadata.nbgrader["grade"] = False


def edited_test(nb):
    cell_of(nb, "test-protocol-4").source = "print('all good')"


def deleted_test(nb):
    nb.cells.remove(cell_of(nb, "test-protocol-2"))


def deleted_answer(nb):
    nb.cells.remove(cell_of(nb, "protocol-2-answer"))


def deleted_answer_and_test(nb):
    deleted_answer(nb)
    deleted_test(nb)


def reordered(nb):
    answer, test = nb.cells.index(cell_of(nb, "protocol-4-answer")), nb.cells.index(cell_of(nb, "test-protocol-4"))
    nb.cells[answer], nb.cells[test] = nb.cells[test], nb.cells[answer]


def empty(nb):
    nb.cells = []


SLIPS = {f.__name__.replace("_", "-"): f for f in (
    duplicated_answer, duplicated_test, answer_to_markdown, check_cell_to_markdown, renamed_answer, renamed_after_a_deleted_answer,
    renamed_test, graded_answer, ungraded_test, edited_test, deleted_test, deleted_answer, deleted_answer_and_test,
    reordered, empty)}
SLIPS["untouched"] = None
RELEASED_ORDER = [name for n in range(1, 5) for name in (f"protocol-{n}-answer", f"test-protocol-{n}")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("normalize")
    copy_course(root / "exercises")
    course = Course(root / "exercises")
    assert release(course, A, prove=False).ok
    (root / "exercises" / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in SLIPS))
    for student, slip in SLIPS.items():
        samples.write(samples.make(course, A, {}, slip), root / "inbox" / f"{student}.ipynb")
    collect(course, A, root / "inbox")
    chain = [RunNothing if p is Execute else p for p in Autograde.autograde_preprocessors.make_dynamic_default()]
    api = course.api(**{"Autograde.autograde_preprocessors": chain})
    outcomes = {s: api.autograde(A, s, force=True, create=True) for s in SLIPS}
    graded = {s: nbformat.read(course.folder("autograded", s, A, f"{A}.ipynb"), as_version=4)
              for s in SLIPS if outcomes[s].get("success")}
    return course, outcomes, graded


def note(nb) -> str:
    return nb.cells[0].source if nb.cells and nb.cells[0].get("id") == NOTE_ID else ""


def test_every_slip_is_recorded_by_nbgrader(recorded):
    _, outcomes, _ = recorded
    failed = {s: (o.get("log") or "")[-300:] for s, o in outcomes.items() if not o.get("success")}
    assert not failed


def test_every_released_cell_is_there_once_as_released(recorded):
    course, _, graded = recorded
    truth = released_cells(course.db_url, A, A)
    assert [r.name for r in truth] == RELEASED_ORDER
    for student, nb in graded.items():
        names = [grade_id(c) for c in nb.cells if grade_id(c)]
        assert sorted(names) == sorted(r.name for r in truth), student
        for released in truth:
            cell = cell_of(nb, released.name)
            meta = cell.metadata.nbgrader
            assert cell.cell_type == released.cell_type, (student, released.name)
            assert (meta["grade"], meta["solution"], meta["locked"]) == (released.grade, released.solution,
                                                                          released.locked), (student, released.name)
            if released.locked:
                assert cell.source == released.source and "BEGIN HIDDEN TESTS" in cell.source, (student, released.name)


def test_the_note_says_what_was_put_back_and_an_untouched_notebook_gets_none(recorded):
    _, _, graded = recorded
    assert note(graded["untouched"]) == ""
    expected = {
        "duplicated-answer": "`protocol-1-answer` appears 2 times",
        "duplicated-test": "`test-protocol-3` appears 2 times: the copy at cell 12 counts",
        "answer-to-markdown": "`protocol-2-answer` had been turned into a markdown cell",
        "check-cell-to-markdown": "`test-protocol-2` had been turned into a markdown cell",
        "renamed-answer": "changed to `my-answer`; it was graded as `protocol-3-answer`",
        "renamed-after-a-deleted-answer": "changed to `my-answer`; it was graded as `protocol-3-answer`",
        "renamed-test": "changed to `my-test`; it was graded as `test-protocol-3`",
        "graded-answer": "`protocol-1-answer` had its grading flags changed (grade: true)",
        "ungraded-test": "`test-protocol-1` had its grading flags changed (grade: false)",
        "edited-test": "`test-protocol-4` had been edited; it ran as released",
        "deleted-test": "The cell `test-protocol-2` was missing",
        "deleted-answer": "The answer cell `protocol-2-answer` was missing",
        "deleted-answer-and-test": "The cell `test-protocol-2` was missing",
        "empty": "none of the assignment's cells",
    }
    for student, words in expected.items():
        assert words in note(graded[student]), (student, note(graded[student]))
    assert "The answer cell `protocol-1-answer` was missing" in note(graded["renamed-after-a-deleted-answer"])
    assert note(graded["reordered"]) == ""  # the learner's order is the learner's: nothing to repair


def test_the_last_copy_of_a_duplicated_cell_counts_and_the_others_run_as_ordinary_code(recorded):
    _, _, graded = recorded
    nb = graded["duplicated-answer"]
    copies = [c for c in nb.cells if "first_copy = 1" in c.source or grade_id(c) == "protocol-1-answer"]
    assert [grade_id(c) for c in copies] == [None, "protocol-1-answer"]
    assert copies[0].cell_type == "code" and "nbgrader" not in copies[0].metadata
    assert "the copy at cell 5 counts, and the other copy (cell 4) ran as ordinary code" in note(nb)


def test_the_counted_copy_of_a_duplicated_test_runs_as_released(recorded):
    course, _, graded = recorded
    nb = graded["duplicated-test"]
    truth = {r.name: r for r in released_cells(course.db_url, A, A)}
    counted = cell_of(nb, "test-protocol-3")
    assert counted.source == truth["test-protocol-3"].source
    plain = [c for c in nb.cells if c.cell_type == "code" and not grade_id(c) and "protocol.several_services" in c.source]
    assert len(plain) == 1 and "BEGIN HIDDEN TESTS" not in plain[0].source  # the other copy, as the learner had it
    assert nb.cells.index(plain[0]) < nb.cells.index(counted)


def test_the_learners_order_is_kept_and_missing_cells_go_where_they_were_released(recorded):
    _, _, graded = recorded
    order = [grade_id(c) for c in graded["reordered"].cells if grade_id(c)]
    assert order.index("test-protocol-4") < order.index("protocol-4-answer")
    for student in ("deleted-answer", "deleted-answer-and-test", "empty", "deleted-test"):
        order = [grade_id(c) for c in graded[student].cells if grade_id(c)]
        assert order == RELEASED_ORDER, student


def test_a_put_back_answer_cell_is_the_released_stub_and_nbgrader_calls_it_no_response(recorded):
    course, _, graded = recorded
    released = nbformat.read(course.folder("release", A, f"{A}.ipynb"), as_version=4)
    assert cell_of(graded["deleted-answer"], "protocol-2-answer").source == \
        cell_of(released, "protocol-2-answer").source
    with course.gradebook() as gb:
        comment = gb.find_comment("protocol-2-answer", A, A, "deleted-answer")
        assert comment.auto_comment == "No response."


def test_the_notes_never_quote_a_hidden_test_or_a_solution(recorded):
    course, _, graded = recorded
    secrets = secret_lines(nbformat.read(course.source_notebook(A), as_version=4))
    assert secrets
    for student, nb in graded.items():
        assert not [line for line in secrets if line in note(nb)], student
