"""What the gatehouse keeps per account: the log of decisions, the request counter, the source addresses."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional

from grader.policy import Decision

__all__ = ["Entry", "State", "state", "forget", "set_source_ip", "source_ip_for", "last_decisions",
           "DEFAULT_SOURCE_IP", "LOG_SIZE"]

DEFAULT_SOURCE_IP = "203.0.113.10"
"""The sandbox has no network, so aws:SourceIp is this documentation address (RFC 5737) unless set otherwise."""


LOG_SIZE = 200


@dataclass
class Entry:
    """One call the gatehouse judged: who, what, and the decision(s) that were made."""

    request_id: str
    caller: str
    service: str
    operation: str
    allowed: bool
    code: Optional[str] = None                     # the error code of a refusal
    message: Optional[str] = None                  # the error message of a refusal
    decisions: list = field(default_factory=list)  # Decision objects, one per check
    policies: list = field(default_factory=list)   # the names of the policies looked at
    note: Optional[str] = None                     # what else the reader should know
    at: Any = None                                 # when, on the sandbox clock (IAM's last accessed information)

    @property
    def decision(self) -> Optional[Decision]:
        """The decision that settled the call: the first refusal, or the last allow."""
        for decision in self.decisions:
            if not decision.allowed:
                return decision
        return self.decisions[-1] if self.decisions else None


class State:
    def __init__(self, sandbox: Any) -> None:
        self.seed = getattr(sandbox, "seed", 0)
        self.log: deque = deque(maxlen=LOG_SIZE)
        self.counter = 0
        self.default_ip = DEFAULT_SOURCE_IP
        self.source_ips: dict[str, str] = {}
        self.encoded: dict[str, dict] = {}
        self.lock = threading.Lock()
        # Who holds each access key, with its parsed policies, until IAM's state may have changed: resolving a caller
        # reads moto's IAM and STS state and every policy attached, which would otherwise be done again on each call.
        self.identities: dict[str, tuple] = {}
        self.iam_written = False
        self.clock_text: tuple = (None, "", "")

    def forget_identities(self) -> None:
        """Drop every resolved caller: the next call of each reads IAM afresh."""
        with self.lock:
            self.identities.clear()

    def encode(self, status: dict) -> str:
        """An opaque token for an authorization status: random-looking, the same from run to run, held here."""
        with self.lock:
            n = len(self.encoded) + 1
            digest = b"".join(hashlib.sha512(f"encoded-authorization:{self.seed}:{n}:{part}".encode()).digest()
                              for part in range(3))
            token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            self.encoded[token] = status
        return token

    def request_id(self) -> str:
        # Deterministic, so that a chapter's saved outputs stay the same from build to build.
        with self.lock:
            self.counter += 1
            n = self.counter
        return str(uuid.UUID(bytes=hashlib.md5(f"gatehouse:{self.seed}:{n}".encode()).digest()))


_states: dict[int, State] = {}


def state(sandbox: Any) -> State:
    state = _states.get(id(sandbox))
    if state is None:
        state = _states[id(sandbox)] = State(sandbox)
    return state


def forget(sandbox: Any) -> None:
    """Drop everything kept for ``sandbox`` (a fresh account starts with an empty log)."""
    _states.pop(id(sandbox), None)


def set_source_ip(sandbox: Any, ip: str, who: Optional[str] = None) -> None:
    """Set the aws:SourceIp the gatehouse reports: for everybody, or for one caller.

    ``who`` may be an access key id, a session ARN (``arn:aws:sts::...:assumed-role/R/s``), a role ARN or a user ARN.
    """
    kept = state(sandbox)
    if who is None:
        kept.default_ip = ip
    else:
        kept.source_ips[who] = ip


def source_ip_for(identity: Any, sandbox: Any) -> str:
    kept = state(sandbox)
    for key in (identity.access_key_id, identity.arn, identity.principal_arn):
        if key and key in kept.source_ips:
            return kept.source_ips[key]
    return kept.default_ip


def last_decisions(sandbox: Any, n: Optional[int] = None) -> list:
    """The calls most recently judged in ``sandbox``, oldest first (each an ``Entry``)."""
    entries = list(state(sandbox).log)
    return entries[-n:] if n else entries
