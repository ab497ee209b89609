"""The mock AWS account every chapter and exercise runs against: moto, sealed off from the real AWS.

``sandbox.start()`` at the top of a chapter gives the reader a private account (``123456789012`` in ``us-east-1``)
with AWS's managed policies loaded. While it runs:

* every botocore call is answered by moto, after passing through the sandbox's gates (the gatehouse is one);
* the credentials are the sandbox's own: real ones in the environment or in ``~/.aws`` are never read. The reader
  is the IAM user ``administrator`` with AWS's ``AdministratorAccess`` policy, judged by IAM like anyone else;
  ``root_session()`` gives the account's root user, who behaves as AWS's root does;
* any attempt to open a connection to an address other than loopback fails at once, naming the sandbox (AWS's
  link-local credential addresses are answered in the process instead: ``grader.aws.endpoints``);
* ids come from a seeded generator, so a chapter prints the same role ids from build to build;
* time is the sandbox clock, which can be moved forward to make temporary credentials expire.

``stop()`` puts the process back exactly as it found it. Outside a running sandbox, any AWS call from a process
that imported ``grader`` is refused with a clear error instead of reaching the real AWS.
"""

from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import json
import os
import socket
import tempfile
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import boto3
from botocore.handlers import BUILTIN_HANDLERS

from grader import browser
from grader.aws import endpoints, patches
from grader.errors import SandboxNetworkBlocked, SandboxNotRunning, show_errors_plainly

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ADMIN_ACCESS_KEY_ID = "AKIASANDBOXADMIN0001"
ADMIN_SECRET_ACCESS_KEY = "sandbox/administrator/not-a-real-secret-key"
ADMIN_USER_NAME = "administrator"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER_NAME}"
ROOT_ACCESS_KEY_ID = "AKIASANDBOXROOT00001"
ROOT_SECRET_ACCESS_KEY = "sandbox/root/not-a-real-secret-key"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
DEFAULT_SEED = 20240611

# Variables that could steer botocore towards real credentials or a real endpoint. All of them are removed while
# the sandbox runs (and put back by stop()); the sandbox then sets only the ones it means.
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CA_BUNDLE", "AWS_SSO_SESSION",
    "MOTO_ACCOUNT_ID",
)


# --------------------------------------------------------------------------------------------------------------
# The clock


class Clock:
    """The sandbox's time: the machine's time plus however far the book has moved it forward.

    Temporary credentials expire on this clock, and botocore's own refresh logic reads it too (a patch in the
    registry points ``botocore.credentials._local_now`` at it), so moving it forward shows expiry and renewal as
    they happen on AWS.
    """

    def __init__(self) -> None:
        self._offset = _dt.timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.timezone.utc) + self._offset

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> _dt.datetime:
        step = _dt.timedelta(seconds=seconds, minutes=minutes, hours=hours)
        if step < _dt.timedelta(0):
            raise ValueError("The sandbox clock only moves forward: give a positive number of seconds, minutes or hours.")
        with self._lock:
            self._offset += step
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = _dt.timedelta(0)

    @property
    def offset(self) -> _dt.timedelta:
        return self._offset


def _sandbox_now(original: Callable) -> Callable:
    """botocore's ``_local_now``, read from the running sandbox's clock (or botocore's own when none runs)."""

    def _local_now() -> _dt.datetime:
        sandbox = _current
        return sandbox.clock.now() if sandbox is not None else original()

    _local_now.__wrapped__ = original
    return _local_now


def _is_local_now(value: Any) -> bool:
    return (getattr(value, "__module__", None) == "botocore.credentials"
            and getattr(value, "__name__", "") == "_local_now")


def _refresh_clock_default(original: Callable) -> Callable:
    """A copy of ``original`` whose ``time_fetcher`` default is the sandbox's ``_local_now``.

    ``RefreshableCredentials.__init__`` takes ``time_fetcher=_local_now`` as a default argument, bound when botocore
    was imported, so replacing the module's ``_local_now`` alone does not reach credentials created later. The copy
    shares the original's code and closure; the registry puts the original back on ``stop()``.
    """
    import botocore.credentials as module

    defaults = tuple(module._local_now if _is_local_now(d) else d for d in original.__defaults__ or ())
    copy = types.FunctionType(original.__code__, original.__globals__, original.__name__, defaults,
                              original.__closure__)
    copy.__kwdefaults__ = original.__kwdefaults__
    copy.__dict__.update(original.__dict__)
    copy.__qualname__, copy.__doc__, copy.__wrapped__ = original.__qualname__, original.__doc__, original
    return copy


