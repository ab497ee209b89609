"""The ECS agent: it joins a cluster with the instance role's own badge, starts tasks, and reports their state."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from grader import credentials
from grader.credentials.ecs_agent import AgentNotRegistered, ecs_agent
from support import ACCOUNT, AMI, ECS_FOR_EC2, trust

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def container_host(aws, *policies: str) -> str:
    """An instance whose role carries ``policies``, and a cluster called post-office; returns the instance id."""
    iam = aws.client("iam")
    iam.create_role(RoleName="ContainerHostRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    for arn in policies:
        iam.attach_role_policy(RoleName="ContainerHostRole", PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName="ContainerHost")
    iam.add_role_to_instance_profile(InstanceProfileName="ContainerHost", RoleName="ContainerHostRole")
    aws.client("ecs").create_cluster(clusterName="post-office")
    answer = aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                             IamInstanceProfile={"Name": "ContainerHost"})
    return answer["Instances"][0]["InstanceId"]


def simple_task_definition(aws) -> str:
    aws.client("iam").create_role(RoleName="ParcelsRole", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    return aws.client("ecs").register_task_definition(
        family="parcels", taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ParcelsRole",
        containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]


def test_the_agent_registers_with_the_instance_role(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    registered = agent.register()
    assert registered["ec2InstanceId"] == instance_id
    assert agent.container_instance_arn == registered["containerInstanceArn"]
    listed = aws.client("ecs").list_container_instances(cluster="post-office")["containerInstanceArns"]
    assert listed == [registered["containerInstanceArn"]]
    # The call was made with the instance's badge, not the administrator's.
    assert agent.session.get_credentials().method == "iam-role"
    used = {c.access_key_id for c in aws.calls if "ecs" in c.url}
    assert agent.session.get_credentials().get_frozen_credentials().access_key in used


def test_without_the_ecs_policy_the_instance_cannot_join(aws):
    instance_id = container_host(aws, READ_ONLY)
    agent = ecs_agent(aws, instance_id, "post-office")
    with pytest.raises(ClientError) as refused:
        agent.register()
    error = refused.value.response["Error"]
    assert error["Code"] in ("AccessDeniedException", "AccessDenied")
    assert "ecs:RegisterContainerInstance" in error["Message"]
    assert f"assumed-role/ContainerHostRole/{instance_id}" in error["Message"]
    assert aws.client("ecs").list_container_instances(cluster="post-office")["containerInstanceArns"] == []


def test_the_identity_document_names_the_instance(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    document, signature = ecs_agent(aws, instance_id, "post-office").identity()
    assert json.loads(document)["instanceId"] == instance_id
    assert signature


def test_tasks_hold_the_state_the_agent_reported(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    agent.register()
    task = agent.start_task(simple_task_definition(aws))
    ecs = aws.client("ecs")
    states = [ecs.describe_tasks(cluster="post-office", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"]
              for _ in range(5)]
    assert states == ["RUNNING"] * 5
    agent.stop_task(task)
    assert ecs.describe_tasks(cluster="post-office", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "STOPPED"


def test_the_agent_reports_with_the_instance_role(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    agent.register()
    task = agent.start_task(simple_task_definition(aws))
    report = agent.report()
    assert report["endpoint"]
    assert report["tasks"] == [task["taskArn"]]


def test_a_started_task_runs_on_the_agents_instance_with_its_own_endpoint(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    agent.register()
    task = agent.start_task(simple_task_definition(aws))
    assert task["containerInstanceArn"] == agent.container_instance_arn
    registration = credentials.task_registration(task)
    assert registration.instance_id == instance_id
    assert registration.task_id == task["taskArn"].split("/")[-1]
    assert credentials.in_task(task).get_credentials().method == "container-role"


def test_starting_before_registering_is_explained(aws):
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    with pytest.raises(AgentNotRegistered, match="register"):
        agent.start_task("parcels")


def test_an_agent_for_an_unknown_instance_is_explained(aws):
    with pytest.raises(credentials.UnknownInstance):
        ecs_agent(aws, "i-0123456789abcdef0", "post-office")


def test_blocking_is_off_unless_the_instance_is_set_up_for_it(aws):
    """AWS's default: containers reach the instance metadata until the instance or the agent blocks them
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html)."""
    instance_id = container_host(aws, ECS_FOR_EC2)
    agent = ecs_agent(aws, instance_id, "post-office")
    assert agent.block_task_metadata_access is False and agent.awsvpc_block_imds is False
    closed_agent = ecs_agent(aws, instance_id, "post-office", block_task_metadata_access=True,
                             awsvpc_block_imds=True)
    assert closed_agent.block_task_metadata_access is True
    assert credentials.metadata_service().blocks_task_metadata_access(instance_id) is True
    assert credentials.metadata_service().blocks_awsvpc_task_metadata_access(instance_id) is True


def test_task_states_go_back_to_moto_after_the_sandbox_stops():
    from moto.moto_api import state_manager

    from grader import sandbox

    box = sandbox.start()
    assert state_manager.get_transition("ecs::task")["times"] > 10 ** 9
    box.stop()
    assert state_manager.get_transition("ecs::task") == {"progression": "manual", "times": 1}
