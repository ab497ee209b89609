"""Badges for code in an ECS task: 169.254.170.2 and the instance metadata, as a task on an EC2 instance reaches them.

AWS's pages these tests follow: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; tasks reach the instance metadata unless blocked: the iptables rule for
bridge mode, ECS_AWSVPC_BLOCK_IMDS for awsvpc mode) and
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html (in a container, the IMDSv2
token's reply needs a hop limit of 2; with a limit of 1 it does not arrive).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError, CredentialRetrievalError, NoCredentialsError

from grader import credentials
from grader.credentials import in_task
from grader.credentials.ecs_agent import ecs_agent
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


def container_endpoint(task, *, relative_uri: str | None = None):
    """(status, document) of the request code in the task makes to its credential endpoint."""
    relative_uri = relative_uri or credentials.environment_for_task(task)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    request = urllib.request.Request("http://169.254.170.2" + relative_uri)
    try:
        with credentials.inside(task), urllib.request.urlopen(request, timeout=5) as response:
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
    assert set(environ) == {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}
    assert credentials.environment_for_task(task["taskArn"]) == environ  # the same registration each time


def test_two_tasks_with_different_roles_get_different_badges(aws, cluster):
    parcels = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    ledger = cluster.start_task(task_definition(aws, "ledger", "LedgerRole"))
    parcels_arn = in_task(parcels).client("sts").get_caller_identity()["Arn"]
    ledger_arn = in_task(ledger).client("sts").get_caller_identity()["Arn"]
    assert "/ParcelsRole/" in parcels_arn and "/LedgerRole/" in ledger_arn
    keys = {in_task(t).get_credentials().get_frozen_credentials().access_key for t in (parcels, ledger)}
    assert len(keys) == 2
    uris = {credentials.environment_for_task(t)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] for t in (parcels, ledger)}
    assert len(uris) == 2


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


def test_the_endpoint_answers_only_the_relative_uri_it_gave_out(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    environ = credentials.environment_for_task(task)
    assert environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].startswith("/v2/credentials/")
    assert not {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} & set(environ)
    assert container_endpoint(task)[0] == 200
    status, document = container_endpoint(task, relative_uri="/v2/credentials/guessed")
    assert status == 400 and document["code"] == "InvalidIdInRequest"


def test_code_on_the_instance_itself_does_not_reach_the_task_endpoint(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    uri = credentials.environment_for_task(task)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    with credentials.inside(cluster.instance_id), pytest.raises(urllib.error.URLError) as silent:
        urllib.request.urlopen("http://169.254.170.2" + uri, timeout=1)
    assert isinstance(silent.value.reason, TimeoutError)


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


LAUNCH_REFUSAL = ("ECS was unable to assume the role '{}' that was provided for this task. Please verify that the "
                  "role being passed has the proper trust relationship and permissions and that your IAM user has "
                  "permissions to pass this role.")


def _launch_refused(aws, call, role: str, **kwargs) -> None:
    """RunTask and StartTask answer ClientException naming the role, and no task starts
    (the message ECS gives, e.g. https://github.com/aws-samples/aws-modern-application-workshop/issues/88;
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html for the trust policy ECS needs)."""
    ecs = aws.client("ecs")
    before = len(ecs.list_tasks(cluster="post-office")["taskArns"])
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert refused.value.response["Error"]["Message"] == LAUNCH_REFUSAL.format(role_arn(role))
    assert len(ecs.list_tasks(cluster="post-office")["taskArns"]) == before


def test_a_task_role_that_does_not_trust_ecs_tasks_fails_at_launch(aws, cluster):
    definition = task_definition(aws, "misfit", "Ec2OnlyRole")
    ecs = aws.client("ecs")
    _launch_refused(aws, ecs.run_task, "Ec2OnlyRole", cluster="post-office", taskDefinition=definition)
    _launch_refused(aws, ecs.start_task, "Ec2OnlyRole", cluster="post-office", taskDefinition=definition,
                    containerInstances=[cluster.container_instance_arn])


def test_an_override_to_an_unassumable_role_fails_at_launch(aws, cluster):
    ecs = aws.client("ecs")
    _launch_refused(aws, ecs.run_task, "Ec2OnlyRole", cluster="post-office",
                    taskDefinition=task_definition(aws, "parcels", "ParcelsRole"),
                    overrides={"taskRoleArn": role_arn("Ec2OnlyRole")})


def test_a_task_role_that_does_not_exist_fails_at_launch(aws, cluster):
    _launch_refused(aws, aws.client("ecs").run_task, "NoSuchRole", cluster="post-office",
                    taskDefinition=task_definition(aws, "ghost", role_arn("NoSuchRole")))


def test_an_untrusted_execution_role_fails_at_launch(aws, cluster):
    _launch_refused(aws, aws.client("ecs").run_task, "Ec2OnlyRole", cluster="post-office",
                    taskDefinition=task_definition(aws, "misfit", "ParcelsRole", execution_role="Ec2OnlyRole"))


def test_a_service_with_an_unassumable_task_role_says_so_in_its_events(aws, cluster):
    """CreateService succeeds; the service's events carry ECS's refusal and no task runs (the event's wording as
    ECS shows it: https://github.com/aws-samples/aws-modern-application-workshop/issues/88)."""
    ecs = aws.client("ecs")
    ecs.create_service(cluster="post-office", serviceName="misfits", desiredCount=1,
                       taskDefinition=task_definition(aws, "misfit", "Ec2OnlyRole"))
    service = ecs.describe_services(cluster="post-office", services=["misfits"])["services"][0]
    assert service["runningCount"] == 0
    assert service["events"][0]["message"] == (
        f"service misfits failed to launch a task with (error {LAUNCH_REFUSAL.format(role_arn('Ec2OnlyRole'))}).")
    ecs.create_service(cluster="post-office", serviceName="parcels", desiredCount=1,
                       taskDefinition=task_definition(aws, "parcels", "ParcelsRole"))
    assert ecs.describe_services(cluster="post-office", services=["parcels"])["services"][0]["events"] == []


def test_a_task_role_whose_trust_is_taken_away_later_gets_no_more_credentials(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    aws.client("iam").update_assume_role_policy(RoleName="ParcelsRole", PolicyDocument=trust("ec2.amazonaws.com"))
    status, document = container_endpoint(task)
    assert status == 400 and document["code"] == "ClientException"
    assert "ECS was unable to assume the role" in document["message"]
    with pytest.raises(CredentialRetrievalError) as refused:
        in_task(task).get_credentials()
    assert "container-role" in str(refused.value) and "ParcelsRole" in str(refused.value)


def test_no_execution_role_is_explained(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", "ParcelsRole", execution_role=None))
    with pytest.raises(credentials.NoTaskRole, match="executionRoleArn"):
        credentials.execution_role_session(task)


def test_a_task_without_a_role_gets_no_container_endpoint_and_takes_the_instance_role(aws, cluster):
    """AWS's default: nothing blocks a bridge-mode container from IMDS; botocore's chain ends at the instance role."""
    task = cluster.start_task(task_definition(aws, "plain", None))
    environ = credentials.environment_for_task(task)
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in environ
    session = in_task(task)
    assert session.get_credentials().method == "iam-role"
    assert "/ContainerHostRole/" in session.client("sts").get_caller_identity()["Arn"]


def test_a_task_without_a_role_on_a_blocking_instance_has_no_credentials(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", None))
    cluster.block_task_metadata_access = True
    session = in_task(task)
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


def test_a_container_reaches_the_instance_role_by_default(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    assert cluster.block_task_metadata_access is False
    session = credentials.try_instance_metadata_from_task(task)
    assert session.get_credentials().method == "iam-role"
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/ContainerHostRole/{cluster.instance_id}"
    # Its own credentials still come first in its default chain.
    assert in_task(task).get_credentials().method == "container-role"


def test_the_iptables_rule_blocks_bridge_tasks(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    cluster.block_task_metadata_access = True
    with pytest.raises(credentials.InstanceMetadataBlocked, match="iptables"):
        credentials.try_instance_metadata_from_task(task)
    cluster.block_task_metadata_access = False
    assert credentials.try_instance_metadata_from_task(task).get_credentials().method == "iam-role"


def test_ecs_awsvpc_block_imds_blocks_awsvpc_tasks_only(aws, cluster):
    bridge = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    subnet = aws.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    group = aws.client("ec2").describe_security_groups()["SecurityGroups"][0]["GroupId"]
    awsvpc = aws.client("ecs").run_task(
        cluster="post-office", taskDefinition=task_definition(aws, "ledger", "LedgerRole", network_mode="awsvpc"),
        launchType="EC2",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["tasks"][0]
    assert credentials.try_instance_metadata_from_task(awsvpc).get_credentials().method == "iam-role"
    cluster.awsvpc_block_imds = True
    with pytest.raises(credentials.InstanceMetadataBlocked, match="ECS_AWSVPC_BLOCK_IMDS"):
        credentials.try_instance_metadata_from_task(awsvpc)
    assert credentials.try_instance_metadata_from_task(bridge).get_credentials().method == "iam-role"


def test_imdsv2_required_with_hop_limit_1_keeps_containers_out(aws, cluster):
    task = cluster.start_task(task_definition(aws, "plain", None))
    ec2 = aws.client("ec2")
    # Hop limit 1 alone: the token never reaches the container, but IMDSv1 still answers it.
    ec2.modify_instance_metadata_options(InstanceId=cluster.instance_id, HttpTokens="optional",
                                         HttpPutResponseHopLimit=1)
    assert in_task(task).get_credentials().method == "iam-role"
    ec2.modify_instance_metadata_options(InstanceId=cluster.instance_id, HttpTokens="required")
    assert in_task(task).get_credentials() is None
    with pytest.raises(credentials.InstanceMetadataBlocked, match="HttpTokens required"):
        credentials.try_instance_metadata_from_task(task)
    # The instance itself (one hop) keeps its badge: the ECS agent still works.
    assert credentials.on_instance(cluster.instance_id).get_credentials().method == "iam-role"
    # A hop limit of 2 lets the container's token through again.
    ec2.modify_instance_metadata_options(InstanceId=cluster.instance_id, HttpPutResponseHopLimit=2)
    assert in_task(task).get_credentials().method == "iam-role"


def test_the_token_reply_is_lost_on_the_extra_hop(aws, cluster):
    task = cluster.start_task(task_definition(aws, "parcels", "ParcelsRole"))
    put = urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT",
                                 headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    with credentials.inside(task), pytest.raises(TimeoutError) as lost:  # the read times out, as on a socket
        urllib.request.urlopen(put, timeout=1)
    assert "HttpPutResponseHopLimit=1" in str(lost.value)
    with credentials.inside(cluster.instance_id), urllib.request.urlopen(put, timeout=1) as answer:
        assert answer.status == 200


def test_host_network_mode_is_the_instances_own_network(aws, cluster):
    task = cluster.start_task(task_definition(aws, "hosted", "ParcelsRole", network_mode="host"))
    cluster.block_task_metadata_access = True
    cluster.awsvpc_block_imds = True
    aws.client("ec2").modify_instance_metadata_options(InstanceId=cluster.instance_id, HttpTokens="required")
    session = credentials.try_instance_metadata_from_task(task)
    assert "/ContainerHostRole/" in session.client("sts").get_caller_identity()["Arn"]


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
    assert environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].startswith("/v2/credentials/")
    assert "/ParcelsRole/" in in_task(task).client("sts").get_caller_identity()["Arn"]
    with pytest.raises(credentials.InstanceMetadataBlocked, match="Fargate"):
        credentials.try_instance_metadata_from_task(task)


# --------------------------------------------------------------------------------------------------------------
# The confused deputy: ECS names the task it acts for


def _scoped_trust(source_arn: str) -> str:
    """The trust policy AWS's task role page recommends, scoped to this account and to tasks matching ``source_arn``
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html)."""
    return trust("ecs-tasks.amazonaws.com", Condition={
        "ArnLike": {"aws:SourceArn": source_arn},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    })


def test_a_trust_policy_scoped_to_the_account_s_tasks_lets_its_tasks_launch_and_fetch_credentials(aws, cluster):
    aws.client("iam").create_role(RoleName="ScopedRole",
                                  AssumeRolePolicyDocument=_scoped_trust(f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"))
    task = cluster.start_task(task_definition(aws, "scoped", "ScopedRole"))
    assert task["taskArn"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/post-office/")
    status, document = container_endpoint(task)
    assert status == 200 and document["RoleArn"] == role_arn("ScopedRole")


def test_a_trust_policy_scoped_to_another_cluster_s_tasks_refuses_the_launch(aws, cluster):
    aws.client("iam").create_role(
        RoleName="OtherClusterRole",
        AssumeRolePolicyDocument=_scoped_trust(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/warehouse/*"))
    definition = task_definition(aws, "elsewhere", "OtherClusterRole")
    _launch_refused(aws, aws.client("ecs").run_task, "OtherClusterRole", cluster="post-office",
                    taskDefinition=definition)
    _launch_refused(aws, aws.client("ecs").start_task, "OtherClusterRole", cluster="post-office",
                    taskDefinition=definition, containerInstances=[cluster.container_instance_arn])


def test_ecs_acting_for_another_account_s_task_is_refused_by_the_scoped_trust_policy(aws, cluster):
    from grader.gatehouse import decide

    aws.client("iam").create_role(RoleName="ScopedRole",
                                  AssumeRolePolicyDocument=_scoped_trust(f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"))
    other = "444455556666"
    decision = decide("ecs-tasks.amazonaws.com", "sts:AssumeRole", role_arn("ScopedRole"), {
        "aws:SourceAccount": other, "aws:SourceArn": f"arn:aws:ecs:us-east-1:{other}:task/theirs/0123"})
    assert not decision.allowed
    unscoped = trust("ecs-tasks.amazonaws.com")
    aws.client("iam").update_assume_role_policy(RoleName="ScopedRole", PolicyDocument=unscoped)
    decision = decide("ecs-tasks.amazonaws.com", "sts:AssumeRole", role_arn("ScopedRole"), {
        "aws:SourceAccount": other, "aws:SourceArn": f"arn:aws:ecs:us-east-1:{other}:task/theirs/0123"})
    assert decision.allowed


def test_a_refused_launch_draws_no_task_ids(aws, cluster):
    """A launch ECS refuses starts no task, so it uses up no more of the sandbox's seeded ids than a launch refused
    for a task definition that does not exist (which never reaches the making of a task)."""
    from moto.moto_api._internal import mock_random

    ecs = aws.client("ecs")
    definition = task_definition(aws, "misfit", "Ec2OnlyRole")
    start = mock_random.getstate()
    with pytest.raises(ClientError):
        ecs.run_task(cluster="post-office", taskDefinition="no-such-family:1")
    baseline = mock_random.getstate()
    mock_random.setstate(start)
    with pytest.raises(ClientError) as refused:
        ecs.run_task(cluster="post-office", taskDefinition=definition)
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert mock_random.getstate() == baseline
