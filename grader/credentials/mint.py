"""Minting badges: a service principal takes a role, by IAM's one rule, and STS records the session.

``mint_role_session`` asks ``authorize()`` (the rule every call meets) whether the role's trust policy lets the service
(``ec2.amazonaws.com`` or ``ecs-tasks.amazonaws.com``) call sts:AssumeRole, then records the session in moto's STS
state, where the gatehouse finds it as ``arn:aws:sts::<account>:assumed-role/<role>/<session>``. Its expiry is set
on the sandbox clock. ``task_role_refusal`` is the same question for ECS launching a task.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Optional

from grader.aws import state as aws
from grader.credentials.errors import CredentialsError, RoleNotFound, RoleNotTrusted
from grader.gatehouse.rule import authorize
from grader.gatehouse.identity import service_identity
from grader.gatehouse.services import Check, ResourcePolicy

__all__ = ["mint_role_session", "trust_decision", "find_role", "launch_refusal", "unassumable_role",
           "task_role_refusal", "CredentialsError", "RoleNotFound", "RoleNotTrusted", "EC2_SERVICE",
           "ECS_TASKS_SERVICE", "BADGE_LIFETIME"]

EC2_SERVICE = "ec2.amazonaws.com"


ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


BADGE_LIFETIME = _dt.timedelta(hours=1)


ROTATE_BEFORE = _dt.timedelta(minutes=15)




def find_role(sandbox: Any, role_arn: str):
    """moto's role ``role_arn``, or ``RoleNotFound`` saying how to find the right ARN."""
    role = aws.find_role(sandbox.account_id, role_arn)
    if role is None:
        raise RoleNotFound(
            f"There is no role {role_arn!r} in the sandbox account, so no credentials can be made for it. "
            "Check the ARN (iam.get_role(RoleName=...)['Role']['Arn'] gives the exact one)."
        )
    return role


def _service_word(principal_service: str) -> str:
    return {EC2_SERVICE: "EC2", ECS_TASKS_SERVICE: "ECS"}.get(principal_service, principal_service)


def trust_decision(sandbox: Any, role: Any, principal_service: str, context: Optional[dict] = None):
    """IAM's answer, by the one rule (``authorize``), to: may ``principal_service`` call sts:AssumeRole on ``role``?

    A service principal holds no identity-based policy: only the role's trust policy can let it in.
    """
    trust = ResourcePolicy(role.assume_role_policy_document, None)
    return authorize(service_identity(principal_service, sandbox.account_id),
                     Check("sts:AssumeRole", role.arn, {}, trust), dict(context or {}))


def mint_role_session(sandbox: Any, role_arn: str, session_name: str, principal_service: str,
                      duration_seconds: int = int(BADGE_LIFETIME.total_seconds()),
                      context: Optional[dict] = None, instance_id: Optional[str] = None) -> dict:
    """Temporary credentials for ``role_arn``, assumed by ``principal_service`` under ``session_name``.

    ``instance_id`` names the instance whose metadata service hands the credentials out: AWS records where an EC2
    role credential was issued, and every request made with it carries that instance's VPC and primary private
    IPv4 address (``aws:Ec2InstanceSourceVpc``, ``aws:Ec2InstanceSourcePrivateIPv4``).

    Returns ``{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`` (Expiration an aware UTC datetime on the
    sandbox clock), or raises ``RoleNotFound`` / ``RoleNotTrusted`` with the reason in plain words.
    """
    role = find_role(sandbox, role_arn)
    decision = trust_decision(sandbox, role, principal_service, context)
    if not decision.allowed:
        raise RoleNotTrusted(
            f"{_service_word(principal_service)} cannot assume the role {role.name}: its trust policy does not let "
            f"the service principal {principal_service} call sts:AssumeRole ({decision.reason}). Add a statement "
            f'with "Principal": {{"Service": "{principal_service}"}} and "Action": "sts:AssumeRole" to the '
            "role's trust policy (iam.update_assume_role_policy).",
            decision,
        )
    assumed = aws.sts(sandbox.account_id).assume_role(
        region_name=sandbox.region, role_session_name=session_name, role_arn=role.arn,
        policy=None, duration=duration_seconds, external_id=None,
    )
    # The session is issued on the sandbox clock (grader.aws.fixes.iam), which its expiry and aws:TokenIssueTime read.
    issued = assumed.issued
    expiration = issued + _dt.timedelta(seconds=duration_seconds)
    if instance_id is not None:
        assumed.ec2_source = aws.instance_network(sandbox, instance_id)
    return {
        "AccessKeyId": assumed.access_key_id,
        "SecretAccessKey": assumed.secret_access_key,
        "Token": assumed.session_token,
        "Expiration": expiration,
        "LastUpdated": issued,
        "RoleArn": role.arn,
    }


def launch_refusal(role_arn: str) -> str:
    """ECS's words when it cannot assume a task's role: RunTask and StartTask answer ClientException with them."""
    return (f"ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the "
            "role being passed has the proper trust relationship and permissions and that your IAM user has "
            "permissions to pass this role.")


def unassumable_role(sandbox: Any, task_definition: str, overrides: Optional[Mapping],
                     task_arn: Optional[str] = None) -> Optional[str]:
    """The ARN of the first role of a task (task role, then execution role) that ECS cannot assume, or None.

    ECS assumes them as ``ecs-tasks.amazonaws.com`` on behalf of the task ``task_arn``, with ``aws:SourceAccount``
    and ``aws:SourceArn`` in the request (the keys AWS's task role page puts in the trust policy against the
    confused deputy): a role that does not exist, or whose trust policy does not let that service call
    sts:AssumeRole for that task, stops the launch.
    """
    definition = aws.task_definition(sandbox.account_id, sandbox.region, task_definition)
    overrides = overrides or {}
    for role_arn in (overrides.get("taskRoleArn") or getattr(definition, "task_role_arn", None),
                     overrides.get("executionRoleArn") or getattr(definition, "execution_role_arn", None)):
        if not role_arn:
            continue
        try:
            role = find_role(sandbox, role_arn)
        except RoleNotFound:
            return role_arn
        context = {"aws:SourceAccount": sandbox.account_id}
        if task_arn:
            context["aws:SourceArn"] = task_arn
        if not trust_decision(sandbox, role, ECS_TASKS_SERVICE, context).allowed:
            return role_arn
    return None


def task_role_refusal(sandbox: Any, task_definition: str, overrides: Optional[Mapping],
                      task_arn: Optional[str] = None) -> Optional[str]:
    """ECS's words refusing to launch the task, or None when ECS may assume each of its roles (the account's hook)."""
    role_arn = unassumable_role(sandbox, task_definition, overrides, task_arn)
    return None if role_arn is None else launch_refusal(role_arn)
