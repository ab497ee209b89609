"""What crosses the served account's socket: one length-prefixed JSON frame each way, and the shapes inside."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import socket
import struct
from typing import Any, Mapping, Optional

__all__ = ["VARIABLE", "MAX_FRAME", "MAX_CONNECTIONS", "AGENT_METHODS", "AGENT_SETTINGS", "AccountRefused", "send",
           "receive", "place_to", "place_from", "response", "describe"]

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


def send(sock: socket.socket, message: Any) -> None:
    data = json.dumps(message, default=_encode).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock: socket.socket) -> Optional[Any]:
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


def response(status: int, headers: Mapping, body: Any) -> dict:
    if isinstance(body, str):
        body = body.encode()
    return {"status": int(status), "headers": {str(k): str(v) for k, v in dict(headers or {}).items()},
            "body": bytes(body or b"")}


def place_to(place: Any) -> Optional[dict]:
    return None if place is None else {"instance_id": place.instance_id, "task_arn": place.task_arn}


def place_from(value: Any):
    """The place a kernel's request comes from. The kernel names it, as ``inside()`` lets any reader's code do."""
    from grader.credentials.places import Place

    if not isinstance(value, dict):
        return None
    instance_id, task_arn = value.get("instance_id"), value.get("task_arn")
    if not all(v is None or isinstance(v, str) for v in (instance_id, task_arn)):
        raise AccountRefused("a place is an instance id and a task ARN, each a string or nothing")
    return Place(instance_id=instance_id, task_arn=task_arn)


def describe(error: BaseException) -> dict:
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