"""The request context as AWS builds it: each global condition key present where AWS documents it, with its value.

Every key's presence rule is the *Availability* line of its entry on the IAM User Guide's page
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html (cited per test by its
anchor); the revocation follows https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html.
Each test reads the context the gatehouse judged a real call in (the decision log), and the ones that matter to the
book prove it with a policy too.
"""

from __future__ import annotations

import datetime as _dt
import json

import boto3

from grader import on_instance
from grader.gatehouse.log import state
from support import (ACCOUNT, ACCOUNT_ROOT, AMI, TRUST_EC2, allow, assume, code_of, deny, document, make_role,
                     make_user, refused, role_arn)

PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"


def context_of(aws, session, call=lambda s: s.client("sts").get_caller_identity()) -> dict:
    """The request context of the call ``session`` makes, as the gatehouse judged it."""
    log = state(aws).log
    before = len(log)
    try:
        call(session)
    except Exception:
        pass
    entry = log[before]
    return dict(entry.decisions[0].request.context)


def reader_role(aws, name="Reader", *statements):
    return make_role(aws, name, *(statements or (allow(["s3:ListAllMyBuckets", "sts:GetCallerIdentity"]),)))


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_token_issue_time_is_when_sts_issued_the_session(aws):
    """aws:TokenIssueTime: "included in the request context only when the principal uses temporary credentials";
    its value is the date and time the credentials were issued (PAGE#condition-keys-tokenissuetime)."""
    arn = reader_role(aws)
    aws.clock.advance(hours=3)   # issued on the sandbox clock, not the machine's
    issued = aws.clock.now()
    session = assume(aws, arn)
    aws.clock.advance(minutes=10)
    context = context_of(aws, session)
    stamped = _dt.datetime.strptime(context["aws:TokenIssueTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=_dt.timezone.utc)
    assert abs((stamped - issued).total_seconds()) < 2      # seconds resolution, ISO 8601 in UTC
    assert context["aws:CurrentTime"] > context["aws:TokenIssueTime"]


def test_long_term_access_keys_carry_no_token_issue_time_and_no_mfa_key(aws):
    """aws:TokenIssueTime and aws:MultiFactorAuthPresent are "not present in AWS CLI, AWS API, or AWS SDK requests
    that are made using access keys" (PAGE#condition-keys-tokenissuetime, #condition-keys-multifactorauthpresent)."""
    for session in (aws.admin_session(), make_user(aws, "keys", allow("sts:GetCallerIdentity")), aws.root_session()):
        context = context_of(aws, session)
        assert "aws:TokenIssueTime" not in context
        assert "aws:MultiFactorAuthPresent" not in context
        assert "aws:MultiFactorAuthAge" not in context


def test_a_role_session_without_mfa_says_so(aws):
    """aws:MultiFactorAuthPresent is present for temporary credentials and false when MFA was not used; without MFA
    aws:MultiFactorAuthAge is not present (PAGE#condition-keys-multifactorauthpresent,
    #condition-keys-multifactorauthage)."""
    context = context_of(aws, assume(aws, reader_role(aws)))
    assert context["aws:MultiFactorAuthPresent"] == "false"
    assert "aws:MultiFactorAuthAge" not in context


def test_the_documented_mfa_deny_refuses_a_session_without_mfa_and_spares_access_keys(aws):
    """PAGE#condition-keys-multifactorauthpresent: Deny with Bool aws:MultiFactorAuthPresent false denies temporary
    credentials without MFA and not long-term keys; BoolIfExists denies both."""
    mfa_deny = deny("s3:ListAllMyBuckets", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    session = assume(aws, reader_role(aws, "Reader", allow("s3:ListAllMyBuckets"), mfa_deny))
    assert code_of(refused(session.client("s3").list_buckets)) == "AccessDenied"
    user = make_user(aws, "keys", allow("s3:ListAllMyBuckets"), mfa_deny)
    user.client("s3").list_buckets()
    strict = make_user(aws, "strict", allow("s3:ListAllMyBuckets"), deny(
        "s3:ListAllMyBuckets", condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))
    assert code_of(refused(strict.client("s3").list_buckets)) == "AccessDenied"


def test_principal_is_aws_service_is_false_for_every_principal_of_the_account(aws):
    """aws:PrincipalIsAWSService is present in all signed requests, true only when a service principal calls
    (PAGE#condition-keys-principalisawsservice); aws:PrincipalServiceName only for a service principal's own call
    (PAGE#condition-keys-principalservicename)."""
    for session in (aws.admin_session(), aws.root_session(), assume(aws, reader_role(aws))):
        context = context_of(aws, session)
        assert context["aws:PrincipalIsAWSService"] == "false"
        assert "aws:PrincipalServiceName" not in context
        assert "aws:PrincipalServiceNamesList" not in context


def test_a_service_principal_request_says_which_service_it_is(aws):
    """A service principal taking a role: aws:PrincipalIsAWSService true, aws:PrincipalServiceName its name, and no
    key of an account's principal (PAGE#condition-keys-principalisawsservice, #condition-keys-principalservicename)."""
    aws.client("iam").create_role(RoleName="Web", AssumeRolePolicyDocument=TRUST_EC2)
    decision = aws.decide("ec2.amazonaws.com", "sts:AssumeRole", role_arn("Web"))
    context = decision.request.context
    assert decision.allowed
    assert context["aws:PrincipalIsAWSService"] == "true"
    assert context["aws:PrincipalServiceName"] == "ec2.amazonaws.com"
    assert context["aws:PrincipalServiceNamesList"] == ["ec2.amazonaws.com"]
    assert not {"aws:PrincipalArn", "aws:userid", "aws:TokenIssueTime"} & set(context)


def test_a_trust_policy_can_admit_services_only(aws):
    """The page's use of the key: a condition Bool aws:PrincipalIsAWSService true lets a service in and keeps the
    account's own principals out (PAGE#condition-keys-principalisawsservice)."""
    trust = document({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com", "AWS": ACCOUNT_ROOT},
                      "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}})
    aws.client("iam").create_role(RoleName="ServicesOnly", AssumeRolePolicyDocument=trust)
    assert aws.decide("ec2.amazonaws.com", "sts:AssumeRole", role_arn("ServicesOnly")).allowed
    error = refused(aws.client("sts").assume_role, RoleArn=role_arn("ServicesOnly"), RoleSessionName="me")
    assert code_of(error) == "AccessDenied"


def test_source_identity_is_carried_by_every_request_of_the_session(aws):
    """aws:SourceIdentity is present after a source identity has been set when the role is assumed
    (PAGE#condition-keys-sourceidentity); AssumeRole answers it back (AWS STS API reference, AssumeRole)."""
    trust = document({"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT},
                      "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]})
    iam = aws.client("iam")
    iam.create_role(RoleName="Traced", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="Traced", PolicyName="read", PolicyDocument=document(allow("sts:GetCallerIdentity")))
    answer = aws.client("sts").assume_role(RoleArn=role_arn("Traced"), RoleSessionName="s1", SourceIdentity="alice")
    assert answer["SourceIdentity"] == "alice"
    credentials = answer["Credentials"]
    session = boto3.Session(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"], region_name="us-east-1")
    assert context_of(aws, session)["aws:SourceIdentity"] == "alice"
    assert "aws:SourceIdentity" not in context_of(aws, assume(aws, role_arn("Traced")))


def test_session_tags_are_principal_tags_and_win_over_the_roles(aws):
    """aws:PrincipalTag is included "for a principal using an IAM role with attached tags or session tags"
    (PAGE#condition-keys-principaltag); a session tag overrides the role's tag of the same key (IAM User Guide,
    Passing session tags in AWS STS)."""
    trust = document({"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT},
                      "Action": ["sts:AssumeRole", "sts:TagSession"]})
    iam = aws.client("iam")
    iam.create_role(RoleName="Tagged", AssumeRolePolicyDocument=trust,
                    Tags=[{"Key": "team", "Value": "red"}, {"Key": "site", "Value": "north"}])
    iam.put_role_policy(RoleName="Tagged", PolicyName="read", PolicyDocument=document(allow("sts:GetCallerIdentity")))
    credentials = aws.client("sts").assume_role(RoleArn=role_arn("Tagged"), RoleSessionName="s1",
                                                Tags=[{"Key": "team", "Value": "blue"}])["Credentials"]
    session = boto3.Session(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"], region_name="us-east-1")
    context = context_of(aws, session)
    assert context["aws:PrincipalTag/team"] == "blue"
    assert context["aws:PrincipalTag/site"] == "north"


def test_an_ec2_role_credential_says_which_instance_it_was_issued_to(aws):
    """aws:Ec2InstanceSourceVpc and aws:Ec2InstanceSourcePrivateIPv4 are included whenever the requester uses an EC2
    role credential: the VPC and primary private IPv4 address of the instance it was issued to
    (PAGE#condition-keys-ec2instancesourcevpc, #condition-keys-ec2instancesourceprivateip4)."""
    iam = aws.client("iam")
    iam.create_role(RoleName="Web", AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_role_policy(RoleName="Web", PolicyName="who", PolicyDocument=document(allow("sts:GetCallerIdentity")))
    iam.create_instance_profile(InstanceProfileName="WebProfile")
    iam.add_role_to_instance_profile(InstanceProfileName="WebProfile", RoleName="Web")
    instance = aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                               IamInstanceProfile={"Name": "WebProfile"})["Instances"][0]
    context = context_of(aws, on_instance(instance["InstanceId"]))
    assert context["aws:Ec2InstanceSourceVpc"] == instance["VpcId"]
    assert context["aws:Ec2InstanceSourcePrivateIPv4"] == instance["PrivateIpAddress"]
    assert context["aws:TokenIssueTime"]
    plain = context_of(aws, assume(aws, reader_role(aws)))
    assert "aws:Ec2InstanceSourceVpc" not in plain and "aws:Ec2InstanceSourcePrivateIPv4" not in plain


def test_user_agent_and_resource_account_are_in_every_request(aws):
    """aws:UserAgent: "always included in the request context" (PAGE#condition-keys-useragent), the client's
    User-Agent header; aws:ResourceAccount: included for most actions, the account that owns the resource
    (PAGE#condition-keys-resourceaccount)."""
    context = context_of(aws, aws.admin_session(), lambda s: s.client("iam").get_role(RoleName="none"))
    assert context["aws:UserAgent"].startswith("Boto3/")
    assert context["aws:ResourceAccount"] == ACCOUNT


def test_keys_of_what_the_sandbox_has_none_of_are_absent(aws):
    """Organizations (aws:PrincipalOrgID, aws:PrincipalOrgPaths: only for a member of an organization), VPC
    endpoints (aws:SourceVpc, aws:SourceVpce, aws:VpcSourceIp), service chains (aws:CalledVia*), web identity
    (aws:FederatedProvider) and a browser's link (aws:Referer) are absent, as the page's Availability says for a
    request that has none of them (PAGE)."""
    absent = {"aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:SourceVpc", "aws:SourceVpce", "aws:VpcSourceIp",
              "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:FederatedProvider", "aws:Referer",
              "aws:SourceIdentity", "aws:SourceAccount", "aws:SourceArn"}
    for session in (aws.admin_session(), assume(aws, reader_role(aws))):
        assert not absent & set(context_of(aws, session))


def test_a_session_taken_after_the_clock_moved_is_not_born_expired(aws):
    """A session lasts DurationSeconds from when it is issued (AWS STS API reference, AssumeRole): issued on the
    sandbox clock, a session taken after the clock moved forward works until then."""
    arn = reader_role(aws)
    aws.clock.advance(hours=5)
    session = assume(aws, arn)
    session.client("s3").list_buckets()
    aws.clock.advance(minutes=59)
    session.client("s3").list_buckets()
    aws.clock.advance(minutes=2)
    assert code_of(refused(session.client("s3").list_buckets)) == "ExpiredToken"


def revoke_older_sessions(aws, role_name: str) -> str:
    """The IAM console's Revoke active sessions: the inline policy AWSRevokeOlderSessions, denying everything to
    sessions issued before now (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html)."""
    now = iso(aws.clock.now())
    aws.client("iam").put_role_policy(RoleName=role_name, PolicyName="AWSRevokeOlderSessions",
                                      PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                          "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                                          "Condition": {"DateLessThan": {"aws:TokenIssueTime": [now]}}}]}))
    return now


def test_revoking_active_sessions_refuses_the_old_session_and_admits_a_new_one(aws):
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html: the deny applies only if
    the session was issued before the revocation; a session issued after it is not affected."""
    arn = reader_role(aws)
    old = assume(aws, arn)
    old.client("s3").list_buckets()
    aws.clock.advance(seconds=2)
    revoke_older_sessions(aws, "Reader")
    error = refused(old.client("s3").list_buckets)
    assert code_of(error) == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in error.response["Error"]["Message"]
    aws.clock.advance(seconds=1)
    new = assume(aws, arn)
    new.client("s3").list_buckets()
    assert "AWSRevokeOlderSessions" in str(aws.why(error))


def test_revoking_sessions_does_not_touch_long_term_keys(aws):
    """The revocation's condition key is absent from requests signed with access keys (PAGE#condition-keys-
    tokenissuetime), so a DateLessThan on it never matches them."""
    user = make_user(aws, "keys", allow("s3:ListAllMyBuckets"))
    aws.clock.advance(seconds=2)
    aws.client("iam").put_user_policy(UserName="keys", PolicyName="AWSRevokeOlderSessions", PolicyDocument=document(
        deny("*", condition={"DateLessThan": {"aws:TokenIssueTime": iso(aws.clock.now())}})))
    user.client("s3").list_buckets()
