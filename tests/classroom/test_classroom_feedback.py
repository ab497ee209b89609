"""HideHiddenTests, alone: what a notebook printed of a hidden test or a solution never reaches its feedback; and the
one-pass scanner that finds solution and hidden-test regions, whatever a learner puts in a cell."""

from __future__ import annotations

import json
import random
import re

import nbformat

from grader.classroom.preprocessors import (HIDDEN_NOTE, SECRET_NOTE, HideHiddenTests, _replace, hidden_spans, markers,
                                            regions, secrets, without_secrets)
from grader.classroom.release import secret_lines
from support import ROOT

A = "01-community-protocol"
SOURCE = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
HIDDEN, SOLUTIONS = secrets(SOURCE)


def cell_of(nb, name):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name)


def hide(nb):
    step = HideHiddenTests(hidden=sorted(HIDDEN), solutions=sorted(SOLUTIONS))
    return step.preprocess(nb, {})[0]


def test_the_secrets_are_the_telling_lines_of_each_kind():
    assert any("hidden=True" in line for line in HIDDEN)
    assert any("AssumeRolePolicyDocument" in line for line in SOLUTIONS)
    assert not HIDDEN & SOLUTIONS
    assert "from grader.checks import protocol" not in HIDDEN  # the visible test has it too: it tells nothing


def test_echoed_hidden_tests_are_cut_from_every_output_however_they_were_printed():
    nb = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    test = cell_of(nb, "test-protocol-1")
    history = [c.source for c in nb.cells]
    test.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=test.source + "\n"),  # a pre_run_cell hook
        nbformat.v4.new_output("execute_result", data={"text/plain": repr(history)}),  # print(In)
        nbformat.v4.new_output("display_data", data={"application/json": json.dumps(history)}),
        nbformat.v4.new_output("error", ename="AssertionError", evalue=test.source,
                               traceback=test.source.splitlines()),
    ]
    text = json.dumps(hide(nb))
    assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text
    assert not [line for line in HIDDEN if line in text or json.dumps(line)[1:-1] in text]
    assert SECRET_NOTE in text and HIDDEN_NOTE in cell_of(nb, "test-protocol-1").source


def test_a_solution_is_cut_from_outputs_unless_the_learner_wrote_it():
    released = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    solved = cell_of(released, "protocol-1-answer")
    mine = next(line.strip() for line in solved.source.splitlines() if line.strip() in SOLUTIONS)
    other = cell_of(released, "protocol-2-answer")
    theirs = next(line.strip() for line in other.source.splitlines() if line.strip() in SOLUTIONS)
    for cell in released.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell is not solved:
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
    solved.source = mine
    solved.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{mine}\n{theirs}\n")]
    out = hide(released)
    printed = cell_of(out, "protocol-1-answer").outputs[0].text
    assert mine in printed and theirs not in printed and SECRET_NOTE in printed
    assert cell_of(out, "protocol-1-answer").source == mine  # the learner's own code is theirs to see


# -- the scanner: the regions the markers delimit, found in one pass ------------------------------------------------

# The patterns the scanner replaced, kept as the reference for what well-formed cells must give (on a learner's text
# they take time quadratic in its length, and worse).
_OLD_HIDDEN = re.compile(r"[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[ \t]*", re.S)
_OLD_REGION = re.compile(r"###\s*BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)###\s*END \1", re.S)
_OLD_MARKER = re.compile(r"###\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)")
_PIECES = ["### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "\n", " ",
           "\t", "x", "#", "##", "###", "###\n", "BEGIN", " SOLUTION", "END HIDDEN TESTS", "    ",
           "###  \n BEGIN SOLUTION", "assert 1\n", "#### END SOLUTION"]


def _agree(text: str) -> None:
    old = [(m.start(), m.end(), m.group(1), m.start(2), m.end(2)) for m in _OLD_REGION.finditer(text)]
    assert [(r.start, r.end, r.kind, r.body_start, r.body_end) for r in regions(text)] == old, repr(text)
    assert _replace(text, hidden_spans(text), HIDDEN_NOTE) == _OLD_HIDDEN.sub(HIDDEN_NOTE, text), repr(text)
    assert without_secrets(text) == _OLD_MARKER.sub(SECRET_NOTE, _OLD_REGION.sub(SECRET_NOTE, text)), repr(text)


def test_the_scanner_finds_what_the_patterns_found_in_every_cell_of_the_course():
    for source in sorted((ROOT / "exercises/source").glob("*/*.ipynb")):
        for cell in nbformat.read(source, as_version=4).cells:
            _agree(cell.source)
            for output in cell.get("outputs", []):
                _agree(json.dumps(output))


def test_the_scanner_finds_what_the_patterns_found_in_any_mix_of_markers():
    chance = random.Random(20250101)
    for _ in range(5000):
        _agree("".join(chance.choice(_PIECES) for _ in range(chance.randint(0, 14))))


def test_release_and_feedback_count_the_same_secret_lines():
    assert secret_lines(SOURCE) == HIDDEN | SOLUTIONS


def test_unmatched_markers_are_found_each_once_and_open_nothing():
    n = 20_000
    text = "### BEGIN HIDDEN TESTS\n" * n + "### BEGIN SOLUTION " * n + "#" * n + "### " * n
    found = markers(text)
    assert len(found) == 2 * n and [m.start for m in found] == sorted({m.start for m in found})
    assert regions(text) == [] and hidden_spans(text) == []
    assert without_secrets(text) == "[hidden]\n" * n + "[hidden] " * n + "#" * n + "### " * n


def test_hidden_tests_in_a_learners_answer_cell_cost_one_pass():
    """An answer cell of 20,000 unmatched markers, then its output printing them: HideHiddenTests keeps the
    learner's code and hides the printed markers; one cell, one scan each (no time is measured here: the limit per
    student in test_classroom_feedback_hostile is what bounds a page)."""
    nb = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    answer = cell_of(nb, "protocol-1-answer")
    answer.source = "# " + "### BEGIN HIDDEN TESTS " * 20_000
    answer.outputs = [nbformat.v4.new_output("stream", name="stdout", text=answer.source)]
    out = cell_of(hide(nb), "protocol-1-answer")
    assert out.source == answer.source
    assert out.outputs[0].text == "# " + "[hidden] " * 20_000
