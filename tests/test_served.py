"""The served account: a kernel under the grader reaches the worker's account through the AWS API and the badge
endpoints on a Unix socket, and through nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from grader import served

KERNEL = r'''
import json, sys
import grader
from grader import sandbox
from botocore.exceptions import ClientError

aws = sandbox.start()
out = {"repr": repr(aws)}
iam = aws.client("iam")
iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
iam.create_instance_profile(InstanceProfileName="VanProfile")
iam.add_role_to_instance_profile(InstanceProfileName="VanProfile", RoleName="DeliveryRole")
ec2 = aws.client("ec2")
van = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1,
                        IamInstanceProfile={"Name": "VanProfile"})["Instances"][0]["InstanceId"]
session = grader.on_instance(van)
out["who"] = session.client("sts").get_caller_identity()["Arn"]
out["method"] = session.get_credentials().method
try:
    session.client("iam").list_roles()
except ClientError as error:
    out["refused"] = error.response["Error"]["Code"]
    from grader.gatehouse import why
    out["why"] = str(grader.why(error))
    out["why-module"] = str(why(error))
from grader.selfcheck import check
out["check"] = check("protocol-1").passed
from botocore.awsrequest import AWSRequest
import botocore.httpsession
for url in ("http://motoapi.amazonaws.com/moto-api/reset", "http://example.com/",
            "https://iam.amazonaws.com/moto-api/data.json",
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/invocations"):
    try:
        botocore.httpsession.URLLib3Session().send(AWSRequest("POST", url).prepare())
        out[url] = "answered"
    except Exception as error:
        out[url] = type(error).__name__
print(json.dumps(out))
'''


@pytest.fixture
def served_account(aws, tmp_path):
    path = tmp_path / "account.sock"
    server = served.AccountServer(aws, str(path), threading.RLock())
    try:
        yield aws, path
    finally:
        server.close()


def _kernel(path, code: str) -> dict:
    import os

    env = dict(os.environ, GATED_COMMUNITY_ACCOUNT=str(path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_kernel_builds_in_the_servers_account_and_reaches_nothing_else(served_account):
    aws, path = served_account
    out = _kernel(path, KERNEL)
    assert "served by the grader" in out["repr"]
    # What the kernel built is in the worker's account, read here without the kernel.
    assert aws.client("iam").get_role(RoleName="DeliveryRole")["Role"]["Arn"].endswith(":role/DeliveryRole")
    # Badges come from the worker's instance metadata, through botocore's own provider (the iam-role method).
    assert out["who"].startswith("arn:aws:sts::123456789012:assumed-role/DeliveryRole/")
    assert out["method"] == "iam-role"
    # The worker's gatehouse judges the kernel's calls: the role has no identity policy.
    assert out["refused"] == "AccessDenied"
    # The explanation of the refusal comes from the gatehouse that made it, the worker's.
    assert out["why"].startswith("Refused: iam ListRoles") and out["why-module"] == out["why"]
    # A learner's self-check still answers in their own kernel, reading the account through the API.
    assert out["check"] is True
    # moto's own API (reset, state dump) and every address that is not an AWS API are refused.
    # So is a service outside the course, which moto would serve in the grader's process (Lambda runs containers).
    assert set(out[u] for u in ("http://motoapi.amazonaws.com/moto-api/reset", "http://example.com/",
                                "https://iam.amazonaws.com/moto-api/data.json",
                                "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/invocations")
               ) == {"SandboxNetworkBlocked"}


def test_the_server_refuses_what_is_not_a_call(aws, tmp_path):
    server = served.AccountServer(aws, str(tmp_path / "s.sock"), threading.RLock())
    try:
        assert "refused" in server.answer({"kind": "reset"})
        assert "refused" in server.answer(["not", "a", "request"])
        assert "refused" in server.answer({"kind": "agent", "call": "agent",
                                           "args": ["i-0", "c", True, "__init__"]})
        assert "refused" in server.answer({"kind": "agent", "call": "state"})
    finally:
        server.close()
