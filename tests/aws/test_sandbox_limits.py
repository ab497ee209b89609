"""AWS's limits on what a call may carry, refused with AWS's code and words before anything is stored.

IAM and AWS STS quotas, name requirements, and character limits:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("IAM doesn't count white space when
calculating the size of a policy against these quotas"). Each parameter's length: the IAM API reference, e.g.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html. The served account's frame cap bounds what
a graded kernel can make the grading worker read at all.
"""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest
from botocore.exceptions import ClientError

from grader.served import wire
from grader.served.client import _Connection
from grader.served.server import AccountServer

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def _document(size: int, *, trust: bool = False) -> str:
    """A valid policy of exactly ``size`` characters once white space is left out."""
    if trust:
        pad = lambda text: {**TRUST, "Statement": [{**TRUST["Statement"][0],  # noqa: E731
                                                    "Condition": {"StringEquals": {"sts:ExternalId": text}}}]}
    else:
        pad = lambda text: {"Version": "2012-10-17", "Statement": [  # noqa: E731
            {"Sid": text, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    compact = lambda text: json.dumps(pad(text), separators=(",", ":"))  # noqa: E731
    text = "A" * (size - len(compact("A")) + 1)
    assert len(compact(text)) == size
    return json.dumps(pad(text), indent=4)  # white space that IAM does not count


def _refused(call, **kwargs) -> tuple:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    response = refused.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_role_trust_policy_holds_2048_characters(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="Fits", AssumeRolePolicyDocument=_document(2048, trust=True))
    assert _refused(iam.create_role, RoleName="TooBig", AssumeRolePolicyDocument=_document(2049, trust=True)) == (
        "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", 409)
    assert _refused(iam.update_assume_role_policy, RoleName="Fits", PolicyDocument=_document(2049, trust=True))[:2] \
        == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
    assert "TooBig" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_a_managed_policy_holds_6144_characters(aws):
    iam = aws.client("iam")
    arn = iam.create_policy(PolicyName="Fits", PolicyDocument=_document(6144))["Policy"]["Arn"]
    assert _refused(iam.create_policy, PolicyName="TooBig", PolicyDocument=_document(6145)) == (
        "LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409)
    assert _refused(iam.create_policy_version, PolicyArn=arn, PolicyDocument=_document(6145))[:2] == (
        "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["Fits"]


@pytest.mark.parametrize("kind, limit", [("role", 10240), ("user", 2048), ("group", 5120)])
def test_the_inline_policies_of_one_identity_hold_their_quota_together(aws, kind, limit):
    iam = aws.client("iam")
    name = f"{kind}-1"
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    else:
        getattr(iam, f"create_{kind}")(**{f"{kind.capitalize()}Name": name})
    put = getattr(iam, f"put_{kind}_policy")
    who = {f"{kind.capitalize()}Name": name}
    half = limit // 2
    put(**who, PolicyName="first", PolicyDocument=_document(half))
    put(**who, PolicyName="second", PolicyDocument=_document(limit - half))
    put(**who, PolicyName="second", PolicyDocument=_document(limit - half))  # replacing one counts it once
    assert _refused(put, **who, PolicyName="third", PolicyDocument=_document(200)) == (
        "LimitExceeded", f"Maximum policy size of {limit} bytes exceeded for {kind} {name}", 409)
    names = getattr(iam, f"list_{kind}_policies")(**who)["PolicyNames"]
    assert sorted(names) == ["first", "second"]


def test_a_role_takes_ten_managed_policies(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="Busy", AssumeRolePolicyDocument=json.dumps(TRUST))
    arns = [iam.create_policy(PolicyName=f"P{n}", PolicyDocument=_document(200))["Policy"]["Arn"] for n in range(11)]
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName="Busy", PolicyArn=arn)
    iam.attach_role_policy(RoleName="Busy", PolicyArn=arns[0])  # attached already: nothing more is attached
    assert _refused(iam.attach_role_policy, RoleName="Busy", PolicyArn=arns[10]) == (
        "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", 409)
    assert len(iam.list_attached_role_policies(RoleName="Busy")["AttachedPolicies"]) == 10
    iam.create_user(UserName="busy")
    for arn in arns[:10]:
        iam.attach_user_policy(UserName="busy", PolicyArn=arn)
    assert _refused(iam.attach_user_policy, UserName="busy", PolicyArn=arns[10])[:2] == (
        "LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 10")


def test_a_managed_policy_keeps_five_versions(aws):
    iam = aws.client("iam")
    arn = iam.create_policy(PolicyName="Versioned", PolicyDocument=_document(200))["Policy"]["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_document(200))
    code, message, _ = _refused(iam.create_policy_version, PolicyArn=arn, PolicyDocument=_document(200))
    assert (code, message) == ("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a "
                                                "new version, you must delete an existing version.")
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5


@pytest.mark.parametrize("call, field, limit", [
    (lambda iam, value: iam.create_role(RoleName=value, AssumeRolePolicyDocument=json.dumps(TRUST)), "roleName", 64),
    (lambda iam, value: iam.create_user(UserName=value), "userName", 64),
    (lambda iam, value: iam.create_group(GroupName=value), "groupName", 128),
    (lambda iam, value: iam.create_policy(PolicyName=value, PolicyDocument=_document(200)), "policyName", 128),
    (lambda iam, value: iam.create_instance_profile(InstanceProfileName=value), "instanceProfileName", 128),
    (lambda iam, value: iam.create_role(RoleName="R", Path="/" + value + "/",
                                        AssumeRolePolicyDocument=json.dumps(TRUST)), "path", 512),
    (lambda iam, value: iam.create_role(RoleName="R", Description=value,
                                        AssumeRolePolicyDocument=json.dumps(TRUST)), "description", 1000),
])
def test_names_paths_and_descriptions_have_their_lengths(aws, call, field, limit):
    iam = aws.client("iam")
    call(iam, "a" * (limit - 2 if field == "path" else limit))  # at the limit: accepted
    too_long = "b" * (limit - 1 if field == "path" else limit + 1)
    code, message, status = _refused(lambda: call(iam, too_long))
    shown = f"/{too_long}/" if field == "path" else too_long
    assert (code, status) == ("ValidationError", 400)
    assert message == (f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: "
                       f"Member must have length less than or equal to {limit}")


def test_the_served_account_reads_no_frame_larger_than_its_cap(aws, tmp_path):
    # The largest call a course makes is a small object put to S3; boto3 sends a bigger upload in parts of 8 MiB
    # (TransferConfig.multipart_chunksize), which a frame carries base64-encoded.
    assert 8 * 1024 * 1024 * 4 // 3 < wire.MAX_FRAME <= 16 * 1024 * 1024
    server = AccountServer(aws, str(tmp_path / "account.sock"), threading.RLock())
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as kernel:
            kernel.connect(str(tmp_path / "account.sock"))
            kernel.sendall(struct.pack(">I", wire.MAX_FRAME + 1))  # announced, never sent: not waited for
            kernel.settimeout(10)
            refusal = wire.receive(kernel)  # the account says why, and hangs up at once instead of reading on
            assert "larger than the account accepts" in refusal["refused"]
            assert kernel.recv(1) == b""
    finally:
        server.close()
