"""Delivery of temporary credentials at AWS's addresses: the instance metadata service and the ECS credential endpoint.

On AWS, code running on an EC2 instance or in an ECS task never holds a long-lived key. The SDK's default
credential chain asks a link-local endpoint, which hands out temporary credentials for the role of the instance
profile (``http://169.254.169.254/latest/meta-data/iam/security-credentials/<role>``) or of the task
(``http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``). The sandbox answers both addresses inside the
process (``grader.aws.endpoints``: no server, no thread, no socket), so a chapter shows botocore's real providers at
work (``session.get_credentials().method`` is ``"iam-role"`` or ``"container-role"``) and a reader's own
``urllib.request`` or ``requests`` code reaches the same addresses.

The pieces, from the inside out:

``mint_role_session``
    Asks the policy engine whether the role's trust policy lets the service (``ec2.amazonaws.com`` or
    ``ecs-tasks.amazonaws.com``) assume it, then records the session in moto's STS backend, where the gatehouse
    finds it as ``arn:aws:sts::<account>:assumed-role/<role>/<session>``. Its expiry is set on the sandbox clock.

``MetadataService``
    Both endpoints as AWS runs them. IMDS honours the instance's metadata options as ``DescribeInstances`` shows
    them and ``ModifyInstanceMetadataOptions`` changes them: ``HttpTokens`` ``optional`` serves IMDSv1 (no token)
    and IMDSv2, ``required`` answers a request without a token with 401; the token's reply travels at most
    ``HttpPutResponseHopLimit`` hops (AWS's default is 1), and a container in ``bridge`` or ``awsvpc`` mode is one
    hop further away than the instance, so with a limit of 1 its token never arrives.

Where code runs: ``inside(instance_id_or_task)``
    One process plays every instance and task, so the sandbox keeps track of where a piece of code "runs": sessions
    made by ``on_instance`` and ``in_task`` carry their place, and ``with inside(...):`` puts a reader's own code
    there. Outside any place, nothing answers at the link-local addresses, as on a laptop.

Tasks and the instance metadata, as on AWS
    A task on an EC2 instance reaches the instance's metadata service by default, and with it the instance role's
    credentials: a task without a task role gets those from botocore's chain. AWS documents three ways to stop it
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html): an iptables rule that drops
    traffic from ``docker+`` to 169.254.169.254 for ``bridge`` tasks (``block_task_metadata_access``),
    ``ECS_AWSVPC_BLOCK_IMDS=true`` in the agent's configuration for ``awsvpc`` tasks
    (``block_awsvpc_task_metadata_access``), and IMDSv2 required with a hop limit of 1. Tasks in ``host`` mode use
    the instance's own network, which none of these covers.

Badges live for one hour (``BADGE_LIFETIME``; AWS's are typically six), so ``sandbox.clock.advance(hours=2)``
shows an expired badge refused and botocore fetching a new one. An endpoint hands out the same badge until
fifteen minutes before it expires, the window in which botocore refreshes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import contextlib
import contextvars
import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

import boto3
import botocore.credentials
import botocore.loaders
import botocore.session
import botocore.utils

from grader import sandbox as _sandbox
from grader.aws import endpoints, patches
from grader.errors import GatedCommunityError
from grader.instances import (
    UnknownInstance, find_instance, instance_profile_of, is_running, metadata_options_of, role_of,
)

EC2_SERVICE = "ec2.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
BADGE_LIFETIME = _dt.timedelta(hours=1)
ROTATE_BEFORE = _dt.timedelta(minutes=15)
MAX_TOKEN_TTL = 21600
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ROLE_DOCS = "http://docs.aws.amazon.com/IAM/latest/UserGuide/RolesTroubleshooting.html"
IMDS_URL = f"http://{endpoints.IMDS_ADDRESS}/"
ECS_CREDENTIALS_URL = f"http://{endpoints.ECS_CREDENTIALS_ADDRESS}"

__all__ = [
    "mint_role_session", "on_instance", "in_task", "environment_for_instance", "environment_for_task",
    "execution_role_session", "try_instance_metadata_from_task", "block_task_metadata_access", "admin_client",
    "block_awsvpc_task_metadata_access", "session_from_environment", "metadata_service", "task_registration",
    "inside", "Place", "IMDS_URL", "ECS_CREDENTIALS_URL",
    "CredentialsError", "RoleNotFound", "RoleNotTrusted", "UnknownInstance", "UnknownTask", "NoTaskRole",
    "InstanceMetadataBlocked", "EC2_SERVICE", "ECS_TASKS_SERVICE", "BADGE_LIFETIME",
]


# --------------------------------------------------------------------------------------------------------------
# Errors


class CredentialsError(GatedCommunityError):
    """A badge could not be handed out."""


class RoleNotFound(CredentialsError):
    pass


class RoleNotTrusted(CredentialsError):
    """The role's trust policy does not let the service assume it. ``decision`` is the policy engine's answer."""

    def __init__(self, message: str, decision: Any = None):
        super().__init__(message)
        self.decision = decision


class UnknownTask(CredentialsError):
    pass


class NoTaskRole(CredentialsError):
    pass


class InstanceMetadataBlocked(CredentialsError):
    pass


# --------------------------------------------------------------------------------------------------------------
# Minting


def _iam_backend(sandbox: Any):
    from moto.iam.models import iam_backends

    return iam_backends[sandbox.account_id]["aws"]


def _find_role(sandbox: Any, role_arn: str):
    from moto.iam.exceptions import NotFoundException

    try:
        return _iam_backend(sandbox).get_role_by_arn(role_arn)
    except NotFoundException:
        raise RoleNotFound(
            f"There is no role {role_arn!r} in the sandbox account, so no credentials can be made for it. "
            "Check the ARN (iam.get_role(RoleName=...)['Role']['Arn'] gives the exact one)."
        ) from None


def _service_word(principal_service: str) -> str:
    return {EC2_SERVICE: "EC2", ECS_TASKS_SERVICE: "ECS"}.get(principal_service, principal_service)


def trust_decision(sandbox: Any, role: Any, principal_service: str, context: Optional[dict] = None):
    """The policy engine's answer to: may ``principal_service`` call sts:AssumeRole on ``role``?"""
    from grader.policy import Request, evaluate

    request = Request(principal_service, "sts:AssumeRole", role.arn, dict(context or {}))
    return evaluate(request, resource_policy=role.assume_role_policy_document, account=sandbox.account_id)


