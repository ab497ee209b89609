"""The account as a check sees it: read through boto3 with the administrator's credentials, and IAM's decisions.

Nothing here touches moto's internal objects, so a learner who patches moto (or this module's callers) in their own
kernel changes nothing a check reads from the account. Decisions come from the gatehouse, which evaluates the live
account; if the gatehouse is not installed in this build, they are evaluated here with ``grader.policy`` over the
same documents, read through boto3.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional
from urllib.parse import unquote

from grader import sandbox as _sandbox
from grader.checks import Missing

ACCOUNT = _sandbox.ACCOUNT_ID
SESSION = "grader-check"


def _aws():
    return _sandbox.current()


_clients: dict = {}


def client(service: str):
    """An administrator's client, made once per sandbox and service (making one costs more than a check)."""
    aws = _aws()
    key = (id(aws), service)
    if key not in _clients:
        _clients.clear() if len(_clients) > 32 else None
        _clients[key] = aws.client(service)
    return _clients[key]


def _document(value: Any) -> dict:
    if isinstance(value, str):
        value = json.loads(unquote(value))
    return value or {}


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session_arn(role_name: str) -> str:
    """Who a process wearing the role's badge is: an assumed-role session."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{SESSION}"


def role(name: str) -> dict:
    """The role (``get_role``), or :class:`Missing` naming the role."""
    iam = client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        raise Missing(f"There is no role {name!r} in the account yet: create it with iam.create_role(RoleName="
                      f"{name!r}, AssumeRolePolicyDocument=...).") from None


def role_exists(name: str) -> bool:
    try:
        role(name)
        return True
    except Missing:
        return False


def trust_policy(name: str) -> dict:
    return _document(role(name).get("AssumeRolePolicyDocument"))


def _policies_of(kind: str, name: str) -> list[tuple[str, dict]]:
    """Every identity-based policy of a role or user: (label, document), inline ones first, then managed ones."""
    iam = client("iam")
    entity = {"role": "Role", "user": "User"}[kind]
    key = {f"{entity}Name": name}
    out = []
    for policy_name in getattr(iam, f"list_{kind}_policies")(**key)["PolicyNames"]:
        doc = getattr(iam, f"get_{kind}_policy")(**key, PolicyName=policy_name)["PolicyDocument"]
        out.append((f"inline policy {policy_name!r} of {kind} {name}", _document(doc)))
    for attached in getattr(iam, f"list_attached_{kind}_policies")(**key)["AttachedPolicies"]:
        out.append((f"managed policy {attached['PolicyName']} attached to {kind} {name}",
                    managed_policy_document(attached["PolicyArn"])))
    return out


def role_policies(name: str) -> list[tuple[str, dict]]:
    """Every identity-based policy of the role: (label, document), inline ones first, then attached managed ones."""
    return _policies_of("role", name)


def user_policies(name: str) -> list[tuple[str, dict]]:
    return _policies_of("user", name)


_TRUST = re.compile(r"^trust policy of role (?P<role>[\w+=,.@-]+)$")
_INLINE = re.compile(r"^inline policy '(?P<policy>[^']+)' on role (?P<role>[\w+=,.@-]+)$")


def stored_statement(policy: str, index: int) -> Optional[dict]:
    """Statement ``index`` of the policy the gatehouse names ``policy`` ("trust policy of role R", "inline policy 'p'
    on role R"), as the account stores it; None for any other policy (an AWS-managed one is not a learner's)."""
    trust, inline = _TRUST.match(policy), _INLINE.match(policy)
    if trust:
        document = trust_policy(trust.group("role"))
    elif inline:
        document = _document(client("iam").get_role_policy(RoleName=inline.group("role"),
                                                           PolicyName=inline.group("policy"))["PolicyDocument"])
    else:
        return None
    listed = document.get("Statement")
    listed = listed if isinstance(listed, list) else [listed]
    return listed[index] if 0 <= index < len(listed) else None


def managed_policy_document(arn: str) -> dict:
    iam = client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return _document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])


def attached_policy_names(name: str) -> list[str]:
    return [p["PolicyName"] for p in client("iam").list_attached_role_policies(RoleName=name)["AttachedPolicies"]]


