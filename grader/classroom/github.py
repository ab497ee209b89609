"""github-classroom: a GitHub Classroom starter repository, whose visible checks GitHub's runner grades with the engine.

    python -m grader.classroom github-classroom 01-community-protocol --output starter/

writes the repository an instructor makes the assignment's template: the released notebook (no solution, no hidden
test), a README for the learner, the engine and its lean pins (``.engine/``), and ``.github/workflows/classroom.yml``
in GitHub Classroom's current form: one ``classroom-resources/autograding-command-grader`` step per visible test
cell, worth that cell's points, and the ``autograding-grading-reporter`` that sends the points to the classroom.

A learner's repository is theirs, so its points are the visible checks only, run on GitHub's runner in the learner's
own account, and the README says so. The grade that counts comes from the instructor's batch: ``gh classroom clone
student-repos`` brings the class's repositories home, ``collect`` reads that layout, ``autograde`` judges each one
with the hidden tests, walled off, as always.

Each step runs ``python -m grader.classroom.github <notebook> <test cell id>``: the first one executes the notebook
once in a fresh kernel (the released test cells put back first, as nbgrader does, so an edited test cell checks
nothing less) and keeps the outcome of every test cell in ``.autograding/``; every step then reports its own cell and
exits 0 when it passed.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from grader.classroom.course import Course, UserError

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ".autograding"
CELL_TIMEOUT = 120


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _visible_tests(notebook) -> list:
    """The test cells a learner sees: graded, not an answer, with their points."""
    return [cell for cell in notebook.cells
            if cell.cell_type == "code" and _nbgrader(cell).get("grade") and not _nbgrader(cell).get("solution")]


@dataclass
class Starter:
    assignment: str
    folder: Path
    tests: list

    def summary(self) -> str:
        points = sum(points for _, _, points in self.tests)
        return (f"Wrote the GitHub Classroom starter of {self.assignment} to {self.folder}: {len(self.tests)} visible "
                f"checks worth {points:g} points. Push it as a template repository and choose it for the assignment.")


def _step_id(grade_id: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in grade_id.lower())


def workflow(notebook_name: str, tests: list) -> str:
    """``.github/workflows/classroom.yml``: a command-grader step per visible test cell, then the reporter."""
    lines = [
        "name: Autograding Tests",
        "'on':",
        "- push",
        "- repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "    - name: Checkout code",
        "      uses: actions/checkout@v4",
        "    - name: Set up Python",
        "      uses: actions/setup-python@v5",
        "      with:",
        "        python-version: '3.11'",
        "    - name: Install the sandbox",
        "      run: |",
        "        python -m pip install --quiet -r .engine/requirements.txt",
        "        python -m pip install --quiet --no-deps ./.engine",
        "        python -m ipykernel install --user --name python3",
    ]
    for grade_id, title, points in tests:
        step = _step_id(grade_id)
        lines += [
            f"    - name: {json.dumps(title)}",
            f"      id: {step}",
            "      uses: classroom-resources/autograding-command-grader@v1",
            "      with:",
            f"        test-name: {json.dumps(title)}",
            "        setup-command: ''",
            f"        command: python -m grader.classroom.github {shlex.quote(notebook_name)} {shlex.quote(grade_id)}",
            "        timeout: 10",
            f"        max-score: {points:g}",
        ]
    lines += ["    - name: Autograding Reporter", "      uses: classroom-resources/autograding-grading-reporter@v1",
              "      env:"]
    lines += [f"        {_step_id(g).upper()}_RESULTS: \"${{{{steps.{_step_id(g)}.outputs.result}}}}\""
              for g, _, _ in tests]
    lines += ["      with:", f"        runners: {','.join(_step_id(g) for g, _, _ in tests)}"]
    return "\n".join(lines) + "\n"


def _readme(assignment: str, notebook_name: str, tests: list) -> str:
    rows = "\n".join(f"| {title} | {points:g} |" for _, title, points in tests)
    return f"""# {assignment}

