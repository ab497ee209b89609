"""why(), decide() and last_decisions(): the gatehouse explains itself."""

from __future__ import annotations

import grader
from grader import gatehouse

from support import ACCOUNT, allow, assume, deny, make_role, refused, session_arn


def _setup(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="vault/gold", Body=b"$")
    role = make_role(aws, "Porter", allow("s3:*"),
                     deny("s3:GetObject", "arn:aws:s3:::parcels/vault/*", sid="KeepOutOfTheVault"))
    return role, assume(aws, role, "porter")


def test_why_explains_an_explicit_deny(aws):
    _, session = _setup(aws)
    error = refused(session.client("s3").get_object, Bucket="parcels", Key="vault/gold")
    text = grader.why(error)
    assert text.startswith("AWS says: AccessDenied: User: ")
    assert f"Who asked: {session_arn('Porter', 'porter')}, for s3:GetObject" in text
    assert "inline policy 'Porter-policy' on role Porter" in text
    assert "KeepOutOfTheVault" in text
    assert "arn:aws:s3:::parcels/vault/gold" in text
    assert "explicit deny" in text
    assert repr(text) == str(text)  # a notebook shows the text itself


def test_why_without_an_argument_is_the_last_refusal(aws):
    assert "Nothing has been refused" in gatehouse.why()
    _, session = _setup(aws)
    refused(session.client("iam").list_roles)
    text = gatehouse.why()
    assert "iam:ListRoles" in text and "no identity-based policy allows" in text


