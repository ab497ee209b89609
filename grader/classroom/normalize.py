"""NormalizeCells: put a submission back in the shape it was released in, before nbgrader sanitises and runs it.

The truth is the gradebook, where ``release`` saved every graded, answer and locked cell of the assignment (name,
type, source with its hidden tests, points), exactly what nbgrader's own ``OverwriteCells`` restores from. This
transform runs first in ``Autograde``'s sanitising chain (see ``sanitize_preprocessors``), so that nbgrader's
``DeduplicateIds``, ``OverwriteCells`` and ``CheckCellMetadata`` that follow it meet a notebook they can grade,
whatever a learner did to its cells:

* every cell the gradebook knows is in the notebook exactly once, with the released type and nbgrader flags
  (``grade``, ``solution``, ``locked``, ``points``) and, for a locked cell such as a test, the released source;
* a cell that appears more than once (same ``grade_id``) counts once: the last copy, as nbgrader's
  ``DeduplicateIds`` decides; the other copies run as ordinary code;
* a cell whose ``grade_id`` was renamed is recognised by what it is (an answer, or a locked cell) and where it stands;
* a missing cell is put back as released: a test cell with its tests, an answer cell with its empty stub, so that a
  missing answer earns nothing for its part and the rest still grades.

The learner's cells keep their order: a test placed before its answer runs before it, as in the notebook. Every
repair is listed in a note at the top of the notebook, which the feedback shows. A note names cells and positions,
never a test's or a solution's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells

NOTE_ID = "grader-repairs"
NOTE_TITLE = "**Before grading, this notebook was put back in the shape it was released in:**"
_FLAGS = ("grade", "solution", "locked", "task")


@dataclass
class Released:
    """One cell of the released assignment, as the gradebook holds it."""

    name: str
    order: int
    cell_type: str
    source: str
    checksum: Optional[str]
    grade: bool
    solution: bool
    locked: bool
    task: bool
    points: Optional[float]

    @property
    def is_answer(self) -> bool:
        return self.solution

    def metadata(self) -> dict:
        meta = {"cell_type": self.cell_type, "grade": self.grade, "grade_id": self.name, "locked": self.locked,
                "schema_version": 3, "solution": self.solution, "task": self.task}
        if self.points is not None:
            meta["points"] = self.points
        if self.checksum:
            meta["checksum"] = self.checksum
        return meta

    def visible_source(self) -> str:
        """The source as learners received it: hidden tests removed, as nbgrader's ClearHiddenTests does."""
        cell = nbformat.v4.new_code_cell(self.source)
        try:
            ClearHiddenTests()._remove_hidden_test_region(cell)
        except RuntimeError:
            return self.source
        return cell.source


def released_cells(db_url: str, notebook: str, assignment: str) -> list[Released]:
    """The gradebook's cells of one notebook, in the notebook's order (the order ``release`` saved them in)."""
    with Gradebook(db_url) as gb:
        record = gb.find_notebook(notebook, assignment)
        graded = {c.name: float(c.max_score) for c in record.grade_cells}
        tasks = {c.name: float(c.max_score) for c in record.task_cells}
        answers = {c.name for c in record.solution_cells}
        cells = []
        for order, cell in enumerate(record.source_cells):
            grade, task, solution = cell.name in graded, cell.name in tasks, cell.name in answers
            cells.append(Released(
                name=cell.name, order=order, cell_type=cell.cell_type, source=cell.source or "",
                checksum=cell.checksum, grade=grade, solution=solution, locked=bool(cell.locked), task=task,
                points=graded.get(cell.name, tasks.get(cell.name))))
        return cells


def _nbgrader(cell) -> Optional[dict]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _flagged(meta: Optional[dict]) -> bool:
    return bool(meta) and any(meta.get(flag) for flag in _FLAGS)


def _shown(value: object, limit: int = 60) -> str:
    text = re.sub(r"[`\s]+", " ", str(value)).strip()
    return f"`{text[:limit]}{'...' if len(text) > limit else ''}`"


