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


def _on_cluster(call: Call) -> dict:
    return {"ecs:cluster": _cluster_arn(call)}


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


def _rules() -> dict:
    """Roles handed to ECS (iam:PassRole), and the listings AWS authorises otherwise than the reference writes."""
    rules = {}
    rules["RegisterTaskDefinition"] = Rule("ecs:RegisterTaskDefinition", also=_pass_registered_roles)
    rules["RunTask"] = Rule("ecs:RunTask", _task_definition, context=_on_cluster, also=_pass_task_roles)
    rules["StartTask"] = Rule("ecs:StartTask", _task_definition, also=_pass_task_roles, context=lambda call: {
        "ecs:cluster": _cluster_arn(call),
        "ecs:container-instances": [arn_or(i, _BASE + "container-instance/{cluster}/{name}", call,
                                           cluster=_cluster_name(call))
                                    for i in as_list(call.param("containerInstances"))]})
    # The Service Authorization Reference puts ListTasks on container instances; in practice AWS authorises it
    # on "*" narrowed by ecs:cluster, which is what policies for it are written against.
    rules["ListTasks"] = Rule("ecs:ListTasks", None, context=_on_cluster)
    rules["ListServices"] = Rule("ecs:ListServices", _cluster)
    return rules


def _family(call: Call):
    reference = call.param("taskDefinition") or call.param("familyPrefix") or call.param("family")
    if not reference:
        return None
    return reference if reference.startswith("arn:") else reference.split(":", 1)[0]


def _revision(call: Call):
    reference = call.param("taskDefinition") or ""
    return reference.split(":", 1)[1] if ":" in reference and not reference.startswith("arn:") else None


TABLE = ServiceTable(signing_name="ecs", model_name="ecs", prefix="ecs", rules=_rules(),
                     denied_code="AccessDeniedException",
                     # ECS names resources by name, id or ARN, in parameters named after the kind of resource.
                     variables={"ClusterName": lambda call: [c.rsplit("/", 1)[-1] for c in as_list(call.param("clusters"))]
                                or _cluster_name(call),
                                "ContainerInstanceId": lambda call: call.param("containerInstance")
                                or call.param("containerInstances"),
                                "TaskId": lambda call: call.param("task") or call.param("tasks"),
                                "ServiceName": lambda call: call.param("service") or call.param("services")
                                or call.param("serviceName"),
                                "CapacityProviderName": lambda call: call.param("name")
                                or call.param("capacityProvider") or call.param("capacityProviders"),
                                "TaskDefinitionFamilyName": _family,
                                "TaskDefinitionRevisionNumber": _revision},
                     condition_keys={"ecs:cluster": lambda call: _cluster_arn(call)})
