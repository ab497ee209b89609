"""AWS's link-local credential addresses, answered inside the process: no server, no thread, no socket.

On AWS, code on an EC2 instance reaches the instance metadata service at ``169.254.169.254`` and code in an ECS task
reaches the ECS agent's credential endpoint at ``169.254.170.2``. The sandbox answers both addresses in the process
that asks, at the one place every Python HTTP client opens a TCP connection:

* ``socket.create_connection``, which ``http.client.HTTPConnection`` looks up for each connection it makes
  (``urllib.request`` and any ``http.client`` code), and
* ``urllib3.util.connection.create_connection`` (``requests``, and botocore's own ``iam-role`` and
  ``container-role`` providers, which send through urllib3), and
* in a browser (Pyodide), where urllib3 sends through the browser's ``fetch`` instead of a socket, the two
  functions of ``urllib3.contrib.emscripten.connection`` that do it.

For those two addresses on port 80 the connection is a :class:`LinkLocalSocket`: it collects the request the client
writes, hands it to the endpoint's answering function and gives the client the answer to read. Every other address
goes on to the real function, so the sandbox's network guard still refuses anything off loopback. Nothing here needs
a socket or a thread, which is what the book in a browser (Pyodide) needs too.

What answers is one object (see :func:`serve`) with two methods. ``route(host)`` says whether a connection opens:
``None`` if it does, else a :class:`Silent` reason (a packet filter's ``DROP``, or no metadata service there at all).
``answer(host, method, path, headers, body)`` returns ``(status, headers, body)``, or a :class:`Silent` when the
request arrives but the reply never does (an IMDSv2 token whose ``HttpPutResponseHopLimit`` is too small to reach a
container). Either silence reaches the client as a timeout, as it would on a network.
"""

from __future__ import annotations

import http.client
import io
import sys
from urllib.parse import urlsplit
from typing import Any, Callable, Optional

IMDS_ADDRESS = "169.254.169.254"
ECS_CREDENTIALS_ADDRESS = "169.254.170.2"
ADDRESSES = (IMDS_ADDRESS, ECS_CREDENTIALS_ADDRESS)
PASSTHROUGH = tuple(rf"http://{address.replace('.', chr(92) + '.')}(:80)?/" for address in ADDRESSES)
"""URL patterns moto must let through to the network layer, where these endpoints answer them."""


class Silence(TimeoutError):
    """What a client sees when a link-local request gets no answer: a timeout, with the sandbox's reason attached."""


class Silent:
    """No answer, and the sandbox's reason for it (shown in the timeout the client raises)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"<silent: {self.reason}>"


NOWHERE = Silent(
    "timed out: nothing answers at this address here, because this code is not running on an EC2 instance or in an "
    "ECS task of the sandbox. Run it there with `with grader.credentials.inside(instance_id_or_task): ...`.")

_endpoints: Any = None


def serve(endpoints: Any) -> None:
    """Answer the link-local addresses with ``endpoints`` rather than the account's (None: the account's again)."""
    global _endpoints
    _endpoints = endpoints


class _Nowhere:
    """Nothing answers: no account runs in this process, as on a laptop."""

    @staticmethod
    def route(host: str) -> Silent:
        return NOWHERE

    @staticmethod
    def answer(host: str, method: str, path: str, headers: Any, body: bytes) -> Silent:
        return NOWHERE


def _answering() -> Any:
    """What answers the link-local addresses now: the running account's services (``Account.link_local``)."""
    if _endpoints is not None:
        return _endpoints
    from grader import account

    running = account.running()
    if running is None or not running.running:
        return _Nowhere
    return running.link_local()


class _Unanswered(io.RawIOBase):
    """A reply that never comes: reading it times out, as a socket would."""

    def __init__(self, reason: str):
        self._why = reason

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise Silence(self._why)


