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

from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

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


HIDDEN = __import__("re").compile(r"[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[ \t]*", __import__("re").S)
HIDDEN_NOTE = "# (hidden tests ran here: what they found is in the output below)"


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback never shows a hidden test's source, not even in a traceback.

    In a test cell that held hidden tests, the hidden region is replaced by a note, and every error keeps only its
    name and message (the check's feedback), never the traceback, whose frames quote the cell's lines.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not HIDDEN.search(cell.source):
            return cell, resources
        cell.source = HIDDEN.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
