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

Without ``hidden=True`` a hidden aspect is not judged, but it is counted and named by its public description
(``about``, written for learners: "who else may assume the role"), so that whatever reads a visible result (a visible
test cell, the self-check) can say what it covered and what is left for grading, and never more than it knows.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from grader.checks import diagnoses

__all__ = ["Result", "Part", "Missing", "PARTS", "ASSIGNMENTS", "part", "parts_of", "find_part", "load_all"]

ASSIGNMENTS = {
    "01-community-protocol": "protocol",
    "02-delivery-rules": "delivery",
    "03-badges": "badges",
    "04-two-layers-capstone": "layers",
}
"""Assignment name to the module of ``grader.checks`` that judges it."""

PASS, FAIL = "✓", "✗"
DECISIONS_KEPT = 6  # per failed aspect: enough to see which statement decided, not every question asked


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
    checked: int = 0  # aspects judged here
    failing: int = 0  # of those, the ones that did not pass
    later: list = field(default_factory=list)  # public descriptions of the aspects left for grading
    findings: list = field(default_factory=list, repr=False)  # a diagnoses.Finding per failed aspect

    @property
    def passed(self) -> bool:
        """Every aspect judged here passed (in a visible run, that says nothing of the aspects left for grading)."""
        return self.complete and self.points >= self.max_points

    @property
    def confirmed(self) -> bool:
        """Every aspect of the part was judged here, and passed: the only case in which a part is known to be done."""
        return self.passed and not self.later

    def coverage(self) -> str:
        """What this result covered, in one sentence: "1 of 2 aspects checked here, passing; 1 more is checked at
        grading (who else may assume the role)." Empty when the check stopped at something missing."""
        if not self.complete:
            return ""
        total = self.checked + len(self.later)
        if not self.failing:
            state = "passing" if self.checked == 1 else "all passing"
        else:
            state = "not passing yet" if self.checked == 1 else f"{self.failing} not passing yet"
        if not self.later:
            which = "Its one aspect is" if total == 1 else f"All {total} of its aspects are"
            return f"{which} checked here: {state}."
        about = "; ".join(dict.fromkeys(self.later))
        if not self.checked:
            which = "its one aspect is" if total == 1 else f"all {total} of its aspects are"
            return f"Nothing of this part is checked here: {which} checked at grading ({about})."
        more = f"{len(self.later)} more {'is' if len(self.later) == 1 else 'are'} checked at grading"
        return f"{self.checked} of {_aspects(total)} checked here, {state}; {more} ({about})."

    def report(self) -> str:
        if self.later:  # points out of what was checked here would read like a grade: the coverage line says it
            head = f"[{self.part}] {self.title}: {'passing so far' if self.passed else 'not yet'}"
        else:
            verdict = "full marks" if self.passed else "not yet"
            head = f"[{self.part}] {self.title}: {_num(self.points)}/{_num(self.max_points)} ({verdict})"
        lines = [head] + [f"  {line}" for line in self.feedback]
        if self.later and self.coverage():
            lines.append(f"  {self.coverage()}")
        return "\n".join(lines)

    def assert_full_marks(self) -> None:
        """Raise AssertionError with the feedback unless every aspect judged passed (a visible test cell); when they
        all pass, say so, and say what is left for grading."""
        if not self.passed:
            raise AssertionError(self.report())
        print(self.report())

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


def _aspects(count: int) -> str:
    return f"{count} aspect{'' if count == 1 else 's'}"


class Marker:
    """Collects the aspects of one part as a check judges them."""

    def __init__(self, part: "Part", hidden: bool, arguments: tuple = ()):
        self.part = part
        self.hidden = hidden
        self.arguments = arguments
        self.points = 0.0
        self.judged = 0.0
        self.feedback: list[str] = []
        self.complete = True
        self.checked = 0
        self.failing = 0
        self.later: list[str] = []
        self.findings: list = []
        self._count = 0

    def aspect(self, points: float, ok: bool, good: str, bad: str, *, hidden: bool = False,
               needs: bool = True, about: str = "", mistake: Optional[str] = None) -> bool:
        """Judge one aspect worth ``points``; aspects marked ``hidden`` count only in hidden tests.

        ``needs`` is False when the aspect only means something once an earlier one passes: "nothing more than X"
        earns nothing for a badge that grants nothing at all.

        A hidden aspect needs ``about``: what kind of thing it looks at, in words a learner may read before grading
        ("who else may assume the role"), never its expectation. Outside hidden tests it is recorded by that alone.
        ``mistake`` names the kind of mistake a failure is, for grouping a class's failures
        (``grader.checks.diagnoses``); without it the diagnosis itself is used.
        """
        if hidden and not about:
            raise TypeError(f"{self.part.id}: a hidden aspect needs about=, the public description of what it looks at")
        self._count += 1
        decisions = diagnoses.take_decisions()
        if hidden and not self.hidden:
            self.later.append(about)
            return ok
        self.judged += points
        self.checked += 1
        if not needs:
            self.failing += 1
            self.feedback.append(f"{FAIL} {good.rstrip('.')}: judged once the aspect above passes")
            return False
        if ok:
            self.points += points
            self.feedback.append(f"{PASS} {good}")
        else:
            self.failing += 1
            self.feedback.append(f"{FAIL} {bad}")
            self.found(f"{self.part.id}#{self._count}", mistake or diagnoses.kind_of(bad, self.arguments), bad,
                       hidden, decisions)
        return ok

    def found(self, aspect: str, kind: str, diagnosis: str, hidden: bool = False, decisions: tuple = ()) -> None:
        """Keep a failed aspect as data; gathering it never changes the grade."""
        from grader.checks._account import stored_statement

        try:
            self.findings.append(diagnoses.Finding(self.part.id, aspect, diagnoses.key_of(aspect, kind), kind,
                                                   diagnosis, hidden, list(decisions)[:DECISIONS_KEPT],
                                                   diagnoses.statements_of(list(decisions), stored_statement)))
        except Exception:
            pass

    def result(self) -> Result:
        max_points = self.part.points if self.hidden else self.judged
        if not self.complete:
            max_points = self.part.points if self.hidden else max(self.judged, 1.0)
        return Result(self.part.id, self.part.title, round(self.points, 4), max_points, self.feedback, self.complete,
                      self.checked, self.failing, self.later, self.findings)


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
            marker = Marker(PARTS[id], hidden, args + tuple(kwargs.values()) + tuple(PARTS[id].defaults))
            with diagnoses.watching():
                try:
                    fn(marker, *args, **kwargs)
                except Missing as missing:
                    marker.complete = False
                    marker.feedback.append(f"{FAIL} {missing}")
                    marker.found(f"{id}#missing", diagnoses.MISSING, str(missing))
            result = marker.result()
            diagnoses.keep(result)
            return result

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
