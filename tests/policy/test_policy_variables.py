"""Policy variables in Resource and Condition values, from tests/data/policy/variables.jsonl.

Each case names the AWS page it encodes in its "source" field; the pages are:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
"""


import pytest

from grader.policy import Request, evaluate
from grader.policy.variables import Unresolved, parse_template, resolve

from support import check_case, policy_cases

CASES = policy_cases("variables.jsonl")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_variable_case(case):
    check_case(case)


@pytest.mark.parametrize("text,context,expected", [
    ("home/${aws:username}/", {"aws:username": ["Ann"]}, "home/Ann/"),
    ("${ aws:username , 'x' }", {}, "x"),
    ("${aws:PrincipalTag/team, 'it''s ''quoted'''}", {}, "it's 'quoted'"),
    ("${*}${?}${$}", {}, "*?$"),
    ("a${aws:x}b${aws:y}c", {"aws:x": ["1"], "aws:y": ["2"]}, "a1b2c"),
    ("no variables here", {}, "no variables here"),
    ("${unclosed", {}, "${unclosed"),
])
def test_template_substitution(text, context, expected):
    parts = resolve(parse_template(text), context)
    assert "".join(chunk for _, chunk in parts) == expected


def test_substitution_is_done_once():
    # A default that itself looks like a variable is not expanded again.
    parts = resolve(parse_template("${aws:x, '${aws:y}'}"), {"aws:y": ["no"]})
    assert "".join(chunk for _, chunk in parts) == "${aws:y}"


def test_unresolved_variable_reports_its_key():
    with pytest.raises(Unresolved) as caught:
        resolve(parse_template("home/${aws:username}/"), {})
    assert caught.value.key == "aws:username" and caught.value.source == "${aws:username}"


def test_variables_off_means_literal():
    assert parse_template("home/${aws:username}", variables=False) == (("lit", "home/${aws:username}"),)


def test_variable_resolving_to_an_unreadable_value_fails_the_condition():
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                                                      "Condition": {"Bool": {"aws:SecureTransport": "${aws:x}"}}}]}
    request = Request("arn:aws:iam::123456789012:user/Ann", "s3:GetObject", "*",
                      {"aws:x": "perhaps", "aws:SecureTransport": "true"})
    decision = evaluate(request, [policy])
    assert decision.outcome == "implicit-deny"
    assert "'perhaps' is not valid for Bool" in decision.reason
    request = Request("arn:aws:iam::123456789012:user/Ann", "s3:GetObject", "*",
                      {"aws:x": "true", "aws:SecureTransport": "true"})
    assert evaluate(request, [policy]).allowed