# The sandbox clock reaches botocore through _local_now, which its refresh logic calls at each use, and through the
# time_fetcher default of the two refreshable credential classes. _local_now comes first, so that the defaults
# pick up the sandbox's version.
patches.register("botocore.credentials:", "_local_now", _sandbox_now,
                 "temporary credentials expire and refresh on the sandbox clock, which the book moves forward")
for _owner in ("RefreshableCredentials", "DeferredRefreshableCredentials"):
    patches.register(f"botocore.credentials:{_owner}", "__init__", _refresh_clock_default,
                     "credentials made later read the sandbox clock too (time_fetcher is a bound default)")


def _root_caller_identity(original: Callable) -> Callable:
    """moto answers an unknown key as ``user/moto``; AWS answers the root user's key with the account itself.

    AWS, GetCallerIdentity: for the root user, ``UserId`` is the account id and ``Arn`` is
    ``arn:aws:iam::<account>:root``.
    """

    def get_caller_identity(self, access_key_id: str, region: str):
        if access_key_id == ROOT_ACCESS_KEY_ID:
            return self.account_id, f"arn:aws:iam::{self.account_id}:root", self.account_id
        return original(self, access_key_id, region)

    get_caller_identity.__wrapped__ = original
    return get_caller_identity


_administrators_made: set = set()


def ensure_administrator(account_id: str = ACCOUNT_ID) -> Any:
    """The sandbox's administrator: the IAM user ``administrator`` with AWS's ``AdministratorAccess`` attached.

    It is created on the first request signed with its key, not at ``start()``: building moto's IAM backend loads
    every AWS managed policy, a cost a chapter pays once, when it first needs IAM, and never for nothing. The access
    key is the fixed one the sandbox puts in the environment, so the reader's default boto3 session is this user.
    """
    from moto.iam.models import AccessKey, iam_backends

    iam = iam_backends[account_id]["aws"]
    if account_id in _administrators_made:
        # Made once per fresh account: a reader who deletes the user has deleted it, as on AWS.
        return iam.users.get(ADMIN_USER_NAME)
    _administrators_made.add(account_id)
    user = iam.create_user(REGION, ADMIN_USER_NAME, "/")
    iam.attach_user_policy(ADMIN_POLICY_ARN, ADMIN_USER_NAME)
    key = AccessKey(ADMIN_USER_NAME, prefix="AKIA", account_id=account_id)
    key.access_key_id, key.secret_access_key = ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
    user.access_keys.append(key)
    iam.access_keys[key.physical_resource_id] = key
    return user


