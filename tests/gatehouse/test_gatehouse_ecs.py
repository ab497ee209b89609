"""The gatehouse and ECS: the container agent's calls, task definitions that pass a task_role, running tasks."""

from __future__ import annotations

import json

from grader import credentials
from support import (ACCOUNT, EC2_PRINCIPAL, allow, assume, code_of, credentials_session, make_role, message_of,
                     refused, session_arn)

TASKS_TRUST = {"Service": "ecs-tasks.amazonaws.com"}
CONTAINER = [{"name": "app", "image": "busybox", "memory": 64}]


def _container_instance_role(aws):
    """The role an ECS container instance runs with: AWS's managed policy for it, and nothing else."""
    arn = make_role(aws, "ecsInstanceRole", principal=EC2_PRINCIPAL)
    aws.client("iam").attach_role_policy(
        RoleName="ecsInstanceRole",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    return arn


def test_the_container_agent_registers_and_reports_with_the_managed_policy(aws):
    aws.client("ecs").create_cluster(clusterName="depot")
    image = aws.client("ec2").describe_images()["Images"][0]["ImageId"]
    instance = aws.client("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    # The role trusts only EC2, so its badge comes the way EC2 gets it: minted for the service, not assumed by us.
    badge = credentials.mint_role_session(aws, _container_instance_role(aws), "i-agent", "ec2.amazonaws.com")
    agent = credentials_session({**badge, "SessionToken": badge["Token"]}).client("ecs")

    agent.discover_poll_endpoint(cluster="depot")
    registered = agent.register_container_instance(
        cluster="depot", instanceIdentityDocument=json.dumps({"instanceId": instance}))
    assert registered["containerInstance"]["containerInstanceArn"].startswith(
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/")
    agent.submit_task_state_change(cluster="depot", status="RUNNING")
    # The managed policy lets the agent report, not run the place.
    error = refused(agent.delete_cluster, cluster="depot")
    assert code_of(error) == "AccessDeniedException"
    assert message_of(error) == (
        f"User: {session_arn('ecsInstanceRole', 'i-agent')} is not authorized to perform: ecs:DeleteCluster on "
        f"resource: arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/depot because no identity-based policy allows the "
        "ecs:DeleteCluster action")


def test_register_task_definition_with_a_task_role_needs_pass_role(aws):
    task_role = make_role(aws, "app-task", allow("s3:GetObject"), principal=TASKS_TRUST)
    deployer = make_role(aws, "Deployer", allow(["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]))
    ecs = assume(aws, deployer).client("ecs")
    ecs.register_task_definition(family="plain", containerDefinitions=CONTAINER)
    error = refused(ecs.register_task_definition, family="app", taskRoleArn=task_role,
                    containerDefinitions=CONTAINER)
    assert f"iam:PassRole on resource: {task_role}" in message_of(error)

    allowed = make_role(aws, "Deployer2", allow("ecs:RegisterTaskDefinition"),
                        allow("iam:PassRole", task_role,
                              condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}))
    registered = assume(aws, allowed).client("ecs").register_task_definition(
        family="app", taskRoleArn=task_role, containerDefinitions=CONTAINER)
    assert registered["taskDefinition"]["taskRoleArn"] == task_role


def test_run_task_is_authorised_on_the_task_definition_and_passes_its_role(aws):
    admin = aws.client("ecs")
    admin.create_cluster(clusterName="depot")
    task_role = make_role(aws, "app-task", principal=TASKS_TRUST)
    admin.register_task_definition(family="app", taskRoleArn=task_role, containerDefinitions=CONTAINER)
    admin.register_task_definition(family="other", containerDefinitions=CONTAINER)

    runner = make_role(aws, "Runner", allow("ecs:RunTask", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:*",
                                            condition={"ArnEquals": {
                                                "ecs:cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/depot"}}))
    ecs = assume(aws, runner).client("ecs")
    error = refused(ecs.run_task, cluster="depot", taskDefinition="app")
    assert f"iam:PassRole on resource: {task_role}" in message_of(error)
    error = refused(ecs.run_task, cluster="depot", taskDefinition="other")
    assert "task-definition/other:1" in message_of(error)

    runner2 = make_role(aws, "Runner2", allow("ecs:RunTask", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:*"),
                        allow("iam:PassRole", task_role), allow(["ecs:DescribeTasks", "ecs:ListTasks"]))
    ecs2 = assume(aws, runner2).client("ecs")
    ecs2.run_task(cluster="depot", taskDefinition="app", launchType="FARGATE")
    assert ecs2.list_tasks(cluster="depot")["taskArns"]


def test_describe_clusters_is_per_cluster(aws):
    admin = aws.client("ecs")
    admin.create_cluster(clusterName="mine")
    admin.create_cluster(clusterName="theirs")
    viewer = make_role(aws, "Viewer", allow("ecs:DescribeClusters",
                                            f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/mine"))
    ecs = assume(aws, viewer).client("ecs")
    assert ecs.describe_clusters(clusters=["mine"])["clusters"][0]["clusterName"] == "mine"
    assert "cluster/theirs" in message_of(refused(ecs.describe_clusters, clusters=["mine", "theirs"]))