class NormalizeCells(NbGraderPreprocessor):
    """Restore the released cells of a submission (see the module's docstring); list every repair in a note."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        try:
            truth = released_cells(info["db_url"], info["notebook"], info["assignment"])
        except MissingEntry:
            return nb, resources  # a notebook the gradebook does not know: nbgrader itself skips it
        repairs: list[str] = []
        cells = list(nb.cells)
        position = {id(cell): number for number, cell in enumerate(cells, start=1)}
        counted = self._choose(cells, truth, position, repairs)
        for cell in cells:
            if id(cell) not in counted and "nbgrader" in cell.get("metadata", {}):
                del cell.metadata["nbgrader"]  # an ordinary cell now: no flag of it can confuse the grading
        for cell in cells:
            if id(cell) in counted:
                self._restore(cell, counted[id(cell)], repairs)
        cells = self._put_back_missing(cells, truth, counted, repairs)
        _unique_cell_ids(cells)
        if repairs:
            note = nbformat.v4.new_markdown_cell(NOTE_TITLE + "\n\n" + "\n".join(f"- {r}" for r in repairs))
            note.id = NOTE_ID
            cells.insert(0, note)
        if (nb.nbformat, nb.nbformat_minor) < (4, 5):
            for cell in cells:
                cell.pop("id", None)  # cell ids came with nbformat 4.5; an older notebook must not carry them
        nb.cells = cells
        return nb, resources

    # -- which submitted cell stands for which released cell --------------------------------------------------------

    def _choose(self, cells, truth: list[Released], position: dict, repairs: list) -> dict:
        """Map id(cell) -> Released for the cells that count."""
        by_name = {r.name: r for r in truth}
        claims: dict[str, list] = {}
        unknown: set = set()  # by identity: a copy of a cell is equal to it
        for cell in cells:
            meta = _nbgrader(cell)
            if meta is None:
                continue
            name = meta.get("grade_id")
            if isinstance(name, str) and name in by_name:
                claims.setdefault(name, []).append(cell)
            elif _flagged(meta):
                unknown.add(id(cell))
        counted = {}
        for name, copies in claims.items():
            released = by_name[name]
            same_kind = [c for c in copies if bool((_nbgrader(c) or {}).get("solution")) == released.is_answer]
            chosen = (same_kind or copies)[-1]
            counted[id(chosen)] = released
            if len(copies) > 1:
                others = [str(position[id(c)]) for c in copies if c is not chosen]
                rest = (f"the other copy (cell {others[0]}) ran" if len(others) == 1 else
                        f"the other copies (cells {', '.join(others)}) ran")
                repairs.append(f"{_shown(name)} appears {len(copies)} times: the copy at cell {position[id(chosen)]} "
                               f"counts, and {rest} as ordinary code.")
        claimed = {r.name for r in counted.values()}
        # A renamed cell takes the place of an unclaimed released cell of its kind (answer or locked), the first one
        # after the released cell that precedes it in the notebook.
        previous = -1
        for cell in cells:
            if id(cell) in counted:
                previous = counted[id(cell)].order
                continue
            if id(cell) not in unknown:
                continue
            meta = _nbgrader(cell)
            answer = bool(meta.get("solution"))
            free = [r for r in truth if r.name not in claimed and r.is_answer == answer]
            if not free:
                repairs.append(f"Cell {position[id(cell)]} was marked for grading as {_shown(meta.get('grade_id'))}, "
                               "which is not a cell of this assignment; it ran as ordinary code.")
                continue
            released = next((r for r in free if r.order > previous), free[0])
            counted[id(cell)] = released
            claimed.add(released.name)
            previous = released.order
            repairs.append(f"Cell {position[id(cell)]} had its grade_id changed to {_shown(meta.get('grade_id'))}; it "
                           f"was graded as {_shown(released.name)}.")
        return counted

    # -- each counted cell as released ------------------------------------------------------------------------------

    def _restore(self, cell, released: Released, repairs: list) -> None:
        meta = _nbgrader(cell) or {}
        if cell.cell_type != released.cell_type:
            repairs.append(f"{_shown(released.name)} had been turned into a {cell.cell_type} cell; it ran as "
                           f"{released.cell_type}, as released.")
            if released.cell_type == "code":
                cell.pop("attachments", None)
            OverwriteCells.update_cell_type(self, cell, released.cell_type)
        changed = [flag for flag in _FLAGS if bool(meta.get(flag)) != getattr(released, flag)]
        if released.points is not None and _points(meta.get("points")) != released.points:
            changed.append("points")
        if changed and meta.get("grade_id") == released.name:
            shown = ", ".join(f"{flag}: {str(meta.get(flag, False)).lower()}" for flag in changed)
            repairs.append(f"{_shown(released.name)} had its grading flags changed ({shown}); they were put back as "
                           "released.")
        cell.metadata["nbgrader"] = released.metadata()
        cell.metadata["deletable"] = False
        if released.locked:
            cell.metadata["editable"] = False
            if cell.source not in (released.source, released.visible_source()):
                repairs.append(f"{_shown(released.name)} had been edited; it ran as released.")
            cell.source = released.source
        else:
            cell.metadata.pop("editable", None)

    # -- cells that are not there at all ----------------------------------------------------------------------------

    def _put_back_missing(self, cells: list, truth: list[Released], counted: dict, repairs: list) -> list:
        present = {r.name for r in counted.values()}
        none_left = not present and bool(truth)
        if none_left:  # one line says it all
            repairs.append("The notebook had none of the assignment's cells: they were all put back as released, "
                           "unanswered.")
        where = {counted[id(c)].name: c for c in cells if id(c) in counted}
        for released in truth:
            if released.name in present:
                continue
            cell = _released_cell(released)
            before = next((where[r.name] for r in truth if r.order > released.order and r.name in where), None)
            after = next((where[r.name] for r in reversed(truth) if r.order < released.order and r.name in where),
                         None)
            if released.is_answer and before is not None or after is None and before is not None:
                cells.insert(_index(cells, before), cell)
            elif after is not None:
                cells.insert(_index(cells, after) + 1, cell)
            else:
                cells.append(cell)
            where[released.name] = cell
            present.add(released.name)
            if none_left:
                continue
            if released.is_answer:
                repairs.append(f"The answer cell {_shown(released.name)} was missing; it was put back as released, "
                               "unanswered, so its part earns only what the rest of the notebook built.")
            else:
                repairs.append(f"The cell {_shown(released.name)} was missing; it was put back as released.")
        return cells


def _index(cells: list, cell) -> int:
    """Where this very cell is (two cells can be equal, as a copy is to its original)."""
    return next(number for number, other in enumerate(cells) if other is cell)


def _points(value) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _released_cell(released: Released):
    """A released cell, put back: the stub of an answer, the full source (hidden tests included) of a locked cell."""
    make = nbformat.v4.new_code_cell if released.cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(released.source)
    cell.id = "restored-" + re.sub(r"[^A-Za-z0-9_-]", "-", released.name)[:50]
    cell.metadata["nbgrader"] = released.metadata()
    cell.metadata["deletable"] = False
    if released.locked:
        cell.metadata["editable"] = False
    return cell


def _unique_cell_ids(cells: list) -> None:
    """A copied cell keeps its id, and nbformat refuses a notebook whose cell ids repeat: number the copies."""
    seen: set = set()
    for cell in cells:
        cell_id = cell.get("id")
        if cell_id is None:
            continue
        candidate, n = cell_id, 1
        while candidate in seen:
            n += 1
            candidate = f"{cell_id[:56]}-copy-{n}"
        cell["id"] = candidate
        seen.add(candidate)


def sanitize_preprocessors() -> list:
    """nbgrader's own sanitising chain for ``Autograde``, with ``NormalizeCells`` right after ``ClearOutput``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import ClearOutput

    chain = list(Autograde.sanitize_preprocessors.make_dynamic_default())
    at = chain.index(ClearOutput) + 1 if ClearOutput in chain else 0
    return chain[:at] + [NormalizeCells] + chain[at:]
