"""HideHiddenTests, alone: what a notebook printed of a hidden test or a solution never reaches its feedback."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from grader.classroom.preprocessors import HIDDEN_NOTE, SECRET_NOTE, HideHiddenTests, secrets

ROOT = Path(__file__).resolve().parents[1]
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
