"""The account served to a learner's kernel while it is graded: the grader holds it, the kernel reaches it over a socket.

Under the grader, the mock account (moto, the gatehouse, the badge endpoints) lives in the grading worker, not in
the learner's kernel. The worker serves it on a Unix socket in the submission's own folder and names that socket
in ``GATED_COMMUNITY_ACCOUNT`` for the kernel; the notebook's own ``sandbox.start()`` then connects to it instead of
starting an account of its own. Whatever the kernel does to its own botocore, gatehouse or checks changes nothing
the grader reads: the verdict is taken in the worker, on the worker's account.

What crosses the socket, one length-prefixed JSON frame each way:

* an HTTP request botocore would have sent (``kind: http``): an AWS API call (to ``*.amazonaws.com``) goes through
  the sandbox's front door, so the gatehouse judges it as the caller's own credentials say, exactly as in process.
  moto's own ``/moto-api`` (reset, state dump, recorder) and every other address are refused;
* a request to AWS's link-local credential addresses (``kind: metadata``): in the kernel, botocore's providers and
  a learner's own ``urllib`` or ``requests`` code reach 169.254.169.254 and 169.254.170.2 through the in-process
  endpoints (``grader.aws.endpoints``), exactly as in a learner's own Jupyter; only the answering is the worker's.
  Each request carries the place its code runs at (an instance, a task: ``grader.credentials.Place``), and the
  worker's metadata service answers it from there;
* what the ECS agent on an instance does for the learner (``kind: agent``): the environment and place it gives a
  task's containers, and the agent's own calls (register, start a task, report...), run by the worker's agent.

Nothing else is offered: no reset, no clock, no look at moto's state.
"""

from __future__ import annotations

import base64
import contextlib
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

