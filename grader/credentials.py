"""Delivery of temporary credentials: the instance metadata service (IMDSv2) and the ECS container endpoint.

On AWS, code running on an EC2 instance or in an ECS task never holds a long-lived key. The SDK's default
credential chain asks a local endpoint, which hands out temporary credentials for the role of the instance profile
(at ``http://169.254.169.254/latest/meta-data/iam/security-credentials/<role>``) or of the task
(at ``$AWS_CONTAINER_CREDENTIALS_FULL_URI``). This module gives the sandbox the same two endpoints, so that a
chapter shows botocore's real providers at work: ``session.get_credentials().method`` is ``"iam-role"`` or
``"container-role"``, and the credentials expire and are renewed on the sandbox clock.

The pieces, from the inside out:

``mint_role_session``
    Asks the policy engine whether the role's trust policy lets the service (``ec2.amazonaws.com`` or
    ``ecs-tasks.amazonaws.com``) assume it, then records the session in moto's STS backend, where the gatehouse
    finds it as ``arn:aws:sts::<account>:assumed-role/<role>/<session>``. Its expiry is set on the sandbox clock,
    so the credentials the endpoint hands out and the expiry the gatehouse checks are the same instant. Minting
    does no I/O, so an in-process transport (the book in a browser, which has no sockets) can serve it too.

``MetadataService.answer(method, path, headers)``
    Both endpoints as one function from a request to ``(status, headers, body)``: IMDSv2 for every instance (a
    session token first, 401 without one), and the container endpoint for every task. ``LoopbackServer`` carries
    it over HTTP on one threaded server on ``127.0.0.1`` (a random port), started the first time it is needed,
    closed by ``sandbox.stop()`` and by ``sandbox.reset()``.

``on_instance(instance_id)`` and ``in_task(task)``
    Ordinary ``boto3.Session`` objects for a process "on the instance" or "in the task". The sandbox's own
    environment holds the administrator's keys and disables the metadata service, so these sessions run botocore's
    own providers (``EnvProvider``, ``ContainerProvider``, ``InstanceMetadataProvider``, in botocore's order) over
    the environment such a process would see instead: ``environment_for_instance`` / ``environment_for_task``.

How a session finds its endpoint
    The server tells instances apart by path: instance ``i-0abc`` is served under ``/ec2/i-0abc/``, and
    ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (botocore's ``ec2_metadata_service_endpoint``) points there; botocore
    appends ``latest/api/token`` and the rest to it. It stands in for the link-local address, which a laptop cannot
    serve. A task gets ``AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:<port>/v2/credentials/<id>`` and an
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` (the ECS agent itself uses the relative form on 169.254.170.2).

Reaching the instance's metadata from a task
    A container on an EC2 instance shares the instance's network path to the metadata service unless the instance
    blocks it, as AWS recommends (``ECS_AWSVPC_BLOCK_IMDS=true`` for awsvpc tasks, an iptables ``DROP`` rule on
    ``docker+`` for bridge tasks). A task's view of the metadata service is served under
    ``/ec2/<instance>/from-task/<task-id>/``. When the instance blocks task access (the default here, see
    ``block_task_metadata_access``), the server drops those requests without answering, as the iptables rule does:
    botocore finds no credentials there. Tasks in ``host`` network mode use the instance's own network, which no
    such rule covers, so they always reach it, as on AWS.

Badges live for one hour (``BADGE_LIFETIME``; AWS's are typically six), so ``sandbox.clock.advance(hours=2)``
shows an expired badge refused and botocore fetching a new one. An endpoint hands out the same badge until
fifteen minutes before it expires, the window in which botocore refreshes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import http.server
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
from grader.errors import GatedCommunityError
from grader.instances import UnknownInstance, find_instance, instance_profile_of, is_running, role_of

EC2_SERVICE = "ec2.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
BADGE_LIFETIME = _dt.timedelta(hours=1)
ROTATE_BEFORE = _dt.timedelta(minutes=15)
MAX_TOKEN_TTL = 21600
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ROLE_DOCS = "http://docs.aws.amazon.com/IAM/latest/UserGuide/RolesTroubleshooting.html"

__all__ = [
    "mint_role_session", "on_instance", "in_task", "environment_for_instance", "environment_for_task",
    "execution_role_session", "try_instance_metadata_from_task", "block_task_metadata_access", "admin_client",
    "session_from_environment", "metadata_service", "task_registration",
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
    authorization_token: str
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


class _Drop:
    """Answer nothing and close the connection: what a packet filter that drops the traffic looks like."""

    def __repr__(self) -> str:
        return "<dropped>"


DROP = _Drop()
Answer = Union[tuple, _Drop]


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
        self._blocking: dict[str, bool] = {}
        self._server: Optional[LoopbackServer] = None
        self._signing_key = hashlib.sha256(f"{sandbox.seed}/identity".encode()).digest()

    # -- transport -------------------------------------------------------------------------------------------

    def base_url(self) -> str:
        with self._lock:
            if self._server is None:
                self._server = LoopbackServer(self)
            return self._server.url

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            self._tokens.clear()
            self._badges.clear()
            self._tasks.clear()
            self._blocking.clear()
        if server is not None:
            server.close()

    # -- settings --------------------------------------------------------------------------------------------

    def blocks_task_metadata_access(self, instance_id: str) -> bool:
        return self._blocking.get(instance_id, True)

    def set_block_task_metadata_access(self, instance_id: str, blocked: bool) -> None:
        find_instance(self.sandbox, instance_id)
        self._blocking[instance_id] = bool(blocked)

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
                credentials_id=str(_uuid(self._rng)), authorization_token=_secret(self._rng, 32),
                instance_id=_instance_of_task(self.sandbox, found), network_mode=network_mode or "bridge",
                task_role_arn=task_role, execution_role_arn=execution_role,
            )
            self._tasks[registration.credentials_id] = registration
            return registration

    def _task_by_id(self, task_id: str) -> Optional[TaskRegistration]:
        return next((r for r in self._tasks.values() if r.task_id == task_id), None)

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

    # -- the answering function ------------------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: Mapping[str, str]) -> Answer:
        """Answer one request to either endpoint. ``headers`` keys are compared without regard to case."""
        headers = {k.lower(): v for k, v in headers.items()}
        path = path.split("?", 1)[0]
        try:
            if path.startswith("/ec2/"):
                instance_id, _, rest = path[len("/ec2/"):].partition("/")
                from_task = None
                if rest.startswith("from-task/"):
                    from_task, _, rest = rest[len("from-task/"):].partition("/")
                return self._instance_metadata(instance_id, method, "/" + rest, headers, from_task)
            if path.startswith("/v2/credentials/"):
                return self._container_credentials(path[len("/v2/credentials/"):], method, headers)
            return _NOT_FOUND
        except Exception as error:  # an endpoint answers 500 rather than taking the sandbox down with it
            return _json(500, {"code": "InternalError", "message": f"{type(error).__name__}: {error}"})

    # IMDSv2 ...................................................................................................

    def _instance_metadata(self, instance_id: str, method: str, path: str, headers: dict,
                           from_task: Optional[str]) -> Answer:
        try:
            instance = find_instance(self.sandbox, instance_id)
        except UnknownInstance:
            return DROP
        if not is_running(instance):
            return DROP  # nothing runs on a stopped instance to ask, nor answers
        if from_task is not None:
            registration = self._task_by_id(from_task)
            if registration is None or registration.instance_id != instance_id:
                return DROP
            if registration.network_mode != "host" and self.blocks_task_metadata_access(instance_id):
                return DROP
        if path == "/latest/api/token":
            return self._token(instance_id, method, headers)
        if method != "GET":
            return (405, {"Allow": "GET"}, b"")
        if not self._token_valid(instance_id, headers.get("x-aws-ec2-metadata-token")):
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
        if headers.get("authorization") != registration.authorization_token:
            return _json(401, {"code": "AccessDenied", "message": "Authorization token is missing or invalid",
                               "HTTPErrorCode": 401})
        try:
            badge = self.task_badge(registration)
        except NoTaskRole:
            return _json(400, {"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found",
                               "HTTPErrorCode": 400})
        except (RoleNotTrusted, RoleNotFound) as refusal:
            return _json(400, {
                "code": "ClientException",
                "message": (f"ECS was unable to assume the role '{registration.task_role_arn}' that was provided for "
                            "this task. Please verify that the role being passed has the proper trust relationship "
                            "and permissions and that your IAM user has permissions to pass this role. "
                            f"({refusal})"),
                "HTTPErrorCode": 400,
            })
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
# The HTTP transport


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "EC2ws"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.service.answer(self.command, self.path, dict(self.headers.items()))
        if answer is DROP:
            self.close_connection = True
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the book's output stays clean
        pass


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class LoopbackServer:
    """One threaded HTTP server on 127.0.0.1 (a port the system picks) that carries a MetadataService."""

    def __init__(self, service: MetadataService):
        self._httpd = _ThreadingServer(("127.0.0.1", 0), _Handler)
        self._httpd.service = service
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"gated-community-metadata:{self.port}", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self.thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------------------
# One service per running sandbox


_service: Optional[MetadataService] = None
_service_lock = threading.Lock()


def metadata_service(sandbox: Any = None) -> MetadataService:
    """The metadata service of the running sandbox (made, and tied to its reset and stop, on first use)."""
    global _service
    sandbox = sandbox or _sandbox.current()
    sandbox._require_running()
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
"""botocore pauses a second between its three tries at the container endpoint; the loopback needs no such patience,
and a chapter that shows a refusal should not stall for three seconds."""


def _credential_chain(session: botocore.session.Session, environ: Mapping[str, str]):
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
        _OnSandboxClock(botocore.credentials.ContainerProvider(environ=dict(environ), fetcher=container_fetcher)),
        _OnSandboxClock(botocore.credentials.InstanceMetadataProvider(iam_role_fetcher=fetcher)),
    ])


def _now() -> _dt.datetime:
    """botocore's idea of now, looked up at each call: the sandbox clock while the sandbox runs."""
    return botocore.credentials._local_now()