def mint_role_session(sandbox: Any, role_arn: str, session_name: str, principal_service: str,
                      duration_seconds: int = int(BADGE_LIFETIME.total_seconds()),
                      context: Optional[dict] = None) -> dict:
    """Temporary credentials for ``role_arn``, assumed by ``principal_service`` under ``session_name``.

    Returns ``{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`` (Expiration an aware UTC datetime on the
    sandbox clock), or raises ``RoleNotFound`` / ``RoleNotTrusted`` with the reason in plain words.
    """
    from moto.sts.models import sts_backends

    role = _find_role(sandbox, role_arn)
    decision = trust_decision(sandbox, role, principal_service, context)
    if not decision.allowed:
        raise RoleNotTrusted(
            f"{_service_word(principal_service)} cannot assume the role {role.name}: its trust policy does not let "
            f"the service principal {principal_service} call sts:AssumeRole ({decision.reason}). Add a statement "
            f'with "Principal": {{"Service": "{principal_service}"}} and "Action": "sts:AssumeRole" to the '
            "role's trust policy (iam.update_assume_role_policy).",
            decision,
        )
    assumed = sts_backends[sandbox.account_id]["aws"].assume_role(
        region_name=sandbox.region, role_session_name=session_name, role_arn=role.arn,
        policy=None, duration=duration_seconds, external_id=None,
    )
    issued = sandbox.clock.now().replace(microsecond=0)
    expiration = issued + _dt.timedelta(seconds=duration_seconds)
    # moto stamps the session with the machine's time (naive UTC); the gatehouse checks it on the sandbox clock.
    assumed.expiration = expiration.astimezone(_dt.timezone.utc).replace(tzinfo=None)
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


