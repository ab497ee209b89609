"""The kernel's side: the served home of the account, a client of the account the grading worker holds.

``ServedAccount`` implements ``grader.account.Account`` over the socket the worker names in ``GATED_COMMUNITY_ACCOUNT``:
every HTTP request botocore sends goes there, AWS's link-local addresses are answered from there, and the book's
helpers (``why``, ``decide``, ``on_instance``, ``in_task``, ``inside``, the ECS agent) ask there.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlsplit

from grader import account as _account
from grader.account import Explanation
from grader.aws import endpoints
from grader.aws.clock import Clock
from grader.aws.names import (ACCOUNT_ID, ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, CREDENTIAL_VARIABLES,
                              DEFAULT_SEED, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
from grader.credentials.errors import CredentialsError
from grader.credentials.places import Place, here, task_arn_of
from grader.credentials.sessions import session_from_environment
from grader.errors import GatedCommunityError, SandboxNetworkBlocked, show_errors_plainly
from grader.served.wire import VARIABLE, place_from, place_to, receive, send

__all__ = ["ServedAccount", "ServedAgent", "chosen", "prepare", "start"]

class _Connection:
    """The kernel's end of the socket: one connection per thread, so a background thread cannot tangle frames."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def ask(self, request: dict) -> dict:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.path)
            self._local.sock = sock
        try:
            send(sock, request)
            answer = receive(sock)
        except OSError:
            answer = None
        if isinstance(answer, dict) and answer.get("full"):  # the server closed this connection: the next call retries
            self._local.sock = None
            sock.close()
        if answer is None:
            self._local.sock = None
            raise ConnectionError("The grader's account closed the connection: grading of this notebook has ended.")
        return answer


def _raise(error: dict) -> None:
    from botocore.exceptions import ClientError

    if error.get("type") == "ClientError":
        raise ClientError(error["response"], error.get("operation") or "")
    import importlib

    module = str(error.get("module") or "")
    if module.startswith("grader."):
        try:
            cls = getattr(importlib.import_module(module), str(error.get("type")))
            if isinstance(cls, type) and issubclass(cls, GatedCommunityError):
                raise cls(error.get("message", ""))
        except (ImportError, AttributeError):
            pass
    raise GatedCommunityError(f"{error.get('type')}: {error.get('message', '')}")


class _Raw:
    """The body of an answer as botocore reads a response's raw stream."""

    def __init__(self, body: bytes):
        self._io = io.BytesIO(body)

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self._io.read(*args)

    def stream(self, **kwargs: Any):
        chunk = self._io.read()
        while chunk:
            yield chunk
            chunk = self._io.read()

    def close(self) -> None:
        pass


def _install_transport(connection: _Connection) -> None:
    """Every HTTP request botocore sends from this process travels to the served account instead.

    Requests to the link-local credential addresses take botocore's own way, through urllib3, to the in-process
    endpoints, which ask the served account (``ServedLinkLocal``): botocore's providers see exactly what they see in
    a learner's own Jupyter.
    """
    import botocore.httpsession
    from botocore.awsrequest import AWSResponse

    original = botocore.httpsession.URLLib3Session.send

    def send(self, request):
        if (urlsplit(request.url).hostname or "") in endpoints.ADDRESSES:
            return original(self, request)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        answer = connection.ask({"kind": "http", "method": request.method, "url": request.url,
                                 "headers": {k: (v.decode() if isinstance(v, bytes) else str(v))
                                             for k, v in request.headers.items()},
                                 "body": bytes(body or b"")})
        if "refused" in answer:
            raise SandboxNetworkBlocked(f"The grader's account refused {request.url}: {answer['refused']}.")
        if "error" in answer:
            _raise(answer["error"])
        response = AWSResponse(request.url, answer["status"], answer["headers"], _Raw(answer["body"]))
        if not request.stream_output:
            response.content  # noqa: B018 - botocore reads the whole body here, as its own send does
        return response

    send.__served__ = True
    botocore.httpsession.URLLib3Session.send = send


class ServedLinkLocal:
    """What answers at 169.254.169.254 and 169.254.170.2 in a graded kernel: the served account's metadata service.

    ``grader.aws.endpoints`` calls ``route`` and ``answer`` as it calls the in-process service; each travels to the
    worker with the place the asking code runs at (``grader.credentials.here()``).
    """

    def __init__(self, connection: _Connection):
        self.connection = connection

    def _ask(self, op: str, host: str, **more: Any) -> dict:
        answer = self.connection.ask({"kind": "metadata", "op": op, "host": host, "place": place_to(here()),
                                      **more})
        if "refused" in answer:
            raise GatedCommunityError(f"The grader's account refused: {answer['refused']}.")
        if "error" in answer:
            _raise(answer["error"])
        return answer

    def route(self, host: str):
        answer = self._ask("route", host)
        return endpoints.Silent(answer["silent"]) if "silent" in answer else None

    def answer(self, host: str, method: str, path: str, headers: Mapping, body: bytes):
        answer = self._ask("answer", host, method=method, path=path,
                           headers={str(k): str(v) for k, v in dict(headers).items()}, body=bytes(body or b""))
        if "silent" in answer:
            return endpoints.Silent(answer["silent"])
        return answer["status"], answer["headers"], answer["body"]