def test_why_names_a_failed_condition(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    role = make_role(aws, "Ana", allow("s3:ListBucket", "arn:aws:s3:::parcels",
                                       condition={"StringLike": {"s3:prefix": "home/ana/*"}}))
    refused(assume(aws, role).client("s3").list_objects_v2, Bucket="parcels", Prefix="home/bo/")
    text = gatehouse.why()
    assert "s3:prefix" in text and "home/bo/" in text and "home/ana/*" in text
    assert "Fix: statement #0 of inline policy 'Ana-policy' on role Ana would allow it, but its condition" in text


def test_why_explains_an_expired_session(aws):
    role = make_role(aws, "Short", allow("iam:ListRoles"))
    session = assume(aws, role)
    aws.clock.advance(hours=2)
    error = refused(session.client("iam").list_roles)
    text = gatehouse.why(error)
    assert "ExpiredToken" in text and "expired at" in text and "sandbox clock" in text


def test_why_of_an_error_the_gatehouse_did_not_make(aws):
    error = refused(aws.client("iam").get_role, RoleName="Nope")
    assert "did not refuse this call" in gatehouse.why(error)


def test_last_decisions_and_reset(aws):
    _, session = _setup(aws)
    session.client("s3").list_objects_v2(Bucket="parcels")
    refused(session.client("s3").get_object, Bucket="parcels", Key="vault/gold")
    entries = gatehouse.last_decisions(2)
    assert [(e.operation, e.allowed) for e in entries] == [("ListObjectsV2", True), ("GetObject", False)]
    assert entries[-1].decision.outcome == "explicit-deny"
    aws.reset()
    assert gatehouse.last_decisions() == []


def test_decide_asks_without_calling(aws):
    role, session = _setup(aws)
    calls_before = len(aws.calls)
    assert gatehouse.decide(role, "s3:GetObject", "arn:aws:s3:::parcels/open").allowed
    verdict = gatehouse.decide(role, "s3:GetObject", "arn:aws:s3:::parcels/vault/gold")
    assert verdict.outcome == "explicit-deny"
    assert gatehouse.decide(session, "s3:PutObject", "arn:aws:s3:::parcels/x").allowed
    assert gatehouse.decide(session_arn("Porter", "porter"), "iam:ListRoles", "*").outcome == "implicit-deny"
    assert len(aws.calls) == calls_before


def test_decide_uses_the_trust_policy_for_assume_role(aws):
    caller = make_role(aws, "Caller", allow("sts:AssumeRole"))
    ec2_only = make_role(aws, "Ec2Only", principal={"Service": "ec2.amazonaws.com"})
    open_role = make_role(aws, "Open")
    assert not gatehouse.decide(caller, "sts:AssumeRole", ec2_only).allowed
    assert gatehouse.decide(caller, "sts:AssumeRole", open_role).allowed


def test_decide_with_an_extra_context_key(aws):
    role = make_role(aws, "Office", allow("s3:ListAllMyBuckets",
                                          condition={"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}))
    assert not gatehouse.decide(role, "s3:ListAllMyBuckets", "*").allowed
    assert gatehouse.decide(role, "s3:ListAllMyBuckets", "*", {"aws:SourceIp": "198.51.100.9"}).allowed
    assert gatehouse.decide(f"arn:aws:iam::{ACCOUNT}:root", "iam:DeleteRole", "*").allowed


def test_decide_agrees_with_aws_on_calls_no_policy_can_refuse(aws):
    # sts:GetCallerIdentity needs no permission; even a deny-all cannot refuse it, and the real call succeeds too.
    role = make_role(aws, "Locked", deny("*", "*", sid="NothingAtAll"))
    verdict = gatehouse.decide(role, "sts:GetCallerIdentity", "*")
    assert verdict.allowed and "needs no permission" in verdict.reason
    session = assume(aws, role, "locked")
    assert session.client("sts").get_caller_identity()["Arn"] == session_arn("Locked", "locked")
    assert gatehouse.decide(role, "sts:AssumeRole", "*").outcome == "explicit-deny"


def test_why_of_a_validation_refusal_lists_no_policy(aws):
    # AWS checks a request's parameters as well as its permissions: AssumeRole with DurationSeconds above the
    # role's MaxSessionDuration is a ValidationError even for a caller every policy allows
    # (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html, DurationSeconds). The policies
    # allowed the call, so why() must not send the reader to them.
    role = aws.client("iam").create_role(RoleName="Night", AssumeRolePolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
        f'"Principal": {{"AWS": "arn:aws:iam::{ACCOUNT}:root"}}}}]}}'))["Role"]
    error = refused(aws.client("sts").assume_role, RoleArn=role["Arn"], RoleSessionName="night",
                    DurationSeconds=7200)
    text = grader.why(error)
    assert "ValidationError" in text and "MaxSessionDuration" in text
    assert "Policies looked at" not in text and "AdministratorAccess" not in text
    assert "No policy refused this call" in text


def test_why_says_each_thing_once_in_order_and_points_to_aws(aws):
    # In order: AWS's words, who asked for what, what decided, the fix, the real account's tool. Nothing twice.
    _, session = _setup(aws)
    error = refused(session.client("s3").get_object, Bucket="parcels", Key="vault/gold")
    lines = str(grader.why(error)).splitlines()
    heads = [line.split(":", 1)[0] for line in lines]
    assert heads == ["AWS says", "Who asked", "Decided by", "Fix", "On a real account"]
    assert sum(error.response["Error"]["Message"] in line for line in lines) == 1
    # CloudTrail: S3 object calls are data events (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/
    # logging-data-events-with-cloudtrail.html); the simulator takes the role, never the session
    # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html).
    assert "data event" in lines[-1]
    assert f"--policy-source-arn arn:aws:iam::{ACCOUNT}:role/Porter --action-names s3:GetObject" in lines[-1]


def test_why_of_a_missing_allow_says_what_to_add(aws):
    _, session = _setup(aws)
    refused(session.client("iam").list_roles)
    text = gatehouse.why()
    assert "Missing Allow: no identity-based policy allows iam:ListRoles" in text
    assert "Fix: add an Allow for iam:ListRoles" in text


def test_why_points_an_encoded_refusal_to_decode_authorization_message(aws):
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
    _, session = _setup(aws)
    refused(session.client("ec2").run_instances, ImageId="ami-12345678", MinCount=1, MaxCount=1)
    assert "On a real account: aws sts decode-authorization-message --encoded-message " in gatehouse.why()


def test_why_points_a_malformed_document_to_access_analyzer(aws):
    # https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicy.html
    bad = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2"}, ' \
          '"Action": "sts:AssumeRole"}]}'
    refused(aws.client("iam").create_role, RoleName="Broken", AssumeRolePolicyDocument=bad)
    text = gatehouse.why()
    assert "aws accessanalyzer validate-policy --policy-type RESOURCE_POLICY" in text
    assert "AWS::IAM::AssumeRolePolicyDocument" in text
