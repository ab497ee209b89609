"""The account served to a learner's kernel while it is graded: the grader holds it, the kernel reaches it over a socket.

Under the grader, the mock account (moto, the gatehouse, the badge endpoints) lives in the grading worker, not in
the learner's kernel. The worker serves it on a Unix socket in the submission's own folder and names that socket
in ``GATED_COMMUNITY_ACCOUNT`` for the kernel; the notebook's own ``sandbox.start()`` then connects to it instead of
starting an account of its own. Whatever the kernel does to its own botocore, gatehouse or checks changes nothing
the grader reads: the verdict is taken in the worker, on the worker's account.

What crosses the socket, one length-prefixed JSON frame each way:

* an HTTP request botocore would have sent (``kind: http``): an AWS API call (to ``*.amazonaws.com``) goes through
  the sandbox's front door, so the gatehouse judges it as the caller's own credentials say, exactly as in process;
  a request to the metadata addresses (169.254.169.254, 169.254.170.2) is answered by the badge endpoints. moto's
  own ``/moto-api`` (reset, state dump, recorder) and every other address are refused;
* what the ECS agent on an instance does for the learner (``kind: agent``): the environment it gives a task's
  containers, and the agent's own calls (register, start a task, report...), run by the worker's agent.

Nothing else is offered: no reset, no clock, no look at moto's state.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import socket
import struct
import threading
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlsplit

VARIABLE = "GATED_COMMUNITY_ACCOUNT"
"""Names the socket of the served account; set by the grading worker for the learner's kernel only."""

METADATA_HOSTS = ("169.254.169.254", "169.254.170.2")
ENDPOINT_HOST = "169.254.170.2"
"""Where served badge endpoints appear to the kernel: an address botocore's container provider accepts."""

MAX_FRAME = 64 * 1024 * 1024
AGENT_METHODS = ("register", "report", "start_task", "stop_task", "pull_images", "send_logs", "identity")


class AccountRefused(Exception):
    """What the served account says to a request it does not serve."""


# --------------------------------------------------------------------------------------------------------------
# Frames


def _send(sock: socket.socket, message: Any) -> None:
    data = json.dumps(message, default=_encode).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def _receive(sock: socket.socket) -> Optional[Any]:
    head = _exactly(sock, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">I", head)
    if length > MAX_FRAME:
        raise AccountRefused(f"a request of {length} bytes is larger than the account accepts ({MAX_FRAME})")
    body = _exactly(sock, length)
    if body is None:
        return None
    return json.loads(body, object_hook=_decode)


def _exactly(sock: socket.socket, count: int) -> Optional[bytes]:
    chunks, left = [], count
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _encode(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"{type(value).__name__} does not cross the account's socket")


def _decode(value: dict) -> Any:
    if "__datetime__" in value and len(value) == 1:
        return _dt.datetime.fromisoformat(value["__datetime__"])
    if "__bytes__" in value and len(value) == 1:
        return base64.b64decode(value["__bytes__"])
    return value


# --------------------------------------------------------------------------------------------------------------
# The worker's side


