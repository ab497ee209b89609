"""The sandbox: a sealed mock account that never reaches the real AWS and puts the process back as it found it."""

from __future__ import annotations

import os
import socket
import sys
import urllib.request

import boto3
import botocore.credentials
import pytest

from grader import sandbox
from grader.errors import SandboxNetworkBlocked, SandboxNotRunning
from support import TRUST_EC2


REAL_LOOKING_KEY = "AKIAIOSFODNN7EXAMPLE"
REAL_LOOKING_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def planted_credentials(tmp_path, monkeypatch):
    """Real-looking credentials everywhere botocore would look: environment, ~/.aws/credentials, ~/.aws/config."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    credentials = home / ".aws" / "credentials"
    config = home / ".aws" / "config"
    credentials.write_text(f"[default]\naws_access_key_id = {REAL_LOOKING_KEY}\n"
                           f"aws_secret_access_key = {REAL_LOOKING_SECRET}\n")
    config.write_text("[default]\nregion = eu-west-3\n[profile work]\nregion = eu-west-1\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", REAL_LOOKING_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", REAL_LOOKING_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-looking-session-token")
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    return {"credentials": str(credentials), "config": str(config)}


def test_calls_use_the_sandbox_credentials_never_the_planted_ones(planted_credentials):
    opened: list[str] = []

    def audit(event, args):
        if event == "open" and args and isinstance(args[0], str) and args[0] in planted_credentials.values():
            opened.append(args[0])

    sys.addaudithook(audit)  # hooks cannot be removed; this one only records into a list
    box = sandbox.start()
    try:
        session = boto3.Session()
        assert session.get_credentials().access_key == sandbox.ADMIN_ACCESS_KEY_ID
        assert session.region_name == "us-east-1"
        identity = boto3.client("sts").get_caller_identity()
        assert identity["Account"] == "123456789012"
        boto3.client("s3").create_bucket(Bucket="parcels")
        used = {call.access_key_id for call in box.calls}
        assert used == {sandbox.ADMIN_ACCESS_KEY_ID}
        assert REAL_LOOKING_KEY not in used
    finally:
        box.stop()
    assert opened == [], f"the sandbox read real credential files: {opened}"


def test_no_connection_leaves_loopback(aws):
    with pytest.raises(SandboxNetworkBlocked, match="sandbox"):
        socket.create_connection(("example.com", 443), timeout=2)
    with pytest.raises(SandboxNetworkBlocked):
        socket.getaddrinfo("sts.amazonaws.com", 443)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(SandboxNetworkBlocked):
            raw.connect(("93.184.216.34", 80))
    finally:
        raw.close()
    with pytest.raises(OSError, match="sandbox blocked"):
        urllib.request.urlopen("http://203.0.113.5/", timeout=2)


def test_loopback_stays_open(aws):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        client = socket.create_connection(server.getsockname(), timeout=2)
        client.close()
    finally:
        server.close()


def test_an_unmocked_endpoint_is_refused_not_reached(aws):
    # A client pointed at a non-AWS URL is not answered by moto; the guard must stop it before it leaves.
    client = boto3.client("s3", endpoint_url="https://storage.example.org")
    with pytest.raises(SandboxNetworkBlocked, match="storage.example.org"):
        client.list_buckets()


def test_ids_are_deterministic_across_starts():
    def role_and_instance_ids():
        box = sandbox.start()
        try:
            role = boto3.client("iam").create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=TRUST_EC2)
            instance = boto3.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
            return role["Role"]["RoleId"], instance["Instances"][0]["InstanceId"]
        finally:
            box.stop()

    first = role_and_instance_ids()
    second = role_and_instance_ids()
    assert first == second
    assert first[0].startswith("AROA") and first[1].startswith("i-")


def test_a_different_seed_gives_different_ids():
    ids = []
    for seed in (1, 2):
        box = sandbox.start(seed=seed)
        try:
            ids.append(boto3.client("iam").create_role(RoleName="R", AssumeRolePolicyDocument=TRUST_EC2)["Role"]["RoleId"])
        finally:
            box.stop()
    assert ids[0] != ids[1]


def test_reset_empties_the_account_and_repeats_ids(aws):
    # Ids follow from the seed and the sequence of calls (request ids draw from the same generator), so the same
    # calls after a reset must give the same ids.
    iam = boto3.client("iam")
    first = iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=TRUST_EC2)["Role"]["RoleId"]
    aws.clock.advance(hours=3)
    aws.reset()
    again = iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=TRUST_EC2)["Role"]["RoleId"]
    assert again == first
    assert aws.clock.offset.total_seconds() == 0
    aws.reset()
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []


def test_start_again_gives_a_fresh_account():
    box = sandbox.start()
    try:
        boto3.client("iam").create_role(RoleName="Leftover", AssumeRolePolicyDocument=TRUST_EC2)
        again = sandbox.start()
        assert again is box
        names = [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]]
        assert "Leftover" not in names
    finally:
        sandbox.stop()


def test_managed_policies_are_loaded_with_their_real_documents(aws):
    iam = boto3.client("iam")
    for name in ("service-role/AmazonEC2ContainerServiceforEC2Role", "service-role/AmazonECSTaskExecutionRolePolicy"):
        arn = f"arn:aws:iam::aws:policy/{name}"
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        actions = {a for s in version["Document"]["Statement"] for a in
                   ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        if "ContainerServiceforEC2" in name:
            assert "ecs:RegisterContainerInstance" in actions
        else:
            assert "ecr:GetAuthorizationToken" in actions


def test_stop_restores_the_environment_exactly(planted_credentials):
    before_env = dict(os.environ)
    before_session = boto3.DEFAULT_SESSION
    before_connect = socket.socket.connect
    before_getaddrinfo = socket.getaddrinfo
    before_local_now = botocore.credentials._local_now
    box = sandbox.start()
    assert os.environ["AWS_ACCESS_KEY_ID"] == sandbox.ADMIN_ACCESS_KEY_ID
    assert "AWS_PROFILE" not in os.environ
    box.clock.advance(minutes=5)
    box.stop()
    assert dict(os.environ) == before_env
    assert boto3.DEFAULT_SESSION is before_session
    assert socket.socket.connect is before_connect
    assert socket.getaddrinfo is before_getaddrinfo
    assert botocore.credentials._local_now is before_local_now


def test_no_running_sandbox_means_a_clear_refusal(planted_credentials):
    sandbox.stop()
    client = boto3.client("sts", region_name="us-east-1")
    with pytest.raises(SandboxNotRunning, match=r"sandbox\.start\(\)"):
        client.get_caller_identity()
    with pytest.raises(SandboxNotRunning):
        sandbox.current()


def test_a_stopped_sandbox_says_so(aws):
    aws.stop()
    with pytest.raises(SandboxNotRunning, match="stopped"):
        aws.admin_session()


def test_the_clock_moves_forward_only(aws):
    start = aws.clock.now()
    later = aws.clock.advance(hours=1)
    assert 3599 <= (later - start).total_seconds() <= 3700
    assert botocore.credentials._local_now() >= later
    with pytest.raises(ValueError, match="forward"):
        aws.clock.advance(seconds=-1)


def test_the_administrator_is_an_iam_user_and_root_is_the_account(aws):
    # AWS, GetCallerIdentity: an IAM user answers with its AIDA... id and user ARN; the root user with the
    # account id and arn:aws:iam::ACCOUNT:root.
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    identity = boto3.client("sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::123456789012:user/administrator"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    attached = aws.client("iam").list_attached_user_policies(UserName="administrator")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    root = aws.root_session().client("sts").get_caller_identity()
    assert root["Arn"] == "arn:aws:iam::123456789012:root"
    assert root["UserId"] == "123456789012"


def test_the_administrator_is_there_again_after_reset(aws):
    first = aws.client("sts").get_caller_identity()["UserId"]
    aws.client("iam").create_user(UserName="temp")
    aws.reset()
    users = [u["UserName"] for u in aws.client("iam").list_users()["Users"]]
    assert users == ["administrator"]
    assert aws.client("sts").get_caller_identity()["UserId"] == first  # the seeded ids come out the same


def test_credentials_made_after_start_refresh_on_the_sandbox_clock(aws):
    # botocore binds its clock as a default argument; the sandbox must reach credentials created after start().
    calls = []

    def refresh():
        calls.append(aws.clock.now())
        expiry = aws.clock.now() + __import__("datetime").timedelta(hours=1)
        return {"access_key": f"ASIAFAKE{len(calls):012d}", "secret_key": "s", "token": "t",
                "expiry_time": expiry.isoformat()}

    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        refresh(), refresh_using=refresh, method="test")
    first = credentials.get_frozen_credentials().access_key
    assert credentials.get_frozen_credentials().access_key == first  # fresh: no refresh yet
    aws.clock.advance(hours=2)
    assert credentials.get_frozen_credentials().access_key != first
    assert len(calls) == 2