def _answer_link_local_here() -> None:
    """Open this process's connections to the link-local addresses onto the in-process endpoints.

    Only the endpoints' own patches: the rest of the sandbox's registry corrects moto, which a graded kernel has not.
    """
    for owner, name, make, _why in endpoints.PATCHES:
        target = _target(owner)
        current = getattr(target, name)
        if getattr(current, "__served__", False):
            continue
        patched = make(current)
        patched.__served__ = True
        setattr(target, name, patched)


def _target(owner: str) -> Any:
    import importlib

    module_name, _, class_path = owner.partition(":")
    target = importlib.import_module(module_name)
    for part in filter(None, class_path.split(".")):
        target = getattr(target, part)
    return target


class ServedAccount:
    """The account the grader serves, as the kernel holds it: the administrator's clients, nothing of moto's."""

    def __init__(self, path: str):
        self.path = path
        self.seed = DEFAULT_SEED
        self.account_id = ACCOUNT_ID
        self.region = REGION
        self.clock = Clock()
        self.connection = _Connection(path)
        self._link_local = ServedLinkLocal(self.connection)
        self._admin = None

    @property
    def running(self) -> bool:
        return True

    def _require_running(self) -> None:
        pass

    # -- the account through the AWS API -------------------------------------------------------------------------

    def admin_session(self):
        import boto3

        if self._admin is None:
            self._admin = boto3.Session(aws_access_key_id=ADMIN_ACCESS_KEY_ID,
                                        aws_secret_access_key=ADMIN_SECRET_ACCESS_KEY, region_name=self.region)
        return self._admin

    def root_session(self):
        """The account's root user, whom the grader's gatehouse judges as AWS judges root."""
        import boto3

        return boto3.Session(aws_access_key_id=ROOT_ACCESS_KEY_ID, aws_secret_access_key=ROOT_SECRET_ACCESS_KEY,
                             region_name=self.region)

    def client(self, service: str, **kwargs: Any):
        return self.admin_session().client(service, **kwargs)

    def agent_call(self, call: str, *args: Any, **kwargs: Any) -> Any:
        answer = self.connection.ask({"kind": "agent", "call": call, "args": list(args), "kwargs": kwargs})
        if "refused" in answer:
            raise GatedCommunityError(f"The grader's account refused: {answer['refused']}.")
        if "error" in answer:
            _raise(answer["error"])
        return answer["value"]

    # -- IAM's decisions, from the grader's gatehouse, which judged the calls -------------------------------------

    def why(self, error: Any = None) -> Explanation:
        request_id = ((getattr(error, "response", None) or {}).get("ResponseMetadata") or {}).get("RequestId")
        if error is not None and request_id is None:
            request_id = ""
        return Explanation(self.agent_call("why", request_id, None if error is None else str(error)))

    def decide(self, principal: Any, action: str, resource: str = "*", context: Optional[dict] = None):
        """The grader's gatehouse decides, by the rule every call meets; the statements behind it stay there."""
        from grader.policy.evaluation import Decision

        if not isinstance(principal, str):  # a boto3 Session: the gatehouse knows its caller by its access key
            principal = principal.get_credentials().get_frozen_credentials().access_key
        answer = self.agent_call("decide", principal, action, resource, dict(context or {}))
        if "invalid" in answer:
            raise ValueError(answer["invalid"])
        return Decision(answer["decision"], answer["reason"], None, [], [], None, [])

    # -- badges: where code runs ---------------------------------------------------------------------------------

    def on_instance(self, instance_id: str):
        """A session for code on the instance: botocore's own chain, asking the served instance metadata."""
        return _session(self.agent_call("instance_environment", instance_id))

    def in_task(self, task: Union[str, Mapping]):
        """A session for code in the task: botocore's own chain, asking the served container endpoint first."""
        return _session(self.agent_call("task_environment", task_arn_of(task)))

    def place_of(self, where: Any) -> Place:
        """Where ``inside(where)`` puts the kernel's code: the served account says which instance a task runs on."""
        if isinstance(where, Place):
            return where
        ref = where if isinstance(where, str) else task_arn_of(where)
        return place_from(self.agent_call("place", ref)["place"])

    def link_local(self) -> "ServedLinkLocal":
        return self._link_local

    def metadata_service(self):
        raise CredentialsError(
            "While the notebook is graded, the instance metadata and the task endpoints belong to the grader's "
            "account: reach them through grader.on_instance, grader.in_task, grader.credentials.inside, or an ECS "
            "agent's settings (grader.ecs_agent).")

    def ecs_agent(self, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
                  awsvpc_block_imds: bool = False) -> "ServedAgent":
        return ServedAgent(self, instance_id, cluster, block_task_metadata_access, awsvpc_block_imds)

    # -- life cycle ----------------------------------------------------------------------------------------------

    def reset(self) -> "ServedAccount":
        return self  # the grader gave this notebook a fresh account; only the grader resets it

    def stop(self) -> None:
        pass

    def __enter__(self) -> "ServedAccount":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<Sandbox account {self.account_id} in {self.region}, served by the grader>"


