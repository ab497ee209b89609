"""What the gatehouse keeps between calls (who holds each access key, the clock's words) and when it lets go.

A caller is resolved once per access key and kept until an IAM write passes the gate. On AWS a change to IAM
"may not be immediately visible" (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html,
"Changes that I make are not always immediately visible"); the sandbox shows it on the very next call, which is
what a chapter needs, so every test here changes IAM and checks the call right after the change.
"""

from __future__ import annotations

import datetime as _dt

import pytest

import grader.gatehouse
import grader.sandbox
from support import allow, assume, code_of, deny, document, make_role, make_user, refused


@pytest.fixture
def parcels(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="box-1", Body=b"hello")
    return aws


def _resolutions(monkeypatch) -> list:
    """Count how often the gatehouse reads a caller out of moto's IAM and STS state."""
    seen = []
    original = grader.gatehouse.identity._resolve

    def counting(sandbox, access_key_id):
        seen.append(access_key_id)
        return original(sandbox, access_key_id)

    monkeypatch.setattr(grader.gatehouse.identity, "_resolve", counting)
    return seen


def test_a_caller_is_read_from_iam_once_and_then_kept(parcels, monkeypatch):
    s3 = assume(parcels, make_role(parcels, "Courier", allow("s3:GetObject"))).client("s3")
    seen = _resolutions(monkeypatch)
    for _ in range(3):
        s3.get_object(Bucket="parcels", Key="box-1")
    assert len(seen) == 1


def test_an_inline_policy_put_on_a_role_binds_its_session_on_the_next_call(parcels):
    role = make_role(parcels, "Courier", allow("s3:GetObject"))
    s3 = assume(parcels, role).client("s3")
    assert s3.get_object(Bucket="parcels", Key="box-1")["Body"].read() == b"hello"
    parcels.client("iam").put_role_policy(RoleName="Courier", PolicyName="Courier-policy",
                                          PolicyDocument=document(allow("s3:ListBucket")))
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_a_deny_added_and_removed_reaches_a_session_on_the_next_call(parcels):
    role = make_role(parcels, "Courier", allow("s3:GetObject"))
    s3 = assume(parcels, role).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    iam = parcels.client("iam")
    iam.put_role_policy(RoleName="Courier", PolicyName="stop", PolicyDocument=document(deny("s3:*")))
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"
    iam.delete_role_policy(RoleName="Courier", PolicyName="stop")
    assert s3.get_object(Bucket="parcels", Key="box-1")["Body"].read() == b"hello"


def test_a_managed_policy_detached_from_a_user_stops_granting_on_the_next_call(parcels):
    iam = parcels.client("iam")
    reader = make_user(parcels, "reader")
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    s3 = reader.client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    iam.detach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_a_new_default_version_of_a_managed_policy_applies_on_the_next_call(parcels):
    iam = parcels.client("iam")
    arn = iam.create_policy(PolicyName="read", PolicyDocument=document(allow("s3:GetObject")))["Policy"]["Arn"]
    make_user(parcels, "reader")
    iam.attach_user_policy(UserName="reader", PolicyArn=arn)
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    import boto3

    s3 = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                       region_name="us-east-1").client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(allow("s3:ListBucket")), SetAsDefault=True)
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_leaving_a_group_takes_the_groups_permissions_away_on_the_next_call(parcels):
    iam = parcels.client("iam")
    iam.create_group(GroupName="couriers")
    iam.put_group_policy(GroupName="couriers", PolicyName="read", PolicyDocument=document(allow("s3:GetObject")))
    s3 = make_user(parcels, "reader", groups=("couriers",)).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    iam.remove_user_from_group(GroupName="couriers", UserName="reader")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_a_deactivated_access_key_is_refused_on_the_next_call(parcels):
    # AWS: an inactive access key cannot be used to sign requests
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html).
    reader = make_user(parcels, "reader", allow("s3:GetObject"))
    s3 = reader.client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    key_id = reader.get_credentials().access_key
    parcels.client("iam").update_access_key(UserName="reader", AccessKeyId=key_id, Status="Inactive")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "InvalidAccessKeyId"


def test_a_principal_tag_changed_on_a_role_is_the_one_the_next_call_is_judged_by(parcels):
    # aws:PrincipalTag is the tag attached to the principal making the request
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag).
    role = make_role(parcels, "Courier", allow("s3:GetObject", condition={
        "StringEquals": {"aws:PrincipalTag/shift": "day"}}), tags=[{"Key": "shift", "Value": "day"}])
    s3 = assume(parcels, role).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    parcels.client("iam").tag_role(RoleName="Courier", Tags=[{"Key": "shift", "Value": "night"}])
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_a_deleted_role_leaves_its_session_with_nothing_on_the_next_call(parcels):
    iam = parcels.client("iam")
    role = make_role(parcels, "Courier", allow("s3:GetObject"))
    s3 = assume(parcels, role).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    iam.delete_role_policy(RoleName="Courier", PolicyName="Courier-policy")
    iam.delete_role(RoleName="Courier")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"


def test_a_kept_session_still_expires_on_the_sandbox_clock(parcels):
    s3 = assume(parcels, make_role(parcels, "Courier", allow("s3:GetObject"))).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    parcels.clock.advance(hours=2)  # past the default one-hour session
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "ExpiredToken"


def test_reset_forgets_every_caller(parcels, monkeypatch):
    parcels.client("s3").list_buckets()
    parcels.reset()
    seen = _resolutions(monkeypatch)
    parcels.client("s3").list_buckets()
    assert seen == [grader.sandbox.ADMIN_ACCESS_KEY_ID]


def test_the_clock_read_by_a_condition_moves_with_the_sandbox_clock(parcels):
    # aws:CurrentTime is the date and time of the request
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime).
    later = (parcels.clock.now() + _dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    role = make_role(parcels, "Courier", allow("s3:GetObject", condition={
        "DateLessThan": {"aws:CurrentTime": later}}))
    s3 = assume(parcels, role).client("s3")
    s3.get_object(Bucket="parcels", Key="box-1")
    parcels.clock.advance(minutes=31)
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box-1")) == "AccessDenied"
