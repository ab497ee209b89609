"""Every assignment's solution earns every point in a fresh kernel, and no released notebook holds a solution or a
hidden test (markers or the solution's own lines)."""

from __future__ import annotations


import nbformat
import pytest

from grader.classroom import Course
from grader.classroom.release import MARKERS, release, secret_lines
from support import copy_course



@pytest.mark.slow
def test_release_all_proves_every_assignment(tmp_path):
    where = tmp_path / "exercises"
    copy_course(where, roster=True)
    course = Course(where)
    assert len(course.assignments()) >= 4
    for assignment in course.assignments():
        proof = release(course, assignment)
        assert proof.ok, proof.summary()
        assert proof.graded >= 3 and proof.points == sum(
            c.metadata.nbgrader.points for c in nbformat.read(course.source_notebook(assignment), 4).cells
            if c.metadata.get("nbgrader", {}).get("grade"))
        released = nbformat.read(where / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        text = "\n".join(c.source for c in released.cells)
        assert not any(marker in text for marker in MARKERS)
        secrets = secret_lines(nbformat.read(course.source_notebook(assignment), as_version=4))
        assert secrets and not any(line.strip() in secrets for line in text.splitlines())


@pytest.mark.slow
def test_a_stuck_cell_of_the_solution_is_stopped_and_named(tmp_path, capsys):
    from grader.classroom.cli import main

    where = tmp_path / "exercises"
    copy_course(where, roster=True)
    assignment = "01-community-protocol"
    path = where / "source" / assignment / f"{assignment}.ipynb"
    source = nbformat.read(path, as_version=4)
    source.cells.insert(1, nbformat.v4.new_code_cell("while True:\n    pass", id="stuck"))
    nbformat.write(source, str(path))
    assert main(["--course", str(where), "release", assignment, "--cell-timeout", "3"]) == 1
    out = capsys.readouterr().out
    assert f"{assignment}: NOT fit to release" in out and "Traceback" not in out
    assert ("the solution notebook did not run to its end: cell 1 ran past 3 s, the limit for one cell, and was "
            "stopped: make it finish sooner, or give it longer with --cell-timeout") in out
