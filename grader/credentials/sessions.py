"""Sessions "on an instance" and "in a task": botocore's own credential chain, asking the link-local endpoints.

A chapter shows botocore's real providers at work (``session.get_credentials().method`` is ``"iam-role"`` or
``"container-role"``): a session made here reads only the environment a process at that place would have, and its
providers ask 169.254.169.254 and 169.254.170.2 from that place, on the sandbox clock.

Tasks and the instance metadata, as on AWS: a task on an EC2 instance reaches the instance's metadata service by
default, and with it the instance role's credentials: a task without a task role gets those from botocore's chain.
AWS documents three ways to stop it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html):
an iptables rule that drops traffic from ``docker+`` to 169.254.169.254 for ``bridge`` tasks
(``block_task_metadata_access``), ``ECS_AWSVPC_BLOCK_IMDS=true`` in the agent's configuration for ``awsvpc`` tasks
(``block_awsvpc_task_metadata_access``), and IMDSv2 required with a hop limit of 1. Tasks in ``host`` mode use the
instance's own network, which none of these covers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import boto3

from grader import account
from grader.aws import chain, endpoints
from grader.aws.names import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from grader.aws.state import find_instance
from grader.credentials.errors import InstanceMetadataBlocked, NoTaskRole
from grader.credentials.places import Place, at as _at

if TYPE_CHECKING:  # the metadata service is the account's, reached through it
    from grader.credentials.metadata import TaskRegistration

__all__ = ["session_from_environment", "admin_client", "environment_for_instance", "environment_for_task",
           "on_instance", "in_task", "task_registration", "try_instance_metadata_from_task",
           "block_task_metadata_access", "block_awsvpc_task_metadata_access", "execution_role_session",
           "metadata_service"]


def metadata_service(sandbox: Any = None):
    """The metadata service of the account (``sandbox``, or the running one), where the account lives here."""
    return (sandbox or account.current()).metadata_service()


def place_of(where: Union[str, Mapping, Place], sandbox: Any = None) -> Place:
    """The place an instance id, a task ARN or a task dict names, in an account that lives in this process."""
    if isinstance(where, Place):
        return where
    service = metadata_service(sandbox)
    if isinstance(where, str) and where.startswith("i-"):
        find_instance(service.sandbox, where)
        return Place(instance_id=where)
    registration = service.register_task(where)
    return Place(instance_id=registration.instance_id, task_arn=registration.task_arn)

def session_from_environment(environ: Mapping[str, str], place: Optional[Place] = None) -> boto3.Session:
    """A boto3 session as a process with exactly ``environ`` would make it at ``place``: botocore's default chain."""
    return chain.session_from_environment(environ, lambda function: _at(place, function))


def admin_client(service_name: str, *, sandbox: Any = None):
    """An administrator's client (the scheduler's, the agent's scaffolding) that reuses the shared service models."""
    box = sandbox or account.current()
    core = chain.botocore_session()
    core.set_credentials(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY)
    return boto3.Session(botocore_session=core, region_name=box.region).client(service_name)


def _region_environment(sandbox: Any) -> dict:
    return {"AWS_REGION": sandbox.region, "AWS_DEFAULT_REGION": sandbox.region}


def environment_for_instance(instance_id: str, *, sandbox: Any = None) -> dict:
    """The AWS variables a process on the instance sees: none but the region (IMDS is at AWS's default address)."""
    service = metadata_service(sandbox)
    find_instance(service.sandbox, instance_id)
    return _region_environment(service.sandbox)


def on_instance(instance_id: str, *, sandbox: Any = None) -> boto3.Session:
    """A boto3 session for code running on the EC2 instance: its credentials come from the instance metadata."""
    return session_from_environment(environment_for_instance(instance_id, sandbox=sandbox),
                                    place_of(instance_id, sandbox))


def task_registration(task: Union[str, Mapping], *, sandbox: Any = None) -> TaskRegistration:
    return metadata_service(sandbox).register_task(task)


def environment_for_task(task: Union[str, Mapping], *, sandbox: Any = None) -> dict:
    """The AWS variables the ECS agent gives the task's containers.

    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is there only when the task has a task role, as with ECS
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html); the SDK asks
    ``http://169.254.170.2`` followed by it.
    """
    service = metadata_service(sandbox)
    registration = service.register_task(task)
    environ = _region_environment(service.sandbox)
    if registration.task_role_arn:
        environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = f"/v2/credentials/{registration.credentials_id}"
    return environ


def in_task(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """A boto3 session for code running in the ECS task: the container endpoint first, then the instance metadata."""
    return session_from_environment(environment_for_task(task, sandbox=sandbox), place_of(task, sandbox))


def try_instance_metadata_from_task(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """What code in the task gets if it asks the instance metadata service directly, skipping its own endpoint.

    Returns a session holding the instance role's credentials when the path is open (AWS's default); raises
    InstanceMetadataBlocked when the instance blocks its containers, or the task has no instance.
    """
    place = place_of(task, sandbox)
    environ = environment_for_task(task, sandbox=sandbox)
    environ.pop("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", None)
    session = session_from_environment(environ, place)
    if session.get_credentials() is None:
        service = metadata_service(sandbox)
        refusal = _at(place, service.route)(endpoints.IMDS_ADDRESS)
        registration = task_registration(task, sandbox=sandbox)
        why = refusal.reason.removeprefix("timed out: ") if refusal else (
            "its IMDSv2 token never arrived and the instance requires one (HttpTokens required)")
        raise InstanceMetadataBlocked(
            f"Task {registration.task_id} got no credentials from the instance metadata service: {why}. "
            "That is the protection AWS recommends, so that a container holds only its own task role."
        )
    return session


def block_task_metadata_access(instance_id: str, blocked: bool = True, *, sandbox: Any = None) -> None:
    """Drop (or stop dropping) traffic from the instance's bridge-mode containers to 169.254.169.254.

    The iptables rule AWS documents for tasks in bridge mode: ``iptables --insert DOCKER-USER 1 --in-interface
    docker+ --destination 169.254.169.254/32 --jump DROP``.
    """
    metadata_service(sandbox).set_block_task_metadata_access(instance_id, blocked)


def block_awsvpc_task_metadata_access(instance_id: str, blocked: bool = True, *, sandbox: Any = None) -> None:
    """Set ``ECS_AWSVPC_BLOCK_IMDS=true`` (or false) in the ECS agent's configuration on the instance."""
    metadata_service(sandbox).set_block_awsvpc_task_metadata_access(instance_id, blocked)


def execution_role_session(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """The ECS agent's session for the task's execution role: image pulls and log delivery, never the app's.

    Raises NoTaskRole when the task definition has no executionRoleArn, and RoleNotTrusted / RoleNotFound when ECS
    could not assume it.
    """
    service = metadata_service(sandbox)
    registration = service.register_task(task)
    if registration.execution_role_arn is None:
        raise NoTaskRole(
            f"Task {registration.task_id} has no execution role: its task definition sets no executionRoleArn, so "
            "the ECS agent has no credentials of the task's own to pull private images or send logs with."
        )
    service.task_badge(registration, role_arn=registration.execution_role_arn)  # refuse now, not on first call
    return chain.minting_session(lambda: service.task_badge(registration, role_arn=registration.execution_role_arn),
                                 service.sandbox.region)