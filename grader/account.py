"""The account every chapter, check and grade talks to: one interface, whichever home the account lives in.

``sandbox.start()`` returns an :class:`Account`. Where it lives is its home's business:

* the **local** home (``grader.local``) runs the engine in this process: moto, the gatehouse, the badge endpoints.
  Jupyter, Binder and the in-browser edition use it;
* the **served** home (``grader.served.client``) is a client of an account a grading worker holds, reached through
  the AWS API on a socket. A graded kernel uses it, so that nothing the kernel does can change a verdict.

The book's helpers (``grader.why``, ``grader.on_instance``, ``grader.credentials.inside``...) ask :func:`current`
for the account and call it; none of them asks where it lives. A new home (a Gradescope container, a runner)
implements this interface and nothing else changes.

This module sits at the bottom of the engine: it imports nothing of the project but its errors, so every layer may
ask it for the account without an import loop.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Optional, Protocol, Union, runtime_checkable

from grader.errors import SandboxNotRunning

__all__ = ["Account", "Explanation", "current", "running", "enter", "leave"]


class Explanation(str):
    """why()'s answer: plain text that a notebook shows as it is."""

    def __repr__(self) -> str:
        return str(self)


@runtime_checkable
class Account(Protocol):
    """What every home of the account offers: the calls the book, the checks and the grader make of it."""

    account_id: str
    region: str
    seed: int
    clock: Any
    """The account's time (``clock.now()``, ``clock.advance(hours=2)``): badges expire on it."""

    @property
    def running(self) -> bool: ...

    # -- the account through the AWS API -------------------------------------------------------------------------
    def admin_session(self) -> Any:
        """A boto3 session of the IAM user ``administrator`` (``AdministratorAccess``)."""

    def root_session(self) -> Any:
        """A boto3 session of the account's root user."""

    def client(self, service: str, **kwargs: Any) -> Any:
        """An administrator's boto3 client."""

    # -- IAM's decisions -----------------------------------------------------------------------------------------
    def why(self, error: Any = None) -> str:
        """The gatehouse's explanation of a refused call (``error``), or of the last refusal."""

    def decide(self, principal: Any, action: str, resource: str = "*", context: Optional[dict] = None) -> Any:
        """Would IAM allow this? A ``grader.policy.Decision`` from the account's one rule."""

    # -- badges: where code runs ---------------------------------------------------------------------------------
    def on_instance(self, instance_id: str) -> Any:
        """A boto3 session for code on an EC2 instance: botocore's chain, asking the instance metadata."""

    def in_task(self, task: Union[str, Mapping]) -> Any:
        """A boto3 session for code in an ECS task: the container endpoint first, then the instance metadata."""

    def place_of(self, where: Any) -> Any:
        """The place (``grader.credentials.Place``) an instance id, a task ARN or a task dict names."""

    def link_local(self) -> Any:
        """What answers at 169.254.169.254 and 169.254.170.2 for this process (``route`` and ``answer``)."""

    def metadata_service(self) -> Any:
        """The account's own metadata service, where the account lives in this process."""

    def ecs_agent(self, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
                  awsvpc_block_imds: bool = False) -> Any:
        """The ECS agent on ``instance_id`` for ``cluster``."""

    # -- life cycle ----------------------------------------------------------------------------------------------
    def reset(self) -> "Account":
        """A fresh account: empty, its clock rewound."""

    def stop(self) -> None:
        """Let the account go."""


_current: Optional[Account] = None
_lock = threading.RLock()


def running() -> Optional[Account]:
    """The account this process works with, or None."""
    return _current


def current() -> Account:
    """The account this process works with, or a clear error if there is none."""
    account = _current
    if account is None:
        raise SandboxNotRunning(
            "No sandbox is running. Start one with `from grader import sandbox; sandbox.start()`."
        )
    return account


def enter(account: Account) -> Account:
    """Make ``account`` the process's account (a home calls this when it starts one)."""
    global _current
    with _lock:
        _current = account
    return account


def leave(account: Account) -> None:
    """Forget ``account`` if it is the process's account (a home calls this when it stops)."""
    global _current
    with _lock:
        if _current is account:
            _current = None
