"""The mock AWS account every chapter and exercise runs against: ``sandbox.start()`` at the top of a chapter.

``start()`` gives the reader a private account (``123456789012`` in ``us-east-1``) with AWS's managed policies
loaded, and returns it (a ``grader.account.Account``). Which home it lives in is chosen here, once:

* in a learner's Jupyter, in Binder and in the browser, the **local** home runs the engine in this process
  (``grader.local``: moto sealed off from the real AWS, the gatehouse at its door, badges at AWS's addresses);
* in a kernel being graded, the **served** home connects to the account the grading worker holds
  (``grader.served.client``), so the verdict never depends on anything the kernel can reach.

Either way the reader is the IAM user ``administrator`` with AWS's ``AdministratorAccess`` policy, judged by IAM like
anyone else; real credentials in the environment or in ``~/.aws`` are never read; nothing leaves the machine.
Outside a running sandbox, any AWS call from a process that imported this module is refused with a clear error.
"""

from __future__ import annotations

from typing import Any

from grader import account as _account
from grader.aws.clock import Clock
from grader.aws.names import (ACCOUNT_ID, ADMIN_ACCESS_KEY_ID, ADMIN_ARN, ADMIN_POLICY_ARN, ADMIN_SECRET_ACCESS_KEY,
                              ADMIN_USER_NAME, DEFAULT_SEED, REGION, ROOT_ACCESS_KEY_ID, ROOT_ARN,
                              ROOT_SECRET_ACCESS_KEY)
from grader.aws.sandbox import Sandbox
from grader.served import client as _served_home

__all__ = ["start", "stop", "current", "root_session", "Sandbox", "Clock", "ACCOUNT_ID", "REGION", "ADMIN_ARN",
           "ADMIN_ACCESS_KEY_ID", "ADMIN_SECRET_ACCESS_KEY", "ADMIN_USER_NAME", "ADMIN_POLICY_ARN", "ROOT_ARN",
           "ROOT_ACCESS_KEY_ID", "ROOT_SECRET_ACCESS_KEY", "DEFAULT_SEED"]


def _home() -> Any:
    """The home of this process's account: the served one when the grader names one, else the local one."""
    if _served_home.chosen():
        return _served_home
    from grader import local

    return local


def start(seed: int = DEFAULT_SEED, *, quiet: bool = False) -> _account.Account:
    """Start the mock account (or, if one is running, reset it to a fresh state) and return it.

    Running a chapter again from the top therefore starts from an empty account every time.
    """
    return _home().start(seed)


def stop() -> None:
    """Stop the running sandbox, if any."""
    running = _account.running()
    if running is not None:
        running.stop()


def current() -> _account.Account:
    """The running sandbox, or a clear error if there is none."""
    return _account.current()


def root_session():
    """A boto3 session of the running account's root user (see ``Sandbox.root_session``)."""
    return current().root_session()


if not _served_home.chosen():
    # A kernel under the grader sends every request to the grader's socket, so it needs neither moto nor the front
    # door that refuses AWS calls while no account runs, and starts faster without importing them.
    _home().prepare()
