"""Badges: temporary credentials at AWS's addresses, the instance metadata service and the ECS credential endpoint.

On AWS, code running on an EC2 instance or in an ECS task never holds a long-lived key. The SDK's default
credential chain asks a link-local endpoint, which hands out temporary credentials for the role of the instance
profile (``http://169.254.169.254/latest/meta-data/iam/security-credentials/<role>``) or of the task
(``http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``). The sandbox answers both addresses inside the
process (``grader.aws.endpoints``: no server, no thread, no socket), so a chapter shows botocore's real providers at
work and a reader's own ``urllib.request`` or ``requests`` code reaches the same addresses.

The pieces, from the inside out:

* ``errors``: why a badge could not be handed out;
* ``mint``: a service principal takes a role, by IAM's one rule (``grader.gatehouse.authorize``), and STS
  records the session, with its expiry on the sandbox clock;
* ``places``: where code runs (``inside(instance_id_or_task)``);
* ``metadata``: the two link-local services of one account (IMDS, with tokens, hop limits and blocking; the
  container endpoint);
* ``sessions``: boto3 sessions "on an instance" and "in a task", through botocore's own credential chain;
* ``ecs_agent``: the ECS agent on an instance, wearing the instance role's badge.
"""

import importlib
from typing import Any

from grader.aws.endpoints import ECS_CREDENTIALS_ADDRESS as _ECS, IMDS_ADDRESS as _IMDS
from grader.aws.state import UnknownInstance
from grader.credentials.errors import (CredentialsError, InstanceMetadataBlocked, NoTaskRole, RoleNotFound,
                                       RoleNotTrusted, UnknownTask)
from grader.credentials.places import Place, here, inside

IMDS_URL = f"http://{_IMDS}/"
ECS_CREDENTIALS_URL = f"http://{_ECS}"

# The rest, loaded on first use: a graded kernel needs places and sessions, not the metadata service or minting.
_EXPORTS = {
    **dict.fromkeys(("MetadataService", "TaskRegistration", "find_task"), "metadata"),
    **dict.fromkeys(("BADGE_LIFETIME", "EC2_SERVICE", "ECS_TASKS_SERVICE", "launch_refusal", "mint_role_session",
                     "trust_decision"), "mint"),
    **dict.fromkeys(("admin_client", "block_awsvpc_task_metadata_access", "block_task_metadata_access",
                     "environment_for_instance", "environment_for_task", "execution_role_session", "in_task",
                     "metadata_service", "on_instance", "place_of", "session_from_environment", "task_registration",
                     "try_instance_metadata_from_task"), "sessions"),
}

__all__ = [
    "mint_role_session", "on_instance", "in_task", "environment_for_instance", "environment_for_task",
    "execution_role_session", "try_instance_metadata_from_task", "block_task_metadata_access", "admin_client",
    "block_awsvpc_task_metadata_access", "session_from_environment", "metadata_service", "task_registration",
    "inside", "here", "place_of", "Place", "IMDS_URL", "ECS_CREDENTIALS_URL", "MetadataService", "TaskRegistration",
    "find_task", "trust_decision", "launch_refusal",
    "CredentialsError", "RoleNotFound", "RoleNotTrusted", "UnknownInstance", "UnknownTask", "NoTaskRole",
    "InstanceMetadataBlocked", "EC2_SERVICE", "ECS_TASKS_SERVICE", "BADGE_LIFETIME",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"grader.credentials.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'grader.credentials' has no attribute {name!r}")
