"""The network guard: while the sandbox runs, nothing leaves the machine.

Every connection to an address that is not loopback is refused at once, at the Python-level socket entry points HTTP
libraries use. Name resolution of a remote host is refused too, because a DNS query is itself traffic leaving the
machine. AWS's link-local credential addresses are answered in the process instead (``grader.aws.endpoints``).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any, Callable
from urllib.parse import urlsplit

from grader.aws import browser, patches
from grader.errors import SandboxNetworkBlocked


def is_loopback_host(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def blocked(target: Any) -> SandboxNetworkBlocked:
    return SandboxNetworkBlocked(
        f"The sandbox blocked a connection to {target!r}: while the sandbox runs, nothing leaves this machine. "
        "Every AWS call is answered by the mock account, so no real endpoint is needed; if you meant to reach a "
        "service of your own, run it on 127.0.0.1."
    )


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_loopback_host(host):
        raise blocked(address)


def _guard_connect(original: Callable) -> Callable:
    def connect(sock, address):
        _check_address(sock, address)
        return original(sock, address)

    return connect


def _guard_connect_ex(original: Callable) -> Callable:
    def connect_ex(sock, address):
        _check_address(sock, address)
        return original(sock, address)

    return connect_ex


def _guard_sendto(original: Callable) -> Callable:
    def sendto(sock, data, *args):
        _check_address(sock, args[-1])
        return original(sock, data, *args)

    return sendto


def _guard_getaddrinfo(original: Callable) -> Callable:
    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback_host(host):
            raise blocked(host)
        return original(host, *args, **kwargs)

    return getaddrinfo


def _guard_create_connection(original: Callable) -> Callable:
    def create_connection(address, *args, **kwargs):
        if not is_loopback_host(address[0]):
            raise blocked(address)
        return original(address, *args, **kwargs)

    return create_connection


# The network guard: every connection to an address that is not loopback is refused at once, at the Python-level
# socket entry points HTTP libraries use. Name resolution of a remote host is refused too, because a DNS query is
# itself traffic leaving the machine. Registered first, so that the link-local endpoints (grader.aws.endpoints) wrap
# it and everything they do not answer still meets it.
patches.register_all((
    ("socket:socket", "connect", _guard_connect, "nothing leaves the machine while the sandbox runs"),
    ("socket:socket", "connect_ex", _guard_connect_ex, "nothing leaves the machine while the sandbox runs"),
    ("socket:socket", "sendto", _guard_sendto, "nothing leaves the machine while the sandbox runs"),
    ("socket:", "getaddrinfo", _guard_getaddrinfo, "a DNS query for a remote host is traffic leaving the machine"),
    ("socket:", "create_connection", _guard_create_connection, "nothing leaves the machine while the sandbox runs"),
))

def _guard_fetch(original: Callable) -> Callable:
    def send_request(request, *args, **kwargs):
        host = urlsplit(request.url).hostname or ""
        if not is_loopback_host(host):
            raise blocked(host)
        return original(request, *args, **kwargs)

    return send_request


# In a browser (Pyodide) urllib3 sends through the page's fetch, not a socket: the same guard stands there.
if sys.platform == "emscripten":
    patches.register_all((
        ("urllib3.contrib.emscripten.connection:", "send_request", _guard_fetch,
         "nothing leaves the page while the sandbox runs"),
        ("urllib3.contrib.emscripten.connection:", "send_streaming_request", _guard_fetch,
         "nothing leaves the page while the sandbox runs"),
        ("botocore.loaders:Loader", "load_service_model", browser.missing_model,
         "the page carries the models of the services the sandbox runs only"),
    ))

