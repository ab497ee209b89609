"""The local account's engine: moto, sealed off from the real AWS, started, reset and stopped.

``Sandbox`` is the account as this process runs it (the local home, ``grader.local``, builds on it). While it runs:

* every botocore call is answered by moto, after passing through the sandbox's gates (``grader.aws.front_door``);
* the credentials are the sandbox's own: real ones in the environment or in ``~/.aws`` are never read. The reader
  is the IAM user ``administrator`` with AWS's ``AdministratorAccess`` policy, judged by IAM like anyone else;
  ``root_session()`` gives the account's root user;
* any attempt to open a connection to an address other than loopback fails at once, naming the sandbox
  (``grader.aws.network``; AWS's link-local credential addresses are answered in the process instead:
  ``grader.aws.endpoints``);
* ids come from a seeded generator, so a chapter prints the same role ids from build to build;
* time is the sandbox clock (``grader.aws.clock``), which can be moved forward to make temporary credentials expire.

``stop()`` puts the process back exactly as it found it: every change to a library is a patch in the registry
(``grader.aws.patches``), installed by ``_open()`` and removed by ``_close()``.

Where moto needs a decision only the layers above can make (the gate, IAM's simulator, whether ECS may assume a
task's role), it calls the hooks a running sandbox carries; the local home fills them in. This layer imports nothing
above it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import boto3

from grader import account
from grader.aws import endpoints, patches
from grader.aws.clock import Clock
from grader.aws.fixes import ec2, ecs, iam  # noqa: F401 - their corrections join the registry
from grader.aws.fixes.iam import forget_administrators
from grader.aws import network  # noqa: F401 - the network guard's patches, registered before the endpoints'
from grader.aws.names import (ACCOUNT_ID, ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, CREDENTIAL_VARIABLES,
                              DEFAULT_SEED, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
from grader.errors import SandboxNotRunning

# boto3's default session is made once and keeps the credentials it found: a session made before start() would
# carry real credentials into the sandbox, so the sandbox begins without one and stop() puts the old one back.
patches.register("boto3:", "DEFAULT_SESSION", lambda original: None,
                 "a plain boto3.client() inside the sandbox finds the sandbox's credentials, never earlier ones")
# The link-local endpoints wrap the network guard's create_connection: registered after it, removed before it.
patches.register_all(endpoints.PATCHES)

lock = threading.RLock()
"""Held while an account starts or stops in this process."""


@dataclass
class Sandbox:
    """A running mock account. Get one from ``start()``; there is at most one per process."""

    seed: int = DEFAULT_SEED
    account_id: str = ACCOUNT_ID
    region: str = REGION
    clock: Clock = field(default_factory=Clock)
    gates: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    on_reset: list = field(default_factory=list)
    on_stop: list = field(default_factory=list)
    # Hooks the local home fills in: decisions moto needs that only the layers above can make.
    simulator: Optional[Callable] = None      # (operation, querystring, account id) -> IAM's XML answer
    task_role_refusal: Optional[Callable] = None  # (task definition, overrides, task ARN) -> ECS's refusal or None
    not_run: Optional[Callable] = None        # (service, consequence) -> the sandbox's sentence for a missing service
    service_last_accessed: Optional[Callable] = None  # (entity ARN) -> IAM's ServicesLastAccessed for it
    _mock: Any = None
    _saved_environ: dict = field(default_factory=dict)
    _admin: Optional[boto3.Session] = None
    _root: Optional[boto3.Session] = None
    _config_dir: Optional[tempfile.TemporaryDirectory] = None

    # -- life cycle --------------------------------------------------------------------------------------------

    def _open(self) -> None:
        from moto import mock_aws
        from moto.moto_api._internal import mock_random

        self._saved_environ = dict(os.environ)
        self._config_dir = tempfile.TemporaryDirectory(prefix="gated-community-aws-")
        try:
            self._seal_environment()
            patches.install()  # the network guard, the clock and boto3's default session among them
            mock_random.seed(self.seed)
            forget_administrators()
            self._mock = mock_aws(config={
                "iam": {"load_aws_managed_policies": True},
                # moto answers 169.254.169.254 for the requests library with a fixed stub; the sandbox's own
                # endpoints (grader.aws.endpoints) answer both link-local addresses for every client instead.
                "core": {"mock_credentials": False,
                         "passthrough": {"urls": list(endpoints.PASSTHROUGH), "services": []},
                         "reset_boto3_session": False},
            })
            self._mock.start()
        except BaseException:
            self._close()
            raise

    def _seal_environment(self) -> None:
        for name in CREDENTIAL_VARIABLES:
            os.environ.pop(name, None)
        empty = os.path.join(self._config_dir.name, "empty")
        open(empty, "w").close()
        os.environ.update({
            "AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # Point botocore at empty files so that ~/.aws/credentials and ~/.aws/config are never opened.
            "AWS_SHARED_CREDENTIALS_FILE": empty,
            "AWS_CONFIG_FILE": empty,
            # The administrator never asks a metadata service; code "on an instance" is configured explicitly.
            "AWS_EC2_METADATA_DISABLED": "true",
            # The sandbox is one account. Naming it spares moto its per-request search for the key's owner, which
            # builds an IAM backend (and loads every managed policy) for each partition on every fresh account.
            "MOTO_ACCOUNT_ID": self.account_id,
        })

    def _close(self) -> None:
        self._admin = self._root = None
        if self._mock is not None:
            try:
                self._mock.stop()
            finally:
                self._mock = None
        patches.remove()
        if self._saved_environ:
            os.environ.clear()
            os.environ.update(self._saved_environ)
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None

    def reset(self) -> "Sandbox":
        """Empty the account and rewind the clock and the id generator: the state of a fresh ``start()``."""
        from moto.moto_api._internal import mock_random

        self._require_running()
        self._mock.reset()
        mock_random.seed(self.seed)
        forget_administrators()
        self.clock.reset()
        self.calls.clear()
        boto3.DEFAULT_SESSION = None
        for hook in list(self.on_reset):
            hook(self)
        return self

    def stop(self) -> None:
        """Stop the sandbox and put environment, sockets, boto3 and botocore back as they were before start()."""
        with lock:
            hooks, self.on_stop[:] = list(self.on_stop), []
            try:
                for hook in hooks:  # e.g. the metadata endpoints close their servers while the account still exists
                    hook(self)
            finally:
                account.leave(self)
                self._close()

    @property
    def running(self) -> bool:
        return self._mock is not None and account.running() is self

    def _require_running(self) -> None:
        if not self.running:
            raise SandboxNotRunning(
                "This sandbox has been stopped. Start a new one with `sandbox.start()`."
            )

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- conveniences for setup code ---------------------------------------------------------------------------

    def admin_session(self) -> boto3.Session:
        """A boto3 session of the account's administrator: the IAM user ``administrator`` with AWS's
        ``AdministratorAccess`` policy, judged by IAM like every other principal. The book's scaffolding uses it,
        and so does a reader's plain ``boto3.client(...)``, whose default credentials are the same.

        One session serves the sandbox's whole life: a new session parses every service model again, which costs
        more than most of the calls made with it.
        """
        self._require_running()
        if self._admin is None:
            self._admin = boto3.Session(
                aws_access_key_id=ADMIN_ACCESS_KEY_ID,
                aws_secret_access_key=ADMIN_SECRET_ACCESS_KEY,
                region_name=self.region,
            )
        return self._admin

    def root_session(self) -> boto3.Session:
        """A boto3 session of the account's root user, for a chapter that shows what root is.

        As on AWS, root may do anything in its own account that no policy explicitly denies, but some things AWS
        forbids it: taking a role is one (``AccessDenied``: "Roles may not be assumed by root accounts.").
        """
        self._require_running()
        if self._root is None:
            self._root = boto3.Session(aws_access_key_id=ROOT_ACCESS_KEY_ID,
                                       aws_secret_access_key=ROOT_SECRET_ACCESS_KEY, region_name=self.region)
        return self._root

    def client(self, service: str, **kwargs: Any):
        """An administrator's client for ``service``."""
        return self.admin_session().client(service, **kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Sandbox account {self.account_id} in {self.region}, {state}>"

