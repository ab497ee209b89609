"""Badges for code on an EC2 instance: IMDS at 169.254.169.254, answered in process, read by botocore's own provider.

AWS's pages these tests follow:
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html (HttpTokens,
HttpPutResponseHopLimit), https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
(IMDSv1 and IMDSv2 requests, 401 for a missing or invalid token when tokens are required) and
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceMetadataOptions.html.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request

import boto3
import botocore.credentials
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from grader import credentials, sandbox
from grader.aws import endpoints
from grader.credentials import on_instance
from support import ACCOUNT, AMI, trust


def launch_with_role(aws, role: str = "WebRole", *, service: str = "ec2.amazonaws.com", policies=()) -> str:
    """An instance whose profile holds ``role`` (trusting ``service``); returns the instance id."""
    iam = aws.client("iam")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(service))
    for arn in policies:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName=f"{role}Profile")
    iam.add_role_to_instance_profile(InstanceProfileName=f"{role}Profile", RoleName=role)
    answer = aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                             IamInstanceProfile={"Name": f"{role}Profile"})
    return answer["Instances"][0]["InstanceId"]


def imds(instance_id: str, path: str, *, token: str | None = None, method: str = "GET", headers=None):
    """(status, body) of a raw request to the metadata service, made by code on the instance."""
    request = urllib.request.Request("http://169.254.169.254/" + path, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("X-aws-ec2-metadata-token", token)
    try:
        with credentials.inside(instance_id), urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def token_for(instance_id: str) -> str:
    status, token = imds(instance_id, "latest/api/token", method="PUT",
                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert status == 200
    return token


# --------------------------------------------------------------------------------------------------------------
# botocore's chain finds the instance's badge


def test_botocore_finds_the_instance_role_through_the_metadata_service(aws):
    instance_id = launch_with_role(aws)
    session = on_instance(instance_id)
    assert isinstance(session, boto3.Session)
    found = session.get_credentials()
    assert found.method == "iam-role"
    assert isinstance(found, botocore.credentials.RefreshableCredentials)
    assert found.access_key.startswith("ASIA")
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/WebRole/{instance_id}"
    assert identity["Account"] == ACCOUNT


def test_the_instance_environment_holds_no_key_and_no_endpoint(aws):
    instance_id = launch_with_role(aws)
    environ = credentials.environment_for_instance(instance_id)
    # botocore finds IMDS at AWS's own address; nothing in the environment points it anywhere else.
    assert set(environ) == {"AWS_REGION", "AWS_DEFAULT_REGION"}
    # The sandbox's own environment still holds the administrator, and its sessions still use it.
    assert boto3.Session().get_credentials().access_key == sandbox.ADMIN_ACCESS_KEY_ID


def test_the_badge_is_the_same_one_the_endpoint_serves_and_sts_knows(aws):
    from moto.sts.models import sts_backends

    instance_id = launch_with_role(aws)
    token = token_for(instance_id)
    status, body = imds(instance_id, "latest/meta-data/iam/security-credentials/WebRole", token=token)
    document = json.loads(body)
    assert status == 200
    assert document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
    assert set(document) >= {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"}
    [session] = [s for s in sts_backends[ACCOUNT]["aws"].assumed_roles if s.access_key_id == document["AccessKeyId"]]
    assert session.expiration.strftime("%Y-%m-%dT%H:%M:%SZ") == document["Expiration"]
    assert session.session_token == document["Token"]
    # Asked again, the endpoint hands out the same badge until it nears expiry.
    _, again = imds(instance_id, "latest/meta-data/iam/security-credentials/WebRole", token=token)
    assert json.loads(again)["AccessKeyId"] == document["AccessKeyId"]


def test_the_metadata_tree(aws):
    instance_id = launch_with_role(aws)
    token = token_for(instance_id)
    profile = aws.client("iam").get_instance_profile(InstanceProfileName="WebRoleProfile")["InstanceProfile"]
    info = json.loads(imds(instance_id, "latest/meta-data/iam/info", token=token)[1])
    assert info["Code"] == "Success"
    assert info["InstanceProfileArn"] == profile["Arn"]
    assert info["InstanceProfileId"] == profile["InstanceProfileId"]
    assert "LastUpdated" in info
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/", token=token) == (200, "WebRole")
    assert imds(instance_id, "latest/meta-data/instance-id", token=token) == (200, instance_id)
    document = json.loads(imds(instance_id, "latest/dynamic/instance-identity/document", token=token)[1])
    assert document["instanceId"] == instance_id
    assert document["accountId"] == ACCOUNT and document["region"] == "us-east-1"
    assert document["availabilityZone"].startswith("us-east-1")
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/OtherRole", token=token)[0] == 404


# --------------------------------------------------------------------------------------------------------------
# IMDSv2: a session token first


def test_imdsv1_is_served_while_tokens_are_optional(aws):
    """AWS's default for RunInstances is HttpTokens optional: a request without a token (IMDSv1) is answered."""
    instance_id = launch_with_role(aws)
    shown = aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert shown["MetadataOptions"]["HttpTokens"] == "optional"
    assert shown["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    status, body = imds(instance_id, "latest/meta-data/iam/security-credentials/WebRole")
    assert status == 200 and json.loads(body)["Code"] == "Success"
    # A token that is there but invalid is refused even so.
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/WebRole", token="made-up")[0] == 401


def test_required_tokens_refuse_imdsv1_and_the_change_is_live(aws):
    instance_id = launch_with_role(aws)
    ec2 = aws.client("ec2")
    answer = ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert answer["InstanceMetadataOptions"]["HttpTokens"] == "required"
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/WebRole")[0] == 401
    assert imds(instance_id, "latest/meta-data/instance-id", token=token_for(instance_id)) == (200, instance_id)
    # botocore's provider speaks IMDSv2 first, so the instance keeps its badge.
    assert on_instance(instance_id).get_credentials().method == "iam-role"
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="optional")
    assert imds(instance_id, "latest/meta-data/instance-id") == (200, instance_id)


