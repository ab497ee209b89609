"""The worker's side: the account it holds, served on a Unix socket to the kernel it grades."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from grader.aws import endpoints, routing
from grader.aws.front_door import answer_request
from grader.credentials import sessions
from grader.credentials.places import inside
from grader.gatehouse.services import service_models
from grader.served.wire import (AGENT_METHODS, AGENT_SETTINGS, MAX_CONNECTIONS, AccountRefused, describe,
                                place_from, place_to, receive, response, send)

__all__ = ["AccountServer"]

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
                send(connection, {"full": True, "refused": f"the account serves at most {MAX_CONNECTIONS} "
                                   "connections at once, one for each thread that calls AWS: use fewer threads"})
            connection.close()

    def _serve(self, connection: socket.socket) -> None:
        try:
            with connection:
                while not self._closed:
                    try:
                        request = receive(connection)
                    except AccountRefused as refused:  # too large to read: say so, then hang up
                        with contextlib.suppress(OSError):
                            send(connection, {"refused": str(refused)})
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
                        send(connection, answer)
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
            return {"error": describe(error)}

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
        answer = answer_request(method, url, headers, body)
        if answer is None:
            raise AccountRefused(f"{url} is not an AWS API the account serves")
        return response(*answer)

    def _metadata(self, request: dict) -> dict:
        """One exchange with 169.254.169.254 or 169.254.170.2, answered from the place the kernel's code runs at."""
        host = str(request.get("host"))
        if host not in endpoints.ADDRESSES:
            raise AccountRefused(f"{host} is not one of AWS's link-local credential addresses")
        place = place_from(request.get("place"))
        service = self.sandbox.metadata_service()
        with inside(place) if place is not None else contextlib.nullcontext():
            if request.get("op") == "route":
                silent = service.route(host)
            else:
                silent = service.answer(host, str(request.get("method")), str(request.get("path") or "/"),
                                        {str(k): str(v) for k, v in dict(request.get("headers") or {}).items()},
                                        bytes(request.get("body") or b""))
        if isinstance(silent, endpoints.Silent):
            return {"silent": silent.reason}
        return {"open": True} if silent is None else response(*silent)

    def _agent(self, request: dict) -> Any:
        call = request.get("call")
        args = list(request.get("args") or [])
        if call in ("instance_environment", "task_environment", "place"):
            where = args[0] if call != "instance_environment" else str(args[0])
            place = self.sandbox.place_of(where)
            answer = {"place": place_to(place)}
            if call == "instance_environment":
                answer["environment"] = sessions.environment_for_instance(where, sandbox=self.sandbox)
            elif call == "task_environment":
                answer["environment"] = sessions.environment_for_task(where, sandbox=self.sandbox)
            return answer
        if call == "why":
            request_id, said = (list(args) + [None, None])[:2]
            error = None if request_id is None else _Refusal(str(request_id), str(said))
            return str(self.sandbox.why(error))
        if call == "decide":
            principal, action, resource, context = (list(args) + [None] * 4)[:4]
            try:
                decided = self.sandbox.decide(str(principal), str(action), str(resource or "*"), dict(context or {}))
            except ValueError as error:  # no such user, role or session: the kernel hears it as in process
                return {"invalid": str(error)}
            return {"decision": decided.outcome, "reason": str(decided.reason)}
        if call == "new_agent":
            # As in process, making an agent sets the instance's blocking as its arguments say.
            instance_id, cluster = str(args[0]), str(args[1])
            self._agents[(instance_id, cluster)] = self.sandbox.ecs_agent(
                instance_id, cluster, block_task_metadata_access=bool(args[2]),
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
    try:
        route = routing.resolve(method, url, dict(headers or {}), body, service_models())
    except routing.Misrouted as misrouted:
        raise AccountRefused(f"{url} was refused: {misrouted.message}") from None
    return None if route is None else route.service


def _course_services() -> list:
    """The services the gatehouse has a table for: the only ones a graded kernel may call."""
    return sorted(service_models())


class _Refusal:
    """A refusal as the kernel saw it: its request id (which the gatehouse's log knows) and its message."""

    def __init__(self, request_id: str, said: str):
        self.response = {"ResponseMetadata": {"RequestId": request_id}}
        self._said = said

    def __str__(self) -> str:
        return self._said