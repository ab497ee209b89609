"""Evaluation within one account, case by case from tests/data/policy/evaluation.jsonl, plus the API around it.

Each case names the AWS page it encodes in its "source" field; the pages are:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
"""

import json

import pytest

from grader.policy import (MalformedPolicyDocument, Request, evaluate, explain, matches_action,
                           matches_arn, matches_arn_like, parse)

from support import check_case, policy_cases

CASES = policy_cases("evaluation.jsonl")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_evaluation_case(case):
    check_case(case)


def test_case_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


# --- the API around evaluate -------------------------------------------------------------------------------------

ANN = "arn:aws:iam::123456789012:user/Ann"
TASK = "arn:aws:sts::123456789012:assumed-role/TaskRole/task-1"
OBJ = "arn:aws:s3:::parcels/box-1"
DELIVER = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadParcels", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::parcels/*"},
    {"Sid": "NoChargingStations", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
     "Condition": {"StringEquals": {"s3:ExistingObjectTag/kind": "charging-station"}}}]}


def test_reason_names_policy_statement_and_elements():
    policy = parse(DELIVER, name="inline policy 'deliver' on role DeliveryRole")
    decision = evaluate(Request(TASK, "s3:DeleteObject", OBJ, {"s3:ExistingObjectTag/kind": "charging-station"}),
                        [policy])
    assert decision.outcome == "explicit-deny"
    assert decision.reason.startswith(
        "explicit deny: statement 'NoChargingStations' (#1) of inline policy 'deliver' on role DeliveryRole matched: "
        "Action s3:* matches s3:DeleteObject")
    assert "StringEquals s3:ExistingObjectTag/kind" in decision.reason
    assert "'charging-station'" in decision.reason
    matched = decision.statements[0]
    assert (matched.policy_name, matched.sid, matched.index, matched.effect) == (
        "inline policy 'deliver' on role DeliveryRole", "NoChargingStations", 1, "Deny")
    assert matched.as_dict()["policy_type"] == "identity-based policy"


def test_access_denied_message_uses_caller_arn():
    decision = evaluate(Request(TASK, "s3:GetObject", OBJ), [])
    assert decision.access_denied_message() == (
        f"User: {TASK} is not authorized to perform: s3:GetObject on resource: {OBJ} because no identity-based "
        "policy allows the s3:GetObject action")
    assert decision.access_denied_message(caller_arn=ANN).startswith(f"User: {ANN} is not authorized")


def test_policies_may_be_json_text_or_policy_objects():
    text = json.dumps(DELIVER)
    for given in (text, DELIVER, parse(DELIVER)):
        assert evaluate(Request(ANN, "s3:GetObject", OBJ), [given]).allowed
    assert evaluate(Request(ANN, "s3:GetObject", OBJ), DELIVER).allowed  # a single policy is accepted too


def test_raw_policy_is_parsed_with_the_right_kind():
    # A trust policy has no Resource element: given raw for sts:AssumeRole, it must be parsed as a trust policy.
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    decision = evaluate(Request("ec2.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::123456789012:role/R"),
                        resource_policy=trust)
    assert decision.allowed
    with pytest.raises(MalformedPolicyDocument):
        evaluate(Request(ANN, "s3:GetObject", OBJ), [trust])  # not an identity-based policy


def test_decision_is_truthy_only_when_allowed():
    assert bool(evaluate(Request(ANN, "s3:GetObject", OBJ), [DELIVER])) is True
    assert bool(evaluate(Request(ANN, "s3:GetObject", OBJ), [])) is False


def test_context_keys_are_case_insensitive_and_not_added_to():
    request = Request(ANN, "s3:GetObject", OBJ, {"S3:EXISTINGOBJECTTAG/KIND": "charging-station"})
    assert evaluate(request, [DELIVER]).outcome == "explicit-deny"
    assert request.context == {"S3:EXISTINGOBJECTTAG/KIND": "charging-station"}


def test_request_validates_its_fields():
    with pytest.raises(ValueError, match="action"):
        Request(ANN, "", OBJ)
    with pytest.raises(ValueError, match="context"):
        Request(ANN, "s3:GetObject", OBJ, context=["not", "a", "dict"])


def test_explain_tells_the_whole_story():
    decision = evaluate(Request(TASK, "s3:PutObject", "arn:aws:s3:::vault/gold"), [parse(DELIVER, name="deliver")])
    text = explain(decision)
    assert "Decision: DENIED (implicit deny" in text
    assert "statement 'ReadParcels' (#0) of deliver: Resource arn:aws:s3:::parcels/* does not match" in text
    assert "AWS would say: User: " + TASK in text
    allowed = explain(evaluate(Request(TASK, "s3:GetObject", OBJ), [parse(DELIVER, name="deliver")]))
    assert "Decision: ALLOWED" in allowed and "Action s3:* matches s3:GetObject" in allowed


def test_unnamed_policies_get_labels_by_type():
    decision = evaluate(Request(ANN, "s3:GetObject", OBJ), [DELIVER, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}])
    assert "statement #0 of identity-based policy #1" in decision.reason


# --- the wildcard helpers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,action,expected", [
    ("s3:*", "s3:GetObject", True), ("S3:GET*", "s3:getobject", True), ("s3:Get?bject", "s3:GetObject", True),
    ("s3:Get", "s3:GetObject", False), ("*", "iam:CreateRole", True), ("iam:*Role", "iam:CreateRole", True),
    ("s3:*", "s3-object-lambda:GetObject", False),
])
def test_matches_action(pattern, action, expected):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    assert matches_action(pattern, action) is expected


@pytest.mark.parametrize("pattern,arn,expected", [
    ("arn:aws:s3:::parcels/*", "arn:aws:s3:::parcels/a/b", True),
    ("arn:aws:s3:::parcels/*", "arn:aws:s3:::Parcels/a", False),
    ("arn:aws:s3:::parcels/box-?", "arn:aws:s3:::parcels/box-7", True),
    ("arn:aws:*", "arn:aws:logs:eu-west-1:123456789012:log-group:x", True),
    ("*", "anything", True),
    ("arn:aws:s3:::parcels", "arn:aws:s3:::parcels/x", False),
])
def test_matches_arn(pattern, arn, expected):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    assert matches_arn(pattern, arn) is expected


@pytest.mark.parametrize("pattern,arn,expected", [
    ("arn:aws:ecs:*:123456789012:task/*", "arn:aws:ecs:eu-west-1:123456789012:task/c/abc", True),
    ("arn:aws:s3:*", "arn:aws:s3:::parcels", False),  # * stays inside its segment
    ("arn:aws:s3:::*", "arn:aws:s3:::parcels/a:b", True),  # ...except in the resource segment
    ("arn:aws:iam::*:role/R", "arn:aws:iam::123456789012:role/R", True),
])
def test_matches_arn_like(pattern, arn, expected):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    assert matches_arn_like(pattern, arn) is expected
