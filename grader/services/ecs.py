"""ECS's operations as ECS authorises them: clusters, container instances, tasks and task definitions by ARN.

Container-agent calls (``RegisterContainerInstance``, ``SubmitTaskStateChange``...) are authorised on the cluster,
as the container instance role's managed policy expects; ``DiscoverPollEndpoint`` on ``*``. Calls about a task or a
container instance carry ``ecs:cluster``. A task role or task execution role is handed to ECS by
``RegisterTaskDefinition`` and again by ``RunTask``/``StartTask`` (the definition's roles and any override): each needs
``iam:PassRole`` with ``iam:PassedToService`` = ``ecs-tasks.amazonaws.com``.
"""

from __future__ import annotations

from . import Call, Check, Rule, ServiceTable, arn_or, as_list

_BASE = "arn:{partition}:ecs:{region}:{account}:"


def _cluster_name(call: Call) -> str:
    cluster = call.param("cluster", "default")
    return cluster.rsplit("/", 1)[-1] if cluster.startswith("arn:") else cluster


def _cluster_arn(call: Call) -> str:
    return arn_or(call.param("cluster", "default"), _BASE + "cluster/{name}", call)


def _cluster(call: Call) -> list:
    return [_cluster_arn(call)]


def _clusters(call: Call) -> list:
    names = as_list(call.param("clusters")) or ["default"]
    return [arn_or(name, _BASE + "cluster/{name}", call) for name in names]


def _on_cluster(call: Call) -> dict:
    return {"ecs:cluster": _cluster_arn(call)}


def _in_cluster(kind: str, param: str):
    """Container instances and tasks are named by id or ARN; their ARNs carry the cluster's name."""

    def resources(call: Call) -> list:
        ids = as_list(call.param(param)) or ["*"]
        template = _BASE + kind + "/{cluster}/{name}"
        return [arn_or(i, template, call, cluster=_cluster_name(call)) for i in ids]

    return resources


def _task_definition(call: Call) -> list:
    reference = call.param("taskDefinition", "*")
    return [call.state.task_definition_arn(reference, call)]


def _pass_roles(call: Call, role_arns) -> list:
    return [Check("iam:PassRole", arn, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
            for arn in dict.fromkeys(a for a in role_arns if a)]


def _pass_registered_roles(call: Call) -> list:
    return _pass_roles(call, [call.param("taskRoleArn"), call.param("executionRoleArn")])


def _pass_task_roles(call: Call) -> list:
    roles = list(call.state.task_definition_roles(call.param("taskDefinition", ""), call))
    overrides = call.param("overrides") or {}
    roles += [overrides.get("taskRoleArn"), overrides.get("executionRoleArn")]
    return _pass_roles(call, roles)


def _services(call: Call) -> list:
    names = as_list(call.param("services")) or as_list(call.param("service")) or \
        as_list(call.param("serviceName")) or ["*"]
    return [arn_or(n, _BASE + "service/{cluster}/{name}", call, cluster=_cluster_name(call)) for n in names]


def _tagged(call: Call) -> list:
    return [call.param("resourceArn", "*")]


def _rules() -> dict:
    rules = {}

    def add(operations, resources, **kw):
        for operation in operations.split():
            rules[operation] = Rule(f"ecs:{operation}", resources, **kw)

    add("CreateCluster ListClusters DiscoverPollEndpoint RegisterTaskDefinition DeregisterTaskDefinition "
        "DescribeTaskDefinition ListTaskDefinitions ListTaskDefinitionFamilies ListAccountSettings "
        "PutAccountSetting CreateCapacityProvider DescribeCapacityProviders", None)
    rules["RegisterTaskDefinition"] = Rule("ecs:RegisterTaskDefinition", also=_pass_registered_roles)
    add("DeleteCluster UpdateCluster UpdateClusterSettings PutClusterCapacityProviders RegisterContainerInstance "
        "DeregisterContainerInstance ListContainerInstances SubmitTaskStateChange SubmitContainerStateChange "
        "SubmitAttachmentStateChanges ListServices", _cluster)
    add("DescribeClusters", _clusters)
    add("DescribeContainerInstances UpdateContainerAgent UpdateContainerInstancesState PutAttributes "
        "DeleteAttributes", _in_cluster("container-instance", "containerInstances"), context=_on_cluster)
    rules["UpdateContainerAgent"] = Rule("ecs:UpdateContainerAgent", _in_cluster("container-instance",
                                         "containerInstance"), context=_on_cluster)
    add("RunTask", _task_definition, context=_on_cluster, also=_pass_task_roles)
    rules["StartTask"] = Rule("ecs:StartTask", _task_definition, also=_pass_task_roles, context=lambda call: {
        "ecs:cluster": _cluster_arn(call),
        "ecs:container-instances": [arn_or(i, _BASE + "container-instance/{cluster}/{name}", call,
                                           cluster=_cluster_name(call))
                                    for i in as_list(call.param("containerInstances"))]})
    add("DescribeTasks", _in_cluster("task", "tasks"), context=_on_cluster)
    add("StopTask", _in_cluster("task", "task"), context=_on_cluster)
    # The Service Authorization Reference puts ListTasks on container instances; in practice AWS authorises it
    # on "*" narrowed by ecs:cluster, which is what policies for it are written against.
    add("ListTasks", None, context=_on_cluster)
    add("CreateService UpdateService DeleteService DescribeServices", _services, context=_on_cluster)
    add("TagResource UntagResource ListTagsForResource", _tagged)
    return rules


TABLE = ServiceTable(signing_name="ecs", model_name="ecs", prefix="ecs", rules=_rules(),
                     denied_code="AccessDeniedException")