def test_imdsv2_required_at_launch(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="WebRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    iam.create_instance_profile(InstanceProfileName="WebRoleProfile")
    iam.add_role_to_instance_profile(InstanceProfileName="WebRoleProfile", RoleName="WebRole")
    instance_id = aws.client("ec2").run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": "WebRoleProfile"},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2})["Instances"][0]["InstanceId"]
    assert imds(instance_id, "latest/meta-data/instance-id")[0] == 401
    assert imds(instance_id, "latest/meta-data/instance-id", token=token_for(instance_id)) == (200, instance_id)


def test_a_disabled_endpoint_cannot_be_reached(aws):
    """HttpEndpoint disabled: "you cannot access your instance metadata"
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceMetadataOptionsRequest.html)."""
    instance_id = launch_with_role(aws)
    aws.client("ec2").modify_instance_metadata_options(InstanceId=instance_id, HttpEndpoint="disabled")
    with pytest.raises(urllib.error.URLError) as silent:
        imds(instance_id, "latest/meta-data/instance-id")
    assert "HttpEndpoint disabled" in str(silent.value.reason)
    assert on_instance(instance_id).get_credentials() is None
    aws.client("ec2").modify_instance_metadata_options(InstanceId=instance_id, HttpEndpoint="enabled")
    assert on_instance(instance_id).get_credentials().method == "iam-role"


def test_modifying_one_option_keeps_the_others(aws):
    instance_id = launch_with_role(aws)
    ec2 = aws.client("ec2")
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpPutResponseHopLimit=2)
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    options = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    assert options["HttpPutResponseHopLimit"] == 2
    assert options["HttpEndpoint"] == "enabled"


def test_a_hop_limit_outside_1_to_64_is_refused(aws):
    instance_id = launch_with_role(aws)
    with pytest.raises(ClientError) as refused:
        aws.client("ec2").modify_instance_metadata_options(InstanceId=instance_id, HttpPutResponseHopLimit=65)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_token_works_only_on_its_own_instance(aws):
    first = launch_with_role(aws, "FirstRole")
    second = launch_with_role(aws, "SecondRole")
    assert imds(second, "latest/meta-data/instance-id", token=token_for(first))[0] == 401
    assert imds(second, "latest/meta-data/instance-id", token=token_for(second)) == (200, second)


