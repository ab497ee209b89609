"""Writes the course's source notebooks (``source/<assignment>/<assignment>.ipynb``) from the assignments/ modules.

The assignments are Python modules (``assignments/a01_community_protocol.py``...) that list their cells with the
helpers below, so a solution, its visible test and its hidden test sit next to each other and read as code. Run
``python exercises/notebooks.py`` after editing one, and commit both: nbgrader reads the notebooks.

Each graded part is two cells: the learner's answer (an nbgrader solution cell, with the solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION``) and an autograder test cell worth the part's points. The test cell
runs the part's check on the account: visibly (``assert_full_marks``), then, hidden from the released notebook,
with every aspect judged (``score()``, nbgrader's partial credit: the cell's last expression is its points).
Under the grader, test cells are run by the grading worker, never in the learner's kernel
(``grader.classroom.judge``): a test reads nothing but the account, so it needs nothing from the kernel.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ASSIGNMENTS = ("a01_community_protocol", "a02_delivery_rules", "a03_badges", "a04_two_layers_capstone")


def _repository_url() -> str:
    """The book's repository, from _config.yml (a fork sets it there once, for the launch buttons too)."""
    import re

    config = (HERE.parent / "_config.yml").read_text(encoding="utf-8")
    match = re.search(r"^repository:\n(?:[ ]+#.*\n)*[ ]+url:[ ]*(\S+)", config, re.M)
    if not match:
        raise ValueError("_config.yml: no repository.url, which the exercises name as where to install the engine from")
    return match.group(1)


# Prepended to each assignment's first code cell: a learner who downloaded the notebook and runs it where the engine
# is not installed reads what to install, and no traceback.
ENGINE_CHECK = """try:  # the book's engine; if this Python lacks it, say how to install it
    from grader import sandbox
except ImportError as missing:
    class EngineMissing(Exception):
        def _render_traceback_(self):  # Jupyter shows the message alone
            return [str(self)]
    raise EngineMissing(
        f"This exercise runs on the book's engine, which this kernel cannot import ({missing}).\\n"
        "Install it into this kernel's Python with one command:\\n\\n"
        '    %pip install "gated-community @ git+{url}"\\n\\n'
        "then restart the kernel and run the notebook again from the top.") from None
"""


# Said in every assignment's introduction, after how to check a part as you go.
AS_YOU_GO = """
        A check says PASS only when it has checked everything the part is graded on. Most parts have more that is
        checked only at grading: then it says NOT YET CONFIRMED, how much it checked, and what kind of thing grading
        also looks at. Each cell builds on the account as the cells above left it: to start over, run the notebook again
        from the setup cell, which starts a fresh account.
"""


class Notebook:
    """The cells of one assignment, in order."""

    def __init__(self, name: str):
        self.name = name
        self.cells: list = []

    def _id(self, stem: str) -> str:
        return f"{stem}"

    def md(self, cell_id: str, text: str) -> None:
        self.cells.append(nbformat.v4.new_markdown_cell(_clean(text), id=cell_id))

    def code(self, cell_id: str, source: str) -> None:
        self.cells.append(nbformat.v4.new_code_cell(_clean(source), id=cell_id))

    def answer(self, grade_id: str, before: str, solution: str, after: str = "") -> None:
        """A cell the learner fills in: ``before`` and ``after`` stay, the solution is replaced by a stub."""
        body = _clean(before)
        body = (body + "\n" if body else "") + "### BEGIN SOLUTION\n" + _clean(solution) + "\n### END SOLUTION"
        if after:
            body += "\n" + _clean(after)
        cell = nbformat.v4.new_code_cell(body, id=grade_id)
        cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                                     "solution": True, "task": False}
        self.cells.append(cell)

    def test(self, part_id: str, module: str, call: str, hidden_call: str) -> None:
        """The autograder test of one part: its points are the part's, from the check registry."""
        from grader.checks import find_part

        part = find_part(part_id)
        source = (f"# Test: {part.title} ({part.points:g} points)\n"
                  f"from grader.checks import {module}\n"
                  f"{module}.{call}.assert_full_marks()\n"
                  "### BEGIN HIDDEN TESTS\n"
                  f"from grader.checks import {module}\n"
                  f"{module}.{hidden_call}.score()\n"
                  "### END HIDDEN TESTS")
        cell = nbformat.v4.new_code_cell(source, id=f"test-{part_id}")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"test-{part_id}", "locked": True,
                                     "points": part.points, "schema_version": 3, "solution": False, "task": False}
        self.cells.append(cell)

    def notebook(self) -> nbformat.NotebookNode:
        first = next(cell for cell in self.cells if cell.cell_type == "code")
        if not first.source.startswith(ENGINE_CHECK.splitlines()[0]):
            first.source = ENGINE_CHECK.replace("{url}", _repository_url()) + "\n" + first.source
        nb = nbformat.v4.new_notebook(cells=self.cells)
        nb.metadata = {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
        return nb


def _clean(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n")


def build(name: str) -> Notebook:
    module = importlib.import_module(f"assignments.{name}")
    return module.notebook()


def write_all(root: Path = HERE) -> list[Path]:
    sys.path.insert(0, str(HERE))
    written = []
    for name in ASSIGNMENTS:
        try:
            nb = build(name)
        except ModuleNotFoundError as error:
            if error.name != f"assignments.{name}":
                raise
            continue
        path = root / "source" / nb.name / f"{nb.name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(nb.notebook(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path.relative_to(HERE))