def chosen() -> bool:
    """Whether this process's account is served: the grading worker names its socket for the kernel it grades."""
    return bool(os.environ.get(VARIABLE))


def prepare() -> None:
    """Nothing to do on import: a graded kernel sends every request to the grader's socket, so it needs no front door."""


_lock = threading.Lock()


def start(seed: int = DEFAULT_SEED) -> ServedAccount:
    """The kernel's ``sandbox.start()`` under the grader: connect once, then hand back the same account."""
    with _lock:
        running = _account.running()
        if not isinstance(running, ServedAccount):
            running = _account.enter(connect(os.environ[VARIABLE]))
    show_errors_plainly()
    return running


def connect(path: str) -> ServedAccount:
    """Seal the environment and send every call of this process to the account served on ``path``."""
    import boto3

    for name in CREDENTIAL_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
                       "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull,
                       "AWS_EC2_METADATA_DISABLED": "true"})
    boto3.DEFAULT_SESSION = None
    served = ServedAccount(path)
    _install_transport(served.connection)
    _answer_link_local_here()
    return served


def _session(answer: dict):
    return session_from_environment(answer["environment"], place_from(answer["place"]))


class ServedAgent:
    """The ECS agent on an instance of the served account: the grader's agent does the work, in its account."""

    def __init__(self, sandbox: ServedAccount, instance_id: str, cluster: str, block_task_metadata_access: bool,
                 awsvpc_block_imds: bool):
        self.sandbox = sandbox
        self.instance_id = instance_id
        self.cluster = cluster
        self.container_instance_arn: Optional[str] = None
        sandbox.agent_call("new_agent", instance_id, cluster, bool(block_task_metadata_access),
                           bool(awsvpc_block_imds))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        answer = self.sandbox.agent_call("agent", self.instance_id, self.cluster, method, *args, **kwargs)
        self.container_instance_arn = answer["container_instance_arn"]
        return answer["result"]

    def _setting(self, name: str, *value: bool) -> bool:
        return self.sandbox.agent_call("agent", self.instance_id, self.cluster, name, *value)

    @property
    def block_task_metadata_access(self) -> bool:
        return self._setting("block_task_metadata_access")

    @block_task_metadata_access.setter
    def block_task_metadata_access(self, blocked: bool) -> None:
        self._setting("block_task_metadata_access", bool(blocked))

    @property
    def awsvpc_block_imds(self) -> bool:
        return self._setting("awsvpc_block_imds")

    @awsvpc_block_imds.setter
    def awsvpc_block_imds(self, blocked: bool) -> None:
        self._setting("awsvpc_block_imds", bool(blocked))

    @property
    def session(self):
        return self.sandbox.on_instance(self.instance_id)

    def identity(self) -> tuple:
        return tuple(self._call("identity"))

    def register(self, *, cpu: int = 2048, memory: int = 3904) -> dict:
        return self._call("register", cpu=cpu, memory=memory)

    def report(self) -> dict:
        return self._call("report")

    def start_task(self, task_definition: str, *, overrides: Optional[dict] = None,
                   started_by: str = "gated-community") -> dict:
        return self._call("start_task", task_definition, overrides=overrides, started_by=started_by)

    def stop_task(self, task: Union[str, Mapping], reason: str = "Stopped by the ECS agent") -> dict:
        return self._call("stop_task", task_arn_of(task), reason=reason)

    def pull_images(self, task: Union[str, Mapping]) -> dict:
        return self._call("pull_images", task_arn_of(task))

    def send_logs(self, task: Union[str, Mapping], log_group: str, messages: list,
                  *, stream_prefix: str = "app") -> str:
        return self._call("send_logs", task_arn_of(task), log_group, list(messages), stream_prefix=stream_prefix)