class AccountServer:
    """Serves the running sandbox ``sandbox`` on the Unix socket ``path`` until ``close()``.

    ``lock`` is held for every request, and by the grader while it judges a test cell, so a kernel's background
    thread cannot change the account in the middle of a verdict.
    """

    def __init__(self, sandbox: Any, path: str, lock: threading.RLock, owner: Optional[int] = None):
        self.sandbox = sandbox
        self.path = path
        self.lock = lock
        self._agents: dict = {}
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        os.chmod(path, 0o600)
        if owner is not None:
            os.chown(path, owner, owner)
        self._listener.listen(8)
        self._closed = False
        self._connections: list = []
        self._thread = threading.Thread(target=self._accept, name=f"served-account:{path}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while not self._closed:
                try:
                    request = _receive(connection)
                except (OSError, ValueError, AccountRefused):
                    return
                if request is None:
                    return
                with self.lock:
                    if self._closed:
                        return
                    answer = self.answer(request)
                try:
                    _send(connection, answer)
                except OSError:
                    return

    def answer(self, request: Any) -> dict:
        try:
            if not isinstance(request, dict):
                raise AccountRefused("the account answers AWS API calls only")
            if request.get("kind") == "http":
                return self._http(request)
            if request.get("kind") == "agent":
                return {"value": self._agent(request)}
            raise AccountRefused("the account answers AWS API calls only")
        except AccountRefused as refused:
            return {"refused": str(refused)}
        except Exception as error:  # the learner's call failed; they read why, in their own kernel
            return {"error": _describe(error)}

    def _http(self, request: dict) -> dict:
        method, url = str(request["method"]), str(request["url"])
        headers = {str(k): str(v) for k, v in dict(request.get("headers") or {}).items()}
        body = request.get("body") or b""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in METADATA_HOSTS:
            from grader.credentials import metadata_service

            path = parts.path + (f"?{parts.query}" if parts.query else "")
            answer = metadata_service(self.sandbox).answer(method, path, headers)
            if not isinstance(answer, tuple):
                return {"drop": True}
            return _response(*answer)
        if not host.endswith(".amazonaws.com") or host.startswith("motoapi.") or "/moto-api" in parts.path:
            raise AccountRefused(f"{url} is not an AWS API call; the grader's account answers nothing else")
        service = _service_of(url)
        if service not in _course_services():
            # moto would serve more (Lambda and Batch even start containers), in the grader's own process.
            raise AccountRefused(f"{url} is not a call to a service of the course ({', '.join(_course_services())})")
        from botocore.awsrequest import AWSPreparedRequest
        from moto.core.models import botocore_stubber

        prepared = AWSPreparedRequest(method, url, headers, body, stream_output=False)
        answer = botocore_stubber.process_request(prepared)
        if answer is None:
            raise AccountRefused(f"{url} is not an AWS API the account serves")
        return _response(*answer)

    def _agent(self, request: dict) -> Any:
        call = request.get("call")
        args = list(request.get("args") or [])
        if call == "instance_environment":
            from grader.credentials import environment_for_instance

            return _served_endpoints(environment_for_instance(str(args[0]), sandbox=self.sandbox))
        if call == "task_environment":
            from grader.credentials import environment_for_task

            return _served_endpoints(environment_for_task(args[0], sandbox=self.sandbox))
        if call == "why":
            from grader import gatehouse

            request_id, said = (list(args) + [None, None])[:2]
            error = None if request_id is None else _Refusal(str(request_id), str(said))
            return str(gatehouse.why(error))
        if call == "agent":
            instance_id, cluster, block, method = str(args[0]), str(args[1]), bool(args[2]), str(args[3])
            if method not in AGENT_METHODS + ("block_task_metadata_access",):
                raise AccountRefused(f"the ECS agent has no {method!r}")
            agent = self._agent_for(instance_id, cluster, block)
            if method == "block_task_metadata_access":
                if len(args) > 4:
                    agent.block_task_metadata_access = bool(args[4])
                return agent.block_task_metadata_access
            result = getattr(agent, method)(*args[4:], **dict(request.get("kwargs") or {}))
            return {"result": result, "container_instance_arn": agent.container_instance_arn}
        raise AccountRefused("the account answers AWS API calls only")

    def _agent_for(self, instance_id: str, cluster: str, block: bool):
        from grader.ecs import ecs_agent

        key = (instance_id, cluster)
        if key not in self._agents:
            self._agents[key] = ecs_agent(self.sandbox, instance_id, cluster, block_task_metadata_access=block)
        return self._agents[key]

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        except OSError:
            pass
        for connection in self._connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _service_of(url: str) -> Optional[str]:
    """The moto service a URL reaches, found as moto finds it: the first of its URL patterns that matches."""
    from moto.backend_index import backend_url_patterns
    from moto.core.utils import get_equivalent_url_in_aws_domain

    parsed, _ = get_equivalent_url_in_aws_domain(url)
    clean = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    return next((service for service, pattern in backend_url_patterns if pattern.match(clean)), None)


def _course_services() -> list:
    """The services the gatehouse has a table for: the only ones a graded kernel may call."""
    from grader.services import TABLES, table_for

    table_for("iam")  # loads every table
    return sorted(TABLES)


class _Refusal:
    """A refusal as the kernel saw it: its request id (which the gatehouse's log knows) and its message."""

    def __init__(self, request_id: str, said: str):
        self.response = {"ResponseMetadata": {"RequestId": request_id}}
        self._said = said

    def __str__(self) -> str:
        return self._said


def _response(status: int, headers: Mapping, body: Any) -> dict:
    if isinstance(body, str):
        body = body.encode()
    return {"status": int(status), "headers": {str(k): str(v) for k, v in dict(headers or {}).items()},
            "body": bytes(body or b"")}


def _served_endpoints(environ: Mapping[str, str]) -> dict:
    """The worker's endpoint URLs as the kernel reaches them: the same paths, on the served metadata address."""
    out = {}
    for name, value in environ.items():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            value = f"http://{ENDPOINT_HOST}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        out[name] = value
    return out


def _describe(error: BaseException) -> dict:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return {"type": "ClientError", "response": _plain(error.response), "operation": error.operation_name}
    return {"type": type(error).__name__, "module": type(error).__module__, "message": str(error)}


def _plain(value: Any) -> Any:
    try:
        json.dumps(value, default=_encode)
        return value
    except TypeError:
        return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------------------------------------------
# The kernel's side


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
            _send(sock, request)
            answer = _receive(sock)
        except OSError:
            answer = None
        if answer is None:
            self._local.sock = None
            raise ConnectionError("The grader's account closed the connection: grading of this notebook has ended.")
        return answer


def _raise(error: dict) -> None:
    from botocore.exceptions import ClientError

    if error.get("type") == "ClientError":
        raise ClientError(error["response"], error.get("operation") or "")
    import importlib

    from grader.errors import GatedCommunityError

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
        import io

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
    """Every HTTP request botocore sends from this process travels to the served account instead."""
    import botocore.httpsession
    from botocore.awsrequest import AWSResponse
    from botocore.exceptions import ConnectionClosedError

    from grader.errors import SandboxNetworkBlocked

    def send(self, request):
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
        if answer.get("drop"):
            raise ConnectionClosedError(endpoint_url=request.url)
        response = AWSResponse(request.url, answer["status"], answer["headers"], _Raw(answer["body"]))
        if not request.stream_output:
            response.content  # noqa: B018 - botocore reads the whole body here, as its own send does
        return response

    send.__served__ = True
    botocore.httpsession.URLLib3Session.send = send


class ServedSandbox:
    """The kernel's view of the account the grader serves: the administrator's clients, nothing of moto's."""

    served = True
    # Modules that install themselves on a running sandbox find nothing to install into: the account is elsewhere.
    gates: list = []
    on_reset: list = []
    on_stop: list = []

    def __init__(self, path: str):
        from grader import sandbox as _sandbox

        self.path = path
        self.seed = _sandbox.DEFAULT_SEED
        self.account_id = _sandbox.ACCOUNT_ID
        self.region = _sandbox.REGION
        self.clock = _sandbox.Clock()
        self.connection = _Connection(path)
        self._admin = None

    @property
    def running(self) -> bool:
        return True

    def _require_running(self) -> None:
        pass

    def admin_session(self):
        import boto3

        from grader import sandbox as _sandbox

        if self._admin is None:
            self._admin = boto3.Session(aws_access_key_id=_sandbox.ADMIN_ACCESS_KEY_ID,
                                        aws_secret_access_key=_sandbox.ADMIN_SECRET_ACCESS_KEY,
                                        region_name=self.region)
        return self._admin

    def client(self, service: str, **kwargs: Any):
        return self.admin_session().client(service, **kwargs)

    def agent_call(self, call: str, *args: Any, **kwargs: Any) -> Any:
        answer = self.connection.ask({"kind": "agent", "call": call, "args": list(args), "kwargs": kwargs})
        if "refused" in answer:
            from grader.errors import GatedCommunityError

            raise GatedCommunityError(f"The grader's account refused: {answer['refused']}.")
        if "error" in answer:
            _raise(answer["error"])
        return answer["value"]

    def reset(self) -> "ServedSandbox":
        return self  # the grader gave this notebook a fresh account; only the grader resets it

    def stop(self) -> None:
        pass

    def __enter__(self) -> "ServedSandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<Sandbox account {self.account_id} in {self.region}, served by the grader>"


def connect(path: str) -> ServedSandbox:
    """The kernel's ``sandbox.start()`` under the grader: seal the environment and send every call to ``path``."""
    import boto3

    from grader import sandbox as _sandbox

    for name in _sandbox._CREDENTIAL_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": _sandbox.ADMIN_ACCESS_KEY_ID,
                       "AWS_SECRET_ACCESS_KEY": _sandbox.ADMIN_SECRET_ACCESS_KEY,
                       "AWS_DEFAULT_REGION": _sandbox.REGION, "AWS_REGION": _sandbox.REGION,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull,
                       "AWS_EC2_METADATA_DISABLED": "true"})
    boto3.DEFAULT_SESSION = None
    served = ServedSandbox(path)
    _install_transport(served.connection)
    return served


