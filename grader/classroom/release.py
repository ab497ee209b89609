"""release: generate the student version of an assignment with nbgrader, then prove it is right to hand out.

Two proofs, both required:

* the solution passes every test: the source notebook (solutions and hidden tests in place) is executed in a fresh
  kernel, and every autograder test cell must earn its full points; a cell that runs past its limit (``cell_timeout``,
  120 s unless said) is stopped, and the proof names it;
* the released notebook gives nothing away: no solution or hidden-test marker, and none of the solution's own lines
  (a line counts when it is long enough to be telling and appears nowhere else in the source notebook).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.classroom.course import Course, UserError

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
CELL_TIMEOUT = 120  # seconds one cell of the solution notebook may run


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
    from grader.classroom.preprocessors import secrets

    hidden, solutions = secrets(source)  # one scan of each cell, linear in its length
    return hidden | solutions


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


class Stuck(Exception):
    """The solution notebook could not run to its end: a cell ran past its limit, or the kernel died or never
    started. The message says which cell and what to do."""


def execute(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel, errors and all; each cell may run ``timeout`` seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    running = {}

    def started(cell, cell_index, **_):
        running.update(index=cell_index, name=cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))

    client = NotebookClient(notebook, timeout=timeout, startup_timeout=max(60, timeout), kernel_name="python3",
                            allow_errors=True, on_cell_start=started, resources={"metadata": {"path": str(cwd)}})
    where = lambda: (f"cell {running['index']}" + (f" ({running['name']})" if running.get("name") else "")
                     if running else "before its first cell")
    try:
        client.execute()
    except CellTimeoutError:
        raise Stuck(f"{where()} ran past {timeout} s, the limit for one cell, and was stopped: make it finish "
                    f"sooner, or give it longer with --cell-timeout") from None
    except DeadKernelError:
        raise Stuck(f"the kernel died while running {where()}: run the source notebook in Jupyter to see why") \
            from None
    except (RuntimeError, TimeoutError) as error:  # the kernel did not start
        raise Stuck(f"its kernel did not start ({type(error).__name__}: {str(error)[:200]}): check that the "
                    "python3 kernel of this environment is installed (python -m ipykernel install --user)") from None
    return notebook


def grade_cells(notebook: nbformat.NotebookNode):
    from nbgrader import utils

    for cell in notebook.cells:
        if utils.is_grade(cell) and cell.cell_type == "code":
            yield cell, utils.determine_grade(cell)


def prove_solution(course: Course, assignment: str, proof: Proof, cell_timeout: int = CELL_TIMEOUT) -> None:
    path = course.source_notebook(assignment)
    try:
        notebook = execute(nbformat.read(path, as_version=4), path.parent, timeout=cell_timeout)
    except Stuck as stuck:
        proof.problems.append(f"the solution notebook did not run to its end: {stuck}")
        return
    for cell, (earned, possible) in grade_cells(notebook):
        proof.graded += 1
        proof.points += possible
        if earned is None or earned < possible:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            why = f"{errors[0].ename}: {errors[0].evalue}" if errors else f"earned {earned} of {possible}"
            proof.problems.append(f"the solution fails the test {cell.metadata.nbgrader.grade_id}: {why}")


def release(course: Course, assignment: str, prove: bool = True, cell_timeout: int = CELL_TIMEOUT) -> Proof:
    course.require_assignment(assignment)
    released_dir = generate(course, assignment)
    proof = Proof(assignment)
    for name in course.notebook_names(assignment):
        source = nbformat.read(course.source_notebook(assignment).with_name(f"{name}.ipynb"), as_version=4)
        released = nbformat.read(released_dir / f"{name}.ipynb", as_version=4)
        proof.problems.extend(leaks(source, released))
    if prove:
        prove_solution(course, assignment, proof, cell_timeout=cell_timeout)
    return proof