def test_a_token_needs_a_time_to_live(aws):
    instance_id = launch_with_role(aws)
    assert imds(instance_id, "latest/api/token", method="PUT")[0] == 400
    assert imds(instance_id, "latest/api/token", method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400
    assert imds(instance_id, "latest/api/token")[0] == 405


def test_a_token_expires_on_the_sandbox_clock(aws):
    instance_id = launch_with_role(aws)
    status, token = imds(instance_id, "latest/api/token", method="PUT",
                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert imds(instance_id, "latest/meta-data/instance-id", token=token)[0] == 200
    aws.clock.advance(minutes=2)
    assert imds(instance_id, "latest/meta-data/instance-id", token=token)[0] == 401


# --------------------------------------------------------------------------------------------------------------
# When there is no badge to give


def test_a_role_that_does_not_trust_ec2_gets_no_badge(aws):
    instance_id = launch_with_role(aws, "LambdaRole", service="lambda.amazonaws.com")
    token = token_for(instance_id)
    info = json.loads(imds(instance_id, "latest/meta-data/iam/info", token=token)[1])
    assert info["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "EC2 cannot assume the role LambdaRole" in info["Message"]
    status, body = imds(instance_id, "latest/meta-data/iam/security-credentials/LambdaRole", token=token)
    assert status == 200
    document = json.loads(body)
    assert document["Code"] == "AssumeRoleUnauthorizedAccess" and "AccessKeyId" not in document
    session = on_instance(instance_id)
    assert session.get_credentials() is None
    with pytest.raises(NoCredentialsError):
        session.client("s3").list_buckets()


def test_fixing_the_trust_policy_lets_the_badge_through(aws):
    instance_id = launch_with_role(aws, "LambdaRole", service="lambda.amazonaws.com")
    assert on_instance(instance_id).get_credentials() is None
    aws.client("iam").update_assume_role_policy(RoleName="LambdaRole", PolicyDocument=trust("ec2.amazonaws.com"))
    assert on_instance(instance_id).get_credentials().method == "iam-role"


def test_a_profile_with_no_role_has_no_iam_tree(aws):
    aws.client("iam").create_instance_profile(InstanceProfileName="Empty")
    answer = aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                             IamInstanceProfile={"Name": "Empty"})
    instance_id = answer["Instances"][0]["InstanceId"]
    token = token_for(instance_id)
    assert imds(instance_id, "latest/meta-data/iam/info", token=token)[0] == 404
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/", token=token)[0] == 404
    assert on_instance(instance_id).get_credentials() is None


def test_an_instance_without_a_profile_has_no_credentials(aws):
    instance_id = aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    assert imds(instance_id, "latest/meta-data/iam/security-credentials/", token=token_for(instance_id))[0] == 404
    session = on_instance(instance_id)
    assert session.get_credentials() is None
    with pytest.raises(NoCredentialsError):
        session.client("sts").get_caller_identity()


def test_an_unknown_instance_is_explained(aws):
    with pytest.raises(credentials.UnknownInstance, match="run_instances"):
        on_instance("i-0123456789abcdef0")


def test_a_terminated_instance_answers_nothing(aws):
    instance_id = launch_with_role(aws)
    session = on_instance(instance_id)
    aws.client("ec2").terminate_instances(InstanceIds=[instance_id])
    assert session.get_credentials() is None


def test_swapping_the_profile_swaps_the_badge(aws):
    ec2 = aws.client("ec2")
    instance_id = launch_with_role(aws, "OldRole")
    launch_with_role(aws, "NewRole")  # only for its profile
    assert on_instance(instance_id).client("sts").get_caller_identity()["Arn"].endswith(f"/OldRole/{instance_id}")
    association = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}])["IamInstanceProfileAssociations"][0]
    ec2.replace_iam_instance_profile_association(AssociationId=association["AssociationId"],
                                                 IamInstanceProfile={"Name": "NewRoleProfile"})
    assert on_instance(instance_id).client("sts").get_caller_identity()["Arn"].endswith(f"/NewRole/{instance_id}")


# --------------------------------------------------------------------------------------------------------------
# Minting, on its own


