"""Who the caller is, as AWS sees it: the administrator, the root user, role sessions and their ids and limits.

Also proves that ``gatehouse.decide()`` and the real call come from one rule: for each case, the prediction and
the outcome of the call agree.
"""

from __future__ import annotations

import pytest

from support import (ACCOUNT, EC2_PRINCIPAL, allow, assume, code_of, credentials_session, deny, make_role, make_user,
                     message_of, refused)


# --------------------------------------------------------------------------------------------------------------
# The root user
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html : root has complete access to its account;
# a role cannot be assumed with root credentials (STS answers AccessDenied, "Roles may not be assumed by root
# accounts."; https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html).


def test_root_cannot_take_a_role_even_one_that_trusts_the_account(aws):
    from grader import gatehouse, sandbox

    role = make_role(aws, "ForTheAccount")
    error = refused(aws.root_session().client("sts").assume_role, RoleArn=role, RoleSessionName="root-try")
    assert code_of(error) == "AccessDenied"
    assert message_of(error) == "Roles may not be assumed by root accounts."
    assert "root" in gatehouse.why(error)
    decision = gatehouse.decide(sandbox.ROOT_ARN, "sts:AssumeRole", role)
    assert not decision.allowed
    assert decision.access_denied_message() == "Roles may not be assumed by root accounts."


def test_root_needs_no_policy_but_an_explicit_deny_still_binds_it(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="parcels")
    s3.put_object(Bucket="parcels", Key="open", Body=b"x")
    s3.put_object(Bucket="parcels", Key="sealed", Body=b"x")
    s3.put_bucket_policy(Bucket="parcels", Policy=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", '
        '"Resource": "arn:aws:s3:::parcels/sealed"}]}'))
    root = aws.root_session().client("s3")
    assert root.get_object(Bucket="parcels", Key="open")["Body"].read() == b"x"
    assert code_of(refused(root.get_object, Bucket="parcels", Key="sealed")) == "AccessDenied"


# --------------------------------------------------------------------------------------------------------------
# Ids: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
# (AIDA user, AGPA group, AIPA instance profile, AROA role, AKIA long-term key, ASIA temporary key)


def test_ids_carry_aws_prefixes_and_repeat_under_the_seed(aws):
    def ids():
        iam = aws.client("iam")
        user = iam.create_user(UserName="courier")["User"]["UserId"]
        group = iam.create_group(GroupName="couriers")["Group"]["GroupId"]
        role_arn = make_role(aws, "Delivery")
        role = iam.get_role(RoleName="Delivery")["Role"]["RoleId"]
        profile = iam.create_instance_profile(InstanceProfileName="van")["InstanceProfile"]["InstanceProfileId"]
        key = iam.create_access_key(UserName="courier")["AccessKey"]["AccessKeyId"]
        temporary = aws.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="route")["Credentials"]
        return [user, group, role, profile, key, temporary["AccessKeyId"]]

    first = ids()
    for value, prefix, length in zip(first, ("AIDA", "AGPA", "AROA", "AIPA", "AKIA", "ASIA"),
                                     (21, 21, 21, 21, 20, 20)):
        assert value.startswith(prefix) and len(value) == length, value
    aws.reset()
    assert ids() == first


# --------------------------------------------------------------------------------------------------------------
# STS: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (DurationSeconds: 900 seconds up to
# the role's MaxSessionDuration, at most one hour through role chaining; RoleSessionName: 2-64 of [\w+=,.@-]), and
# https://repost.aws/knowledge-center/iam-role-chaining-limit for the chaining message.


def test_assumed_role_ids_and_arns(aws):
    role = make_role(aws, "Delivery")
    answer = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="van-42")
    role_id = aws.client("iam").get_role(RoleName="Delivery")["Role"]["RoleId"]
    assert answer["AssumedRoleUser"] == {"AssumedRoleId": f"{role_id}:van-42",
                                         "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Delivery/van-42"}


def test_duration_is_bounded_by_the_roles_max_session_duration(aws):
    sts = aws.client("sts")
    role = make_role(aws, "Short")
    error = refused(sts.assume_role, RoleArn=role, RoleSessionName="long", DurationSeconds=43200)
    assert code_of(error) == "ValidationError"
    assert message_of(error) == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    aws.client("iam").update_role(RoleName="Short", MaxSessionDuration=43200)
    sts.assume_role(RoleArn=role, RoleSessionName="long", DurationSeconds=43200)


def test_role_chaining_is_capped_at_one_hour(aws):
    first = make_role(aws, "First", allow("sts:AssumeRole"))
    second = make_role(aws, "Second")
    aws.client("iam").update_role(RoleName="Second", MaxSessionDuration=43200)
    chained = assume(aws, first).client("sts")
    error = refused(chained.assume_role, RoleArn=second, RoleSessionName="chain", DurationSeconds=7200)
    assert code_of(error) == "ValidationError"
    assert message_of(error) == ("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
                                 "by role chaining.")
    chained.assume_role(RoleArn=second, RoleSessionName="chain", DurationSeconds=3600)
    aws.client("sts").assume_role(RoleArn=second, RoleSessionName="direct", DurationSeconds=7200)


