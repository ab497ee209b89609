"""The pictures are drawn from the live account: what they show changes when the account does."""

from __future__ import annotations

import io
import json

import pytest
from matplotlib.figure import Figure

from grader.views import diagram
from grader.credentials.ecs_agent import ecs_agent
from support import ACCOUNT, AMI, ECS_FOR_EC2, EXECUTION_POLICY, role_arn, trust


def allow(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


@pytest.fixture
def host(aws):
    """One instance with its instance role, joined to the cluster 'community', and two task roles; the agent."""
    iam, ec2 = aws.client("iam"), aws.client("ec2")
    iam.create_role(RoleName="ContainerHostRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    iam.attach_role_policy(RoleName="ContainerHostRole", PolicyArn=ECS_FOR_EC2)
    iam.create_instance_profile(InstanceProfileName="ContainerHost")
    iam.add_role_to_instance_profile(InstanceProfileName="ContainerHost", RoleName="ContainerHostRole")
    iam.create_role(RoleName="parcels-reader", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    iam.put_role_policy(RoleName="parcels-reader", PolicyName="read-parcels",
                        PolicyDocument=allow("s3:GetObject", "arn:aws:s3:::parcels/*"))
    iam.create_role(RoleName="invoices-writer", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    iam.put_role_policy(RoleName="invoices-writer", PolicyName="write-invoices",
                        PolicyDocument=allow("s3:PutObject", "arn:aws:s3:::invoices/*"))
    iam.create_role(RoleName="app-execution", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    iam.attach_role_policy(RoleName="app-execution", PolicyArn=EXECUTION_POLICY)
    instance_id = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1,
                                    IamInstanceProfile={"Name": "ContainerHost"})["Instances"][0]["InstanceId"]
    aws.client("ecs").create_cluster(clusterName="community")
    agent = ecs_agent(aws, instance_id, "community")
    agent.register()
    return agent


def register(aws, family: str, task_role: str | None, execution_role: str | None = None) -> str:
    kwargs = {"family": family, "requiresCompatibilities": ["EC2"],
              "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}]}
    if task_role:
        kwargs["taskRoleArn"] = role_arn(task_role)
    if execution_role:
        kwargs["executionRoleArn"] = role_arn(execution_role)
    return aws.client("ecs").register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]


def policy_names(role: dict) -> list[str]:
    return [p["name"] for p in role["policies"]]


def test_the_layers_list_the_instance_role_and_both_task_roles_with_their_policies(aws, host):
    host.start_task(register(aws, "parcels-app", "parcels-reader", "app-execution"))
    host.start_task(register(aws, "invoices-app", "invoices-writer"))
    data = diagram.layers(aws)

    assert data["instances"] == [{"id": host.instance_id, "instance_profile": "ContainerHost",
                                  "role": "ContainerHostRole"}]
    by_family = {t["family"]: t for t in data["tasks"]}
    assert by_family["parcels-app"]["task_role"] == "parcels-reader"
    assert by_family["parcels-app"]["execution_role"] == "app-execution"
    assert by_family["invoices-app"]["task_role"] == "invoices-writer"
    assert by_family["invoices-app"]["execution_role"] is None
    assert {t["instance"] for t in data["tasks"]} == {host.instance_id}

    roles = data["roles"]
    assert policy_names(roles["ContainerHostRole"]) == ["AmazonEC2ContainerServiceforEC2Role"]
    assert roles["ContainerHostRole"]["policies"][0]["kind"] == "AWS managed"
    assert roles["ContainerHostRole"]["trusted_services"] == ["ec2.amazonaws.com"]
    assert policy_names(roles["parcels-reader"]) == ["read-parcels"]
    statement = roles["parcels-reader"]["policies"][0]["statements"][0]
    assert statement == {"effect": "Allow", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::parcels/*"],
                         "conditions": False}
    assert roles["invoices-writer"]["trusted_services"] == ["ecs-tasks.amazonaws.com"]
    assert policy_names(roles["app-execution"]) == ["AmazonECSTaskExecutionRolePolicy"]


def test_changing_the_account_changes_the_layers(aws, host):
    host.start_task(register(aws, "parcels-app", "parcels-reader"))
    before = diagram.layers(aws)
    assert len(before["tasks"]) == 1

    iam = aws.client("iam")
    iam.put_role_policy(RoleName="ContainerHostRole", PolicyName="read-parcels-too",
                        PolicyDocument=allow("s3:GetObject", "arn:aws:s3:::parcels/*"))
    second = host.start_task(register(aws, "invoices-app", "invoices-writer"))
    after = diagram.layers(aws)
    assert policy_names(after["roles"]["ContainerHostRole"]) == ["AmazonEC2ContainerServiceforEC2Role",
                                                                 "read-parcels-too"]
    assert sorted(t["family"] for t in after["tasks"]) == ["invoices-app", "parcels-app"]

    host.stop_task(second)
    assert [t["family"] for t in diagram.layers(aws)["tasks"]] == ["parcels-app"]


def test_the_layers_show_what_is_wrong(aws, host):
    # ECS refuses to launch a task whose role it cannot assume, so these roles go wrong after their tasks started.
    iam = aws.client("iam")
    for name in ("MisfitRole", "NoSuchRole"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))
    host.start_task(register(aws, "misfit", "MisfitRole"))
    host.start_task(register(aws, "ghost", "NoSuchRole"))
    host.start_task(register(aws, "plain", None))
    iam.update_assume_role_policy(RoleName="MisfitRole", PolicyDocument=trust("ec2.amazonaws.com"))
    iam.delete_role(RoleName="NoSuchRole")
    data = diagram.layers(aws, cluster="community")
    roles = data["roles"]
    assert roles["MisfitRole"]["trusted_services"] == ["ec2.amazonaws.com"]
    assert roles["NoSuchRole"]["exists"] is False
    assert {t["family"]: t["task_role"] for t in data["tasks"]}["plain"] is None
    figure = diagram.draw_layers(aws, data=data)
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "does not exist" in texts and "not ecs-tasks.amazonaws.com!" in texts and "no task role" in texts


def test_an_empty_account_draws_two_empty_bands(aws):
    data = diagram.layers(aws)
    assert data == {"instances": [], "tasks": [], "roles": {}}
    texts = [t.get_text() for t in diagram.draw_layers(aws).axes[0].texts]
    assert texts.count("(none running)") == 2


def test_drawing_returns_a_figure_of_a_size_set_by_its_content(aws, host):
    host.start_task(register(aws, "parcels-app", "parcels-reader", "app-execution"))
    figure = diagram.draw_layers(aws)
    assert isinstance(figure, Figure)
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    for word in ("ContainerHostRole", "ContainerHost", "parcels-reader", "read-parcels", "app-execution",
                 "Infrastructure layer", "Application layer", host.instance_id):
        assert word in texts
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert repr(figure) == repr(diagram.draw_layers(aws))  # same account, same size
    figure.savefig(io.BytesIO(), format="svg")

    without = diagram.draw_layers(aws, execution_roles=False)
    assert without.get_figheight() < figure.get_figheight()
    assert "app-execution" not in " ".join(t.get_text() for t in without.axes[0].texts)


def test_the_trust_picture_names_who_may_assume_what(aws, host):
    iam = aws.client("iam")
    iam.create_role(RoleName="Auditor", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:TagSession"}]}))
    data = diagram.trust(aws)
    assert [p["id"] for p in data["principals"]] == ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com",
                                                     f"arn:aws:iam::{ACCOUNT}:root"]
    assert data["roles"]["ContainerHostRole"]["trusted"] == [
        {"kind": "Service", "id": "ec2.amazonaws.com", "conditions": False}]
    # Only sts:AssumeRole counts: the second statement of Auditor's trust policy lets EC2 tag, not assume.
    assert data["roles"]["Auditor"]["trusted"] == [
        {"kind": "AWS", "id": f"arn:aws:iam::{ACCOUNT}:root", "conditions": True}]
    assert isinstance(diagram.draw_trust(aws), Figure)

    iam.update_assume_role_policy(RoleName="invoices-writer", PolicyDocument=trust("ec2.amazonaws.com"))
    changed = diagram.trust(aws)["roles"]["invoices-writer"]["trusted"]
    assert changed == [{"kind": "Service", "id": "ec2.amazonaws.com", "conditions": False}]


def test_drawing_leaves_pyplot_alone(aws):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    diagram.draw_layers(aws)
    diagram.draw_trust(aws)
    assert plt.get_fignums() == before
