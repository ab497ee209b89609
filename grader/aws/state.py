"""moto's state, read: one accessor per backend, and the lookups the engine makes in them.

The layers above never import moto: what they need of its state (a role, a session, an instance and its profile,
a task and its definition, a bucket's policy) they ask here, by account and region.
"""

from __future__ import annotations

from typing import Any, Optional

from grader.errors import GatedCommunityError

__all__ = ["iam", "sts", "s3", "ec2", "ecs", "ecr", "find_instance", "instance_profile_of", "role_of", "is_running",
           "metadata_options_of", "instance_network", "find_role", "role_by_arn", "managed_document", "UnknownInstance"]


# --------------------------------------------------------------------------------------------------------------
# The backends


def iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def sts(account: str):
    from moto.sts.models import sts_backends

    return sts_backends[account]["aws"]


def s3(account: str):
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def ec2(account: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def ecs(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def ecr(account: str, region: str):
    from moto.ecr.models import ecr_backends

    return ecr_backends[account][region]


# --------------------------------------------------------------------------------------------------------------
# IAM


def role_by_arn(account: str, arn: str) -> Any:
    """moto's role with ARN ``arn``, or None."""
    for role in iam(account).roles.values():
        if role.arn == arn:
            return role
    return None


def find_role(account: str, role_arn: str) -> Any:
    """moto's role with ARN ``role_arn`` as IAM's GetRole finds it, or None."""
    from moto.iam.exceptions import NotFoundException

    try:
        return iam(account).get_role_by_arn(role_arn)
    except NotFoundException:
        return None


def managed_document(policy: Any) -> Optional[str]:
    """The default version's document of a managed policy."""
    for version in getattr(policy, "versions", []):
        if version.is_default:
            return version.document
    return None



# --------------------------------------------------------------------------------------------------------------
# EC2


class UnknownInstance(GatedCommunityError):
    """The sandbox has no EC2 instance with this id."""


# --------------------------------------------------------------------------------------------------------------
# Lookups


def _ec2_backend(sandbox: Any):
    return ec2(sandbox.account_id, sandbox.region)


def find_instance(sandbox: Any, instance_id: str):
    """moto's instance ``instance_id``, or :class:`UnknownInstance` with a message that says what to check."""
    backend = _ec2_backend(sandbox)
    for reservation in backend.reservations.values():
        for instance in reservation.instances:
            if instance.id == instance_id:
                return instance
    raise UnknownInstance(
        f"There is no EC2 instance {instance_id!r} in the sandbox account. Launch one with "
        "ec2.run_instances(...) and use the InstanceId it returns (ec2.describe_instances() lists them all)."
    )


def instance_profile_of(sandbox: Any, instance_id: str):
    """The instance profile attached to the instance now (moto's object), or None."""
    association = _ec2_backend(sandbox).iam_instance_profile_associations.get(instance_id)
    return association.iam_instance_profile if association is not None else None


def role_of(instance_profile: Any):
    """The role in an instance profile (there is at most one), or None for an empty profile."""
    if instance_profile is None or not instance_profile.roles:
        return None
    return instance_profile.roles[0]


def metadata_options_of(instance: Any) -> dict:
    """The instance's metadata options, as DescribeInstances shows them."""
    options = instance.metadata_options
    return {"HttpTokens": options.http_tokens or "optional",
            "HttpPutResponseHopLimit": int(options.http_put_response_hop_limit or 1),
            "HttpEndpoint": options.http_endpoint or "enabled"}


def instance_network(sandbox: Any, instance_id: str) -> tuple:
    """(VPC id, primary private IPv4 address) of the instance, as DescribeInstances shows them."""
    instance = find_instance(sandbox, instance_id)
    return instance.vpc_id, instance.private_ip


def is_running(instance: Any) -> bool:
    return instance._state.name in ("pending", "running")


# --------------------------------------------------------------------------------------------------------------
# ECS


def task_definition(account: str, region: str, reference: str) -> Any:
    """moto's task definition for an ARN or family[:revision]; raises moto's error when there is none."""
    return ecs(account, region).describe_task_definition(reference)


def tasks_of_container_instance(account: str, region: str, container_instance_arn: Optional[str]) -> list:
    """The tasks on a container instance that are not stopped."""
    backend = ecs(account, region)
    return [t for tasks in backend.tasks.values() for t in tasks.values()
            if t.container_instance_arn == container_instance_arn and t.desired_status != "STOPPED"]
