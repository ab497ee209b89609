"""Feedback for a hostile class: an answer cell of 20,000 unmatched hidden-test markers gets its page within the
per-student limit; markup built to run in the reader's browser runs in no feedback page; a page that cannot be
written in time costs that student's page only, and the summary says so."""

from __future__ import annotations

import os

import nbformat
import pytest

from grader.classroom import Course, samples
from grader.classroom.autograde import autograde
from grader.classroom.collect import collect
from grader.classroom.feedback import feedback
from grader.classroom.release import release

from support import XSS_PAYLOADS, copy_course, what_runs

A = "01-community-protocol"
MARKERS = 20_000
LIMIT = 60

SHOWS = """
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML('<img src=x onerror="alert(\\'XSS-html-1\\')"><script>alert("XSS-html-2")</script>'
             '<a href="javascript:alert(\\'XSS-html-3\\')">look</a>'))
display(Javascript('alert("XSS-js-1")'))
display(Markdown('[look](javascript:alert("XSS-md-1")) <img src=y onerror=alert("XSS-md-2")>'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\\'XSS-svg-1\\')">'
            '<script>alert("XSS-svg-2")</script></svg>'))
"""


def _hostile(nb):
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id == "protocol-1-answer":
            cell.source += "\n# " + "### BEGIN HIDDEN TESTS " * MARKERS + "\n"
        if grade_id == "protocol-2-answer":
            cell.source += "\n" + SHOWS
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(XSS_PAYLOADS["markdown"]))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course_dir = root / "exercises"
    copy_course(course_dir)
    course = Course(course_dir)
    assert release(course, A, prove=False).ok
    (course_dir / "students.csv").write_text("id\nalice\nmallory\nstuck\n")
    inbox = root / "inbox"
    for student in ("alice", "stuck"):
        samples.write(samples.make(course, A, {}), inbox / f"{student}.ipynb")
    samples.write(samples.make(course, A, {}, _hostile), inbox / "mallory.ipynb")
    collect(course, A, inbox)
    batch = autograde(course, A, jobs=2, cell_timeout=60, notebook_timeout=300, progress=lambda graded: None)
    assert not batch.not_graded, batch.summary()
    # A page nbgrader can never finish: its notebook is a pipe no one writes to, so reading it waits for ever.
    stuck = course.folder("autograded", "stuck", A, f"{A}.ipynb")
    stuck.unlink()
    os.mkfifo(stuck)
    return course, feedback(course, A, timeout=LIMIT)


@pytest.mark.slow
def test_unmatched_markers_get_their_page_within_the_limit(pages):
    course, result = pages
    assert "mallory" not in result.without, result.summary()
    html = course.folder("feedback", "mallory", A, f"{A}.html").read_text()
    assert html.count("### BEGIN HIDDEN TESTS") >= MARKERS  # the learner's own code, shown as they wrote it


@pytest.mark.slow
def test_a_page_past_the_limit_costs_that_student_only(pages):
    course, result = pages
    assert result.without["stuck"].startswith(f"feedback stopped after {LIMIT} s"), result.summary()
    assert f"no page for stuck (feedback stopped after {LIMIT} s" in result.summary()
    assert not course.folder("feedback", "stuck").exists() or not any(course.folder("feedback", "stuck").rglob("*"))
    assert {p.parent.parent.name for p in result.pages} == {"alice", "mallory"}


@pytest.mark.slow
def test_no_feedback_page_runs_the_learners_markup(pages):
    course, result = pages
    mallory = course.folder("feedback", "mallory", A, f"{A}.html").read_text()
    assert "XSS-html-1" in mallory or "XSS-md-1" in mallory or "XSS-markdown" in mallory  # it was there to run
    for page in result.pages:
        assert not [found for found in what_runs(page.read_text()) if "XSS" in found], page