def _stamp(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime(_TIME_FORMAT)


# --------------------------------------------------------------------------------------------------------------
# Tasks, as the endpoints know them


@dataclass
class TaskRegistration:
    """What the ECS agent knows of a task it started: where its credentials are served and for which roles."""

    task_arn: str
    task_id: str
    cluster: str
    credentials_id: str
    instance_id: Optional[str]
    network_mode: str
    task_role_arn: Optional[str]
    execution_role_arn: Optional[str]


def _ecs_backend(sandbox: Any):
    from moto.ecs.models import ecs_backends

    return ecs_backends[sandbox.account_id][sandbox.region]


def _task_arn_of(task: Union[str, Mapping]) -> str:
    if isinstance(task, Mapping):
        if "taskArn" in task:
            return task["taskArn"]
        if "tasks" in task and task["tasks"]:
            return task["tasks"][0]["taskArn"]
        raise UnknownTask(f"Pass a task ARN or a task as ECS describes it (with 'taskArn'), not {dict(task)!r}.")
    return task


def find_task(sandbox: Any, task: Union[str, Mapping]):
    """moto's task for an ARN, an id, or a task dict from run_task/start_task/describe_tasks."""
    wanted = _task_arn_of(task)
    for tasks in _ecs_backend(sandbox).tasks.values():
        for arn, found in tasks.items():
            if arn == wanted or arn.split("/")[-1] == wanted:
                return found
    raise UnknownTask(
        f"There is no ECS task {wanted!r} in the sandbox account. Use the taskArn that run_task or start_task "
        "returned (ecs.list_tasks(cluster=...) lists the tasks of a cluster)."
    )


def _instance_of_task(sandbox: Any, task: Any) -> Optional[str]:
    arn = task.container_instance_arn
    if not arn:
        return None
    container_instance = _ecs_backend(sandbox).container_instances.get(task.cluster_name, {}).get(arn.split("/")[-1])
    return container_instance.ec2_instance_id if container_instance is not None else None


def _roles_of_task(sandbox: Any, task: Any) -> tuple[Optional[str], Optional[str], Optional[str]]:
    definition = _ecs_backend(sandbox).describe_task_definition(task.task_definition_arn)
    overrides = task.overrides or {}
    task_role = overrides.get("taskRoleArn") or getattr(definition, "task_role_arn", None)
    execution_role = overrides.get("executionRoleArn") or getattr(definition, "execution_role_arn", None)
    return task_role, execution_role, definition.network_mode


# --------------------------------------------------------------------------------------------------------------
# The endpoints, as a function from request to answer


Answer = Union[tuple, endpoints.Silent]


@dataclass(frozen=True)
class Place:
    """Where a piece of code runs: on an EC2 instance, or in an ECS task (``task_arn``; its instance, if any)."""

    instance_id: Optional[str] = None
    task_arn: Optional[str] = None


_place: contextvars.ContextVar[Optional[Place]] = contextvars.ContextVar("gated_community_place", default=None)


def here() -> Optional[Place]:
    return _place.get()


@contextlib.contextmanager
def inside(where: Union[str, Mapping, Place], *, sandbox: Any = None):
    """Run the block's code on an EC2 instance (an instance id) or in an ECS task (a task ARN or dict).

    Inside, ``http://169.254.169.254/`` is that instance's metadata service, as that code would reach it, and
    ``http://169.254.170.2`` is the ECS agent's credential endpoint.
    """
    token = _place.set(_place_of(where, sandbox))
    try:
        yield
    finally:
        _place.reset(token)


def _place_of(where: Union[str, Mapping, Place], sandbox: Any = None) -> Place:
    if isinstance(where, Place):
        return where
    if getattr(sandbox or _sandbox._current, "served", False):  # a graded kernel: the account knows the places
        from grader.served import place_of

        return place_of(where, sandbox=sandbox)
    service = metadata_service(sandbox)
    if isinstance(where, str) and where.startswith("i-"):
        find_instance(service.sandbox, where)
        return Place(instance_id=where)
    registration = service.register_task(where)
    return Place(instance_id=registration.instance_id, task_arn=registration.task_arn)


def _silent(reason: str) -> endpoints.Silent:
    return endpoints.Silent(f"timed out: {reason}")


def _text(status: int, body: str, content_type: str = "text/plain") -> tuple:
    return status, {"Content-Type": content_type}, body.encode("utf-8")


def _json(status: int, document: Any) -> tuple:
    return _text(status, json.dumps(document, indent=2), "application/json")


_NOT_FOUND = (404, {"Content-Type": "text/html"}, b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
              b"<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>\n")
_UNAUTHORIZED = (401, {"Content-Type": "text/html"}, b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
                 b"<html><head><title>401 - Unauthorized</title></head><body><h1>401 - Unauthorized</h1>"
                 b"</body></html>\n")


class MetadataService:
    """The metadata endpoints of one sandbox: IMDS tokens, task registrations, the badges handed out, blocking."""

    def __init__(self, sandbox: Any):
        self.sandbox = sandbox
        self._lock = threading.RLock()
        # Task endpoints are printed by the book, so their ids repeat from build to build; IMDS session tokens are
        # never shown and come from the system's generator, so fetching one never shifts the ids that are.
        self._rng = random.Random(f"{sandbox.seed}/credentials")
        self._token_rng = random.SystemRandom()
        self._tokens: dict[str, tuple[str, _dt.datetime]] = {}
        self._badges: dict[tuple, dict] = {}
        self._tasks: dict[str, TaskRegistration] = {}
        self._iptables_block: dict[str, bool] = {}
        self._awsvpc_block: dict[str, bool] = {}
        self._signing_key = hashlib.sha256(f"{sandbox.seed}/identity".encode()).digest()

    def close(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._badges.clear()
            self._tasks.clear()
            self._iptables_block.clear()
            self._awsvpc_block.clear()

    # -- settings --------------------------------------------------------------------------------------------

    def blocks_task_metadata_access(self, instance_id: str) -> bool:
        """Whether the instance drops traffic from its bridge-mode containers to 169.254.169.254 (off by default)."""
        return self._iptables_block.get(instance_id, False)

    def set_block_task_metadata_access(self, instance_id: str, blocked: bool) -> None:
        find_instance(self.sandbox, instance_id)
        self._iptables_block[instance_id] = bool(blocked)

    def blocks_awsvpc_task_metadata_access(self, instance_id: str) -> bool:
        """Whether the ECS agent on the instance runs with ECS_AWSVPC_BLOCK_IMDS=true (off by default)."""
        return self._awsvpc_block.get(instance_id, False)

    def set_block_awsvpc_task_metadata_access(self, instance_id: str, blocked: bool) -> None:
        find_instance(self.sandbox, instance_id)
        self._awsvpc_block[instance_id] = bool(blocked)

    # -- tasks -----------------------------------------------------------------------------------------------

    def register_task(self, task: Union[str, Mapping]) -> TaskRegistration:
        """The task's endpoint registration, made the first time it is asked for (as the agent does at start)."""
        found = find_task(self.sandbox, task)
        with self._lock:
            for registration in self._tasks.values():
                if registration.task_arn == found.task_arn:
                    return registration
            task_role, execution_role, network_mode = _roles_of_task(self.sandbox, found)
            registration = TaskRegistration(
                task_arn=found.task_arn, task_id=found.id, cluster=found.cluster_name,
                credentials_id=str(_uuid(self._rng)),
                instance_id=_instance_of_task(self.sandbox, found), network_mode=network_mode or "bridge",
                task_role_arn=task_role, execution_role_arn=execution_role,
            )
            self._tasks[registration.credentials_id] = registration
            return registration

    def _task_by_arn(self, task_arn: str) -> Optional[TaskRegistration]:
        return next((r for r in self._tasks.values() if r.task_arn == task_arn), None)

    # -- badges ----------------------------------------------------------------------------------------------

    def badge(self, key: tuple, role_arn: str, session_name: str, principal_service: str,
              context: Optional[dict] = None) -> dict:
        """The current badge for ``key``: the one handed out before, unless it is within ROTATE_BEFORE of expiry."""
        with self._lock:
            current = self._badges.get(key)
            if current is not None and self.sandbox.clock.now() < current["Expiration"] - ROTATE_BEFORE:
                return current
            minted = mint_role_session(self.sandbox, role_arn, session_name, principal_service, context=context)
            self._badges[key] = minted
            return minted

    def instance_badge(self, instance_id: str) -> Optional[dict]:
        """The instance role's badge, None without a profile or a role; RoleNotTrusted if EC2 may not assume it."""
        role = role_of(instance_profile_of(self.sandbox, instance_id))
        if role is None:
            return None
        return self.badge(("ec2", instance_id, role.arn), role.arn, instance_id, EC2_SERVICE)

    def task_badge(self, registration: TaskRegistration, *, role_arn: Optional[str] = None) -> dict:
        role_arn = role_arn or registration.task_role_arn
        if role_arn is None:
            raise NoTaskRole(
                f"Task {registration.task_id} has no task role: its task definition sets no taskRoleArn, so ECS "
                "gives its containers no credentials endpoint."
            )
        context = {"aws:SourceAccount": self.sandbox.account_id, "aws:SourceArn": registration.task_arn}
        return self.badge(("ecs", registration.task_arn, role_arn), role_arn, registration.task_id,
                          ECS_TASKS_SERVICE, context)

    # -- the answering functions (grader.aws.endpoints calls them) ------------------------------------------

    def route(self, host: str) -> Optional[endpoints.Silent]:
        """None when code at the current place reaches ``host``; otherwise why the connection never opens."""
        place = here()
        if place is None:
            return endpoints.NOWHERE
        if host == endpoints.ECS_CREDENTIALS_ADDRESS:
            if place.task_arn is None:
                return _silent("169.254.170.2 is the ECS agent's credential endpoint for containers; this code "
                               "runs on the instance, not in a task")
            return None
        return self._imds_route(place)

    def _imds_route(self, place: Place) -> Optional[endpoints.Silent]:
        if place.instance_id is None:
            return _silent("a Fargate task has no instance metadata service to reach")
        try:
            instance = find_instance(self.sandbox, place.instance_id)
        except UnknownInstance:
            return _silent(f"there is no instance {place.instance_id} any more")
        if not is_running(instance):
            return _silent(f"instance {instance.id} is not running")
        if metadata_options_of(instance)["HttpEndpoint"] == "disabled":
            # AWS: "If you specify a value of disabled, you cannot access your instance metadata."
            return _silent(f"the instance metadata service of {instance.id} is turned off (HttpEndpoint disabled)")
        if place.task_arn is None:
            return None
        registration = self._task_by_arn(place.task_arn)
        mode = registration.network_mode if registration else "bridge"
        if mode == "bridge" and self.blocks_task_metadata_access(instance.id):
            return _silent(f"instance {instance.id} drops its containers' traffic to 169.254.169.254 (iptables)")
        if mode == "awsvpc" and self.blocks_awsvpc_task_metadata_access(instance.id):
            return _silent(f"the ECS agent on {instance.id} blocks awsvpc tasks from the instance metadata "
                           "(ECS_AWSVPC_BLOCK_IMDS=true)")
        return None

    def hops(self, place: Place) -> int:
        """Network hops from the code at ``place`` to the metadata service: a container is one more than its host."""
        if place.task_arn is None:
            return 1
        registration = self._task_by_arn(place.task_arn)
        return 1 if registration is not None and registration.network_mode == "host" else 2

    def answer(self, host: str, method: str, path: str, headers: Mapping[str, str], body: bytes = b"") -> Answer:
        """Answer one request to either address. ``headers`` keys are compared without regard to case."""
        headers = {k.lower(): v for k, v in headers.items()}
        path = path.split("?", 1)[0]
        place = here()
        try:
            refusal = self.route(host)
            if refusal is not None:
                return refusal
            if host == endpoints.ECS_CREDENTIALS_ADDRESS:
                if path.startswith("/v2/credentials/"):
                    return self._container_credentials(path[len("/v2/credentials/"):], method, headers)
                return _NOT_FOUND
            return self._instance_metadata(place, method, path, headers)
        except Exception as error:  # an endpoint answers 500 rather than taking the sandbox down with it
            return _json(500, {"code": "InternalError", "message": f"{type(error).__name__}: {error}"})

    # IMDS .....................................................................................................

    def _instance_metadata(self, place: Place, method: str, path: str, headers: dict) -> Answer:
        instance = find_instance(self.sandbox, place.instance_id)
        options = metadata_options_of(instance)
        if path == "/latest/api/token":
            answer = self._token(instance.id, method, headers)
            if answer[0] == 200 and self.hops(place) > options["HttpPutResponseHopLimit"]:
                # The reply leaves with a TTL of the hop limit and dies on the way into the container.
                return _silent(
                    f"the IMDSv2 token's reply travels at most HttpPutResponseHopLimit="
                    f"{options['HttpPutResponseHopLimit']} hop(s), and a container is {self.hops(place)} hops away")
            return answer
        if method != "GET":
            return (405, {"Allow": "GET"}, b"")
        token = headers.get("x-aws-ec2-metadata-token")
        if token is not None or options["HttpTokens"] == "required":
            # IMDSv2: a token that is missing (when required), invalid or expired is refused.
            if not self._token_valid(instance.id, token):
                return _UNAUTHORIZED
        return self._metadata_path(instance, path)

    def _token(self, instance_id: str, method: str, headers: dict) -> Answer:
        if method != "PUT":
            return (405, {"Allow": "PUT"}, b"")
        if "x-forwarded-for" in headers:
            return (403, {}, b"")  # IMDS refuses tokens to requests that came through a proxy
        try:
            ttl = int(headers.get("x-aws-ec2-metadata-token-ttl-seconds", ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            return _text(400, "Missing or invalid X-aws-ec2-metadata-token-ttl-seconds header (1 to 21600)")
        with self._lock:
            token = _secret(self._token_rng, 44)
            self._tokens[token] = (instance_id, self.sandbox.clock.now() + _dt.timedelta(seconds=ttl))
        return 200, {"Content-Type": "text/plain", "X-aws-ec2-metadata-token-ttl-seconds": str(ttl)}, token.encode()

    def _token_valid(self, instance_id: str, token: Optional[str]) -> bool:
        held = self._tokens.get(token or "")
        return held is not None and held[0] == instance_id and self.sandbox.clock.now() < held[1]

    def _metadata_path(self, instance: Any, path: str) -> Answer:
        if path in ("/latest/meta-data/instance-id", "/latest/meta-data/instance-id/"):
            return _text(200, instance.id)
        if path.rstrip("/") == "/latest/meta-data/placement/availability-zone":
            return _text(200, instance.availability_zone)
        if path.rstrip("/") == "/latest/meta-data/placement/region":
            return _text(200, self.sandbox.region)
        if path == "/latest/dynamic/instance-identity/document":
            return _json(200, self.identity_document(instance))
        if path == "/latest/dynamic/instance-identity/signature":
            return _text(200, self.identity_signature(instance))
        if path.startswith("/latest/meta-data/iam"):
            return self._iam(instance, path[len("/latest/meta-data/iam"):])
        if path.rstrip("/") == "/latest/meta-data":
            listing = ["instance-id", "placement/"]
            if instance_profile_of(self.sandbox, instance.id) is not None:
                listing.append("iam/")
            return _text(200, "\n".join(listing))
        return _NOT_FOUND

    def _iam(self, instance: Any, rest: str) -> Answer:
        profile = instance_profile_of(self.sandbox, instance.id)
        role = role_of(profile)
        if role is None:  # no profile, or a profile with no role in it: the iam/ tree is absent
            return _NOT_FOUND
        if rest in ("", "/"):
            return _text(200, "info\nsecurity-credentials/")
        badge, refusal = None, None
        try:
            badge = self.instance_badge(instance.id)
        except (RoleNotTrusted, RoleNotFound):
            refusal = (f"EC2 cannot assume the role {role.name}.  Please see documentation at {_ROLE_DOCS}.")
        updated = _stamp(badge["LastUpdated"] if badge else self.sandbox.clock.now())
        if rest == "/info":
            if refusal:
                return _json(200, {"Code": "AssumeRoleUnauthorizedAccess", "Message": refusal,
                                   "LastUpdated": updated})
            return _json(200, {"Code": "Success", "LastUpdated": updated,
                               "InstanceProfileArn": profile.arn, "InstanceProfileId": profile.id})
        if rest in ("/security-credentials", "/security-credentials/"):
            return _text(200, role.name)
        if rest == f"/security-credentials/{role.name}":
            if refusal:
                return _json(200, {"Code": "AssumeRoleUnauthorizedAccess", "Message": refusal,
                                   "LastUpdated": updated})
            return _json(200, {
                "Code": "Success", "LastUpdated": updated, "Type": "AWS-HMAC",
                "AccessKeyId": badge["AccessKeyId"], "SecretAccessKey": badge["SecretAccessKey"],
                "Token": badge["Token"], "Expiration": _stamp(badge["Expiration"]),
            })
        return _NOT_FOUND

    def identity_document(self, instance: Any) -> dict:
        return {
            "accountId": self.sandbox.account_id,
            "architecture": getattr(instance, "architecture", None) or "x86_64",
            "availabilityZone": instance.availability_zone,
            "billingProducts": None,
            "devpayProductCodes": None,
            "marketplaceProductCodes": None,
            "imageId": instance.image_id,
            "instanceId": instance.id,
            "instanceType": instance.instance_type,
            "kernelId": None,
            "pendingTime": _stamp(instance.launch_time.replace(tzinfo=_dt.timezone.utc)
                                  if instance.launch_time.tzinfo is None else instance.launch_time),
            "privateIp": instance.private_ip,
            "ramdiskId": None,
            "region": self.sandbox.region,
            "version": "2017-09-30",
        }

    def identity_signature(self, instance: Any) -> str:
        """A stand-in for AWS's signature over the identity document (AWS signs with its own key; so do we)."""
        document = json.dumps(self.identity_document(instance), indent=2).encode()
        import base64

        return base64.b64encode(hmac.new(self._signing_key, document, hashlib.sha256).digest()).decode()

    # the container endpoint ...................................................................................

    def _container_credentials(self, credentials_id: str, method: str, headers: dict) -> Answer:
        if method != "GET":
            return (405, {"Allow": "GET"}, b"")
        registration = self._tasks.get(credentials_id.strip("/"))
        if registration is None or self._task_stopped(registration):
            return _json(400, {"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found",
                               "HTTPErrorCode": 400})
        try:
            badge = self.task_badge(registration)
        except NoTaskRole:
            return _json(400, {"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found",
                               "HTTPErrorCode": 400})
        except (RoleNotTrusted, RoleNotFound):
            return _json(400, {"code": "ClientException", "message": launch_refusal(registration.task_role_arn),
                               "HTTPErrorCode": 400})
        return _json(200, {
            "RoleArn": badge["RoleArn"], "AccessKeyId": badge["AccessKeyId"],
            "SecretAccessKey": badge["SecretAccessKey"], "Token": badge["Token"],
            "Expiration": _stamp(badge["Expiration"]),
        })

    def _task_stopped(self, registration: TaskRegistration) -> bool:
        try:
            task = find_task(self.sandbox, registration.task_arn)
        except UnknownTask:
            return True
        return task.desired_status == "STOPPED"


def _uuid(rng: random.Random):
    import uuid

    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _secret(rng: random.Random, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(length))


# --------------------------------------------------------------------------------------------------------------
# One service per running sandbox


_service: Optional[MetadataService] = None
_service_lock = threading.Lock()


def metadata_service(sandbox: Any = None) -> MetadataService:
    """The metadata service of the running sandbox (made, and tied to its reset and stop, on first use)."""
    global _service
    sandbox = sandbox or _sandbox.current()
    sandbox._require_running()
    if getattr(sandbox, "served", False):
        raise CredentialsError(
            "While the notebook is graded, the instance metadata and the task endpoints belong to the grader's "
            "account: reach them through grader.on_instance, grader.in_task, grader.credentials.inside, or an ECS "
            "agent's settings (grader.ecs_agent).")
    with _service_lock:
        if _service is not None and _service.sandbox is sandbox:
            return _service
        if _service is not None:
            _service.close()
        _service = MetadataService(sandbox)
        if _close_service not in sandbox.on_reset:
            sandbox.on_reset.append(_close_service)
        if _close_service not in sandbox.on_stop:
            sandbox.on_stop.append(_close_service)
        return _service


def _close_service(sandbox: Any) -> None:
    global _service
    with _service_lock:
        service = _service
        if service is None or service.sandbox is not sandbox:
            return
        _service = None
    service.close()


# --------------------------------------------------------------------------------------------------------------
# Sessions "on an instance" and "in a task"


_CONTAINER_RETRY_PAUSE = 0.05
"""botocore pauses a second between its three tries at the container endpoint; an endpoint in the process needs no
such patience, and a chapter that shows a refusal should not stall for three seconds."""


def _credential_chain(session: botocore.session.Session, environ: Mapping[str, str], place: Optional[Place]):
    """botocore's default providers, in botocore's order, reading ``environ`` instead of the sandbox's environment.

    The shared-file providers are left out: inside the sandbox those files are empty by construction.
    """
    imds_config = {
        "ec2_metadata_service_endpoint": session.get_config_variable("ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": botocore.utils.resolve_imds_endpoint_mode(session),
        "ec2_credential_refresh_window": botocore.credentials._DEFAULT_ADVISORY_REFRESH_TIMEOUT,
        "ec2_metadata_v1_disabled": session.get_config_variable("ec2_metadata_v1_disabled"),
    }
    fetcher = botocore.utils.InstanceMetadataFetcher(
        timeout=session.get_config_variable("metadata_service_timeout"),
        num_attempts=session.get_config_variable("metadata_service_num_attempts"),
        env=dict(environ), user_agent=session.user_agent(), config=imds_config,
    )
    container_fetcher = botocore.utils.ContainerMetadataFetcher(
        sleep=lambda seconds: time.sleep(min(seconds, _CONTAINER_RETRY_PAUSE)))
    return botocore.credentials.CredentialResolver(providers=[
        botocore.credentials.EnvProvider(environ=dict(environ)),
        _AtPlace(botocore.credentials.ContainerProvider(environ=dict(environ), fetcher=container_fetcher), place),
        _AtPlace(botocore.credentials.InstanceMetadataProvider(iam_role_fetcher=fetcher), place),
    ])


def _now() -> _dt.datetime:
    """botocore's idea of now, looked up at each call: the sandbox clock while the sandbox runs."""
    return botocore.credentials._local_now()


def _at(place: Optional[Place], function: Callable) -> Callable:
    def run(*args: Any, **kwargs: Any):
        token = _place.set(place)
        try:
            return function(*args, **kwargs)
        finally:
            _place.reset(token)

    return run


class _AtPlace(botocore.credentials.CredentialProvider):
    """Runs a botocore provider unchanged, from where its process runs and on the sandbox clock.

    The provider asks 169.254.169.254 or 169.254.170.2 when it loads and whenever botocore refreshes, so both run at
    the session's place. RefreshableCredentials takes its clock as a default argument, bound to botocore's
    ``_local_now`` when botocore was imported, so pointing ``botocore.credentials._local_now`` at the sandbox clock
    does not reach it.
    """

    def __init__(self, provider: botocore.credentials.CredentialProvider, place: Optional[Place]):
        self.provider = provider
        self.place = place
        self.METHOD = provider.METHOD
        self.CANONICAL_NAME = provider.CANONICAL_NAME

    def load(self):
        credentials = _at(self.place, self.provider.load)()
        if isinstance(credentials, botocore.credentials.RefreshableCredentials):
            credentials._time_fetcher = _now
            credentials._refresh_using = _at(self.place, credentials._refresh_using)
        return credentials


_loader: Optional[botocore.loaders.Loader] = None


def _botocore_session() -> botocore.session.Session:
    """A new botocore session that shares one loader with the others made here.

    Service models are parsed once per loader; a chapter makes a session per instance and task, and each would
    otherwise read the same JSON models again.
    """
    global _loader
    core = botocore.session.Session()
    if _loader is None:
        _loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _loader)
    return core


def session_from_environment(environ: Mapping[str, str], place: Optional[Place] = None) -> boto3.Session:
    """A boto3 session as a process with exactly ``environ`` would make it at ``place``: the default chain."""
    core = _botocore_session()
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        core.set_config_variable("region", region)
    core.set_config_variable("ec2_metadata_service_endpoint", environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
    core.set_config_variable("metadata_service_timeout", 2)
    core.set_config_variable("metadata_service_num_attempts", 1)
    core.register_component("credential_provider", _credential_chain(core, environ, place))
    return boto3.Session(botocore_session=core)


def admin_client(service_name: str, *, sandbox: Any = None):
    """An administrator's client (the scheduler's, the agent's scaffolding) that reuses the shared service models."""
    box = sandbox or _sandbox.current()
    core = _botocore_session()
    core.set_credentials(_sandbox.ADMIN_ACCESS_KEY_ID, _sandbox.ADMIN_SECRET_ACCESS_KEY)
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
                                    _place_of(instance_id, sandbox))


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
    return session_from_environment(environment_for_task(task, sandbox=sandbox), _place_of(task, sandbox))


def try_instance_metadata_from_task(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """What code in the task gets if it asks the instance metadata service directly, skipping its own endpoint.

    Returns a session holding the instance role's credentials when the path is open (AWS's default); raises
    InstanceMetadataBlocked when the instance blocks its containers, or the task has no instance.
    """
    place = _place_of(task, sandbox)
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


class _LinkLocal:
    """What answers at 169.254.169.254 and 169.254.170.2: the running sandbox's metadata service, or nothing."""

    @staticmethod
    def _service() -> Any:
        box = _sandbox._current
        if box is None or not box.running:
            return None
        # A graded kernel holds no account: the grader's metadata service answers, through the served account.
        return box.link_local if getattr(box, "served", False) else metadata_service(box)

    def route(self, host: str) -> Optional[endpoints.Silent]:
        service = self._service()
        return service.route(host) if service else endpoints.NOWHERE

    def answer(self, host: str, method: str, path: str, headers: dict, body: bytes) -> Answer:
        service = self._service()
        return service.answer(host, method, path, headers, body) if service else endpoints.NOWHERE


endpoints.serve(_LinkLocal())
patches.register_all(endpoints.PATCHES)


class _MintingProvider(botocore.credentials.CredentialProvider):
    """Credentials minted in-process and renewed by botocore when they near expiry: the ECS agent's own."""

    METHOD = "ecs-agent"
    CANONICAL_NAME = "EcsAgent"

    def __init__(self, fetch: Callable[[], dict]):
        self._fetch = fetch

    def _metadata(self) -> dict:
        badge = self._fetch()
        return {"access_key": badge["AccessKeyId"], "secret_key": badge["SecretAccessKey"],
                "token": badge["Token"], "expiry_time": _stamp(badge["Expiration"])}

    def load(self):
        credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
            self._metadata(), refresh_using=self._metadata, method=self.METHOD)
        credentials._time_fetcher = _now  # see _OnSandboxClock
        return credentials


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
    core = _botocore_session()
    core.set_config_variable("region", service.sandbox.region)
    core.register_component("credential_provider", botocore.credentials.CredentialResolver(providers=[
        _MintingProvider(lambda: service.task_badge(registration, role_arn=registration.execution_role_arn))]))
    return boto3.Session(botocore_session=core)
