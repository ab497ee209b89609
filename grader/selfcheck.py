"""Self-check for learners: ``check("two-layers-1")`` answers at once, ``panel("04-two-layers-capstone")`` in a widget.

Only the visible aspects of a part are judged here, the same ones its visible test cell judges; the hidden tests'
aspects stay for grading, and the answer says so: it counts what it checked and names, in words written for the
purpose, what kind of thing the grading also looks at ("who else may assume the role"), never how. So the verdict is
PASS only when every aspect of the part was checked here and passed; NOT YET CONFIRMED when everything checked here
passes but more is checked at grading; FAIL otherwise, with the part's hint.
The panel is plain ipywidgets 8 (buttons and output areas), so it works in JupyterLab 4, Notebook 7 and Binder
without any frontend extension.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks import Result, find_part, parts_of, record
from grader.checks.record import mistakes

__all__ = ["check", "panel", "Answer", "mistakes"]


@dataclass
class Answer:
    """What a self-check says: ``passed`` (every aspect of the part checked here, and passing), the result with its
    feedback and what it covered, and a hint when something checked here did not pass."""

    id: str
    passed: bool
    result: Result
    hint: str

    @property
    def verdict(self) -> str:
        if self.passed:
            return "PASS"
        return "NOT YET CONFIRMED" if self.result.passed else "FAIL"

    def text(self) -> str:
        head = f"{self.verdict} {self.id}: {self.result.title}"
        lines = [head] + [f"  {line}" for line in self.result.feedback]
        if self.result.coverage():
            lines.append(f"  {self.result.coverage()}")
        if not self.result.passed:
            lines.append(f"  Hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())

    def __bool__(self) -> bool:
        return self.passed


def check(id: str) -> Answer:
    """Judge the visible aspects of part ``id`` (e.g. ``"protocol-1"``) on the running sandbox."""
    part = find_part(id)
    try:
        result = part.run(hidden=False)
    except Exception as error:  # a sandbox that is not running, say: the learner should read why, not a traceback
        result = Result(part.id, part.title, 0, part.points, [f"✗ The check could not run: {error}"], False)
    record.remember(part, result)  # the learner's own record, on this machine: mistakes() lists what recurs
    return Answer(part.id, result.confirmed, result, part.hint)


def panel(assignment: str):
    """An ipywidgets panel: one row per part of ``assignment``, each with a Check button and an output area."""
    import ipywidgets as widgets

    rows = []
    buttons, outputs = {}, {}
    for part in parts_of(assignment):
        button = widgets.Button(description="Check", tooltip=f"Check {part.id}", icon="check",
                                layout=widgets.Layout(width="90px"))
        output = widgets.Output(layout=widgets.Layout(border="1px solid #ddd", padding="2px 6px"))
        label = widgets.HTML(f"<b>{part.id}</b>: {_escape(part.title)} ({part.points:g} points)")

        def on_click(_button, id=part.id, output=output):
            answer = check(id)
            output.outputs = ()  # clear_output() would wait for a frontend; this works with or without one
            output.append_stdout(answer.text() + "\n")
            output.answer = answer  # what the last click found, for tests and for the curious

        button.on_click(on_click)
        buttons[part.id], outputs[part.id] = button, output
        rows.append(widgets.VBox([widgets.HBox([button, label]), output]))
    box = widgets.VBox([widgets.HTML(f"<h4>Self-check: {_escape(assignment)}</h4>")] + rows)
    box.buttons, box.outputs = buttons, outputs
    return box


def _escape(text: str) -> str:
    import html

    return html.escape(text)
