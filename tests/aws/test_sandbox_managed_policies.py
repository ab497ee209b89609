"""AWS's managed policies in a fresh account: read once per process, the same policies moto itself would make.

AWS managed policies are created and maintained by AWS and are the same in every account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies).
"""

from __future__ import annotations

import json

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

from grader import sandbox

ACCOUNT = sandbox.ACCOUNT_ID


def _fields(policy) -> tuple:
    version = policy.versions[0]
    return (policy.arn, policy.name, policy.path, policy.default_version_id, policy.create_date, policy.update_date,
            version.document, version.version_id, version.is_default)


def test_the_managed_policies_after_reset_are_the_ones_moto_reads_from_its_data(aws):
    aws.client("iam").list_users()
    aws.reset()
    aws.client("iam").list_users()
    made = iam_backends[ACCOUNT]["aws"].aws_managed_policies
    expected = [AWSManagedPolicy.from_data(name, ACCOUNT, aws.region, data)
                for name, data in json.loads(aws_managed_policies_data).items()]
    assert [_fields(p) for p in made] == [_fields(p) for p in expected]
    assert len(made) > 1000


def test_each_account_gets_policy_objects_of_its_own(aws):
    aws.client("iam").list_users()
    before = iam_backends[ACCOUNT]["aws"].managed_policies["arn:aws:iam::aws:policy/AdministratorAccess"]
    aws.reset()
    aws.client("iam").list_users()
    after = iam_backends[ACCOUNT]["aws"].managed_policies["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert after is not before and after.versions[0] is not before.versions[0]


def test_the_data_is_read_once_per_process(aws, monkeypatch):
    aws.client("iam").list_users()
    loaded = []
    original = json.loads
    monkeypatch.setattr("moto.iam.models.json.loads",
                        lambda text, *a, **k: loaded.append(len(text)) or original(text, *a, **k))
    aws.reset()
    aws.client("iam").list_users()
    assert all(size < len(aws_managed_policies_data) for size in loaded)


# --------------------------------------------------------------------------------------------------------------
# AWS managed policies are read-only: "You cannot change the permissions defined in AWS managed policies"
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies).
# AWS does not document the words of the refusal; the sandbox gives the AccessDenied AWS gives for a resource in
# another account that no resource-based policy opens to the caller
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html), since the policy is AWS's.

import pytest  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
ECS_INSTANCE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _writes(iam, arn):
    yield "iam:CreatePolicyVersion", lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=EVERYTHING,
                                                                        SetAsDefault=True)
    yield "iam:SetDefaultPolicyVersion", lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    yield "iam:DeletePolicyVersion", lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    yield "iam:TagPolicy", lambda: iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "owner", "Value": "me"}])
    yield "iam:UntagPolicy", lambda: iam.untag_policy(PolicyArn=arn, TagKeys=["owner"])
    yield "iam:DeletePolicy", lambda: iam.delete_policy(PolicyArn=arn)


def _state(arn):
    policy = iam_backends[ACCOUNT]["aws"].managed_policies[arn]
    return ([(v.version_id, v.document, v.is_default) for v in policy.versions], policy.default_version_id,
            dict(getattr(policy, "tags", {}) or {}))


@pytest.mark.parametrize("who", ["administrator", "root"])
@pytest.mark.parametrize("arn", [ADMIN_POLICY, ECS_INSTANCE_POLICY])
def test_no_one_in_the_account_can_change_an_aws_managed_policy(aws, who, arn):
    session = aws.admin_session() if who == "administrator" else aws.root_session()
    caller = session.client("sts").get_caller_identity()["Arn"]
    iam = session.client("iam")
    before = _state(arn)
    for action, call in _writes(iam, arn):
        with pytest.raises(ClientError) as refused:
            call()
        error = refused.value.response["Error"]
        assert (error["Code"], error["Message"]) == (
            "AccessDenied", f"User: {caller} is not authorized to perform: {action} on resource: {arn} because no "
                            f"resource-based policy allows the {action} action")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _state(arn) == before  # refused before moto did any of it
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn  # reading and attaching stay open


def test_a_rewrite_of_an_aws_managed_policy_does_not_reach_the_next_account(aws):
    iam = aws.client("iam")
    with pytest.raises(ClientError):
        iam.create_policy_version(PolicyArn=ADMIN_POLICY, PolicyDocument=EVERYTHING, SetAsDefault=True)
    aws.reset()
    versions = aws.client("iam").list_policy_versions(PolicyArn=ADMIN_POLICY)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]


def test_the_accounts_own_policies_stay_writable(aws):
    iam = aws.client("iam")
    arn = iam.create_policy(PolicyName="Mine", PolicyDocument=EVERYTHING)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=EVERYTHING, SetAsDefault=True)
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "owner", "Value": "me"}])
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)


def test_decide_and_mocks_own_iam_agree_that_aws_managed_policies_are_read_only(aws):
    from moto.iam.exceptions import IAMException

    from grader.gatehouse import decide

    decision = decide(sandbox.ADMIN_ARN, "iam:CreatePolicyVersion", ADMIN_POLICY)
    assert not decision.allowed
    assert decide(sandbox.ADMIN_ARN, "iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/Mine").allowed
    aws.client("iam").list_users()
    with pytest.raises(IAMException) as refused:  # code that reaches moto's IAM without the gate
        iam_backends[ACCOUNT]["aws"].delete_policy(ADMIN_POLICY)
    assert refused.value.code == "AccessDenied"
    assert ADMIN_POLICY in iam_backends[ACCOUNT]["aws"].managed_policies
