"""The two link-local services of one account: the instance metadata service and the ECS credential endpoint.

Both as AWS runs them, in one class because they share what they know: the badges handed out, the tasks the ECS
agent registered, and each instance's blocking of its containers. IMDS honours the instance's metadata options as
``DescribeInstances`` shows them and ``ModifyInstanceMetadataOptions`` changes them: ``HttpTokens`` ``optional``
serves IMDSv1 (no token) and IMDSv2, ``required`` answers a request without a token with 401; the token's reply
travels at most ``HttpPutResponseHopLimit`` hops (AWS's default is 1), and a container in ``bridge`` or ``awsvpc``
mode is one hop further away than the instance, so with a limit of 1 its token never arrives.

Badges live for one hour (``BADGE_LIFETIME``; AWS's are typically six), and an endpoint hands out the same badge until
fifteen minutes before it expires, the window in which botocore refreshes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import random
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from grader.aws import endpoints, state as aws
from grader.aws.state import UnknownInstance, find_instance, instance_profile_of, is_running, metadata_options_of, role_of
from grader.credentials.errors import InstanceMetadataBlocked, NoTaskRole, RoleNotFound, RoleNotTrusted, UnknownTask
from grader.aws.chain import stamp
from grader.credentials.mint import ECS_TASKS_SERVICE, EC2_SERVICE, ROTATE_BEFORE, launch_refusal, mint_role_session
from grader.credentials.places import Place, here, task_arn_of

__all__ = ["MetadataService", "service_of", "TaskRegistration", "find_task", "UnknownTask", "NoTaskRole",
           "InstanceMetadataBlocked", "MAX_TOKEN_TTL"]

MAX_TOKEN_TTL = 21600


_ROLE_DOCS = "http://docs.aws.amazon.com/IAM/latest/UserGuide/RolesTroubleshooting.html"


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
    return aws.ecs(sandbox.account_id, sandbox.region)


def find_task(sandbox: Any, task: Union[str, Mapping]):
    """moto's task for an ARN, an id, or a task dict from run_task/start_task/describe_tasks."""
    wanted = task_arn_of(task)
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


Answer = Union[tuple, endpoints.Silent]


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
              context: Optional[dict] = None, instance_id: Optional[str] = None) -> dict:
        """The current badge for ``key``: the one handed out before, unless it is within ROTATE_BEFORE of expiry."""
        with self._lock:
            current = self._badges.get(key)
            if current is not None and self.sandbox.clock.now() < current["Expiration"] - ROTATE_BEFORE:
                return current
            minted = mint_role_session(self.sandbox, role_arn, session_name, principal_service, context=context,
                                       instance_id=instance_id)
            self._badges[key] = minted
            return minted

    def instance_badge(self, instance_id: str) -> Optional[dict]:
        """The instance role's badge, None without a profile or a role; RoleNotTrusted if EC2 may not assume it."""
        role = role_of(instance_profile_of(self.sandbox, instance_id))
        if role is None:
            return None
        return self.badge(("ec2", instance_id, role.arn), role.arn, instance_id, EC2_SERVICE, instance_id=instance_id)

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
        updated = stamp(badge["LastUpdated"] if badge else self.sandbox.clock.now())
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
                "Token": badge["Token"], "Expiration": stamp(badge["Expiration"]),
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
            "pendingTime": stamp(instance.launch_time.replace(tzinfo=_dt.timezone.utc)
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
            "Expiration": stamp(badge["Expiration"]),
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


_service: Optional[MetadataService] = None
_service_lock = threading.Lock()


def service_of(sandbox: Any) -> MetadataService:
    """The metadata service of a sandbox running in this process (made, and tied to its reset and stop, on first use)."""
    global _service
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