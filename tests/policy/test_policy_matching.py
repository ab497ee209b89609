"""ARN matching as AWS documents it, from a corpus: Resource/NotResource segment rules, and ArnLike/ArnEquals.

Each line of ``tests/data/policy/arn_matching.jsonl`` is a pattern, an ARN, whether AWS says they match, and the page
that says so. Every case is checked twice: by the matcher alone and through a whole policy evaluation, so that the
statement code uses the same rules (Resource and NotResource for Resource cases; the operator and its negation for
ArnLike/ArnEquals cases).
"""

from __future__ import annotations

import json

import pytest

from grader.policy import Request, evaluate, matches_arn, matches_arn_like

from support import POLICY_DATA

CASES = [json.loads(line) for line in (POLICY_DATA / "arn_matching.jsonl").read_text().splitlines() if line.strip()]
USER = "arn:aws:iam::123456789012:user/Ann"


def test_every_case_cites_aws():
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case["source"].startswith("https://docs.aws.amazon.com/"), case["id"]
        assert case["element"] in ("Resource", "ArnLike", "ArnEquals"), case["id"]


def test_the_corpus_covers_what_a_fuzzer_found():
    ids = {c["id"] for c in CASES}
    assert {"resource-type-wildcard", "resource-type-wildcard-stays-in-segment", "arnlike-resource-type-wildcard",
            "resource-trailing-star-spans-segments", "resource-trailing-star-after-region",
            "arnlike-star-stays-in-component"} <= ids


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matcher(case):
    match = matches_arn if case["element"] == "Resource" else matches_arn_like
    assert match(case["pattern"], case["arn"]) is case["match"]


def _allowed(statement: dict, resource: str) -> bool:
    policy = {"Version": "2012-10-17", "Statement": [dict({"Effect": "Allow", "Action": "sns:Publish"}, **statement)]}
    return evaluate(Request(USER, "sns:Publish", resource, {"aws:SourceArn": resource}),
                    identity_policies=[policy]).allowed


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_through_a_policy(case):
    pattern, arn = case["pattern"], case["arn"]
    if case["element"] == "Resource":
        assert _allowed({"Resource": pattern}, arn) is case["match"]
        assert _allowed({"NotResource": pattern}, arn) is not case["match"]
    else:
        operator = case["element"]
        negated = operator.replace("Arn", "ArnNot")
        assert _allowed({"Resource": "*", "Condition": {operator: {"aws:SourceArn": pattern}}}, arn) is case["match"]
        assert _allowed({"Resource": "*", "Condition": {negated: {"aws:SourceArn": pattern}}}, arn) is not \
            case["match"]


def test_a_variable_cannot_become_a_wildcard():
    # ${*} is a literal asterisk (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": "arn:aws:s3:::parcels/${*}"}]}
    assert evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::parcels/*"), identity_policies=[policy]).allowed
    assert not evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::parcels/x"), identity_policies=[policy]).allowed