# --------------------------------------------------------------------------------------------------------------
# The book's helpers, as the kernel uses them against the served account


def on_instance(instance_id: str, *, sandbox: Any = None):
    """A session for code on the instance: botocore's own chain, asking the served instance metadata."""
    from grader.credentials import session_from_environment

    return session_from_environment(_served(sandbox).agent_call("instance_environment", instance_id))


def in_task(task: Union[str, Mapping], *, sandbox: Any = None):
    """A session for code in the task: botocore's own chain, asking the served container endpoint."""
    from grader.credentials import session_from_environment

    return session_from_environment(_served(sandbox).agent_call("task_environment", _task_ref(task)))


class Explanation(str):
    """why()'s answer: plain text that a notebook shows as it is."""

    def __repr__(self) -> str:
        return str(self)


def why(error: Any = None, *, sandbox: Any = None) -> Explanation:
    """The gatehouse's explanation of a refusal, from the grader's gatehouse, which judged the call."""
    request_id = ((getattr(error, "response", None) or {}).get("ResponseMetadata") or {}).get("RequestId")
    if error is not None and request_id is None:
        request_id = ""
    return Explanation(_served(sandbox).agent_call("why", request_id, None if error is None else str(error)))


def _task_ref(task: Union[str, Mapping]) -> str:
    if isinstance(task, Mapping):
        return task.get("taskArn") or task["tasks"][0]["taskArn"]
    return str(task)


