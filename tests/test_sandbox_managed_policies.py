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
