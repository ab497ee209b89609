"""IAM's policy simulator in the sandbox agrees with real calls and with decide(), in the shape AWS answers.

References (the IAM API reference):
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResourceSpecificResult.html
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from grader import gatehouse
from grader.gatehouse.simulator import statement_spans

from support import allow, assume, code_of, deny, document, make_role, make_user, refused

PARCEL = "arn:aws:s3:::parcels/open"
VAULT = "arn:aws:s3:::parcels/vault/gold"


def _porter(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    for key in ("open", "vault/gold"):
        aws.client("s3").put_object(Bucket="parcels", Key=key, Body=b"$")
    return make_role(aws, "Porter", allow(["s3:GetObject", "s3:ListBucket"], "*"),
                     deny("s3:GetObject", "arn:aws:s3:::parcels/vault/*", sid="KeepOutOfTheVault"))


def _simulate(aws, source, actions, resources=None, **kw):
    if resources:
        kw["ResourceArns"] = resources
    return aws.client("iam").simulate_principal_policy(PolicySourceArn=source, ActionNames=actions, **kw)


# Cases: (action, resource, what the real call does). A simulation must say what the account does.
CASES = [("s3:GetObject", PARCEL, "allowed"), ("s3:GetObject", VAULT, "explicitDeny"),
         ("s3:PutObject", PARCEL, "implicitDeny")]


@pytest.mark.parametrize("action, resource, expected", CASES)
def test_the_simulation_agrees_with_the_real_call_and_with_decide(aws, action, resource, expected):
    # API_SimulatePrincipalPolicy: "The simulation does not perform the API operations; it only checks the
    # authorization"; so its decision must be what performing them would meet.
    role = _porter(aws)
    result = _simulate(aws, role, [action], [resource])["EvaluationResults"][0]
    assert (result["EvalActionName"], result["EvalDecision"]) == (action, expected)
    assert result["ResourceSpecificResults"][0]["EvalResourceDecision"] == expected
    s3 = assume(aws, role, "porter").client("s3")
    key = resource.split("parcels/", 1)[1]
    call = s3.get_object if action == "s3:GetObject" else s3.put_object
    extra = {} if action == "s3:GetObject" else {"Body": b"x"}
    if expected == "allowed":
        call(Bucket="parcels", Key=key, **extra)
    else:
        assert code_of(refused(call, Bucket="parcels", Key=key, **extra)) == "AccessDenied"
    verdict = gatehouse.decide(role, action, resource)
    assert {"allow": "allowed", "explicit-deny": "explicitDeny", "implicit-deny": "implicitDeny"}[
        verdict.outcome] == expected


def test_matched_statements_name_the_policy_and_where_the_statement_sits(aws):
    # API_Statement: SourcePolicyId, SourcePolicyType (role for a role's inline policy), Start/EndPosition.
    role = _porter(aws)
    text = aws.client("iam").get_role_policy(RoleName="Porter", PolicyName="Porter-policy")["PolicyDocument"]
    text = text if isinstance(text, str) else json.dumps(text)
    result = _simulate(aws, role, ["s3:GetObject"], [VAULT])["EvaluationResults"][0]
    [matched] = result["MatchedStatements"]
    assert matched["SourcePolicyId"] == "Porter-policy" and matched["SourcePolicyType"] == "role"
    # The deny is the second statement: its position is the second span of the document.
    start, end = statement_spans(text)[1]
    assert (matched["StartPosition"]["Line"], matched["StartPosition"]["Column"]) == start
    assert (matched["EndPosition"]["Line"], matched["EndPosition"]["Column"]) == end
    # "Remember that even if multiple statements allow the operation on the resource, if only one statement denies
    # that operation, then the explicit deny overrides any allow. In addition, the deny statement is the only entry
    # included in the result." (API_EvaluationResult)
    assert len(result["MatchedStatements"]) == 1


def test_statement_spans_count_lines_and_columns_from_one():
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow"},\n    {"Effect": "Deny"}\n  ]\n}'
    assert statement_spans(text) == [((4, 5), (4, 23)), ((5, 5), (5, 22))]
    assert statement_spans('{"Statement": {"Effect": "Allow"}}') == [((1, 15), (1, 33))]


def test_one_result_per_action_with_the_most_restrictive_decision(aws):
    # API_EvaluationResult: one EvaluationResult per action; the top-level EvalDecision is the most restrictive across
    # the resources; each resource's decision is in ResourceSpecificResults.
    role = _porter(aws)
    [result] = _simulate(aws, role, ["s3:GetObject"], [PARCEL, VAULT])["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]] == [
        (PARCEL, "allowed"), (VAULT, "explicitDeny")]
    # EvalDecisionDetails: same account with a resource ARN: present and empty; for "*": not returned.
    assert result["EvalDecisionDetails"] == {}
    star = _simulate(aws, role, ["s3:GetObject"])["EvaluationResults"][0]
    assert "EvalDecisionDetails" not in star and star["EvalResourceName"] == "*"


def test_missing_context_values_and_context_entries(aws):
    # API_EvaluationResult MissingContextValues: keys the policies need that no input parameter provided;
    # API_ContextEntry: ContextKeyName / ContextKeyValues / ContextKeyType.
    role = make_role(aws, "Ana", allow("s3:ListBucket", "*", condition={"StringLike": {"s3:prefix": "home/ana/*"}}))
    blind = _simulate(aws, role, ["s3:ListBucket"])["EvaluationResults"][0]
    assert blind["EvalDecision"] == "implicitDeny" and blind["MissingContextValues"] == ["s3:prefix"]
    entries = [{"ContextKeyName": "s3:prefix", "ContextKeyValues": ["home/ana/notes"], "ContextKeyType": "string"}]
    told = _simulate(aws, role, ["s3:ListBucket"], ContextEntries=entries)["EvaluationResults"][0]
    assert told["EvalDecision"] == "allowed" and told["MissingContextValues"] == []
    entries[0]["ContextKeyValues"] = ["home/bo/"]
    assert _simulate(aws, role, ["s3:ListBucket"], ContextEntries=entries)["EvaluationResults"][0][
        "EvalDecision"] == "implicitDeny"


def test_paging_with_max_items_and_marker(aws):
    # API_SimulatePrincipalPolicy: MaxItems, IsTruncated, Marker.
    role = _porter(aws)
    actions = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    first = _simulate(aws, role, actions, MaxItems=2)
    assert first["IsTruncated"] and len(first["EvaluationResults"]) == 2
    rest = _simulate(aws, role, actions, MaxItems=2, Marker=first["Marker"])
    assert not rest["IsTruncated"] and "Marker" not in rest
    assert [r["EvalActionName"] for r in first["EvaluationResults"] + rest["EvaluationResults"]] == actions


def test_a_user_source_includes_its_groups_and_policy_input_list_adds_to_it(aws):
    # API_SimulatePrincipalPolicy PolicySourceArn: "If you specify a user, the simulation also includes all policies
    # that are attached to any groups the user belongs to." PolicyInputList: additional policies as strings.
    iam = aws.client("iam")
    iam.create_group(GroupName="readers")
    make_user(aws, "ana", groups=["readers"])
    iam.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=document(allow("s3:GetObject")))
    user = iam.get_user(UserName="ana")["User"]["Arn"]
    by_group = _simulate(aws, user, ["s3:GetObject"])["EvaluationResults"][0]
    assert by_group["EvalDecision"] == "allowed"
    assert by_group["MatchedStatements"][0]["SourcePolicyType"] == "group"
    group = iam.get_group(GroupName="readers")["Group"]["Arn"]
    as_member = _simulate(aws, group, ["s3:GetObject"])["EvaluationResults"][0]
    assert as_member["EvalDecision"] == "allowed" and as_member["MatchedStatements"][0]["SourcePolicyId"] == "read"
    extra = _simulate(aws, user, ["s3:PutObject"], PolicyInputList=[document(allow("s3:PutObject"))])
    matched = extra["EvaluationResults"][0]["MatchedStatements"][0]
    assert extra["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert matched["SourcePolicyId"] == "PolicyInputList.1"


def test_a_permissions_boundary_is_reported(aws):
    # API_PermissionsBoundaryDecisionDetail: AllowedByPermissionsBoundary; PermissionsBoundaryPolicyInputList
    # simulates a boundary in place of the entity's own.
    role = make_role(aws, "Bounded", allow("*"))
    boundary = [document(allow("s3:GetObject"))]
    result = _simulate(aws, role, ["s3:GetObject", "iam:ListRoles"],
                       PermissionsBoundaryPolicyInputList=boundary)["EvaluationResults"]
    assert [r["EvalDecision"] for r in result] == ["allowed", "implicitDeny"]
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in result] == [True, False]
    assert "PermissionsBoundaryDecisionDetail" not in _simulate(aws, role, ["s3:GetObject"])["EvaluationResults"][0]


def test_resource_policy_needs_a_caller_and_is_read(aws):
    # API_SimulatePrincipalPolicy CallerArn: required if ResourcePolicy is given and PolicySourceArn is not a user.
    role = make_role(aws, "Reader")
    bucket_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "LetAnaRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/ana"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::parcels/*"}]})
    with pytest.raises(ClientError) as caught:
        _simulate(aws, role, ["s3:GetObject"], [PARCEL], ResourcePolicy=bucket_policy)
    assert code_of(caught.value) == "InvalidInput"
    make_user(aws, "ana")
    result = _simulate(aws, role, ["s3:GetObject"], [PARCEL], ResourcePolicy=bucket_policy,
                       CallerArn="arn:aws:iam::123456789012:user/ana")["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "resource"


def test_simulate_custom_policy_reads_only_the_policies_passed(aws):
    # API_SimulateCustomPolicy: PolicyInputList (required), ActionNames, ResourceArns, ContextEntries.
    iam = aws.client("iam")
    policy = document(allow("s3:GetObject", "arn:aws:s3:::parcels/*"), deny("s3:GetObject", VAULT))
    results = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"],
                                         ResourceArns=[PARCEL, VAULT])["EvaluationResults"]
    assert [r["EvalResourceDecision"] for r in results[0]["ResourceSpecificResults"]] == ["allowed", "explicitDeny"]
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"


def test_the_simulator_needs_its_own_permission(aws):
    # iam:SimulatePrincipalPolicy is an action like any other (Service Authorization Reference, IAM).
    role = _porter(aws)
    session = assume(aws, role, "porter")
    error = refused(session.client("iam").simulate_principal_policy, PolicySourceArn=role,
                    ActionNames=["s3:GetObject"])
    assert code_of(error) == "AccessDenied" and "iam:SimulatePrincipalPolicy" in str(error)


def test_an_unknown_policy_source_is_no_such_entity(aws):
    error = refused(aws.client("iam").simulate_principal_policy,
                    PolicySourceArn="arn:aws:iam::123456789012:role/Nobody", ActionNames=["s3:GetObject"])
    assert code_of(error) == "NoSuchEntity"
