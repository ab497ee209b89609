"""State checks for the course's assignments: each graded part judged from the account itself, with points and feedback.

A check never reads the learner's code. It reads the sandbox account through boto3 with the administrator's
credentials and asks the gatehouse what IAM would decide (may ``ec2.amazonaws.com`` assume this role? may a task
wearing that badge read the parcels bucket?). So the same check gives the same answer in the learner's kernel
(self-check), in a visible test cell, and in the hidden test cells that count for the grade.

Every part is registered here under an id such as ``"two-layers-1"``, with the assignment it belongs to, its points
and a hint. A check function returns a :class:`Result`::

    from grader.checks import protocol
    protocol.ec2_only("DeliveryRole").assert_full_marks()      # a visible test: AssertionError with the feedback
    protocol.ec2_only("DeliveryRole", hidden=True).score()     # a hidden test: prints feedback, returns the points

``hidden=True`` also judges the aspects that only the hidden tests look at. A hidden test cell's last expression
is the number of points, which nbgrader takes as partial credit.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Result", "Part", "Missing", "PARTS", "ASSIGNMENTS", "part", "parts_of", "find_part", "load_all"]

ASSIGNMENTS = {
    "01-community-protocol": "protocol",
    "02-delivery-rules": "delivery",
    "03-badges": "badges",
    "04-two-layers-capstone": "layers",
}
"""Assignment name to the module of ``grader.checks`` that judges it."""

PASS, FAIL = "✓", "✗"


class Missing(Exception):
    """Something the part needs is not in the account (no such role, no such bucket...): the message says what."""


@dataclass
class Result:
    """The outcome of one graded part: points out of ``max_points``, and a line of feedback per aspect judged."""

    part: str
    title: str
    points: float
    max_points: float
    feedback: list = field(default_factory=list)
    complete: bool = True  # False when the check stopped early because something it needs is missing

    @property
    def passed(self) -> bool:
        return self.complete and self.points >= self.max_points

    def report(self) -> str:
        verdict = "full marks" if self.passed else "not yet"
        head = f"[{self.part}] {self.title}: {_num(self.points)}/{_num(self.max_points)} ({verdict})"
        return "\n".join([head] + [f"  {line}" for line in self.feedback])

    def assert_full_marks(self) -> None:
        """Raise AssertionError with the feedback unless every aspect judged passed (a visible test cell)."""
        if not self.passed:
            raise AssertionError(self.report())

    def score(self) -> float:
        """Print the feedback and return the points as a plain float (nbgrader's partial-credit convention)."""
        print(self.report())
        return float(self.points)

    def __str__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.report())


def _num(value: float) -> str:
    return f"{value:g}"


class Marker:
    """Collects the aspects of one part as a check judges them."""

    def __init__(self, part: "Part", hidden: bool):
        self.part = part
        self.hidden = hidden
        self.points = 0.0
        self.judged = 0.0
        self.feedback: list[str] = []
        self.complete = True

    def aspect(self, points: float, ok: bool, good: str, bad: str, *, hidden: bool = False,
               needs: bool = True) -> bool:
        """Judge one aspect worth ``points``; aspects marked ``hidden`` count only in hidden tests.

        ``needs`` is False when the aspect only means something once an earlier one passes: "nothing more than X"
        earns nothing for a badge that grants nothing at all.
        """
        if hidden and not self.hidden:
            return ok
        self.judged += points
        if not needs:
            self.feedback.append(f"{FAIL} {good.rstrip('.')}: judged once the aspect above passes")
            return False
        if ok:
            self.points += points
            self.feedback.append(f"{PASS} {good}")
        else:
            self.feedback.append(f"{FAIL} {bad}")
        return ok

    def result(self) -> Result:
        max_points = self.part.points if self.hidden else self.judged
        if not self.complete:
            max_points = self.part.points if self.hidden else max(self.judged, 1.0)
        return Result(self.part.id, self.part.title, round(self.points, 4), max_points, self.feedback, self.complete)


@dataclass
class Part:
    """One graded part: ``check(*defaults)`` judges it; ``points`` is what its test cell is worth."""

    id: str
    assignment: str
    title: str
    points: float
    hint: str
    check: Callable[..., Result]
    defaults: tuple = ()

    def run(self, hidden: bool = False) -> Result:
        return self.check(*self.defaults, hidden=hidden)


PARTS: dict[str, Part] = {}


def part(id: str, assignment: str, title: str, points: float, hint: str, defaults: tuple = ()):
    """Register the decorated ``fn(marker, *args)`` as the check of part ``id``."""

    def wrap(fn: Callable[..., None]) -> Callable[..., Result]:
        @functools.wraps(fn)
        def run(*args: Any, hidden: bool = False, **kwargs: Any) -> Result:
            marker = Marker(PARTS[id], hidden)
            try:
                fn(marker, *args, **kwargs)
            except Missing as missing:
                marker.complete = False
                marker.feedback.append(f"{FAIL} {missing}")
            return marker.result()

        PARTS[id] = Part(id, assignment, title, points, hint, run, tuple(defaults))
        return run

    return wrap


def load_all() -> dict[str, Part]:
    """Import every assignment's check module, so that the registry holds every part."""
    for module in ASSIGNMENTS.values():
        name = f"{__name__}.{module}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a module the checks need is missing, not an assignment still being written
                raise
    return PARTS


def parts_of(assignment: str) -> list[Part]:
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"There is no assignment {assignment!r}; the course has: {', '.join(ASSIGNMENTS)}.")
    load_all()
    return [p for p in PARTS.values() if p.assignment == assignment]


def find_part(id: str) -> Part:
    load_all()
    try:
        return PARTS[id]
    except KeyError:
        raise KeyError(f"There is no check {id!r}; the checks are: {', '.join(PARTS)}.") from None
