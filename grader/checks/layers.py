"""Checks for 04-two-layers-capstone: ECS on EC2, built from scratch, with each permission on the right layer.

Two badges are in play on one host. The instance role is the ECS agent's: it joins the cluster and pulls work.
The task role is the application's: it reads parcels. The feedback names the classic mistake of putting the
application's permission on the instance role, where every task on the host inherits it.
"""

from __future__ import annotations

from grader.checks import Missing, part
from grader.checks._account import (
    caller_on_instance, cluster_exists, container_instances, instance_profile, instances_with_profile, may_assume,
    reads, role, role_arn, role_may, running_tasks, task_definition,
)

A = "04-two-layers-capstone"
HOST, APP, PROFILE, CLUSTER, FAMILY = "ContainerHostRole", "ParcelAppTaskRole", "ContainerHostProfile", \
    "community", "parcel-app"
PARCEL = "arn:aws:s3:::parcels/porch/box-1.txt"
AGENT_ACTIONS = ("ecs:RegisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll", "ecs:SubmitTaskStateChange")


def _cluster_arn() -> str:
    return "arn:aws:ecs:us-east-1:123456789012:cluster/" + CLUSTER


@part("two-layers-1", A, "The instance layer: the ECS agent's badge", 2,
      "ContainerHostRole trusts ec2.amazonaws.com and carries what the ECS agent needs (the managed policy "
      "AmazonEC2ContainerServiceforEC2Role), and nothing the application needs.", defaults=(HOST,))
def instance_layer(m, role_name=HOST):
    role(role_name)
    missing = [a for a in AGENT_ACTIONS if not role_may(role_name, a, _cluster_arn()).allowed]
    first = m.aspect(1, not missing and may_assume("ec2.amazonaws.com", role_name).allowed,
                     f"{role_name} trusts EC2 and lets the ECS agent join and work the cluster",
                     f"{role_name} " + (f"does not allow {', '.join(missing)}: the agent on the host could not join "
                                        "the cluster" if missing else "does not trust ec2.amazonaws.com"))
    leaks = role_may(role_name, "s3:GetObject", PARCEL).allowed
    m.aspect(1, not leaks, "the instance role cannot read parcels: only the task that needs them can",
             "the instance role now allows s3:GetObject on the parcels bucket, so every task on this host can read "
             "it: put the application's permission on the task role", hidden=True, needs=first,
             about="what else the instance role allows", mistake="instance-role-reads-parcels")


@part("two-layers-2", A, "The task layer: the application's badge", 2,
      "ParcelAppTaskRole trusts ecs-tasks.amazonaws.com and allows s3:GetObject on arn:aws:s3:::parcels/*; it "
      "needs no ECS permission at all.", defaults=(APP,))
def task_layer(m, role_name=APP):
    role(role_name)
    trusted = may_assume("ecs-tasks.amazonaws.com", role_name).allowed
    first = m.aspect(1, trusted and role_may(role_name, "s3:GetObject", PARCEL).allowed,
                     f"{role_name} trusts ECS tasks and may read parcels",
                     f"{role_name} " + ("may not read parcels (s3:GetObject on arn:aws:s3:::parcels/*)" if trusted
                                        else "does not trust ecs-tasks.amazonaws.com"))
    agent = [a for a in AGENT_ACTIONS if role_may(role_name, a, _cluster_arn()).allowed]
    ec2 = may_assume("ec2.amazonaws.com", role_name).allowed
    m.aspect(1, not agent and not ec2, "the task role has nothing of the agent's and no instance can wear it",
             f"the task role {'also allows ' + ', '.join(agent) if agent else 'is trusted by ec2.amazonaws.com'}: "
             "the agent's permissions belong on the instance layer", hidden=True, needs=first,
             about="what else the task role allows, and who else may assume it")


@part("two-layers-3", A, "The host: an instance with the profile, joined to the cluster", 3,
      "Create the cluster 'community', the instance profile ContainerHostProfile holding ContainerHostRole, launch "
      "an instance with it, then let its agent join: grader.ecs_agent(aws, instance_id, 'community').register().",
      defaults=(PROFILE, HOST))
def host(m, profile_name=PROFILE, role_name=HOST):
    if not cluster_exists(CLUSTER):
        raise Missing(f"There is no cluster {CLUSTER!r} yet: ecs.create_cluster(clusterName={CLUSTER!r}).")
    profile = instance_profile(profile_name)
    instances = instances_with_profile(profile_name)
    holds = role_name in [r["RoleName"] for r in profile.get("Roles", [])]
    first = m.aspect(1, bool(instances) and holds,
                     f"instance {instances[0] if instances else ''} runs with {profile_name}, which holds {role_name}",
                     f"no running instance has {profile_name}" if not instances else
                     f"{profile_name} does not hold {role_name}")
    joined = [i for i in container_instances(CLUSTER) if i in instances]
    m.aspect(1, bool(joined), f"the host {joined[0] if joined else ''} has joined the cluster {CLUSTER}",
             f"no instance with {profile_name} is registered in {CLUSTER}: run its ECS agent's register()",
             needs=first)
    arn = caller_on_instance(instances[0]) if instances else ""
    m.aspect(1, f":assumed-role/{role_name}/" in arn, f"code on the host is {arn}",
             f"code on the host asked STS who it is and got: {arn}", hidden=True, needs=first,
             about="who code on the host is, by its credentials")


@part("two-layers-4", A, "The application: a task with its own badge, and only it reads parcels", 3,
      "Register the task definition 'parcel-app' with taskRoleArn=ParcelAppTaskRole's ARN and start it on the host "
      "(agent.start_task('parcel-app')). Then grader.in_task(task) can read parcels, and grader.on_instance("
      "instance_id) cannot.", defaults=(FAMILY, APP))
def application(m, family=FAMILY, role_name=APP):
    from grader import in_task, on_instance  # the served account's endpoints when a kernel is graded

    definition = task_definition(family)
    first = m.aspect(1, definition.get("taskRoleArn") == role_arn(role_name),
                     f"the task definition {family} names {role_name} as its task role",
                     f"the task definition {family} has taskRoleArn {definition.get('taskRoleArn') or '(none)'}")
    tasks = running_tasks(CLUSTER, family) if cluster_exists(CLUSTER) else []
    task_reads = False
    if tasks:
        try:
            task_reads = reads(in_task(tasks[0]["taskArn"]), "parcels", "porch/box-1.txt")
        except Exception:
            task_reads = False
    m.aspect(1, task_reads, "a running parcel-app task reads a parcel with its own credentials",
             "no running parcel-app task in the cluster community" if not tasks else
             "the running parcel-app task could not read parcels/porch/box-1.txt with its credentials", needs=first)
    hosts = [i for i in container_instances(CLUSTER) if i in instances_with_profile(PROFILE)] if tasks else []
    host_reads = True
    if hosts:
        try:
            host_reads = reads(on_instance(hosts[0]), "parcels", "porch/box-1.txt")
        except Exception:
            host_reads = False
    m.aspect(1, bool(hosts) and not host_reads, "the host itself cannot read parcels: the permission is on the task "
             "layer only", "the host could read parcels/porch/box-1.txt with the instance role's credentials, so "
             "every task on this host can read it" if hosts else "there is no host running the task",
             hidden=True, needs=first and task_reads, about="what the host itself may read")
