"""Policy documents are validated before moto stores them, for every caller: IAM's MalformedPolicyDocument."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

import grader

from support import (ACCOUNT_ROOT, POLICY_DATA, allow, assume, code_of, document, make_role, message_of, refused,
                     trust_policy)

BAD_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2"}, "Action": "sts:AssumeRole"}]})
NOT_JSON = '{"Version": "2012-10-17", "Statement": [}'
NO_EFFECT = json.dumps({"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]})


def test_create_role_with_a_bad_trust_policy_stores_nothing(aws):
    iam = aws.client("iam")
    error = refused(iam.create_role, RoleName="Broken", AssumeRolePolicyDocument=BAD_TRUST)
    assert code_of(error) == "MalformedPolicyDocument"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # IAM's own words (as IAM gave them in https://github.com/databrickslabs/ucx/issues/2269); the book's
    # explanation of them is for why(), never in the message.
    assert message_of(error) == 'Invalid principal in policy: "SERVICE":"ec2"'
    explained = grader.why(error)
    assert 'AWS says: MalformedPolicyDocument: Invalid principal in policy: "SERVICE":"ec2"' in explained
    assert "ec2.amazonaws.com" in explained and "field Principal" in explained
    assert "Broken" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


@pytest.mark.parametrize("bad", [NOT_JSON, NO_EFFECT])
def test_the_administrator_cannot_store_a_malformed_identity_policy(aws, bad):
    iam = aws.client("iam")
    iam.create_role(RoleName="Fine", AssumeRolePolicyDocument=trust_policy())
    assert code_of(refused(iam.put_role_policy, RoleName="Fine", PolicyName="p", PolicyDocument=bad)) == \
        "MalformedPolicyDocument"
    assert iam.list_role_policies(RoleName="Fine")["PolicyNames"] == []
    assert code_of(refused(iam.create_policy, PolicyName="p", PolicyDocument=bad)) == "MalformedPolicyDocument"
    assert not iam.list_policies(Scope="Local")["Policies"]
    iam.create_user(UserName="u")
    assert code_of(refused(iam.put_user_policy, UserName="u", PolicyName="p", PolicyDocument=bad)) == \
        "MalformedPolicyDocument"


def test_a_trust_policy_is_checked_on_update_too(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="Fine", AssumeRolePolicyDocument=trust_policy())
    error = refused(iam.update_assume_role_policy, RoleName="Fine", PolicyDocument=BAD_TRUST)
    assert code_of(error) == "MalformedPolicyDocument"
    stored = iam.get_role(RoleName="Fine")["Role"]["AssumeRolePolicyDocument"]
    assert stored["Statement"][0]["Principal"] == {"AWS": ACCOUNT_ROOT}


def test_a_new_policy_version_is_checked(aws):
    iam = aws.client("iam")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=document(allow("s3:*")))["Policy"]["Arn"]
    assert code_of(refused(iam.create_policy_version, PolicyArn=arn, PolicyDocument=NO_EFFECT,
                           SetAsDefault=True)) == "MalformedPolicyDocument"


def test_an_identity_policy_may_not_name_a_principal(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="Fine", AssumeRolePolicyDocument=trust_policy())
    with_principal = document(dict(allow("s3:*"), Principal={"AWS": ACCOUNT_ROOT}))
    error = refused(iam.put_role_policy, RoleName="Fine", PolicyName="p", PolicyDocument=with_principal)
    assert message_of(error) == "Policy document should not specify a principal."
    assert "must not name a Principal" in grader.why(error)


def test_a_bucket_policy_is_checked_as_a_resource_policy(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="parcels")
    no_principal = document(allow("s3:GetObject", "arn:aws:s3:::parcels/*"))
    error = refused(s3.put_bucket_policy, Bucket="parcels", Policy=no_principal)
    assert code_of(error) == "MalformedPolicy"
    assert code_of(refused(s3.get_bucket_policy, Bucket="parcels")) == "NoSuchBucketPolicy"


def test_a_bucket_policy_is_refused_in_s3s_words(aws):
    # S3's answers as users met them: https://github.com/cloud-custodian/cloud-custodian/issues/4948 (a principal
    # S3 cannot accept) and https://github.com/humanmade/S3-Uploads/issues/191 (no Principal at all).
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="parcels")
    bad_principal = document(dict(allow("s3:GetObject", "arn:aws:s3:::parcels/*"), Principal={"AWS": "Ann"}))
    error = refused(s3.put_bucket_policy, Bucket="parcels", Policy=bad_principal)
    assert (code_of(error), message_of(error)) == ("MalformedPolicy", "Invalid principal in policy")
    assert "not a valid AWS principal" in grader.why(error)
    no_principal = document(allow("s3:GetObject", "arn:aws:s3:::parcels/*"))
    error = refused(s3.put_bucket_policy, Bucket="parcels", Policy=no_principal)
    assert (code_of(error), message_of(error)) == ("MalformedPolicy", "Missing required field Principal")


def test_a_session_policy_is_checked_when_assuming(aws):
    role = make_role(aws, "Target")
    error = refused(aws.client("sts").assume_role, RoleArn=role, RoleSessionName="s1", Policy=NO_EFFECT)
    assert code_of(error) == "MalformedPolicyDocument"


def test_a_permissions_boundary_must_be_a_valid_boundary(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="Fine", AssumeRolePolicyDocument=trust_policy())
    good = iam.create_policy(PolicyName="b", PolicyDocument=document(allow("s3:*")))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="Fine", PermissionsBoundary=good)
    assert iam.get_role(RoleName="Fine")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == good


def test_validation_comes_after_authorisation(aws):
    """A caller who may not create roles hears AccessDenied, not a critique of its document."""
    session = assume(aws, make_role(aws, "NoIam", allow("s3:*")))
    error = refused(session.client("iam").create_role, RoleName="X", AssumeRolePolicyDocument=BAD_TRUST)
    assert code_of(error) == "AccessDenied"


@pytest.mark.parametrize("seconds", [43201, 50000])
def test_max_session_duration_outside_one_to_twelve_hours_is_refused(aws, seconds):
    # IAM accepts 3600 to 43200 seconds (CreateRole / UpdateRole in the IAM API reference); moto stores anything.
    iam = aws.client("iam")
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="Courier", AssumeRolePolicyDocument=trust_policy(), MaxSessionDuration=seconds)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "maxSessionDuration" in refused.value.response["Error"]["Message"]
    assert "Courier" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    iam.create_role(RoleName="Courier", AssumeRolePolicyDocument=trust_policy(), MaxSessionDuration=43200)
    with pytest.raises(ClientError, match="ValidationError"):
        iam.update_role(RoleName="Courier", MaxSessionDuration=seconds)
    assert iam.get_role(RoleName="Courier")["Role"]["MaxSessionDuration"] == 43200


def test_the_validation_corpus_gets_iam_answers_through_the_api(aws):
    """Every document of tests/data/policy/validation.jsonl, sent as a learner would send it: IAM's code and words.

    Identity-based documents go through CreatePolicy and PutRolePolicy, trust policies through CreateRole and
    UpdateAssumeRolePolicy; each case cites where IAM's answer is recorded (see tests/policy/test_policy_validation.py).
    """
    corpus = POLICY_DATA / "validation.jsonl"
    iam = aws.client("iam")
    iam.create_role(RoleName="Target", AssumeRolePolicyDocument=trust_policy())
    accepted = set()
    for number, line in enumerate(corpus.read_text().splitlines()):
        case = json.loads(line)
        text = case["document"] if isinstance(case["document"], str) else json.dumps(case["document"])
        name = f"case{number}"
        if case["kind"] == "identity":
            calls = [lambda: iam.create_policy(PolicyName=name, PolicyDocument=text),
                     lambda: iam.put_role_policy(RoleName="Target", PolicyName=name, PolicyDocument=text)]
        else:
            calls = [lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=text),
                     lambda: iam.update_assume_role_policy(RoleName="Target", PolicyDocument=text)]
        for call in calls:
            if case["expect"] == "accepted":
                call()
                accepted.add(name)
                continue
            error = refused(call)
            assert (code_of(error), message_of(error)) == ("MalformedPolicyDocument", case["expect"]), case["id"]
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, case["id"]
    stored = ({r["RoleName"] for r in iam.list_roles()["Roles"]}
              | {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
              | set(iam.list_role_policies(RoleName="Target")["PolicyNames"]))
    assert stored - {"Target"} == accepted  # nothing refused was stored


# A stored policy the engine cannot read. IAM accepts a Numeric condition whose value is not a number (it reads only
# dates when it stores a policy: https://github.com/getmoto/moto/blob/master/moto/iam/policy_validation.py), and
# AWS evaluates every policy it holds; the engine refuses such a value, so these documents are put into moto's store
# directly, as a document stored before a rule changed would be.
UNREADABLE = {"Sid": "Odd", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
              "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}


def _store_behind_iams_back(aws, role_name: str, attribute: str, document: dict) -> None:
    from moto.iam.models import iam_backends

    role = iam_backends[aws.account_id]["aws"].get_role(role_name)
    if attribute == "trust":
        role.assume_role_policy_document = json.dumps(document)
    else:
        role.policies["stored"] = json.dumps(document)


def test_an_unreadable_trust_policy_still_gets_a_decision(aws):
    role = make_role(aws, "Odd")
    odd = {"Sid": "Odd", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole",
           "Condition": UNREADABLE["Condition"]}
    _store_behind_iams_back(aws, "Odd", "trust", {"Version": "2012-10-17", "Statement": [
        odd, {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole"}]})
    caller = make_role(aws, "Caller", allow("sts:AssumeRole"))
    caller_session = assume(aws, caller)
    # The readable statement still speaks: the caller may take the role, and nothing fails inside the gatehouse.
    assert assume(aws, role, via=caller_session).client("sts").get_caller_identity()["Arn"].endswith("/Odd/reader")
    verdict = grader.gatehouse.decide(caller, "sts:AssumeRole", role)
    assert verdict.allowed and "statement 'Root'" in verdict.reason
    _store_behind_iams_back(aws, "Odd", "trust", {"Version": "2012-10-17", "Statement": [odd]})
    error = refused(caller_session.client("sts").assume_role, RoleArn=role, RoleSessionName="second")
    assert code_of(error) == "AccessDenied"
    assert "could not be read" in grader.why(error)


def test_an_unreadable_inline_policy_leaves_out_only_what_it_cannot_read(aws):
    role = make_role(aws, "Porter", allow("iam:ListRoles"))
    _store_behind_iams_back(aws, "Porter", "inline", {"Version": "2012-10-17", "Statement": [
        UNREADABLE, allow("iam:GetRole")]})
    session = assume(aws, role)
    session.client("iam").get_role(RoleName="Porter")  # the readable statement of the odd policy applies
    error = refused(session.client("s3").list_buckets)
    assert code_of(error) == "AccessDenied"
    explained = grader.why(error)
    assert "Left out: inline policy 'stored' on role Porter, statement #0" in explained
    _store_behind_iams_back(aws, "Porter", "inline", "not json at all")  # type: ignore[arg-type]
    assert code_of(refused(assume(aws, role).client("s3").list_buckets)) == "AccessDenied"
