"""Learners on their own machine: the engine installs with the one command the README and the exercises page give,
and a released exercise opened where the engine is missing says how to install it, with no traceback."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest

from site_build import ROOT, release_exercises
from support import pins  # the pins of a requirements file, by normalised name

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = re.search(r"^repository:\n(?:[ ]+#.*\n)*[ ]+url:[ ]*(\S+)", (ROOT / "_config.yml").read_text(), re.M)[1]
INSTALL = f'pip install "gated-community[jupyter] @ git+{REPOSITORY}"'


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>~! \[;]", requirement, maxsplit=1)[0]).lower()


def _third_party_imports(paths) -> set[str]:
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "grader" and m not in BROWSER_ONLY}


# Pyodide's own modules, which exist only in a browser: grader.browser and the sandbox's fetch-path patches import
# them there alone (tests/site/test_browser_engine.py), so no install on a learner's machine brings them.
BROWSER_ONLY = {"pyodide", "pyodide_js", "js"}


def _distributions(modules: set[str]) -> set[str]:
    owners = importlib.metadata.packages_distributions()
    return {_name(dist) for module in modules for dist in owners.get(module, [module])}


def _installed_with(requirements: list[str]) -> set[str]:
    """The requirements and everything they pull in on this platform, as installed in this environment."""
    from packaging.requirements import Requirement

    seen, todo = set(), [_name(r) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_name(requirement.name))
    return seen


# -- the package's declared needs (fast) -------------------------------------------------------------------------------

def test_the_package_pins_its_dependencies_at_the_development_versions():
    project = PYPROJECT["project"]
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    full = pins(ROOT / "requirements.txt")
    for requirement in declared:
        name, _, version = requirement.partition("==")
        assert version, f"pyproject.toml: pin {requirement} exactly, as requirements.txt does"
        assert full.get(_name(name)) == version, f"pyproject.toml pins {requirement}, requirements.txt {full.get(_name(name))}"


def test_an_install_brings_every_module_the_engine_imports_and_the_classroom_extra_the_pipeline_s():
    engine = [p for p in (ROOT / "grader").rglob("*.py") if "classroom" not in p.parts]
    classroom = list((ROOT / "grader" / "classroom").rglob("*.py"))
    project = PYPROJECT["project"]
    runtime = _installed_with(project["dependencies"])
    missing = _distributions(_third_party_imports(engine)) - runtime
    assert missing == set(), f"the engine imports {missing}, which installing gated-community does not bring"
    with_classroom = runtime | _installed_with(project["optional-dependencies"]["classroom"])
    missing = _distributions(_third_party_imports(classroom)) - with_classroom
    assert missing == set(), f"grader.classroom imports {missing}, which the 'classroom' extra does not bring"


def test_the_readme_and_the_exercises_page_give_the_one_command():
    for page in (ROOT / "README.md", ROOT / "book" / "exercises.md"):
        assert INSTALL in page.read_text(encoding="utf-8"), f"{page.name} should say: {INSTALL}"


# -- a released exercise where the engine is missing (slow) -----------------------------------------------------------

@pytest.fixture
def first_cells() -> dict[str, str]:
    """Each released exercise's first code cell (released before the kernel fixture changes the environment)."""
    cells = {}
    for path in release_exercises():
        cells[path.stem] = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code").source
    assert cells, "no released exercises"
    return cells


@pytest.fixture
def kernel_without_the_engine(first_cells, tmp_path, monkeypatch):
    """A Jupyter kernel whose Python has ipykernel (this environment's packages, added by path) but not the engine:
    the editable install of grader lives in a .pth file of this environment's site-packages, and a directory added by
    path is not a site directory, so its .pth files are not read."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "this_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    kernels = tmp_path / "jupyter" / "kernels" / "bare"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python without the engine", "language": "python"}))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    return "bare"


def _run_cells(sources: list[str], kernel: str, folder: Path) -> list[nbformat.NotebookNode]:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, kernel_name=kernel, allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb.cells


@pytest.mark.slow
def test_a_released_exercise_says_how_to_install_the_engine_where_it_is_missing(first_cells, kernel_without_the_engine,
                                                                               tmp_path):
    for name, first in sorted(first_cells.items()):
        probe, cell = _run_cells(["import importlib.util; print(importlib.util.find_spec('grader'))", first],
                                 kernel_without_the_engine, tmp_path)
        assert probe.outputs[0]["text"].strip() == "None", f"the kernel can import grader: {probe.outputs}"
        [error] = [o for o in cell.outputs if o["output_type"] == "error"]
        shown = "\n".join(error["traceback"])
        assert error["ename"] == "EngineMissing", (name, error["ename"], shown)
        assert "No module named 'grader'" in shown, (name, shown)
        assert f'%pip install "gated-community @ git+{REPOSITORY}"' in shown, (name, shown)
        assert "restart the kernel" in shown
        assert "Traceback" not in shown and 'File "' not in shown and "ModuleNotFoundError" not in shown, shown


# -- the one command, from a fresh clone (slow) ----------------------------------------------------------------------

@pytest.mark.slow
def test_the_one_command_installs_an_engine_that_runs_an_exercise_from_a_fresh_clone(tmp_path):
    """The README's command, with the clone's own address standing in for the repository's (committed work only)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300)
    venv = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # pip's URL check wants a host in a direct reference, so the clone is addressed as file://localhost/...
    requirement = INSTALL.split('"')[1].replace(f"git+{REPOSITORY}", f"git+file://localhost{clone}")
    subprocess.run([python, "-m", "pip", "install", "--quiet", requirement], check=True, timeout=900, env=env,
                   cwd=tmp_path)
    first = next(c for c in nbformat.read(clone / "exercises" / "source" / "01-community-protocol" /
                                          "01-community-protocol.ipynb", as_version=4).cells if c.cell_type == "code")
    script = first.source + "\nprint(aws.client('sts').get_caller_identity()['Account'])\n"
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("123456789012"), result.stdout
    where = subprocess.run([python, "-c", "import grader; print(grader.__file__)"], capture_output=True, text=True,
                           env=env, cwd=tmp_path).stdout
    assert str(venv) in where, f"the engine should come from the install, not the clone: {where}"