@functools.lru_cache(maxsize=1)
def _aws_managed_policy_fields() -> tuple:
    """AWS's managed policies as moto's AWSManagedPolicy.from_data reads them: read once per process, not per account.

    moto parses its copy of the managed policies (some 1,500 documents) and writes each document back to JSON every
    time it builds an IAM backend, which is at a fresh account's first IAM request and again after every reset();
    that is nearly all of the pause. The text and dates come out the same each time, so they are kept.
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return tuple((name, data.get("DefaultVersionId"), data.get("Path"), json.dumps(data.get("Document")),
                  _dt.datetime.fromisoformat(data["CreateDate"]), _dt.datetime.fromisoformat(data["UpdateDate"]))
                 for name, data in json.loads(aws_managed_policies_data).items())


def _aws_policies_read_once(original: Callable) -> Callable:
    def _init_aws_policies(self) -> list:
        from moto.iam.models import AWSManagedPolicy
        from moto.settings import load_iam_aws_managed_policies

        if not load_iam_aws_managed_policies():
            return original(self)
        # Each account still gets policy objects of its own, made by moto's constructor in moto's order.
        return [AWSManagedPolicy(name, account_id=self.account_id, region=self.region_name,
                                 default_version_id=version, path=path, document=document, create_date=created,
                                 update_date=updated)
                for name, version, path, document, created, updated in _aws_managed_policy_fields()]

    _init_aws_policies.__wrapped__ = original
    return _init_aws_policies


# IAM's unique ids begin with a prefix that says what they name (AWS: "IAM identifiers", unique ids): AIDA a user,
# AGPA a group, AIPA an instance profile, AROA a role. moto gives users, groups and instance profiles lowercase
# strings; these patches give them AWS's form, drawn from moto's seeded random so that they stay the same each run.
_UNIQUE_ID_PREFIXES = {"User": "AIDA", "Group": "AGPA", "InstanceProfile": "AIPA"}


def _unique_id(account_id: str, prefix: str) -> str:
    from moto.iam.utils import generate_access_key_id_from_account_id

    return generate_access_key_id_from_account_id(account_id, prefix=prefix, total_length=21)


def _with_unique_id(prefix: str) -> Callable:
    def wrap(original: Callable) -> Callable:
        def __init__(self, account_id: str, *args: Any, **kwargs: Any) -> None:
            original(self, account_id, *args, **kwargs)
            self.id = _unique_id(account_id, prefix)

        return __init__

    return wrap


# boto3's default session is made once and keeps the credentials it found: a session made before start() would
# carry real credentials into the sandbox, so the sandbox begins without one and stop() puts the old one back.
patches.register("boto3:", "DEFAULT_SESSION", lambda original: None,
                 "a plain boto3.client() inside the sandbox finds the sandbox's credentials, never earlier ones")
patches.register("moto.sts.models:STSBackend", "get_caller_identity", _root_caller_identity,
                 "AWS answers GetCallerIdentity for the root user's key with the account itself")
patches.register("moto.iam.models:IAMBackend", "_init_aws_policies", _aws_policies_read_once,
                 "AWS's managed policies are the same in every account: moto's copy is read once per process")
for _name, _prefix in _UNIQUE_ID_PREFIXES.items():
    patches.register(f"moto.iam.models:{_name}", "__init__", _with_unique_id(_prefix),
                     f"IAM's unique id of a {_name} begins with {_prefix}")


# --------------------------------------------------------------------------------------------------------------
# The network guard


def _is_loopback_host(host: Any) -> bool:
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


def _blocked(target: Any) -> SandboxNetworkBlocked:
    return SandboxNetworkBlocked(
        f"The sandbox blocked a connection to {target!r}: while the sandbox runs, nothing leaves this machine. "
        "Every AWS call is answered by the mock account, so no real endpoint is needed; if you meant to reach a "
        "service of your own, run it on 127.0.0.1."
    )


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback_host(host):
        raise _blocked(address)


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
        if host is not None and not _is_loopback_host(host):
            raise _blocked(host)
        return original(host, *args, **kwargs)

    return getaddrinfo


def _guard_create_connection(original: Callable) -> Callable:
    def create_connection(address, *args, **kwargs):
        if not _is_loopback_host(address[0]):
            raise _blocked(address)
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
        if not _is_loopback_host(host):
            raise _blocked(host)
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


# --------------------------------------------------------------------------------------------------------------
# The front door: every botocore request of the process passes here


Gate = Callable[["Sandbox", Any], Optional[tuple]]
"""A gate sees each request before moto does: ``gate(sandbox, request)`` returns ``None`` to let it through, or a
``(status, headers, body)`` response to answer it itself (a refusal, say)."""


@dataclass
class CallRecord:
    """What the sandbox saw of one request: enough to prove whose credentials were used, never the secret."""

    method: str
    url: str
    access_key_id: Optional[str]


def _access_key_of(request: Any) -> Optional[str]:
    auth = request.headers.get("Authorization") or request.headers.get("authorization")
    if isinstance(auth, bytes):
        auth = auth.decode("utf-8", "replace")
    if auth and "Credential=" in auth:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    return None


_current: Optional["Sandbox"] = None
_front_door_lock = threading.RLock()


def _refuse_without_sandbox(request: Any = None, **_: Any) -> None:
    """A before-send handler, placed ahead of moto's: no running sandbox means no AWS call at all."""
    from moto.core.models import botocore_stubber

    if _current is None and not botocore_stubber.enabled:
        url = getattr(request, "url", "an AWS endpoint")
        raise SandboxNotRunning(
            f"No sandbox is running, so this AWS call ({url}) was stopped before it left the machine. "
            "Run `from grader import sandbox; sandbox.start()` first (the first code cell of every chapter does)."
        )
    return None


def _install_front_door() -> None:
    """Put the no-sandbox guard ahead of moto in botocore's built-in handlers, once per process.

    This one change to botocore stays outside the patch registry on purpose, and stays after ``stop()``: it is
    what refuses an AWS call from a process that imported ``grader`` while no sandbox runs, so that a stopped
    sandbox never lets a call reach the real AWS. It does nothing while a sandbox (or moto itself) runs.
    """
    from moto.core.models import botocore_stubber

    entry = ("before-send", _refuse_without_sandbox)
    if entry in BUILTIN_HANDLERS:
        return
    for index, handler_entry in enumerate(BUILTIN_HANDLERS):
        if handler_entry[1] is botocore_stubber:
            BUILTIN_HANDLERS.insert(index, entry)
            break
    else:
        BUILTIN_HANDLERS.append(entry)

    patches.register("moto.core.models:botocore_stubber", "process_request", _gated,
                     "every botocore request passes the sandbox's gates before moto answers it")


