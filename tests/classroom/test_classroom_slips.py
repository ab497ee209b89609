"""A class of slips graded in one batch with untouched victims: every slip costs at most its own parts.

Duplicated, retyped, renamed, re-flagged, deleted and reordered cells, an empty notebook, a notebook saved by the
in-browser edition or naming another kernel (nbgrader puts the course's kernelspec back), and a file that is not a
notebook at all go through collect, ``autograde --jobs 2`` (the command line), feedback and export together with
correct submissions. The batch completes; each part of each submission gets exactly its honest score; the one
submission that cannot be graded is named, with its reason, in the last line and the exit status; the export lists
every collected student with the right status; no feedback page quotes a hidden test or a solution the learner did
not write, not even for a notebook that echoes its input history or reads the course's files.
nbgrader's due date and lateness: https://nbgrader.readthedocs.io/en/stable/user_guide/managing_the_database.html
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import html as markup
import io

import nbformat
import pytest

from grader.classroom import Course, samples
from grader.classroom.cli import main
from grader.classroom.collect import collect
from grader.classroom.export import export
from grader.classroom.feedback import feedback
from grader.classroom.preprocessors import secrets
from grader.classroom.release import release
from support import copy_course

A = "01-community-protocol"
PARTS = [f"test-protocol-{n}" for n in range(1, 5)]


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_of(nb, name):
    return next(c for c in nb.cells if grade_id(c) == name)


def duplicated(nb):
    at = nb.cells.index(cell_of(nb, "protocol-1-answer"))
    nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))
    nb.cells[at + 1].source = "pass  # tried something else here"


def to_markdown(nb):
    cell = cell_of(nb, "protocol-2-answer")
    cell.cell_type = "markdown"
    cell.pop("outputs"), cell.pop("execution_count")


def renamed(nb):
    cell_of(nb, "protocol-3-answer").metadata.nbgrader["grade_id"] = "my-answer"


def reflagged(nb):
    cell_of(nb, "protocol-1-answer").metadata.nbgrader["grade"] = True
    cell_of(nb, "test-protocol-3").metadata.nbgrader["grade"] = False


def deleted_test(nb):
    nb.cells.remove(cell_of(nb, "test-protocol-2"))


def deleted_answer(nb):
    nb.cells.remove(cell_of(nb, "protocol-2-answer"))


def reordered(nb):
    answer, test = nb.cells.index(cell_of(nb, "protocol-4-answer")), nb.cells.index(cell_of(nb, "test-protocol-4"))
    nb.cells[answer], nb.cells[test] = nb.cells[test], nb.cells[answer]


def emptied(nb):
    nb.cells = []


def from_the_browser(nb):
    # What JupyterLite's File > Download saves: Pyodide's kernel, which no grading machine has.
    nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.8", "file_extension": ".py"}


def another_kernel(nb):
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}


ECHO_HOOK = ("get_ipython().events.register('pre_run_cell', lambda info: print(info.raw_cell))\n")
ECHO_HISTORY = "\nprint(In)\nprint(_ih)\n"
READ_COURSE = """
import pathlib
for _up in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents][:6]:
    for _file in _up.glob("source/*/*.ipynb"):
        try:
            print(_file.read_text())
        except OSError:
            pass