@pytest.mark.parametrize("name, problem", [
    ("has space", "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
    ("x" * 65, "Member must have length less than or equal to 64"),
    ("café", "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
])
def test_session_names_follow_sts_rules(aws, name, problem):
    role = make_role(aws, "Named")
    error = refused(aws.client("sts").assume_role, RoleArn=role, RoleSessionName=name)
    assert code_of(error) == "ValidationError"
    assert message_of(error) == (f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to "
                                 f"satisfy constraint: {problem}")


def test_the_service_itself_refuses_what_botocore_would_catch(aws):
    # botocore checks the lower bounds before sending; STS checks them again, for any client that does not.
    from botocore.config import Config

    role = make_role(aws, "Named")
    sts = aws.admin_session().client("sts", config=Config(parameter_validation=False))
    error = refused(sts.assume_role, RoleArn=role, RoleSessionName="x")
    assert message_of(error).endswith("Member must have length greater than or equal to 2")
    error = refused(sts.assume_role, RoleArn=role, RoleSessionName="short", DurationSeconds=899)
    assert message_of(error) == ("1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
                                 "constraint: Member must have value greater than or equal to 900")


def test_session_names_with_every_allowed_character_pass(aws):
    role = make_role(aws, "Named")
    arn = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="a_Z9+=,.@-")["AssumedRoleUser"]["Arn"]
    assert arn.endswith("/Named/a_Z9+=,.@-")


# --------------------------------------------------------------------------------------------------------------
# One rule: decide() predicts exactly what the call does


def _outcome(call, *args, **kwargs) -> bool:
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
        return True
    except ClientError as error:
        assert code_of(error) in ("AccessDenied", "UnauthorizedOperation"), error
        return False


def test_decide_agrees_with_the_real_call(aws):
    from grader import gatehouse, sandbox

    ec2_only = make_role(aws, "InstanceOnly", principal=EC2_PRINCIPAL)
    open_role = make_role(aws, "Open", allow("s3:ListAllMyBuckets"))
    denied_role = make_role(aws, "NotForAdmins", principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone-else"})
    user = make_user(aws, "courier", allow("sts:AssumeRole", open_role), deny("s3:*"))
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/courier"
    cases = [
        (sandbox.ADMIN_ARN, aws.admin_session(), open_role),
        (sandbox.ADMIN_ARN, aws.admin_session(), ec2_only),
        (sandbox.ADMIN_ARN, aws.admin_session(), denied_role),
        (sandbox.ROOT_ARN, aws.root_session(), open_role),
        (user_arn, user, open_role),
        (user_arn, user, ec2_only),
    ]
    outcomes = []
    for principal, session, role in cases:
        predicted = gatehouse.decide(principal, "sts:AssumeRole", role).allowed
        actual = _outcome(session.client("sts").assume_role, RoleArn=role, RoleSessionName="check")
        assert predicted == actual, (principal, role)
        outcomes.append(actual)
    assert outcomes == [True, False, False, False, True, False]  # the cases cover both answers

    for principal, session, expected in ((sandbox.ADMIN_ARN, aws.admin_session(), True),
                                         (sandbox.ROOT_ARN, aws.root_session(), True),
                                         (user_arn, user, False)):
        assert gatehouse.decide(principal, "s3:ListAllMyBuckets").allowed == expected
        assert _outcome(session.client("s3").list_buckets) == expected


def test_the_checks_and_the_service_principal_use_the_same_rule(aws):
    from grader.checks._account import may_assume, verdict as decide

    ec2_only = make_role(aws, "InstanceOnly", principal=EC2_PRINCIPAL)
    assert may_assume("ec2.amazonaws.com", "InstanceOnly").allowed
    assert not may_assume("ecs-tasks.amazonaws.com", "InstanceOnly").allowed
    assert not decide(f"arn:aws:iam::{ACCOUNT}:root", "sts:AssumeRole", ec2_only).allowed
    assert decide(f"arn:aws:iam::{ACCOUNT}:user/administrator", "iam:CreateRole", "*").allowed


def test_temporary_credentials_of_a_session_are_asia(aws):
    credentials = aws.client("sts").assume_role(RoleArn=make_role(aws, "Temp"), RoleSessionName="tt")["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert credentials_session(credentials).client("sts").get_caller_identity()["UserId"].endswith(":tt")


def test_the_administrator_reads_public_parameters_through_its_policy(aws):
    # ssm:GetParameter is authorised on the parameter's ARN; AWS's public parameters have no account in theirs
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html).
    name = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"
    assert aws.client("ssm").get_parameter(Name=name)["Parameter"]["Name"] == name
    aws.client("ssm").put_parameter(Name="/community/gate-code", Value="1234", Type="String")
    reader = make_user(aws, "reader", allow("ssm:GetParameter", "arn:aws:ssm:us-east-1:*:parameter/nothing"))
    error = refused(reader.client("ssm").get_parameter, Name=name)
    assert code_of(error) == "AccessDeniedException"
    assert f"arn:aws:ssm:us-east-1::parameter{name}" in message_of(error)
    error = refused(reader.client("ssm").get_parameter, Name="/community/gate-code")
    assert "arn:aws:ssm:us-east-1:123456789012:parameter/community/gate-code" in message_of(error)


def test_a_deleted_administrator_stays_deleted(aws):
    # The administrator is an ordinary IAM user: delete it and its key stops working, as any deleted user's does.
    iam = aws.client("iam")
    iam.detach_user_policy(UserName="administrator", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    error = refused(iam.list_users)
    assert code_of(error) == "AccessDenied"
    assert "user/administrator is not authorized to perform: iam:ListUsers" in message_of(error)
    root_iam = aws.root_session().client("iam")
    root_iam.attach_user_policy(UserName="administrator", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert iam.list_users()["Users"]
    for key in root_iam.list_access_keys(UserName="administrator")["AccessKeyMetadata"]:
        root_iam.delete_access_key(UserName="administrator", AccessKeyId=key["AccessKeyId"])
    root_iam.detach_user_policy(UserName="administrator", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    root_iam.delete_user(UserName="administrator")
    assert code_of(refused(iam.list_users)) == "InvalidClientTokenId"
    aws.reset()
    assert [u["UserName"] for u in aws.client("iam").list_users()["Users"]] == ["administrator"]
