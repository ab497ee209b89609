"""The gatehouse: every call to the sandbox is authorised by IAM policy before moto answers it.

Its parts, in the order a call meets them:

* ``door``: the gate at the account's door: each raw HTTP request admitted to moto or refused, in the service's
  own protocol;
* ``request``: what is asked (the credential scope, the operation and its parameters);
* ``identity``: who asks (an IAM user's key, the root user's, a role session minted by STS), with their policies;
* ``services``: the Service Authorization Reference as data: each operation's actions, resources, context keys;
* ``rule``: THE rule (``authorize``), ``grader.policy.evaluate`` over the caller's and the resource's policies, after the
  refusals AWS makes before reading any policy. The gate, ``decide()``, the badges, the checks, the playground and
  the simulator all come here;
* ``answers``: the gatehouse's own answers in AWS's words; ``log``: every decision, per account; ``explaining``: the
  book's explanation of a refusal (``why``); ``simulator``: IAM's policy simulator.

The book's helpers below ask the account (``grader.account``), which answers from wherever it lives: under the
grader the gatehouse that judged a call is the grading worker's.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from grader import account as _account
from grader.account import Explanation

# What the package offers, loaded on first use: a graded kernel imports a submodule or two of the gatehouse, and
# importing a submodule runs this file first.
_EXPORTS = {
    "admit": "door", "gate": "door", "authorize": "rule", "RefusedByAws": "rule", "Identity": "identity",
    "identify": "identity", "DEFAULT_SOURCE_IP": "log", "Entry": "log", "not_run_message": "answers",
}

__all__ = ["admit", "gate", "why", "decide", "authorize", "last_decisions", "set_source_ip", "source_ip_for",
           "not_run_message", "install", "DEFAULT_SOURCE_IP", "Entry", "Identity", "Explanation", "RefusedByAws",
           "identify"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"grader.gatehouse.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'grader.gatehouse' has no attribute {name!r}")


def why(error: Any = None) -> Explanation:
    """Explain a refused call: ``why(err)`` for a botocore ClientError, ``why()`` for the last refusal."""
    return _account.current().why(error)


def decide(principal: Any, action: str, resource: str = "*", context: Optional[dict] = None):
    """Would IAM allow this? Evaluated against the live account, without making the call.

    ``principal`` is a user, role or role-session ARN, the account's root (``arn:aws:iam::ACCOUNT:root``), a
    service principal (``ec2.amazonaws.com``), an access key id, or a boto3 Session. The request context is the one
    the gatehouse would build (time, principal keys, region, source address), updated with ``context``. The
    resource's policy (a bucket policy; a role's trust policy for sts:AssumeRole) is looked at too. The decision
    comes from ``authorize()``, the same function that decides every real call.
    """
    return _account.current().decide(principal, action, resource, context)


def last_decisions(n: Optional[int] = None) -> list:
    """The calls most recently judged in the running account, oldest first (each an ``Entry``)."""
    from grader.gatehouse import log

    return log.last_decisions(_account.current(), n)


def set_source_ip(ip: str, who: Optional[str] = None) -> None:
    """Set the aws:SourceIp the gatehouse reports: for everybody, or for one caller.

    ``who`` may be an access key id, a session ARN (``arn:aws:sts::...:assumed-role/R/s``), a role ARN or a user ARN.
    """
    from grader.gatehouse import log

    log.set_source_ip(_account.current(), ip, who)


def source_ip_for(identity: Any, sandbox: Any = None) -> str:
    from grader.gatehouse import log

    return log.source_ip_for(identity, sandbox or _account.current())


def install(sandbox: Any) -> None:
    """Put the gatehouse at ``sandbox``'s door, with an empty log; a reset empties the log again."""
    from grader.gatehouse import log
    from grader.gatehouse.door import gate

    log.forget(sandbox)
    log.state(sandbox)
    if gate not in sandbox.gates:
        sandbox.gates.append(gate)
    if log.forget not in sandbox.on_reset:
        sandbox.on_reset.append(log.forget)