Open `{notebook_name}` in Jupyter (or in the book's in-browser edition), answer each part where it says
`# YOUR CODE HERE`, run the notebook from the top, and push. Every push runs the visible checks on GitHub's runner,
against a fresh mock AWS account: the **Actions** tab shows each check's result, and the classroom shows their points.

| Visible check | Points |
|---|---|
{rows}

**What these points are.** They are the visible checks only, the same ones you can run in the notebook. The grade
that counts comes from your instructor, who grades every repository of the class again with hidden tests as well:
a part can pass here and still lose points there (another principal that may take the role, say). Check your work
with the notebook's own self-check before you push.

Nothing here reaches the real AWS: the notebook runs against the sandbox's mock account.
"""


def starter(course: Course, assignment: str, output: Path) -> Starter:
    import nbformat

    course.require_assignment(assignment)
    released = course.folder("release", assignment)
    notebooks = sorted(released.glob("*.ipynb")) if released.is_dir() else []
    if not notebooks:
        raise UserError(f"{assignment} has not been released yet: run `python -m grader.classroom release "
                        f"{assignment}` first; the starter carries the released notebook.")
    if len(notebooks) != 1:
        raise UserError(f"{assignment} has {len(notebooks)} notebooks; a GitHub Classroom starter carries one.")
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise UserError(f"{output} is not empty: give a new folder for the starter repository.")
    notebook = nbformat.read(notebooks[0], as_version=4)
    tests = [(_nbgrader(cell)["grade_id"], _title(cell), float(_nbgrader(cell).get("points") or 0))
             for cell in _visible_tests(notebook)]
    try:
        output.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebooks[0], output / notebooks[0].name)
        (output / "README.md").write_text(_readme(assignment, notebooks[0].name, tests), encoding="utf-8")
        checks = output / RESULTS
        checks.mkdir()
        (checks / "tests.json").write_text(json.dumps({_nbgrader(c)["grade_id"]: c.source
                                                       for c in _visible_tests(notebook)}, indent=1))
        workflows = output / ".github" / "workflows"
        workflows.mkdir(parents=True)
        (workflows / "classroom.yml").write_text(workflow(notebooks[0].name, tests), encoding="utf-8")
        engine = output / ".engine"
        engine.mkdir()
        shutil.copytree(ROOT / "grader", engine / "grader", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(ROOT / "pyproject.toml", engine / "pyproject.toml")
        shutil.copy2(ROOT / "binder" / "requirements.txt", engine / "requirements.txt")
        (output / ".gitignore").write_text(f"{RESULTS}/results-*.json\n.ipynb_checkpoints/\n__pycache__/\n")
    except OSError as error:
        raise UserError(f"The starter could not be written to {output}: {error.strerror or error}.") from None
    return Starter(assignment, output, tests)


def _title(cell) -> str:
    first = cell.source.splitlines()[0] if cell.source else ""
    title = first.removeprefix("# Test:").strip()
    if title.endswith("points)"):
        title = title.rsplit("(", 1)[0].strip()
    return title or _nbgrader(cell)["grade_id"]


# -- on the runner ------------------------------------------------------------------------------------------------


def _run(notebook_path: Path) -> dict:
    """Execute the notebook once, with the released test cells put back; each test cell's outcome."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path, as_version=4)
    kept = notebook_path.parent / RESULTS / "tests.json"
    released = json.loads(kept.read_text()) if kept.is_file() else {}
    for cell in _visible_tests(notebook):
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in released:
            cell.source = released[grade_id]
    present = {_nbgrader(c).get("grade_id") for c in _visible_tests(notebook)}
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(notebook_path.parent)}})
    client.execute()
    outcome = {grade_id: {"passed": False, "said": "this test cell is missing from the notebook"}
               for grade_id in released if grade_id not in present}
    for cell in _visible_tests(notebook):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        said = f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "passed"
        outcome[_nbgrader(cell)["grade_id"]] = {"passed": not errors, "said": said}
    return outcome


def grade(notebook_path: Path, grade_id: str) -> int:
    """One step of the workflow: 0 when the test cell ``grade_id`` passed (the notebook is executed once)."""
    notebook_path = Path(notebook_path)
    if not notebook_path.is_file():
        print(f"There is no notebook {notebook_path} in this repository: push it back (its name must stay the same).")
        return 1
    digest = hashlib.sha256(notebook_path.read_bytes()).hexdigest()[:16]
    cache = notebook_path.parent / RESULTS / f"results-{digest}.json"
    if cache.is_file():
        outcome = json.loads(cache.read_text())
    else:
        outcome = _run(notebook_path)
        cache.parent.mkdir(exist_ok=True)
        cache.write_text(json.dumps(outcome, indent=1))
    result = outcome.get(grade_id)
    if result is None:
        print(f"The notebook has no test cell {grade_id}.")
        return 1
    print(f"{grade_id}: {result['said']}")
    return 0 if result["passed"] else 1


def main(argv: Optional[list] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m grader.classroom.github <notebook.ipynb> <test cell id>", file=sys.stderr)
        return 2
    return grade(Path(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
