"""The served account: a kernel under the grader reaches the worker's account through the AWS API and the badge
endpoints on a Unix socket, and through nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from grader.served import wire
from grader.served.client import _Connection
from grader.served.server import AccountServer

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
out["check"] = check("protocol-1").verdict
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
    server = AccountServer(aws, str(path), threading.RLock())
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
    assert out["why"].startswith("AWS says: AccessDenied: ") and out["why-module"] == out["why"]
    assert "for iam:ListRoles" in out["why"] and "Missing Allow" in out["why"]
    # A learner's self-check still answers in their own kernel, reading the account through the API: what it checks
    # passes, and it leaves the hidden aspect to grading.
    assert out["check"] == "NOT YET CONFIRMED"
    # moto's own API (reset, state dump) and every address that is not an AWS API are refused.
    # So is a service outside the course, which moto would serve in the grader's process (Lambda runs containers).
    assert set(out[u] for u in ("http://motoapi.amazonaws.com/moto-api/reset", "http://example.com/",
                                "https://iam.amazonaws.com/moto-api/data.json",
                                "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/invocations")
               ) == {"SandboxNetworkBlocked"}


def test_the_server_refuses_what_is_not_a_call(aws, tmp_path):
    server = AccountServer(aws, str(tmp_path / "s.sock"), threading.RLock())
    try:
        assert "refused" in server.answer({"kind": "reset"})
        assert "refused" in server.answer(["not", "a", "request"])
        assert "refused" in server.answer({"kind": "agent", "call": "agent",
                                           "args": ["i-0", "c", True, "__init__"]})
        assert "refused" in server.answer({"kind": "agent", "call": "state"})
    finally:
        server.close()


PLACES = r'''
import json, urllib.request
import grader
from grader import sandbox
from grader.credentials import inside
from grader.gatehouse import decide

aws = sandbox.start()
iam, ec2, ecs = (aws.client(s) for s in ("iam", "ec2", "ecs"))
def trusting(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
iam.create_role(RoleName="HostRole", AssumeRolePolicyDocument=trusting("ec2.amazonaws.com"))
iam.attach_role_policy(RoleName="HostRole",
                       PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
iam.create_role(RoleName="AppRole", AssumeRolePolicyDocument=trusting("ecs-tasks.amazonaws.com"))
iam.create_instance_profile(InstanceProfileName="HostProfile")
iam.add_role_to_instance_profile(InstanceProfileName="HostProfile", RoleName="HostRole")
ecs.create_cluster(clusterName="community")
host = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1,
                         IamInstanceProfile={"Name": "HostProfile"})["Instances"][0]["InstanceId"]
agent = grader.ecs_agent(aws, host, "community")
agent.register()
container = [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest", "memory": 128}]
ecs.register_task_definition(family="app", taskRoleArn="arn:aws:iam::123456789012:role/AppRole",
                             containerDefinitions=container)
ecs.register_task_definition(family="bare", containerDefinitions=container)
task, bare = agent.start_task("app"), agent.start_task("bare")
out = {}
session = grader.in_task(task)
out["task"] = session.client("sts").get_caller_identity()["Arn"]
out["task-method"] = session.get_credentials().method
out["bare"] = grader.in_task(bare).client("sts").get_caller_identity()["Arn"]
agent.block_task_metadata_access = True
out["blocked"] = agent.block_task_metadata_access
out["bare-blocked"] = grader.in_task(bare).get_credentials() is None
with inside(host):
    out["imds"] = urllib.request.urlopen(
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/", timeout=2).read().decode()
try:
    urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=2)
    out["nowhere"] = "answered"
except OSError as error:
    out["nowhere"] = str(error)
out["decide"] = decide("arn:aws:iam::123456789012:role/AppRole", "s3:GetObject", "arn:aws:s3:::parcels/x").outcome
out["trust"] = decide("ecs-tasks.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::123456789012:role/AppRole").outcome
print(json.dumps(out))
'''


def test_a_kernels_tasks_and_places_get_the_badges_aws_would_give(served_account):
    """A graded kernel reaches the link-local addresses as a learner's Jupyter does, answered from where its code runs.

    AWS: a task's containers get the task role from 169.254.170.2 via AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; a task
    without one reaches the instance role through the instance metadata unless the instance drops that traffic
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). With HttpTokens optional,
    IMDSv1 answers a plain GET
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceMetadataOptions.html).
    """
    aws, path = served_account
    out = _kernel(path, PLACES)
    assert out["task"].startswith("arn:aws:sts::123456789012:assumed-role/AppRole/")
    assert out["task-method"] == "container-role"
    assert out["bare"].startswith("arn:aws:sts::123456789012:assumed-role/HostRole/")
    # The blocking the kernel asked for is the worker's agent's, and the worker's metadata service obeys it.
    assert out["blocked"] is True and out["bare-blocked"] is True
    host = aws.client("ec2").describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]
    from grader.credentials import metadata_service

    assert metadata_service(aws).blocks_task_metadata_access(host)
    assert out["imds"] == "HostRole"
    assert "not running on an EC2 instance" in out["nowhere"]
    # gatehouse.decide() in the kernel is the grader's gatehouse deciding, by the rule every call meets.
    assert out["decide"] == "implicit-deny" and out["trust"] == "allow"


def test_closing_waits_for_the_request_being_answered_and_answers_nothing_after(aws, tmp_path):
    """The account is reset and handed to the next notebook only once no request of this one is at work in it."""
    path = tmp_path / "drain.sock"
    server = AccountServer(aws, str(path), threading.RLock())
    started, release, answered = threading.Event(), threading.Event(), []
    real = server.answer

    def slow(request):
        started.set()
        release.wait(10)
        answered.append(request)
        return real(request)

    server.answer = slow
    connection = _Connection(str(path))
    asker = threading.Thread(target=lambda: _ask_quietly(connection), daemon=True)
    asker.start()
    assert started.wait(10)
    closed = []
    closer = threading.Thread(target=lambda: closed.append(server.close(timeout=20)))
    closer.start()
    closer.join(0.5)
    assert closer.is_alive() and not closed  # still waiting for the request in flight
    release.set()
    closer.join(20)
    assert closed == [True] and len(answered) == 1
    with pytest.raises(OSError):  # and nothing is served any more
        _Connection(str(path)).ask({"kind": "http", "method": "GET", "url": "https://iam.amazonaws.com/"})


def test_a_request_that_never_ends_keeps_the_account_from_being_handed_on(aws, tmp_path):
    path = tmp_path / "stuck.sock"
    server = AccountServer(aws, str(path), threading.RLock())
    started, release = threading.Event(), threading.Event()

    def stuck(request):
        started.set()
        release.wait(30)
        return {"refused": "late"}

    server.answer = stuck
    threading.Thread(target=lambda: _ask_quietly(_Connection(str(path))), daemon=True).start()
    assert started.wait(10)
    assert server.close(timeout=0.5) is False
    release.set()


def test_the_account_serves_a_bounded_number_of_connections(aws, tmp_path):
    import socket

    path = tmp_path / "many.sock"
    server = AccountServer(aws, str(path), threading.RLock())
    held = []
    try:
        for _ in range(wire.MAX_CONNECTIONS + 20):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            held.append(sock)
        turned_away = 0
        for sock in held:
            sock.settimeout(0.5)
            try:
                turned_away += b'"full"' in sock.recv(4096)
            except OSError:
                pass
        assert turned_away == 20
        assert len(server._threads) == wire.MAX_CONNECTIONS
    finally:
        for sock in held:
            sock.close()
        assert server.close(timeout=10)


def _ask_quietly(connection):
    try:
        connection.ask({"kind": "http", "method": "GET", "url": "https://iam.amazonaws.com/?Action=ListRoles"})
    except Exception:
        pass
