"""How fast policy.evaluate decides: decisions per second over the realistic cases in tests/data/policy.

Two ways of calling are measured: with policies already parsed (what the gatehouse does with the policies it keeps)
and with raw documents (parsed through the cache on every call). Since absolute speed depends on the machine, the
ratio to a baseline measured in the same run (a JSON round trip of each case) is reported as well.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from grader.policy import Request, evaluate, parse

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "policy"
_TRUST = ("sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")


def _cases() -> list[dict]:
    cases = []
    for path in sorted(DATA.glob("*.jsonl")):
        cases.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return cases


def _prepared(case: dict, parsed: bool):
    request = Request(case["principal"], case["action"], case["resource"], case.get("context") or {})
    identity = case.get("identity_policies") or []
    resource = case.get("resource_policy")
    boundary = case.get("permissions_boundary")
    session = case.get("session_policy")
    if parsed:
        trust = case["action"].lower().startswith(_TRUST)
        identity = [parse(p, "identity") for p in identity]
        resource = parse(resource, "trust" if trust else "resource") if resource else None
        boundary = parse(boundary, "boundary") if boundary else None
        session = parse(session, "session") if session else None
    return request, identity, resource, boundary, session


def _rate(work, seconds: float) -> float:
    """Calls of ``work`` (one pass over the corpus, returning how many items it did) per second."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        done += work()
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def run(seconds: float = 2.0) -> dict:
    cases = _cases()
    parsed = [_prepared(c, True) for c in cases]
    raw = [_prepared(c, False) for c in cases]
    share = seconds / 3

    def decide_parsed():
        for request, identity, resource, boundary, session in parsed:
            evaluate(request, identity, resource, boundary, session)
        return len(parsed)

    def decide_raw():
        for request, identity, resource, boundary, session in raw:
            evaluate(request, identity, resource, boundary, session)
        return len(raw)

    def baseline():
        for case in cases:
            json.loads(json.dumps(case))
        return len(cases)

    parsed_rate = _rate(decide_parsed, share)
    raw_rate = _rate(decide_raw, share)
    base_rate = _rate(baseline, share)
    return {
        "cases in corpus": len(cases),
        "decisions/s (parsed policies)": round(parsed_rate),
        "decisions/s (raw documents)": round(raw_rate),
        "JSON round trips/s (baseline)": round(base_rate),
        "parsed decision cost / JSON round trip": base_rate / parsed_rate,
        "raw decision cost / JSON round trip": base_rate / raw_rate,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<42} {value:.3f}" if isinstance(value, float) else f"{key:<42} {value}")
