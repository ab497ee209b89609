"""Condition operators, ...IfExists, Null and the set operators, case by case from tests/data/policy/conditions.jsonl.

Each case names the AWS page it encodes in its "source" field; the pages are:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
"""


import pytest

from grader.policy import OPERATORS

from support import check_case, policy_cases

CASES = policy_cases("conditions.jsonl")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_condition_case(case):
    check_case(case)


def test_every_operator_is_exercised():
    used = set()
    for case in CASES:
        for policy in case["identity_policies"] + [case["resource_policy"] or {"Statement": []}]:
            for statement in policy["Statement"]:
                for operator in statement.get("Condition", {}):
                    name = operator.split(":")[-1]
                    name = name[:-len("IfExists")] if name.lower().endswith("ifexists") else name
                    used.add(name.lower())
    missing = {name for name in OPERATORS if name.lower() not in used}
    assert not missing, f"no case uses {sorted(missing)}"


def test_condition_explanation_shows_operator_key_and_values():
    case = next(c for c in CASES if c["id"] == "numeric-less-than-equal-fails")
    decision = check_case(case)
    assert "NumericLessThan s3:max-keys: request has '10', policy has '10' → false" in decision.reason
