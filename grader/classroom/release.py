"""release: generate the student version of an assignment with nbgrader, then prove it is right to hand out.

Two proofs, both required:

* the solution passes every test: the source notebook (solutions and hidden tests in place) is executed in a fresh
  kernel, and every autograder test cell must earn its full points;
* the released notebook gives nothing away: no solution or hidden-test marker, and none of the solution's own lines
  (a line counts when it is long enough to be telling and appears nowhere else in the source notebook).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.classroom.course import Course, UserError

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_REGION = re.compile(r"###\s*BEGIN (SOLUTION|HIDDEN TESTS)\s*\n(.*?)###\s*END \1", re.S)


@dataclass
class Proof:
    assignment: str
    problems: list = field(default_factory=list)
    graded: int = 0
    points: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (f"{self.assignment}: released; the solution earns {self.points:g}/{self.points:g} in "
                    f"{self.graded} graded cells, and the student version holds no solution and no hidden test")
        return f"{self.assignment}: NOT fit to release:\n" + "\n".join(f"  - {p}" for p in self.problems)


def generate(course: Course, assignment: str) -> Path:
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise UserError(f"nbgrader could not generate the student version of {assignment}:\n"
                        f"{result.get('log') or ''}{result.get('error') or ''}".rstrip())
    return course.folder("release", assignment)


def secret_lines(source: nbformat.NotebookNode) -> set[str]:
    """Solution and hidden-test lines that appear nowhere else in the notebook: telling if they leak."""
    inside, outside = set(), set()
    for cell in source.cells:
        text = cell.source
        for match in _REGION.finditer(text):
            inside.update(line.strip() for line in match.group(2).splitlines())
        outside.update(line.strip() for line in _REGION.sub("", text).splitlines())
    return {line for line in inside - outside if len(line) >= 12 and not line.startswith("#")}


def leaks(source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    secrets = secret_lines(source)
    problems = []
    for index, cell in enumerate(released.cells):
        for marker in MARKERS:
            if marker in cell.source:
                problems.append(f"cell {index} ({cell.get('id', '?')}) still has the marker {marker!r}")
        for line in cell.source.splitlines():
            if line.strip() in secrets:
                problems.append(f"cell {index} ({cell.get('id', '?')}) shows a line of the solution or of a hidden "
                                f"test: {line.strip()[:80]!r}")
    return problems


def execute(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, errors and all."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook


def grade_cells(notebook: nbformat.NotebookNode):
    from nbgrader import utils

    for cell in notebook.cells:
        if utils.is_grade(cell) and cell.cell_type == "code":
            yield cell, utils.determine_grade(cell)


def prove_solution(course: Course, assignment: str, proof: Proof) -> None:
    path = course.source_notebook(assignment)
    notebook = execute(nbformat.read(path, as_version=4), path.parent)
    for cell, (earned, possible) in grade_cells(notebook):
        proof.graded += 1
        proof.points += possible
        if earned is None or earned < possible:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            why = f"{errors[0].ename}: {errors[0].evalue}" if errors else f"earned {earned} of {possible}"
            proof.problems.append(f"the solution fails the test {cell.metadata.nbgrader.grade_id}: {why}")


def release(course: Course, assignment: str, prove: bool = True) -> Proof:
    course.require_assignment(assignment)
    released_dir = generate(course, assignment)
    proof = Proof(assignment)
    for name in course.notebook_names(assignment):
        source = nbformat.read(course.source_notebook(assignment).with_name(f"{name}.ipynb"), as_version=4)
        released = nbformat.read(released_dir / f"{name}.ipynb", as_version=4)
        proof.problems.extend(leaks(source, released))
    if prove:
        prove_solution(course, assignment, proof)
    return proof