class LinkLocalSocket:
    """Enough of a connected socket for http.client and urllib3: the request goes in, the answer comes out."""

    def __init__(self, host: str, port: int, timeout: Any = None):
        self.host, self.port = host, port
        self._timeout = timeout
        self._sent = bytearray()
        self._reply: Optional[io.BufferedIOBase] = None

    # what http.client and urllib3 call on a socket
    def sendall(self, data: Any) -> None:
        self._sent += bytes(data)

    send = sendall

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any):
        if self._reply is None:
            self._reply = self._answer()
        return self._reply

    def settimeout(self, timeout: Any) -> None:
        self._timeout = timeout

    def gettimeout(self) -> Any:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        pass

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        pass

    def getpeername(self) -> tuple:
        return (self.host, self.port)

    # the exchange
    def _answer(self) -> io.BufferedIOBase:
        method, path, headers, body = _parse_request(bytes(self._sent))
        answer = _answering().answer(self.host, method, path, headers, body)
        if isinstance(answer, Silent):
            return io.BufferedReader(_Unanswered(answer.reason))
        status, answer_headers, answer_body = answer
        lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, '')}"]
        lines += [f"{name}: {value}" for name, value in answer_headers.items()]
        # One exchange per connection: the client closes it after reading, and never asks a socket whether it is
        # still open (which would need a real file descriptor).
        lines += [f"Content-Length: {len(answer_body)}", "Connection: close", "", ""]
        return io.BufferedReader(io.BytesIO("\r\n".join(lines).encode("latin-1") + answer_body))


def _parse_request(raw: bytes) -> tuple[str, str, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (request_line.split(" ") + ["", ""])[:3]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    if target.startswith("http://"):  # a request sent through a proxy names the whole URL
        target = "/" + target.split("/", 3)[-1] if target.count("/") >= 3 else "/"
    return method, target or "/", headers, body


def _link_local(address: Any) -> bool:
    return isinstance(address, tuple) and address[0] in ADDRESSES and int(address[1]) == 80


def _connect(original: Callable) -> Callable:
    def create_connection(address, timeout=None, source_address=None, *args, **kwargs):
        if _link_local(address):
            refusal = _answering().route(address[0])
            if refusal is not None:
                raise Silence(refusal.reason)
            return LinkLocalSocket(address[0], int(address[1]), timeout)
        return original(address, timeout, source_address, *args, **kwargs)

    create_connection.__wrapped__ = original
    return create_connection


def _fetch(original: Callable) -> Callable:
    """urllib3 in Pyodide: a request to a link-local address is answered here instead of by the browser's fetch."""

    def send_request(request, *args, **kwargs):
        url = urlsplit(request.url)
        if not (url.scheme == "http" and _link_local((url.hostname, url.port or 80))):
            return original(request, *args, **kwargs)
        from urllib3.contrib.emscripten.response import EmscriptenResponse
        from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

        # Silence reaches urllib3's caller as it does from a socket: a connect or a read timeout, in urllib3's words.
        refusal = _answering().route(url.hostname)
        if refusal is not None:
            raise ConnectTimeoutError(None, f"Connection to {url.hostname} timed out. (connect timeout="
                                            f"{request.timeout or None})")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        answer = _answering().answer(url.hostname, request.method, path, dict(request.headers), bytes(body))
        if isinstance(answer, Silent):
            raise ReadTimeoutError(None, request.url, f"Read timed out. (read timeout={request.timeout or None})")
        status, headers, answer_body = answer
        headers = {**headers, "Content-Length": str(len(answer_body))}
        return EmscriptenResponse(status_code=status, headers=headers, body=answer_body, request=request)

    send_request.__wrapped__ = original
    return send_request


PATCHES = (
    # http.client.HTTPConnection looks socket.create_connection up each time a connection object is made.
    ("socket:", "create_connection", _connect,
     "urllib.request and http.client open their TCP connections here"),
    ("urllib3.util.connection:", "create_connection", _connect,
     "requests and botocore (its iam-role and container-role providers too) open their TCP connections here"),
)
if sys.platform == "emscripten":
    PATCHES += (
        ("urllib3.contrib.emscripten.connection:", "send_request", _fetch,
         "in a browser, urllib3 (and so botocore's providers) sends its requests through fetch here"),
        ("urllib3.contrib.emscripten.connection:", "send_streaming_request", _fetch,
         "in a browser, urllib3 sends a request whose body it streams through fetch here"),
    )
