"""Badges for code in an ECS task: the container credentials endpoint, read by botocore's own ContainerProvider."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError, CredentialRetrievalError, NoCredentialsError

from grader import credentials
from grader.credentials import in_task
from grader.ecs import ecs_agent
from support import ACCOUNT, AMI, ECS_FOR_EC2, EXECUTION_POLICY, role_arn, trust


@pytest.fixture
def cluster(aws):
    """A cluster with one registered container instance; returns its agent."""
    iam, ec2 = aws.client("iam"), aws.client("ec2")
    iam.create_role(RoleName="ContainerHostRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    iam.attach_role_policy(RoleName="ContainerHostRole", PolicyArn=ECS_FOR_EC2)
    iam.create_instance_profile(InstanceProfileName="ContainerHost")
    iam.add_role_to_instance_profile(InstanceProfileName="ContainerHost", RoleName="ContainerHostRole")
    iam.create_role(RoleName="ExecutionRole", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    iam.attach_role_policy(RoleName="ExecutionRole", PolicyArn=EXECUTION_POLICY)
    for name in ("ParcelsRole", "LedgerRole"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    iam.create_role(RoleName="Ec2OnlyRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    instance_id = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                    IamInstanceProfile={"Name": "ContainerHost"})["Instances"][0]["InstanceId"]
    aws.client("ecs").create_cluster(clusterName="post-office")
    agent = ecs_agent(aws, instance_id, "post-office")
    agent.register()
    return agent


def task_definition(aws, family: str, task_role: str | None, *, network_mode: str = "bridge",
                    execution_role: str | None = "ExecutionRole") -> str:
    kwargs = {"family": family, "networkMode": network_mode,
              "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 128}]}
    if task_role:
        kwargs["taskRoleArn"] = task_role if task_role.startswith("arn:") else role_arn(task_role)
    if execution_role:
        kwargs["executionRoleArn"] = role_arn(execution_role)
    return aws.client("ecs").register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]


def container_endpoint(task, *, authorization: str | None = "from-environment"):
    environ = credentials.environment_for_task(task)
    request = urllib.request.Request(environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
    if authorization == "from-environment":
        authorization = environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --------------------------------------------------------------------------------------------------------------
# The task role, through botocore's ContainerProvider


def test_botocore_finds_the_task_role_through_the_container_endpoint(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    session = in_task(task)
    assert session.get_credentials().method == "container-role"
    identity = session.client("sts").get_caller_identity()
    task_id = task["taskArn"].split("/")[-1]
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ParcelsRole/{task_id}"


def test_the_task_environment(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    environ = credentials.environment_for_task(task)
    assert environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert "/v2/credentials/" in environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    assert f"/ec2/{cluster.instance_id}/from-task/" in environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
    assert credentials.environment_for_task(task["taskArn"]) == environ  # the same registration each time


def test_two_tasks_with_different_roles_get_different_badges(aws, cluster):
    parcels = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    ledger = cluster.start_task(task_definition(aws, "ledger", "LedgerRole"))
    parcels_arn = in_task(parcels).client("sts").get_caller_identity()["Arn"]
    ledger_arn = in_task(ledger).client("sts").get_caller_identity()["Arn"]
    assert "/ParcelsRole/" in parcels_arn and "/LedgerRole/" in ledger_arn
    keys = {in_task(t).get_credentials().get_frozen_credentials().access_key for t in (parcels, ledger)}
    assert len(keys) == 2
    endpoints = {credentials.environment_for_task(t)["AWS_CONTAINER_CREDENTIALS_FULL_URI"] for t in (parcels, ledger)}
    assert len(endpoints) == 2


def test_two_tasks_of_one_definition_are_two_sessions(aws, cluster):
    definition = task_definition(aws, "parcels", "ParcelsRole")
    first, second = cluster.start_task(definition), cluster.start_task(definition)
    arns = {in_task(t).client("sts").get_caller_identity()["Arn"] for t in (first, second)}
    assert arns == {f"arn:aws:sts::{ACCOUNT}:assumed-role/ParcelsRole/{t['taskArn'].split('/')[-1]}"
                    for t in (first, second)}


def test_a_task_role_override_wins(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"),
                              overrides={"taskRoleArn": role_arn("LedgerRole")})
    assert "/LedgerRole/" in in_task(task).client("sts").get_caller_identity()["Arn"]


def test_the_endpoint_wants_the_authorization_token(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    assert container_endpoint(task)[0] == 200
    assert container_endpoint(task, authorization=None)[0] == 401
    assert container_endpoint(task, authorization="guessed")[0] == 401


def test_the_execution_role_is_never_served_to_the_application(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    status, document = container_endpoint(task)
    assert status == 200 and document["RoleArn"] == role_arn("ParcelsRole")
    assert "ExecutionRole" not in json.dumps(credentials.environment_for_task(task))
    assert "/ParcelsRole/" in in_task(task).client("sts").get_caller_identity()["Arn"]
    # The agent's own session for the same task is the execution role.
    agent_session = credentials.execution_role_session(task)
    assert "/ExecutionRole/" in agent_session.client("sts").get_caller_identity()["Arn"]
    assert agent_session.get_credentials().method == "ecs-agent"


def test_the_execution_role_pulls_images_and_the_task_role_cannot(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    assert cluster.pull_images(task)["authorizationData"]
    with pytest.raises(ClientError) as refused:
        in_task(task).client("ecr").get_authorization_token()
    assert refused.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")


def test_the_execution_role_sends_logs(aws, cluster):
    aws.client("logs").create_log_group(logGroupName="/ecs/parcels")
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    stream = cluster.send_logs(task, "/ecs/parcels", ["parcel 1 delivered"])
    events = aws.client("logs").get_log_events(logGroupName="/ecs/parcels", logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["parcel 1 delivered"]


# --------------------------------------------------------------------------------------------------------------
# When there is no badge to give


def test_a_task_role_that_does_not_trust_ecs_tasks_is_refused(aws, cluster):
    task = cluster.start_task(task_definition(aws, "misfit", "Ec2OnlyRole"))
    status, document = container_endpoint(task)
    assert status == 400
    assert document["code"] == "ClientException"
    assert "ECS was unable to assume the role" in document["message"]
    with pytest.raises(CredentialRetrievalError) as refused:
        in_task(task).get_credentials()
    assert "container-role" in str(refused.value)
    assert "Ec2OnlyRole" in str(refused.value)


def test_a_task_role_that_does_not_exist_is_refused(aws, cluster):
    task = cluster.start_task(task_definition(aws, "ghost", role_arn("NoSuchRole")))
    with pytest.raises(CredentialRetrievalError, match="NoSuchRole"):
        in_task(task).get_credentials()


def test_an_untrusted_execution_role_is_explained(aws, cluster):
    task = cluster.start_task(task_definition(aws, "misfit", "ParcelsRole", execution_role="Ec2OnlyRole"))
    with pytest.raises(credentials.RoleNotTrusted, match="ECS cannot assume the role Ec2OnlyRole"):
        credentials.execution_role_session(task)


def test_no_execution_role_is_explained(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", "ParcelsRole", execution_role=None))
    with pytest.raises(credentials.NoTaskRole, match="executionRoleArn"):
        credentials.execution_role_session(task)


def test_a_task_without_a_role_gets_no_container_endpoint(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", None))
    environ = credentials.environment_for_task(task)
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in environ
    session = in_task(task)  # the instance blocks the metadata service: nothing left in the chain
    assert session.get_credentials() is None
    with pytest.raises(NoCredentialsError):
        session.client("sts").get_caller_identity()


def test_a_stopped_task_loses_its_endpoint(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    assert container_endpoint(task)[0] == 200
    cluster.stop_task(task)
    status, document = container_endpoint(task)
    assert status == 400 and document["code"] == "InvalidIdInRequest"


def test_an_unknown_task_is_explained(aws, cluster):
    with pytest.raises(credentials.UnknownTask, match="run_task or start_task"):
        in_task(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/post-office/00000000-0000-0000-0000-000000000000")


# --------------------------------------------------------------------------------------------------------------
# Expiry and renewal


def test_an_expired_task_badge_is_refused_and_botocore_fetches_a_new_one(aws, cluster):
    import boto3

    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    session = in_task(task)
    s3 = session.client("sts")
    s3.get_caller_identity()
    old = session.get_credentials().get_frozen_credentials()
    aws.clock.advance(hours=2)
    stale = boto3.Session(aws_access_key_id=old.access_key, aws_secret_access_key=old.secret_key,
                          aws_session_token=old.token, region_name="us-east-1").client("sts")
    with pytest.raises(ClientError) as refused:
        stale.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "ExpiredToken"
    assert "/ParcelsRole/" in s3.get_caller_identity()["Arn"]
    assert session.get_credentials().get_frozen_credentials().access_key != old.access_key


# --------------------------------------------------------------------------------------------------------------
# The metadata hop from a container


def test_a_container_cannot_reach_the_instance_role_by_default(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    assert cluster.block_task_metadata_access is True
    with pytest.raises(credentials.InstanceMetadataBlocked, match="blocks its containers"):
        credentials.try_instance_metadata_from_task(task)


def test_with_blocking_off_a_container_takes_the_instance_role(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    cluster.block_task_metadata_access = False
    session = credentials.try_instance_metadata_from_task(task)
    assert session.get_credentials().method == "iam-role"
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/ContainerHostRole/{cluster.instance_id}"
    cluster.block_task_metadata_access = True
    with pytest.raises(credentials.InstanceMetadataBlocked):
        credentials.try_instance_metadata_from_task(task)


def test_a_task_without_a_role_falls_back_to_the_instance_role_when_not_blocked(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", None))
    cluster.block_task_metadata_access = False
    session = in_task(task)
    assert session.get_credentials().method == "iam-role"
    assert "/ContainerHostRole/" in session.client("sts").get_caller_identity()["Arn"]


def test_host_network_mode_reaches_the_metadata_even_when_blocked(aws, cluster):
    task = cluster.start_task(task_definition(aws, "hosted", "ParcelsRole", network_mode="host"))
    assert cluster.block_task_metadata_access is True
    session = credentials.try_instance_metadata_from_task(task)
    assert "/ContainerHostRole/" in session.client("sts").get_caller_identity()["Arn"]
    # Its own credentials still come first in its default chain.
    assert in_task(task).get_credentials().method == "container-role"


def test_the_blocked_hop_is_dropped_not_answered(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    registration = credentials.task_registration(task)
    service = credentials.metadata_service()
    path = f"/ec2/{cluster.instance_id}/from-task/{registration.task_id}/latest/api/token"
    headers = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    assert service.answer("PUT", path, headers) is credentials.DROP
    cluster.block_task_metadata_access = False
    assert service.answer("PUT", path, headers)[0] == 200


def test_a_fargate_task_has_its_endpoint_and_no_instance_metadata(aws):
    iam, ec2, ecs = aws.client("iam"), aws.client("ec2"), aws.client("ecs")
    iam.create_role(RoleName="ParcelsRole", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    ecs.create_cluster(clusterName="serverless")
    definition = ecs.register_task_definition(
        family="parcels", taskRoleArn=role_arn("ParcelsRole"), requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": "nginx", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    task = ecs.run_task(cluster="serverless", taskDefinition=definition, launchType="FARGATE", networkConfiguration={
        "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})["tasks"][0]
    environ = credentials.environment_for_task(task)
    assert environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" not in environ
    assert "/ParcelsRole/" in in_task(task).client("sts").get_caller_identity()["Arn"]
    with pytest.raises(credentials.InstanceMetadataBlocked, match="Fargate"):
        credentials.try_instance_metadata_from_task(task)
