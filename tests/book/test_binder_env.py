"""Binder's environment (binder/) is enough to run the book: a fresh venv built from binder/ alone executes every
chapter in the toc and every released exercise.

The venv is new on every run (so a missing package cannot hide behind an old install); pip's own download cache
is kept, so a second run does not download again.

What "runs" means for a released exercise: the student version is meant to fail where the learner has not answered
yet. So it is executed with errors allowed, and then

- every cell the learner does not write, other than the tests, runs without error (the set-up, the examples);
- an answer cell fails, if at all, only with the ``NotImplementedError`` of its stub, and at least one does;
- a test cell (nbgrader's graded cells) may fail only after an unanswered answer cell, that is, because of it;
- no cell anywhere fails for lack of a module (``ImportError``): that would be the environment's fault, not the
  learner's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from site_build import ROOT, release_exercises, toc_chapters
from support import pins  # the build's own reader of requirement pins (tools/lite.py)

BINDER = ROOT / "binder"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "exercises" / "source").glob("*") if any(p.glob("*.ipynb")))


# -- the files themselves (fast) ---------------------------------------------------------------------------------------

def test_binder_pins_every_package_exactly_at_the_development_versions():
    binder, full = pins(BINDER / "requirements.txt"), pins(ROOT / "requirements.txt")
    unpinned = [name for name, version in binder.items() if not version]
    assert unpinned == [], f"binder/requirements.txt must pin with ==: {unpinned}"
    different = {name: (version, full.get(name)) for name, version in binder.items() if full.get(name) != version}
    assert different == {}, f"binder pins that differ from requirements.txt (binder, dev): {different}"
    wanted = {re.sub(r"[-_.]+", "-", n).lower() for n in pins(BINDER / "requirements.in")}
    assert wanted <= set(binder), f"binder/requirements.in names packages binder/requirements.txt lacks: " \
                                  f"{wanted - set(binder)}"


def test_binder_is_lean_it_has_no_site_builder_or_test_tools():
    binder = pins(BINDER / "requirements.txt")
    for builder in ("jupyter-book", "sphinx", "myst-nb", "pytest", "selenium", "nbval"):
        assert builder not in binder, f"{builder} is for building or testing the book, not for Binder"


def test_post_build_installs_the_engine_from_the_repository():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install .*--no-deps -e \.$", post_build.read_text(), re.M), "postBuild installs the engine"


# -- a fresh Binder environment runs the book (slow) -------------------------------------------------------------------

RUNNER = textwrap.dedent('''\
    """Execute one notebook in this interpreter's own kernel; print a JSON summary of every code cell."""
    import json, sys
    from pathlib import Path
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    path, allow_errors = Path(sys.argv[1]), sys.argv[2] == "allow-errors"
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable or spec.argv[0] == "python", spec.argv
    for attempt in (1, 2):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent)}})
        failure = None
        try:
            client.execute()
        except Exception as exc:  # the first failing cell of a notebook that must not fail
            failure = f"{type(exc).__name__}: {exc}"[-3000:]
        # A kernel that dies while starting (a port taken by another process meanwhile) is the machine's
        # hiccup, not the notebook's failure: start once more.
        if not (failure and "Kernel died before replying to kernel_info" in failure):
            break
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [{"ename": o.get("ename"), "evalue": str(o.get("evalue"))[:500]}
                  for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cells.append({"source": cell.source[:200], "nbgrader": cell.metadata.get("nbgrader", {}), "errors": errors,
                      "executed": cell.get("execution_count") is not None})
    print(json.dumps({"failure": failure, "cells": cells}))
''')


@pytest.fixture(scope="module")
def binder_python(tmp_path_factory) -> Path:
    """A brand-new venv holding binder/requirements.txt, with binder/postBuild run in it, as Binder would."""
    venv = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _env(venv)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "-r", str(BINDER / "requirements.txt")], env, "installing binder/requirements.txt")
    _run([str(BINDER / "postBuild")], env, "running binder/postBuild")
    # This venv's own kernel, found before any other one on the machine.
    _run([str(venv / "bin" / "python"), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], env,
         "registering the kernel")
    (venv / "run_notebook.py").write_text(RUNNER)
    return venv / "bin" / "python"


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_DATA_DIR"] = str(venv / "jupyter-data")  # no user-level kernel from this machine
    return env


def _run(command: list[str], env: dict[str, str], what: str, timeout: int = 900) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _execute(python: Path, notebook: Path, allow_errors: bool) -> dict:
    out = _run([str(python), str(python.parents[1] / "run_notebook.py"), str(notebook),
                "allow-errors" if allow_errors else "strict"], _env(python.parents[1]), f"executing {notebook.name}")
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("chapter", toc_chapters())
def test_binder_runs_the_chapter(binder_python, chapter):
    summary = _execute(binder_python, ROOT / f"{chapter}.ipynb", allow_errors=False)
    assert summary["failure"] is None, f"{chapter} fails in the Binder environment:\n{summary['failure']}"
    assert all(cell["executed"] for cell in summary["cells"])


@pytest.fixture(scope="module")
def released() -> dict[str, Path]:
    return {path.parent.name: path for path in release_exercises()}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_binder_runs_the_released_exercise_up_to_the_learners_answers(binder_python, released, assignment):
    summary = _execute(binder_python, released[assignment], allow_errors=True)
    assert summary["failure"] is None, summary["failure"]
    problems, unanswered = [], False
    for cell in summary["cells"]:
        meta, errors = cell["nbgrader"], cell["errors"]
        names = {e["ename"] for e in errors}
        where = cell["source"].splitlines()[0] if cell["source"] else "(empty cell)"
        if names & {"ImportError", "ModuleNotFoundError"}:
            problems.append(f"{where}: a module is missing from binder/: {errors}")
        elif meta.get("solution") and not meta.get("grade"):
            if names - {"NotImplementedError"}:
                problems.append(f"answer cell {meta.get('grade_id')}: fails with {errors}, not its stub")
            unanswered |= "NotImplementedError" in names
        elif meta.get("grade"):
            if errors and not unanswered:
                problems.append(f"test cell {meta.get('grade_id')} fails with no unanswered part before it: {errors}")
        elif errors:
            problems.append(f"{where}: a cell the learner does not write fails: {errors}")
    assert unanswered, f"{assignment}: no answer cell raised NotImplementedError: is this a student version?"
    assert problems == [], f"{assignment} in the Binder environment:\n" + "\n".join(problems)