def test_mint_refuses_a_service_the_role_does_not_trust(aws):
    aws.client("iam").create_role(RoleName="LambdaRole", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    with pytest.raises(credentials.RoleNotTrusted) as refused:
        credentials.mint_role_session(aws, f"arn:aws:iam::{ACCOUNT}:role/LambdaRole", "i-1", "ec2.amazonaws.com")
    message = str(refused.value)
    assert "EC2 cannot assume the role LambdaRole" in message
    assert "ec2.amazonaws.com" in message and "trust policy" in message
    assert refused.value.decision.outcome == "implicit-deny"


def test_mint_refuses_a_role_that_does_not_exist(aws):
    with pytest.raises(credentials.RoleNotFound, match="no role"):
        credentials.mint_role_session(aws, f"arn:aws:iam::{ACCOUNT}:role/Nobody", "i-1", "ec2.amazonaws.com")


def test_mint_expires_on_the_sandbox_clock(aws):
    aws.client("iam").create_role(RoleName="WebRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    aws.clock.advance(hours=5)
    badge = credentials.mint_role_session(aws, f"arn:aws:iam::{ACCOUNT}:role/WebRole", "i-1", "ec2.amazonaws.com",
                                          duration_seconds=900)
    remaining = (badge["Expiration"] - aws.clock.now()).total_seconds()
    assert 890 <= remaining <= 900


# --------------------------------------------------------------------------------------------------------------
# Expiry and renewal


def test_an_expired_badge_is_refused_and_botocore_fetches_a_new_one(aws):
    instance_id = launch_with_role(aws)
    session = on_instance(instance_id)
    sts = session.client("sts")
    assert sts.get_caller_identity()["Arn"].endswith(f"/WebRole/{instance_id}")
    old = session.get_credentials().get_frozen_credentials()

    aws.clock.advance(hours=2)

    stale = boto3.Session(aws_access_key_id=old.access_key, aws_secret_access_key=old.secret_key,
                          aws_session_token=old.token, region_name="us-east-1").client("sts")
    with pytest.raises(ClientError) as refused:
        stale.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "ExpiredToken"

    assert sts.get_caller_identity()["Arn"].endswith(f"/WebRole/{instance_id}")  # the same client, renewed
    renewed = session.get_credentials().get_frozen_credentials()
    assert renewed.access_key != old.access_key
    assert session.get_credentials().method == "iam-role"


def test_a_badge_near_expiry_is_rotated_before_botocore_needs_it(aws):
    instance_id = launch_with_role(aws)
    session = on_instance(instance_id)
    first = session.get_credentials().get_frozen_credentials().access_key
    aws.clock.advance(minutes=30)
    assert session.get_credentials().get_frozen_credentials().access_key == first
    aws.clock.advance(minutes=20)  # 10 minutes left: inside botocore's refresh window
    assert session.get_credentials().get_frozen_credentials().access_key != first


# --------------------------------------------------------------------------------------------------------------
# Answered in process, for every HTTP client


def test_requests_and_http_client_reach_the_same_service(aws):
    import requests

    instance_id = launch_with_role(aws)
    with credentials.inside(instance_id):
        assert requests.get("http://169.254.169.254/latest/meta-data/instance-id", timeout=2).text == instance_id
        connection = http.client.HTTPConnection("169.254.169.254", timeout=2)
        connection.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        answer = connection.getresponse()
        assert answer.status == 200 and len(answer.read()) > 20


def test_no_thread_and_no_socket_serve_it(aws, monkeypatch):
    import socket

    instance_id = launch_with_role(aws)
    threads = set(threading.enumerate())

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_socket)
    assert on_instance(instance_id).get_credentials().method == "iam-role"
    assert imds(instance_id, "latest/meta-data/instance-id")[0] == 200
    assert set(threading.enumerate()) == threads


def test_code_that_runs_nowhere_gets_a_timeout_that_says_why(aws):
    launch_with_role(aws)
    with pytest.raises(urllib.error.URLError) as silent:
        urllib.request.urlopen("http://169.254.169.254/latest/meta-data/", timeout=1)
    assert isinstance(silent.value.reason, TimeoutError)
    assert "not running on an EC2 instance" in str(silent.value.reason)


def test_other_link_local_addresses_are_still_refused(aws):
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen("http://169.254.169.253/", timeout=1)
    assert "sandbox blocked" in str(refused.value.reason)


def test_stop_puts_the_connection_functions_back():
    import socket

    import urllib3.util.connection

    before = (socket.create_connection, urllib3.util.connection.create_connection)
    box = sandbox.start()
    try:
        assert urllib3.util.connection.create_connection is not before[1]
    finally:
        box.stop()
    assert (socket.create_connection, urllib3.util.connection.create_connection) == before


def test_reset_forgets_everything(aws):
    instance_id = launch_with_role(aws)
    assert on_instance(instance_id).get_credentials() is not None
    service = credentials.metadata_service()
    sandbox.start()  # the same seed: a reset
    assert credentials.metadata_service() is not service
    assert credentials.metadata_service()._tasks == {} and credentials.metadata_service()._tokens == {}


def test_a_broken_request_is_answered_not_raised(aws):
    instance_id = launch_with_role(aws)
    service = credentials.metadata_service()
    with credentials.inside(instance_id):
        assert service.answer("169.254.169.254", "GET", "/nowhere", {})[0] == 404
    assert service.answer("169.254.169.254", "GET", "/latest/meta-data/", {}) is endpoints.NOWHERE
