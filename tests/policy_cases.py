"""The policy engine's documented cases: loading the JSON-lines corpora and checking one case against AWS's answer.

Each line of ``tests/data/policy/*.jsonl`` is a case in the command line's format plus ``expect`` (AWS's decision),
``denied_by``, ``message`` (AWS's AccessDenied wording), ``reason_contains`` and ``source`` (the AWS page it encodes).
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.policy import Decision, Request, evaluate

DATA = Path(__file__).parent / "data" / "policy"


def load(name: str) -> list[dict]:
    cases = []
    for number, line in enumerate((DATA / name).read_text().splitlines(), start=1):
        if line.strip():
            case = json.loads(line)
            assert case["source"].startswith("https://docs.aws.amazon.com/"), f"{name}:{number} needs a source"
            cases.append(case)
    return cases


def decide(case: dict) -> Decision:
    request = Request(case["principal"], case["action"], case["resource"], case.get("context") or {})
    return evaluate(request, identity_policies=case.get("identity_policies") or [],
                    resource_policy=case.get("resource_policy"),
                    permissions_boundary=case.get("permissions_boundary"),
                    session_policy=case.get("session_policy"))


def check(case: dict) -> Decision:
    """Assert the engine gives AWS's decision, names what decided it, and words a refusal as AWS does."""
    decision = decide(case)
    assert decision.outcome == case["expect"], decision.reason
    assert decision.allowed is (case["expect"] == "allow")
    assert decision.denied_by == case["denied_by"], decision.reason
    if case["expect"] == "allow":
        assert decision.access_denied_message() is None
        if not case["principal"].endswith(":root"):  # the root user needs no statement
            assert decision.statements, "an allow names what allowed it"
    else:
        assert decision.access_denied_message() == case["message"]
    if case["expect"] == "explicit-deny":
        assert decision.statements and decision.statements[0].effect == "Deny"
    for words in case.get("reason_contains", []):
        assert words in decision.reason, f"{words!r} missing from: {decision.reason}"
    assert decision.reason.startswith(case["expect"].replace("-", " ") + ":")
    return decision