def _served(sandbox: Any) -> ServedSandbox:
    from grader import sandbox as _sandbox

    box = sandbox or _sandbox.current()
    if not getattr(box, "served", False):
        raise TypeError("this helper serves the grader's account only")
    return box


class ServedAgent:
    """The ECS agent on an instance of the served account: the grader's agent does the work, in its account."""

    def __init__(self, sandbox: ServedSandbox, instance_id: str, cluster: str, block_task_metadata_access: bool):
        self.sandbox = sandbox
        self.instance_id = instance_id
        self.cluster = cluster
        self._block = bool(block_task_metadata_access)
        self.container_instance_arn: Optional[str] = None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        answer = self.sandbox.agent_call("agent", self.instance_id, self.cluster, self._block, method, *args,
                                         **kwargs)
        self.container_instance_arn = answer["container_instance_arn"]
        return answer["result"]

    @property
    def block_task_metadata_access(self) -> bool:
        return self.sandbox.agent_call("agent", self.instance_id, self.cluster, self._block,
                                       "block_task_metadata_access")

    @block_task_metadata_access.setter
    def block_task_metadata_access(self, blocked: bool) -> None:
        self._block = bool(blocked)
        self.sandbox.agent_call("agent", self.instance_id, self.cluster, self._block, "block_task_metadata_access",
                                self._block)

    @property
    def session(self):
        return on_instance(self.instance_id, sandbox=self.sandbox)

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
        return self._call("stop_task", _task_ref(task), reason=reason)

    def pull_images(self, task: Union[str, Mapping]) -> dict:
        return self._call("pull_images", _task_ref(task))

    def send_logs(self, task: Union[str, Mapping], log_group: str, messages: list,
                  *, stream_prefix: str = "app") -> str:
        return self._call("send_logs", _task_ref(task), log_group, list(messages), stream_prefix=stream_prefix)


def ecs_agent(sandbox: Any, instance_id: str, cluster: str, *, block_task_metadata_access: bool = True) -> ServedAgent:
    return ServedAgent(_served(sandbox), instance_id, cluster, block_task_metadata_access)