def bucket_policy(bucket: str) -> Optional[dict]:
    s3 = client("s3")
    try:
        return _document(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchBucketPolicy", "NoSuchBucket"):
            return None
        raise


def instance_profile(name: str) -> dict:
    iam = client("iam")
    try:
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except iam.exceptions.NoSuchEntityException:
        raise Missing(f"There is no instance profile {name!r} yet: create it with iam.create_instance_profile("
                      f"InstanceProfileName={name!r}) and put the role in it with "
                      "iam.add_role_to_instance_profile(...).") from None


# --------------------------------------------------------------------------------------------------------------
# Decisions


class Verdict:
    """What IAM decides for one request, as a check reads it: ``allowed``, ``outcome`` ("allow", "explicit-deny",
    "implicit-deny") and the reason."""

    def __init__(self, outcome: str, reason: str = ""):
        self.outcome = outcome
        self.reason = reason

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    @property
    def explicit_deny(self) -> bool:
        return self.outcome == "explicit-deny"

    def __repr__(self) -> str:
        return f"<Verdict {self.outcome}: {self.reason}>"


def verdict(principal: str, action: str, resource: str, context: Optional[dict] = None) -> Verdict:
    """IAM's decision on the live account, from the gatehouse's ``authorize()``: the rule every real call meets.

    ``principal`` is an ARN or a service principal (``ec2.amazonaws.com``, which has no identity-based policies,
    so only the resource's policy, for sts:AssumeRole the role's trust policy, can allow it).
    """
    from grader import gatehouse

    from grader.checks.diagnoses import note_decision

    try:
        answer = gatehouse.decide(principal, action, resource, context)
    except ValueError as error:  # no such user, role or session
        note_decision(principal, action, resource, Verdict("implicit-deny", str(error)))
        return Verdict("implicit-deny", str(error))
    note_decision(principal, action, resource, answer)  # for the class report: which statement decided, and why
    return Verdict(answer.outcome, str(answer.reason))


def role_may(role_name: str, action: str, resource: str, context: Optional[dict] = None) -> Verdict:
    """May a process wearing the role's badge do ``action`` on ``resource``?"""
    return verdict(session_arn(role_name), action, resource, context)


def may_assume(service_or_arn: str, role_name: str) -> Verdict:
    """May ``service_or_arn`` (``ec2.amazonaws.com``, a user ARN...) assume the role? Its trust policy decides."""
    return verdict(service_or_arn, "sts:AssumeRole", role_arn(role_name))


# --------------------------------------------------------------------------------------------------------------
# EC2 and ECS, as describe calls show them


def instances_with_profile(profile_name: str) -> list[str]:
    """Running (or pending) instances whose instance profile is ``profile_name``."""
    found = []
    for reservation in client("ec2").describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            arn = (instance.get("IamInstanceProfile") or {}).get("Arn", "")
            if arn.rsplit("/", 1)[-1] == profile_name and instance["State"]["Name"] in ("pending", "running"):
                found.append(instance["InstanceId"])
    return found


def cluster_exists(cluster: str) -> bool:
    clusters = client("ecs").describe_clusters(clusters=[cluster])["clusters"]
    return any(c.get("status") == "ACTIVE" for c in clusters)


def container_instances(cluster: str) -> list[str]:
    """The EC2 instance ids registered in the cluster."""
    ecs = client("ecs")
    arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    if not arns:
        return []
    described = ecs.describe_container_instances(cluster=cluster, containerInstances=arns)["containerInstances"]
    return [c["ec2InstanceId"] for c in described]


def task_definition(family: str) -> dict:
    ecs = client("ecs")
    try:
        return ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    except ecs.exceptions.ClientError:
        raise Missing(f"There is no task definition {family!r} yet: register it with "
                      f"ecs.register_task_definition(family={family!r}, taskRoleArn=..., containerDefinitions=[...])."
                      ) from None


def running_tasks(cluster: str, family: str) -> list[dict]:
    ecs = client("ecs")
    arns = ecs.list_tasks(cluster=cluster, family=family)["taskArns"]
    if not arns:
        return []
    return [t for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if t.get("lastStatus") != "STOPPED"]


# --------------------------------------------------------------------------------------------------------------
# Real calls with a badge: what code on the instance or in the task actually gets


def caller_on_instance(instance_id: str) -> str:
    """The ARN code on the instance is, from its metadata credentials; or why it has none."""
    import grader

    try:
        return grader.on_instance(instance_id).client("sts").get_caller_identity()["Arn"]
    except Exception as error:  # no badge is an answer, not a crash of the check
        return f"no credentials ({type(error).__name__}: {str(error)[:200]})"


def reads(session, bucket: str, key: str) -> bool:
    """Does a real s3:GetObject with this session succeed?"""
    try:
        session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return True
    except Exception:
        return False