def _gated(original: Callable) -> Callable:
    """moto's request handler, with the sandbox's gates in front of it and the network guard behind it."""

    def process_request(request: Any):
        sandbox = _current
        if sandbox is not None:
            access_key_id = _access_key_of(request)
            sandbox.calls.append(CallRecord(request.method, request.url, access_key_id))
            if access_key_id == ADMIN_ACCESS_KEY_ID:
                ensure_administrator(sandbox.account_id)
            for gate in list(sandbox.gates):
                answer = gate(sandbox, request)
                if answer is not None:
                    return answer
        answer = original(request)
        if answer is None and sandbox is not None:
            # moto does not serve this URL, so botocore would send it out: refuse here, where the message survives
            # (botocore would otherwise wrap the socket error in a bare "Could not connect to the endpoint URL").
            if not _is_loopback_host(urlsplit(request.url).hostname or ""):
                raise _blocked(request.url)
        return answer

    return process_request


# --------------------------------------------------------------------------------------------------------------
# The sandbox


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
            _administrators_made.clear()
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
        for name in _CREDENTIAL_VARIABLES:
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
        _administrators_made.clear()
        self.clock.reset()
        self.calls.clear()
        boto3.DEFAULT_SESSION = None
        for hook in list(self.on_reset):
            hook(self)
        return self

    def stop(self) -> None:
        """Stop the sandbox and put environment, sockets, boto3 and botocore back as they were before start()."""
        global _current
        with _front_door_lock:
            hooks, self.on_stop[:] = list(self.on_stop), []
            try:
                for hook in hooks:  # e.g. the metadata endpoints close their servers while the account still exists
                    hook(self)
            finally:
                if _current is self:
                    _current = None
                self._close()

    @property
    def running(self) -> bool:
        return self._mock is not None and _current is self

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


def start(seed: int = DEFAULT_SEED, *, quiet: bool = False) -> Sandbox:
    """Start the mock account (or, if one is running, reset it to a fresh state) and return it.

    Running a chapter again from the top therefore starts from an empty account every time.
    """
    global _current
    served_account = os.environ.get("GATED_COMMUNITY_ACCOUNT")
    if served_account:
        return _connect_to_served_account(served_account)
    _load_extensions()
    with _front_door_lock:
        _install_front_door()
        if _current is not None and _current.seed == seed:
            return _current.reset()
        if _current is not None:
            _current.stop()
        sandbox = Sandbox(seed=seed)
        sandbox._open()
        _current = sandbox
        for hook in _on_start:
            hook(sandbox)
    show_errors_plainly()
    return sandbox


def _connect_to_served_account(path: str):
    """Under the grader: the account is the grading worker's, reached through the AWS API on its socket."""
    global _current
    from grader import served

    with _front_door_lock:
        if not getattr(_current, "served", False):
            _current = served.connect(path)
    show_errors_plainly()
    return _current


def stop() -> None:
    """Stop the running sandbox, if any."""
    if _current is not None:
        _current.stop()


def root_session() -> boto3.Session:
    """A boto3 session of the running account's root user (see ``Sandbox.root_session``)."""
    return current().root_session()


def current() -> Sandbox:
    """The running sandbox, or a clear error if there is none."""
    if _current is None:
        raise SandboxNotRunning(
            "No sandbox is running. Start one with `from grader import sandbox; sandbox.start()`."
        )
    return _current


_on_start: list[Callable[[Sandbox], None]] = []

# What a sandbox always has at its door: enforcement, the EC2 and ECS behaviour AWS shows, and badge delivery.
# They are loaded when a sandbox starts, not when ``grader`` is imported, so that ``grader.policy`` stays a light,
# dependency-free import (the browser build and the policy command line rely on that).
EXTENSIONS = ("grader.gatehouse", "grader.instances", "grader.credentials", "grader.ecs")


def _load_extensions() -> None:
    import importlib

    for name in EXTENSIONS:
        importlib.import_module(name)


def on_start(hook: Callable[[Sandbox], None]) -> Callable[[Sandbox], None]:
    """Register ``hook(sandbox)`` to run whenever a sandbox starts (the gatehouse installs its gate this way)."""
    if hook not in _on_start:
        _on_start.append(hook)
    return hook


if not os.environ.get("GATED_COMMUNITY_ACCOUNT"):
    # A kernel under the grader sends every request to the grader's socket (grader.served), so it needs neither
    # moto nor this door, and starts faster without importing them.
    _install_front_door()