MAX_FRAME = 16 * 1024 * 1024
"""The largest request the account reads. A course's calls are small (policies, a few bytes put to S3); boto3 sends a
bigger upload in parts of 8 MiB (``TransferConfig.multipart_chunksize``), which a frame carries base64-encoded, in
under 11 MiB. A frame announced larger is refused before any of it is read."""
MAX_CONNECTIONS = 32
"""Connections served at once: a kernel's client holds one per thread that calls AWS."""
AGENT_METHODS = ("register", "report", "start_task", "stop_task", "pull_images", "send_logs", "identity")
AGENT_SETTINGS = ("block_task_metadata_access", "awsvpc_block_imds")


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
    thread cannot change the account in the middle of a verdict. ``close()`` waits for the request being answered
    to finish before it returns, so the account can be reset and handed on with nothing of this kernel still at work
    in it; it answers nothing more after that. At most ``MAX_CONNECTIONS`` connections are served at once, each by a
    thread of the worker: a kernel cannot make the worker start threads without limit.
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
        self._connections: set = set()
        self._threads: set = set()
        self._guard = threading.Lock()  # for the two sets above
        self._thread = threading.Thread(target=self._accept, name=f"served-account:{path}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._guard:
                full = len(self._connections) >= MAX_CONNECTIONS
                if not full and not self._closed:
                    self._connections.add(connection)
                    thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
                    self._threads.add(thread)
                    thread.start()
                    continue
            with contextlib.suppress(OSError):
                _send(connection, {"full": True, "refused": f"the account serves at most {MAX_CONNECTIONS} "
                                   "connections at once, one for each thread that calls AWS: use fewer threads"})
            connection.close()

    def _serve(self, connection: socket.socket) -> None:
        try:
            with connection:
                while not self._closed:
                    try:
                        request = _receive(connection)
                    except AccountRefused as refused:  # too large to read: say so, then hang up
                        with contextlib.suppress(OSError):
                            _send(connection, {"refused": str(refused)})
                        return
                    except (OSError, ValueError):
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
        finally:
            with self._guard:
                self._connections.discard(connection)
                self._threads.discard(threading.current_thread())

    def answer(self, request: Any) -> dict:
        try:
            if not isinstance(request, dict):
                raise AccountRefused("the account answers AWS API calls only")
            if request.get("kind") == "http":
                return self._http(request)
            if request.get("kind") == "metadata":
                return self._metadata(request)
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
        if not host.endswith(".amazonaws.com") or host.startswith("motoapi.") or "/moto-api" in parts.path:
            raise AccountRefused(f"{url} is not an AWS API call; the grader's account answers nothing else")
        # The service is the one the host names, as AWS's endpoints do, and the one its signature and moto's routing
        # name too (grader.aws.routing, which the gatehouse asks as well): nothing else reaches moto.
        service = _service_of(url, headers, body, method)
        if service is None:
            raise AccountRefused(f"{url} is not an AWS API call; the grader's account answers nothing else")
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

    def _metadata(self, request: dict) -> dict:
        """One exchange with 169.254.169.254 or 169.254.170.2, answered from the place the kernel's code runs at."""
        from grader import credentials
        from grader.aws import endpoints

        host = str(request.get("host"))
        if host not in endpoints.ADDRESSES:
            raise AccountRefused(f"{host} is not one of AWS's link-local credential addresses")
        place = _place_from(request.get("place"))
        service = credentials.metadata_service(self.sandbox)
        with credentials.inside(place) if place is not None else contextlib.nullcontext():
            if request.get("op") == "route":
                silent = service.route(host)
            else:
                silent = service.answer(host, str(request.get("method")), str(request.get("path") or "/"),
                                        {str(k): str(v) for k, v in dict(request.get("headers") or {}).items()},
                                        bytes(request.get("body") or b""))
        if isinstance(silent, endpoints.Silent):
            return {"silent": silent.reason}
        return {"open": True} if silent is None else _response(*silent)

    def _agent(self, request: dict) -> Any:
        call = request.get("call")
        args = list(request.get("args") or [])
        if call in ("instance_environment", "task_environment", "place"):
            from grader import credentials

            where = args[0] if call != "instance_environment" else str(args[0])
            place = credentials._place_of(where, self.sandbox)
            answer = {"place": _place_to(place)}
            if call == "instance_environment":
                answer["environment"] = credentials.environment_for_instance(where, sandbox=self.sandbox)
            elif call == "task_environment":
                answer["environment"] = credentials.environment_for_task(where, sandbox=self.sandbox)
            return answer
        if call == "why":
            from grader import gatehouse

            request_id, said = (list(args) + [None, None])[:2]
            error = None if request_id is None else _Refusal(str(request_id), str(said))
            return str(gatehouse.why(error))
        if call == "decide":
            from grader import gatehouse

            principal, action, resource, context = (list(args) + [None] * 4)[:4]
            try:
                decided = gatehouse.decide(str(principal), str(action), str(resource or "*"), dict(context or {}))
            except ValueError as error:  # no such user, role or session: the kernel hears it as in process
                return {"invalid": str(error)}
            return {"decision": decided.decision, "reason": str(decided.reason)}
        if call == "new_agent":
            # As in process, making an agent sets the instance's blocking as its arguments say.
            from grader.ecs import ecs_agent

            instance_id, cluster = str(args[0]), str(args[1])
            self._agents[(instance_id, cluster)] = ecs_agent(
                self.sandbox, instance_id, cluster, block_task_metadata_access=bool(args[2]),
                awsvpc_block_imds=bool(args[3]))
            return None
        if call == "agent":
            instance_id, cluster, method = str(args[0]), str(args[1]), str(args[2])
            agent = self._agents.get((instance_id, cluster))
            if agent is None:
                raise AccountRefused(f"there is no ECS agent on {instance_id} for {cluster}; make one with "
                                     "grader.ecs_agent(aws, instance_id, cluster)")
            if method in AGENT_SETTINGS:
                if len(args) > 3:
                    setattr(agent, method, bool(args[3]))
                return getattr(agent, method)
            if method not in AGENT_METHODS:
                raise AccountRefused(f"the ECS agent has no {method!r}")
            result = getattr(agent, method)(*args[3:], **dict(request.get("kwargs") or {}))
            return {"result": result, "container_instance_arn": agent.container_instance_arn}
        raise AccountRefused("the account answers AWS API calls only")

    def close(self, timeout: float = 60.0) -> bool:
        """Stop serving; return True once no request of the kernel is at work in the account any more.

        A request being answered holds the account's lock: waiting for the lock waits for it. False means one was
        still running after ``timeout`` seconds; the account must then not be handed on to anyone else.
        """
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._guard:
            connections, threads = list(self._connections), list(self._threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        if not self.lock.acquire(timeout=timeout):
            return False
        self.lock.release()
        self._thread.join(timeout)
        for thread in threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in threads)


def _service_of(url: str, headers: Optional[Mapping] = None, body: Any = b"", method: str = "POST") -> Optional[str]:
    """The service a request is for: the one its host names as AWS names endpoints, if its signature, its operation
    and moto's routing agree; ``None`` for an address that is no AWS endpoint moto answers.

    A request on which they disagree is refused (``AccountRefused``), in the sandbox's words.
    """
    from grader.aws import routing
    from grader.services import service_models

    try:
        route = routing.resolve(method, url, dict(headers or {}), body, service_models())
    except routing.Misrouted as misrouted:
        raise AccountRefused(f"{url} was refused: {misrouted.message}") from None
    return None if route is None else route.service


def _course_services() -> list:
    """The services the gatehouse has a table for: the only ones a graded kernel may call."""
    from grader.services import service_models

    return sorted(service_models())


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


def _place_to(place: Any) -> Optional[dict]:
    return None if place is None else {"instance_id": place.instance_id, "task_arn": place.task_arn}


def _place_from(value: Any):
    """The place a kernel's request comes from. The kernel names it, as ``inside()`` lets any reader's code do."""
    from grader.credentials import Place

    if not isinstance(value, dict):
        return None
    instance_id, task_arn = value.get("instance_id"), value.get("task_arn")
    if not all(v is None or isinstance(v, str) for v in (instance_id, task_arn)):
        raise AccountRefused("a place is an instance id and a task ARN, each a string or nothing")
    return Place(instance_id=instance_id, task_arn=task_arn)


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
    """Every HTTP request botocore sends from this process travels to the served account instead.

    Requests to the link-local credential addresses take botocore's own way, through urllib3, to the in-process
    endpoints, which ask the served account (``ServedLinkLocal``): botocore's providers see exactly what they see in
    a learner's own Jupyter.
    """
    import botocore.httpsession
    from botocore.awsrequest import AWSResponse

    from grader.aws import endpoints
    from grader.errors import SandboxNetworkBlocked

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
        from grader.credentials import here

        answer = self.connection.ask({"kind": "metadata", "op": op, "host": host, "place": _place_to(here()),
                                      **more})
        if "refused" in answer:
            from grader.errors import GatedCommunityError

            raise GatedCommunityError(f"The grader's account refused: {answer['refused']}.")
        if "error" in answer:
            _raise(answer["error"])
        return answer

    def route(self, host: str):
        from grader.aws import endpoints

        answer = self._ask("route", host)
        return endpoints.Silent(answer["silent"]) if "silent" in answer else None

    def answer(self, host: str, method: str, path: str, headers: Mapping, body: bytes):
        from grader.aws import endpoints

        answer = self._ask("answer", host, method=method, path=path,
                           headers={str(k): str(v) for k, v in dict(headers).items()}, body=bytes(body or b""))
        if "silent" in answer:
            return endpoints.Silent(answer["silent"])
        return answer["status"], answer["headers"], answer["body"]


def _answer_link_local_here() -> None:
    """Open this process's connections to the link-local addresses onto the in-process endpoints.

    Only the endpoints' own patches: the rest of the sandbox's registry corrects moto, which a graded kernel has not.
    """
    import grader.credentials  # noqa: F401 - makes the endpoints answer through it, and so through the account
    from grader.aws import endpoints

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
        self.link_local = ServedLinkLocal(self.connection)
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

    def root_session(self):
        """The account's root user, whom the grader's gatehouse judges as AWS judges root."""
        import boto3

        from grader import sandbox as _sandbox

        return boto3.Session(aws_access_key_id=_sandbox.ROOT_ACCESS_KEY_ID,
                             aws_secret_access_key=_sandbox.ROOT_SECRET_ACCESS_KEY, region_name=self.region)

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
    _answer_link_local_here()
    return served


# --------------------------------------------------------------------------------------------------------------
# The book's helpers, as the kernel uses them against the served account


def on_instance(instance_id: str, *, sandbox: Any = None):
    """A session for code on the instance: botocore's own chain, asking the served instance metadata."""
    return _session(_served(sandbox).agent_call("instance_environment", instance_id))


def in_task(task: Union[str, Mapping], *, sandbox: Any = None):
    """A session for code in the task: botocore's own chain, asking the served container endpoint first."""
    return _session(_served(sandbox).agent_call("task_environment", _task_ref(task)))


def place_of(where: Any, *, sandbox: Any = None):
    """Where ``inside(where)`` puts the kernel's code: the served account says which instance a task runs on."""
    from grader.credentials import Place

    if isinstance(where, Place):
        return where
    ref = where if isinstance(where, str) else _task_ref(where)
    return _place_from(_served(sandbox).agent_call("place", ref)["place"])


def _session(answer: dict):
    from grader.credentials import session_from_environment

    return session_from_environment(answer["environment"], _place_from(answer["place"]))


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


def decide(principal: Any, action: str, resource: str = "*", context: Optional[dict] = None, *,
           sandbox: Any = None):
    """``gatehouse.decide()`` in a graded kernel: the grader's gatehouse decides, by the rule every call meets.

    The answer is the decision and its reason; the statements behind it stay in the grader's process.
    """
    from grader.policy.evaluation import Decision

    if not isinstance(principal, str):  # a boto3 Session: the gatehouse knows its caller by its access key
        principal = principal.get_credentials().get_frozen_credentials().access_key
    answer = _served(sandbox).agent_call("decide", principal, action, resource, dict(context or {}))
    if "invalid" in answer:
        raise ValueError(answer["invalid"])
    return Decision(answer["decision"], answer["reason"], None, [], [], None, [])


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

    def __init__(self, sandbox: ServedSandbox, instance_id: str, cluster: str, block_task_metadata_access: bool,
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


def ecs_agent(sandbox: Any, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
              awsvpc_block_imds: bool = False) -> ServedAgent:
    return ServedAgent(_served(sandbox), instance_id, cluster, block_task_metadata_access, awsvpc_block_imds)
