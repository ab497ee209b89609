"""The exercises as a learner runs them, cell by cell in an IPython shell: an answer cell run a second time works, or
says in the book's words how to start over; a visible test that passes says so; an error is saved under its class's
name, also where the kernel would save ``<class 'AssertionError'>`` (JupyterLite's Pyodide kernel)."""

from __future__ import annotations

import re

import nbformat
import pytest

from support import COURSE

ASSIGNMENTS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
SOLUTION_MARKERS = re.compile(r"###\s*(BEGIN|END) SOLUTION[^\n]*\n?")
HIDDEN_TESTS = re.compile(r"###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[^\n]*\n?", re.S)
START_OVER = "run the notebook again from the cell with sandbox.start(): it gives you a fresh account"


def _shell(shell_class=None):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return (shell_class or InteractiveShell).instance(config=config)


@pytest.fixture
def shell(aws):
    from IPython.core.interactiveshell import InteractiveShell

    try:
        yield _shell()
    finally:
        InteractiveShell.clear_instance()


def _run(shell, capsys, source: str) -> tuple[bool, str]:
    capsys.readouterr()
    ran = shell.run_cell(source, store_history=False)
    return ran.success, capsys.readouterr().out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_answer_cell_run_twice_works_or_says_how_to_start_over(assignment, shell, capsys):
    """Every cell in order, as the learner has it (the solution typed in, the hidden tests not there); each answer cell
    run a second time at once; each visible test says that it passed and what is left for grading."""
    notebook = nbformat.read(COURSE / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    reran = []
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        grading = cell.metadata.get("nbgrader", {})
        source = HIDDEN_TESTS.sub("", SOLUTION_MARKERS.sub("", cell.source))
        ok, shown = _run(shell, capsys, source)
        assert ok, (cell.id, shown)
        if grading.get("grade"):  # a visible test: it passed, and it says so
            assert re.search(r": passing so far\n|\(full marks\)", shown), (cell.id, shown)
            assert "checked at grading" in shown or "full marks" in shown, (cell.id, shown)
        if grading.get("solution"):
            ok, shown = _run(shell, capsys, source)
            reran.append(cell.id)
            if not ok:  # AWS's own words, then the book's note
                assert "already exists" in shown and START_OVER in shown, (cell.id, shown)
                assert "Traceback" in shown or "EntityAlreadyExists" in shown, (cell.id, shown)
    assert reran, f"{assignment} has no answer cell"


def test_the_note_names_what_exists_and_keeps_aws_words(shell, capsys):
    _run(shell, capsys, "from grader import sandbox\naws = sandbox.start()\niam = aws.client('iam')\n"
                        "iam.create_instance_profile(InstanceProfileName='VanProfile')")
    ok, shown = _run(shell, capsys, "iam.create_instance_profile(InstanceProfileName='VanProfile')")
    assert not ok
    assert ("An error occurred (EntityAlreadyExists) when calling the CreateInstanceProfile operation: "
            "Instance Profile VanProfile already exists.") in shown
    assert ("Your account already has this instance profile, most likely from an earlier run of this cell. To start "
            f"over, {START_OVER}.") in shown
    ok, shown = _run(shell, capsys, "iam.get_role(RoleName='Nobody')")  # any other AWS error: as it always was
    assert not ok and "NoSuchEntity" in shown and "sandbox.start()" not in shown


def test_an_error_is_saved_under_its_class_name_where_the_kernel_would_save_its_repr(aws):
    """JupyterLite's Pyodide kernel (pyodide_kernel/interpreter.py) records ``"ename": str(etype)``; after
    ``sandbox.start()`` the name recorded is the class's."""
    from IPython.core.interactiveshell import InteractiveShell

    from grader.errors import show_errors_plainly

    class PyodideLikeShell(InteractiveShell):
        def _showtraceback(self, etype, evalue, stb):  # as the Pyodide kernel's Interpreter does
            self._last_traceback = {"ename": str(etype), "evalue": str(evalue), "traceback": stb}

    shell = _shell(PyodideLikeShell)
    shell.user_ns["aws"] = aws
    try:
        shell.run_cell("assert 1 == 2, 'the role trusts EC2 too'", store_history=False)
        assert shell._last_traceback["ename"] == "<class 'AssertionError'>"  # the kernel's own record, unchanged
        show_errors_plainly(shell)
        show_errors_plainly(shell)  # every sandbox.start() calls it: once is enough
        shell.run_cell("assert 1 == 2, 'the role trusts EC2 too'", store_history=False)
        assert shell._last_traceback["ename"] == "AssertionError"
        assert shell._last_traceback["evalue"] == "the role trusts EC2 too"
        shell.run_cell("aws.client('iam').get_role(RoleName='Nobody')", store_history=False)  # an AWS error too
        assert shell._last_traceback["ename"] == "NoSuchEntityException"
    finally:
        PyodideLikeShell.clear_instance()
