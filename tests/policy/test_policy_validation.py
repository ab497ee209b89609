"""IAM's answer to every document of a corpus: accepted, or refused with MalformedPolicyDocument in IAM's own words.

Each line of ``tests/data/policy/validation.jsonl`` is a document, the kind of policy it is sent as (``identity`` for
CreatePolicy/PutRolePolicy, ``trust`` for CreateRole/UpdateAssumeRolePolicy), IAM's answer (``accepted`` or the exact
message) and where that answer is recorded: AWS's documentation, IAM's answers as moto's tests record them, or an
error that IAM gave a user in a public issue. The book's explanation of a refusal lives in ``explanation``, never in
the message.
"""

from __future__ import annotations

import json

import pytest

from grader.policy import MalformedPolicyDocument, Policy, parse, validate

from support import POLICY_DATA

CASES = [json.loads(line) for line in (POLICY_DATA / "validation.jsonl").read_text().splitlines() if line.strip()]


def _text(document) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def test_the_corpus_cites_its_sources():
    assert len(CASES) >= 80 and len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case["source"].startswith("https://"), case["id"]
        assert case["kind"] in ("identity", "trust"), case["id"]
    accepted = [c for c in CASES if c["expect"] == "accepted"]
    assert len(accepted) >= 20  # what IAM accepts matters as much as what it refuses


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_iam_answers(case):
    if case["expect"] == "accepted":
        assert isinstance(validate(_text(case["document"]), case["kind"]), Policy)
        return
    with pytest.raises(MalformedPolicyDocument) as caught:
        validate(_text(case["document"]), case["kind"], "policy 'p'")
    error = caught.value
    assert error.code == "MalformedPolicyDocument"
    assert error.message == case["expect"]
    assert str(error).endswith(": " + case["expect"])
    # The book's sentence says more than IAM's: what is wrong and how to put it right.
    assert error.explanation and error.explanation != error.message


def test_an_accepted_document_is_evaluated_as_written():
    # A shortened date is read as the start of the period it names (IAM takes "2024-06" as 2024-06-01T00:00:00Z).
    from grader.policy import Request, evaluate
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                                                      "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-06"}}}]}
    ann = "arn:aws:iam::123456789012:user/Ann"
    assert evaluate(Request(ann, "s3:ListBucket", "*", {"aws:CurrentTime": "2024-06-01T00:00:01Z"}), [policy]).allowed
    assert not evaluate(Request(ann, "s3:ListBucket", "*", {"aws:CurrentTime": "2024-05-31T23:59:59Z"}),
                        [policy]).allowed


def test_parse_reads_what_iam_would_not_store():
    # IAM evaluates old policies and empty statement lists it finds; only storing them is refused.
    assert parse({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    assert parse({"Version": "2012-10-17", "Statement": []}).statements == []
    with pytest.raises(MalformedPolicyDocument, match="2012-10-17 or greater"):
        validate({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


@pytest.mark.parametrize("stored", ["not json", "[]", '{"Statement": "x"}', "", None,
                                    {"Version": "2012-10-17", "Statement": [
                                        {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                         "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}},
                                        {"Sid": "Readable", "Effect": "Allow", "Action": "s3:GetObject",
                                         "Resource": "*"}]}])
def test_a_stored_document_always_gets_a_decision(stored):
    # AWS evaluates what it stored; the engine reads what it can and says what it left out, never raising.
    from grader.policy import Request, evaluate, read_stored
    policy = read_stored(stored, "identity", "inline policy 'odd'")
    assert policy.unreadable
    ann = "arn:aws:iam::123456789012:user/Ann"
    decision = evaluate(Request(ann, "s3:PutObject", "arn:aws:s3:::parcels/x"), [policy])
    assert decision.outcome == "implicit-deny"
    assert "could not be read" in decision.reason
    readable = evaluate(Request(ann, "s3:GetObject", "arn:aws:s3:::parcels/x"), [policy])
    assert readable.allowed is isinstance(stored, dict)