"""
FULL, ZERO = dict.fromkeys(PARTS, 2.0), dict.fromkeys(PARTS, 0.0)

# student -> (answers, mutate, expected score per part); None: the file is not a notebook at all.
CLASS = {
    "victim-1": ({}, None, FULL),
    "duplicated": ({}, duplicated, FULL),
    "to-markdown": ({}, to_markdown, FULL),
    "renamed": ({}, renamed, FULL),
    "reflagged": ({}, reflagged, FULL),  # grade: true on an answer cell, grade: false on a test cell
    "deleted-test": ({}, deleted_test, FULL),
    "deleted-answer": ({}, deleted_answer, {**FULL, "test-protocol-2": 0.0}),
    "reordered": ({}, reordered, {**FULL, "test-protocol-4": 0.0}),
    "emptied": ({}, emptied, ZERO),
    "from-the-browser": ({}, from_the_browser, FULL),
    "another-kernel": ({}, another_kernel, FULL),
    "not-a-notebook": None,
    "echoing": ({"protocol-1-answer": samples.SOLVED}, None, FULL),
    "reading": ({"protocol-1-answer": READ_COURSE}, None, ZERO),
    "victim-2": ({}, None, FULL),
}
ABSENT = "collected-only"  # collected, then left out of the autograde run


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("slips")
    copy_course(root / "exercises")
    course = Course(root / "exercises")
    assert release(course, A, prove=False).ok
    everyone = [*CLASS, ABSENT, "never-submitted"]
    (root / "exercises" / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in everyone))
    inbox = root / "inbox"
    for student, entry in CLASS.items():
        if entry is None:
            (inbox / f"{student}.ipynb").write_bytes(b"%PDF-1.4 this is the PDF of the notebook, not the notebook")
            continue
        answers, mutate, _ = entry
        nb = samples.make(course, A, answers, mutate, default=None if student == "reading" else samples.SOLVED)
        if student == "echoing":
            cell_of(nb, "protocol-1-answer").source = ECHO_HOOK + cell_of(nb, "protocol-1-answer").source
            cell_of(nb, "protocol-4-answer").source += ECHO_HISTORY
        samples.write(nb, inbox / f"{student}.ipynb")
    samples.write(samples.make(course, A, {}), inbox / f"{ABSENT}.ipynb")
    collected = collect(course, A, inbox)
    # nbgrader's gradebook knows the due date; one submission arrives after it.
    with course.gradebook() as gb:
        gb.update_or_create_assignment(A, duedate=dt.datetime(2030, 1, 1, 12, 0))
    course.folder("submitted", "victim-2", A, "timestamp.txt").write_text("2030-01-01 14:05:00.000000 UTC\n")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--course", str(course.root), "autograde", A, "--jobs", "2", "--cell-timeout", "40",
                     *[arg for s in CLASS for arg in ("--student", s)]])
    pages = feedback(course, A)
    table = {row["student"]: row for row in csv.DictReader(io.StringIO(export(course, [A])))}
    return course, collected, code, out.getvalue(), pages, table


@pytest.mark.slow
def test_the_batch_completes_and_only_the_file_that_is_not_a_notebook_is_not_graded(batch):
    _, collected, code, out, _, _ = batch
    assert "not-a-notebook" in collected.summary() and "cannot be graded as they are" in collected.summary()
    assert code == 1
    verdict = out.strip().splitlines()[-1]
    assert verdict == f"{A}: {len(CLASS) - 1} graded, 1 NOT graded: not-a-notebook (not a notebook)"
    assert f"not-a-notebook: not graded: {A}.ipynb is not a notebook Jupyter can open (NotJSONError" in out
    assert f"{len(CLASS)} submission(s)" in out


@pytest.mark.slow
def test_each_part_of_each_submission_gets_exactly_its_honest_score(batch):
    table = batch[5]
    for student, entry in CLASS.items():
        expected = ZERO if entry is None else entry[2]
        got = {part: float(table[student][part]) for part in PARTS}
        assert got == expected, student
        assert float(table[student]["total"]) == sum(expected.values()), student


@pytest.mark.slow
def test_the_export_lists_every_collected_student_with_the_right_status(batch):
    table = batch[5]
    assert set(table) == {*CLASS, ABSENT}  # the student who submitted nothing has no row
    for student in CLASS:
        if student == "not-a-notebook":
            assert table[student]["status"].startswith(f"not graded: {A}.ipynb is not a notebook"), \
                table[student]["status"]
        elif student == "victim-2":
            assert table[student]["status"] == "graded; late by 2 h 5 min"
        else:
            assert table[student]["status"] == "graded", (student, table[student]["status"])
    absent = table[ABSENT]
    assert absent["status"].startswith("not graded: collected but not autograded")
    assert absent["total"] == "" and all(absent[p] == "" for p in PARTS) and absent["max"] == "8"


@pytest.mark.slow
def test_the_feedback_says_which_cells_were_put_back(batch):
    course, _, _, _, pages, _ = batch
    assert "not-a-notebook" in pages.without and len(pages.pages) == len(CLASS) - 1

    def page(student):
        return course.folder("feedback", student, A, f"{A}.html").read_text()

    assert "appears 2 times: the copy at cell 5 counts" in page("duplicated")
    assert "changed to <code>my-answer</code>; it was graded as <code>protocol-3-answer</code>" in page("renamed")
    assert "put back in the shape it was released in" not in page("victim-1")


@pytest.mark.slow
def test_no_feedback_page_quotes_a_hidden_test_or_a_solution_the_learner_did_not_write(batch):
    course, _, _, _, pages, _ = batch
    hidden, solutions = secrets(nbformat.read(course.source_notebook(A), as_version=4))
    assert hidden and solutions
    for page in pages.pages:
        text = markup.unescape(page.read_text())
        student = page.parent.parent.name
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, student
        assert not [line for line in hidden if line in text], student
    for student in ("echoing", "reading"):
        # What the notebook printed, as the instructor's autograded copy keeps it; where a secret was reachable and
        # printed, the learner's page shows [hidden] instead (tests/classroom/test_classroom_feedback.py proves the cut
        # alone).
        graded = nbformat.read(course.folder("autograded", student, A, f"{A}.ipynb"), as_version=4)
        printed = "\n".join(str(part) for c in graded.cells for o in c.get("outputs", [])
                            for part in (o.get("text", ""), o.get("evalue", ""), *o.get("data", {}).values()))
        page = markup.unescape(course.folder("feedback", student, A, f"{A}.html").read_text())
        if [line for line in hidden | solutions if line in printed]:
            assert "[hidden]" in page, student
    reading = markup.unescape(course.folder("feedback", "reading", A, f"{A}.html").read_text())
    assert not [line for line in solutions if line in reading]