class _OnSandboxClock(botocore.credentials.CredentialProvider):
    """Runs a botocore provider unchanged, and has the credentials it returns read the sandbox clock.

    RefreshableCredentials takes its clock as a default argument, bound to botocore's ``_local_now`` when botocore
    was imported, so pointing ``botocore.credentials._local_now`` at the sandbox clock does not reach it.
    """

    def __init__(self, provider: botocore.credentials.CredentialProvider):
        self.provider = provider
        self.METHOD = provider.METHOD
        self.CANONICAL_NAME = provider.CANONICAL_NAME

    def load(self):
        credentials = self.provider.load()
        if isinstance(credentials, botocore.credentials.RefreshableCredentials):
            credentials._time_fetcher = _now
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


def session_from_environment(environ: Mapping[str, str]) -> boto3.Session:
    """A boto3 session as a process with exactly ``environ`` would make it: the default chain over that environment."""
    core = _botocore_session()
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        core.set_config_variable("region", region)
    core.set_config_variable("ec2_metadata_service_endpoint", environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
    core.set_config_variable("metadata_service_timeout", 2)
    core.set_config_variable("metadata_service_num_attempts", 1)
    core.register_component("credential_provider", _credential_chain(core, environ))
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
    """The AWS variables a process on the instance sees: only where the metadata service is."""
    service = metadata_service(sandbox)
    find_instance(service.sandbox, instance_id)
    return {**_region_environment(service.sandbox),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"{service.base_url()}/ec2/{instance_id}/"}


def on_instance(instance_id: str, *, sandbox: Any = None) -> boto3.Session:
    """A boto3 session for code running on the EC2 instance: its credentials come from the instance metadata."""
    return session_from_environment(environment_for_instance(instance_id, sandbox=sandbox))


def task_registration(task: Union[str, Mapping], *, sandbox: Any = None) -> TaskRegistration:
    return metadata_service(sandbox).register_task(task)


def environment_for_task(task: Union[str, Mapping], *, sandbox: Any = None) -> dict:
    """The AWS variables the ECS agent gives the task's containers.

    The credentials variables are there only when the task has a task role, as with ECS. On an EC2 instance the
    task also has a route to the instance's metadata service (which the instance may block); on Fargate it has none.
    """
    service = metadata_service(sandbox)
    registration = service.register_task(task)
    environ = _region_environment(service.sandbox)
    if registration.task_role_arn:
        environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = (
            f"{service.base_url()}/v2/credentials/{registration.credentials_id}")
        environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = registration.authorization_token
    if registration.instance_id:
        environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = (
            f"{service.base_url()}/ec2/{registration.instance_id}/from-task/{registration.task_id}/")
    else:
        environ["AWS_EC2_METADATA_DISABLED"] = "true"
    return environ


def in_task(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """A boto3 session for code running in the ECS task: its credentials come from the container endpoint."""
    return session_from_environment(environment_for_task(task, sandbox=sandbox))


def try_instance_metadata_from_task(task: Union[str, Mapping], *, sandbox: Any = None) -> boto3.Session:
    """What code in the task gets if it asks the instance metadata service directly, skipping its own endpoint.

    Returns a session holding the instance role's credentials when the path is open; raises
    InstanceMetadataBlocked when the instance blocks task access to its metadata (or the task has no instance).
    """
    environ = environment_for_task(task, sandbox=sandbox)
    environ.pop("AWS_CONTAINER_CREDENTIALS_FULL_URI", None)
    environ.pop("AWS_CONTAINER_AUTHORIZATION_TOKEN", None)
    session = session_from_environment(environ)
    if session.get_credentials() is None:
        registration = task_registration(task, sandbox=sandbox)
        where = (f"instance {registration.instance_id} blocks its containers from the instance metadata service"
                 if registration.instance_id else "a Fargate task has no instance metadata service to reach")
        raise InstanceMetadataBlocked(
            f"Task {registration.task_id} got no credentials from the instance metadata service: {where}. "
            "That is the protection AWS recommends, so that a container holds only its own task role."
        )
    return session


def block_task_metadata_access(instance_id: str, blocked: bool = True, *, sandbox: Any = None) -> None:
    """Block (the default) or allow the containers on ``instance_id`` reaching the instance metadata service."""
    metadata_service(sandbox).set_block_task_metadata_access(instance_id, blocked)


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
