"""What a failed aspect found, as data: the check's diagnosis, a key to group it by, IAM's decisions, the statement.

A check's feedback line is written for one learner ("ecs.amazonaws.com may assume ParcelTaskRole too..."). A class
report needs the same finding as data that groups: every learner who trusted ``ecs.amazonaws.com`` instead of
``ecs-tasks.amazonaws.com`` in part protocol-2 falls in one group, whatever else their line says. So each failed
aspect becomes a :class:`Finding`:

``aspect``
    the part and the aspect's place in its check (``"protocol-2#1"``: the first aspect judged);
``key``
    what groups it: ``"<aspect>:<kind>"``. ``kind`` is the check's own name for the mistake where the check gives
    one (``mistake="trusts-ecs-service"``); otherwise it is the diagnosis with everything that differs between
    learners making the same mistake taken out: the part's own arguments (its role, profile and family names),
    ARNs, instance, task and request ids, names quoted or listed by the learner, numbers. Two learners
    with the same mistake therefore share a key even if their role names or ARNs differ, and a key never holds a
    learner's name;
``diagnosis``
    the check's feedback line, as the learner read it;
``decisions``
    each IAM decision the check asked for while judging the aspect: the request, the outcome (allow, explicit or
    implicit deny), the gatehouse's reason, and the statements that decided (or the Allow statements that did not
    apply, and why: the missing principal, the condition key that did not match);
``statements``
    the policy statements those decisions name, as stored in the account (the learner's JSON, read back through
    IAM's API, never from their source).

Recording never changes a grade: anything that goes wrong while a finding is gathered leaves the finding shorter.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Optional

MISSING = "missing"
"""The kind of a part the check could not judge because something it needs is not in the account (not answered)."""

_decisions: contextvars.ContextVar = contextvars.ContextVar("gated_decisions", default=None)
_journal: contextvars.ContextVar = contextvars.ContextVar("gated_journal", default=None)

STATEMENT_CHARS = 1500  # an example statement is for reading, not a policy dump


@dataclass
class Finding:
    """One failed aspect of one part (see the module docstring)."""

    part: str
    aspect: str
    key: str
    kind: str
    diagnosis: str
    hidden: bool = False
    decisions: list = field(default_factory=list)
    statements: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# -- decisions, as the checks ask for them -------------------------------------------------------------------------

def note_decision(principal: str, action: str, resource: str, decision: Any) -> None:
    """Remember IAM's decision for the aspect being judged (``grader.checks._account.verdict`` calls this)."""
    found = _decisions.get()
    if found is None:
        return
    try:
        found.append(_decision(principal, action, resource, decision))
    except Exception:  # a decision the gatehouse explained differently: the finding goes without it
        pass


def _decision(principal: str, action: str, resource: str, decision: Any) -> dict:
    def statement(s: Any) -> dict:
        return {"policy": s.policy_name, "policy_type": s.policy_type, "sid": s.sid, "index": s.index,
                "effect": s.effect, "details": list(s.details)}

    applied = [statement(s) for s in getattr(decision, "statements", None) or []]
    misses = [statement(s) for s in getattr(decision, "misses", None) or []]
    return {"principal": principal, "action": action, "resource": resource,
            "outcome": str(getattr(decision, "outcome", decision)), "reason": str(getattr(decision, "reason", "")),
            "statements": applied, "not_applied": misses[:5]}


@contextlib.contextmanager
def watching() -> Iterator[list]:
    """Collect the decisions asked for inside the block (one part's check)."""
    token = _decisions.set([])
    try:
        yield _decisions.get()
    finally:
        _decisions.reset(token)


def take_decisions() -> list:
    """The decisions asked for since the last aspect, handed to the aspect being judged now."""
    found = _decisions.get()
    if found is None:
        return []
    taken = list(found)
    found.clear()
    return taken


# -- the journal: every result judged inside a block ------------------------------------------------------------------

@contextlib.contextmanager
def journal() -> Iterator[list]:
    """Collect every :class:`grader.checks.Result` judged inside the block (a test cell, a self-check)."""
    token = _journal.set([])
    try:
        yield _journal.get()
    finally:
        _journal.reset(token)


def keep(result: Any) -> None:
    found = _journal.get()
    if found is not None:
        found.append(result)


# -- the key ---------------------------------------------------------------------------------------------------------

_ARN = re.compile(r"arn:aws[\w-]*:[\w-]*:[\w-]*:\d*:[^\s,;:'\")\]]+(?::[^\s,;'\")\]]+)*")
_IDS = re.compile(r"\b(?:i|sg|subnet|vpc|ami|eni)-[0-9a-f]{6,17}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f-]{27,}\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\([^)]*\)")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def kind_of(text: str, arguments: tuple = ()) -> str:
    """The diagnosis with what varies between learners making one mistake taken out, as a short slug."""
    text = text.split(":", 1)[0] if "asked STS who it is" in text else text
    for argument in sorted((a for a in arguments if isinstance(a, str) and a), key=len, reverse=True):
        text = text.replace(argument, "X")
    text = _ARN.sub("ARN", text)
    text = _IDS.sub("ID", text)
    text = _QUOTED.sub("_", text)
    text = _NUMBER.sub("N", text)
    words = re.findall(r"[a-z0-9][a-z0-9.*:/-]*", text.lower())
    return "-".join(words)[:160] or "failed"


def key_of(aspect: str, kind: str) -> str:
    return f"{aspect}:{kind}"


# -- the statement as the account stores it -------------------------------------------------------------------------

def statements_of(decisions: list, stored: Callable[[str, int], Optional[dict]]) -> list:
    """The statements the decisions name, read back from the account: ``[{"policy", "index", "statement"}]``.

    The statements that applied to any of the decisions; where none did (an implicit deny), the Allow statements
    that did not apply, since the mistake is in one of them. ``stored(policy, index)`` reads one statement from the
    account (``grader.checks._account.stored_statement``), or None for a policy a learner does not write.
    """
    import json

    applied = [s for d in decisions for s in d.get("statements") or []]
    named = applied or [s for d in decisions for s in d.get("not_applied") or []]
    out, seen = [], set()
    for s in named:
        where = (s.get("policy"), s.get("index"))
        if where in seen:
            continue
        seen.add(where)
        try:
            statement = stored(str(s.get("policy") or ""), int(s.get("index") or 0))
        except Exception:  # the account changed, or the policy cannot be read: no example
            continue
        if statement is None:
            continue
        text = json.dumps(statement)  # in the order the account keeps it: the learner's
        out.append({"policy": s.get("policy"), "index": s.get("index"),
                    "statement": text if len(text) <= STATEMENT_CHARS else text[:STATEMENT_CHARS] + "…"})
        if len(out) >= 3:
            break
    return out
