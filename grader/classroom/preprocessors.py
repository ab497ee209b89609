"""Notebook preprocessors the pipeline adds to nbgrader's own, one job each (nbgrader's style).

* ``LimitOutputSize`` cuts text outputs by characters (nbgrader's LimitOutput counts lines, so one enormous line
  passes it) and drops oversized rich outputs;
* ``Replay`` stands in for ``Execute`` when the parent records a submission a worker already executed: it copies the
  worker's outputs into the notebook, so that nbgrader's own ``SaveAutoGrades`` writes the course's gradebook, one
  submission at a time;
* ``NotGraded`` stands in for ``Execute`` when a submission could not be executed (it ran past the per-notebook
  limit, or its kernel died): every test cell gets an error output that says why, so the score is zero and the
  feedback explains it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

NOTE = "grader-note"


class LimitOutputSize(NbGraderPreprocessor):
    """Cut every text output to ``max_chars`` characters, saying so, and drop rich outputs larger than that."""

    max_chars = Integer(20000, help="The most characters of output one cell keeps.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                text = output.get("text", "")
                if len(text) > budget:
                    output.text = text[:max(budget, 0)] + (f"\n... [output cut: the cell printed {len(text):,} "
                                                           f"characters, {self.max_chars:,} are kept]\n")
                budget -= len(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                size = sum(len(str(v)) for v in data.values())
                if size > self.max_chars:
                    output.data = {"text/plain": f"[output dropped: {size:,} characters]"}
                budget -= min(size, self.max_chars)
            elif output.output_type == "error":
                output.evalue = str(output.get("evalue", ""))[:self.max_chars]
            kept.append(output)
        cell.outputs = kept
        return cell, resources


class Replay(NbGraderPreprocessor):
    """Copy the outputs of the worker's executed notebook (in ``executed_dir``) into this one, cell by cell."""

    executed_dir = Unicode("", help="Where the worker wrote its autograded notebooks.").tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        executed = nbformat.read(Path(self.executed_dir) / f"{name}.ipynb", as_version=4)
        if len(executed.cells) != len(nb.cells) or any(
                a.get("metadata", {}).get("nbgrader", {}).get("grade_id") !=
                b.get("metadata", {}).get("nbgrader", {}).get("grade_id") for a, b in zip(executed.cells, nb.cells)):
            raise RuntimeError(f"The executed copy of {name} does not match its sanitized version; grade it again.")
        for target, done in zip(nb.cells, executed.cells):
            if target.cell_type == "code":
                target.outputs = done.get("outputs", [])
                target.execution_count = done.get("execution_count")
        return nb, resources


class NotGraded(NbGraderPreprocessor):
    """Mark a notebook that could not be executed: a note at the top, and an error in every test cell."""

    reason = Unicode("", help="Why the notebook was not executed, for the learner and the instructor.").tag(config=True)

    def preprocess(self, nb, resources):
        note = nbformat.v4.new_markdown_cell(f"**This notebook was not graded.** {self.reason}", id=NOTE)
        nb.cells.insert(0, note)
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                cell.outputs = [nbformat.v4.new_output("error", ename="NotGraded", evalue=self.reason,
                                                       traceback=[f"NotGraded: {self.reason}"])]
        return nb, resources


HIDDEN = re.compile(r"[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[ \t]*", re.S)
HIDDEN_NOTE = "# (hidden tests ran here: what they found is in the output below)"
SECRET_NOTE = "[hidden]"
_REGION = re.compile(r"###\s*BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)###\s*END \1", re.S)


def secrets(source: nbformat.NotebookNode) -> tuple[set, set]:
    """(hidden-test lines, solution lines) of a source notebook: long enough to tell, and found nowhere else in it."""
    found = {"HIDDEN TESTS": set(), "SOLUTION": set()}
    outside = set()
    for cell in source.cells:
        for match in _REGION.finditer(cell.source):
            found[match.group(1)].update(line.strip() for line in match.group(2).splitlines())
        outside.update(line.strip() for line in _REGION.sub("", cell.source).splitlines())
    telling = lambda lines: {line for line in lines - outside if len(line) >= 12 and not line.startswith("#")}
    return telling(found["HIDDEN TESTS"]), telling(found["SOLUTION"])


def _forms(line: str) -> list[str]:
    """A line as it can appear in an output: printed, inside a repr, inside JSON."""
    return sorted({line, repr(line)[1:-1], json.dumps(line)[1:-1]}, key=len, reverse=True)


_MARKER = re.compile(r"###\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)")


def _scrub(text: str, lines, regions: bool = False) -> str:
    if regions:  # a whole region printed as it stands, then any marker left of one printed otherwise
        text = _MARKER.sub(SECRET_NOTE, _REGION.sub(SECRET_NOTE, text))
    for line in lines:
        for form in _forms(line):
            if form in text:
                text = text.replace(form, SECRET_NOTE)
    return text


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback never shows a hidden test's source, nor the solution, whatever the notebook printed.

    In a test cell that held hidden tests, the hidden region is replaced by a note, and every error keeps only its
    name and message (the check's feedback), never the traceback, whose frames quote the cell's lines. Then every
    line of a hidden test (``hidden``) is cut out of every cell and output, and every line of the solution
    (``solutions``) out of every output, unless the learner wrote that very line in an answer cell: a notebook that
    echoes its own input history or the files it can read shows ``[hidden]`` where a secret stood. This catches
    plain echoes; that hidden tests never reach the learner's kernel is what keeps them from a determined one.
    """

    hidden = List(Unicode(), help="Lines of the hidden tests, never shown.").tag(config=True)
    solutions = List(Unicode(), help="Lines of the solutions, never shown unless the learner wrote them.").tag(
        config=True)

    def preprocess(self, nb, resources):
        own = {line.strip() for cell in nb.cells if utils.is_solution(cell) for line in cell.source.splitlines()}
        self._in_outputs = sorted(set(self.hidden) | (set(self.solutions) - own), key=len, reverse=True)
        self._in_sources = sorted(self.hidden, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if HIDDEN.search(cell.source):
            cell.source = HIDDEN.sub(HIDDEN_NOTE, cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        cell.source = _scrub(cell.source, self._in_sources)
        for output in cell.get("outputs", []):
            for key in ("text", "evalue"):
                if isinstance(output.get(key), str):
                    output[key] = _scrub(output[key], self._in_outputs, regions=True)
            if isinstance(output.get("traceback"), list):
                output.traceback = [_scrub(str(line), self._in_outputs, regions=True) for line in output.traceback]
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output.data[mime] = _scrub(value, self._in_outputs, regions=True)
                elif isinstance(value, list):
                    output.data[mime] = [_scrub(str(v), self._in_outputs, regions=True) for v in value]
        return cell, resources
