"""Who is calling: the caller behind an access key, a principal ARN or a session, with the policies that apply.

A caller is read from moto's IAM and STS state (``grader.aws.state``) and kept per access key until the next IAM
write, so that a change to IAM decides the very next call. An expired session gets AWS's ``ExpiredToken``; a key
nobody issued gets ``InvalidClientTokenId``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Optional

from grader.aws import state as aws
from grader.aws.errors import ExpiredToken, InvalidClientTokenId
from grader.aws.fixes.iam import ensure_administrator
from grader.aws.names import ADMIN_ACCESS_KEY_ID, ADMIN_ARN, ROOT_ACCESS_KEY_ID
from grader.gatehouse.log import state
from grader.policy import read_stored

__all__ = ["Identity", "identify", "identity_for", "root_identity", "service_identity", "tags_of",
           "attach_policies", "attach_boundary"]

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
    # What a session's credentials carry into every request they sign (None for long-term keys):
    issued: Optional[_dt.datetime] = None    # when STS issued them (aws:TokenIssueTime)
    source_identity: Optional[str] = None    # set when the role was assumed (aws:SourceIdentity)
    ec2_source: Optional[tuple] = None       # (VPC id, private IPv4) of the instance they were issued to

    @property
    def policy_names(self) -> list:
        names = [p.label for p in self.identity_policies]
        if self.permissions_boundary is not None:
            names.append(self.permissions_boundary.label)
        if self.session_policy is not None:
            names.append(self.session_policy.label)
        return names


def parse_stored(document: Any, kind: str, name: str, identity: Identity):
    """Read a policy moto has stored; what the engine cannot read of it is noted and left out, never a crash."""
    policy = read_stored(document, kind, name)
    for index, what in policy.unreadable:
        identity.unreadable.append(f"{name}, {'the whole document' if index is None else f'statement #{index}'}: "
                                   f"{what}")
    return policy


def attach_policies(identity: Identity, owner: Any, what: str) -> None:
    for name, document in owner.policies.items():
        parsed = parse_stored(document, "identity", f"inline policy '{name}' on {what}", identity)
        if parsed is not None:
            identity.identity_policies.append(parsed)
    for arn, policy in owner.managed_policies.items():
        parsed = parse_stored(aws.managed_document(policy), "identity", f"managed policy {arn}", identity)
        if parsed is not None:
            identity.identity_policies.append(parsed)


def attach_boundary(identity: Identity, boundary_arn: Optional[str], account: str) -> None:
    if not boundary_arn:
        return
    policy = aws.iam(account).managed_policies.get(boundary_arn)
    document = aws.managed_document(policy) if policy is not None else None
    if document is None:
        # A boundary that names no policy allows nothing (AWS refuses to attach one; moto does not check).
        document = '{"Version": "2012-10-17", "Statement": []}'
    identity.permissions_boundary = parse_stored(document, "boundary", f"permissions boundary {boundary_arn}",
                                                  identity)


def tags_of(tag_list: Any) -> dict:
    if isinstance(tag_list, dict):
        tag_list = tag_list.get("Tags", [])
    return {t["Key"]: t.get("Value", "") for t in tag_list or [] if isinstance(t, dict) and "Key" in t}


def identify(sandbox: Any, access_key_id: str) -> Identity:
    """The caller behind an access key id, with its policies; raises AWS's error for a key AWS would not accept.

    A caller once resolved is kept (per sandbox, per access key) until an IAM write passes the gate, so that a call
    reads moto's IAM state and the caller's policies once, not on every request. A session's expiry is still checked
    on each call against the sandbox clock.
    """
    kept = state(sandbox)
    found = kept.identities.get(access_key_id)
    if found is not None:
        identity, session = found
        if session is not None:
            _check_expiry(sandbox, session)
        return identity
    identity, session = _resolve(sandbox, access_key_id)
    with kept.lock:
        kept.identities[access_key_id] = (identity, session)
    return identity


def _resolve(sandbox: Any, access_key_id: str) -> tuple:
    account = sandbox.account_id
    if access_key_id == ROOT_ACCESS_KEY_ID:
        return root_identity(account, access_key_id), None
    session = aws.sts(account).get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        return _session_identity(sandbox, session), session
    if access_key_id == ADMIN_ACCESS_KEY_ID:
        ensure_administrator(account)
    iam = aws.iam(account)
    for user in iam.users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status == "Active":
                return _user_identity(user, access_key_id), None
    raise InvalidClientTokenId(note=f"No user or role session in this sandbox has the access key {access_key_id}.")


def root_identity(account: str, access_key_id: str = "") -> Identity:
    """The account's root user: no identity-based policy applies to it, and it needs none (AWS's rule)."""
    arn = f"arn:aws:iam::{account}:root"
    return Identity("root", arn, arn, account, access_key_id, account)


def service_identity(service: str, account: str) -> Identity:
    """An AWS service principal (``ec2.amazonaws.com``): only resource-based policies speak for it."""
    return Identity("service", service, service, account)


def _expiry(session: Any) -> _dt.datetime:
    expiration = session.expiration
    return expiration if expiration.tzinfo else expiration.replace(tzinfo=_dt.timezone.utc)


def _check_expiry(sandbox: Any, session: Any) -> None:
    expires = _expiry(session)
    now = sandbox.clock.now()
    if expires <= now:
        raise ExpiredToken(note=f"The credentials of {session.arn} expired at {expires:%Y-%m-%d %H:%M:%S} UTC; "
                                f"the sandbox clock reads {now:%Y-%m-%d %H:%M:%S} UTC. Fresh credentials come from a "
                                "new sts:AssumeRole, or from the instance metadata / container endpoint.")


def _issued(sandbox: Any, session: Any) -> _dt.datetime:
    """When STS issued the session, on the sandbox clock (grader.aws.fixes.iam stamps every session it makes)."""
    issued = getattr(session, "issued", None)
    return issued if issued is not None else sandbox.clock.now().replace(microsecond=0)


def _session_identity(sandbox: Any, session: Any) -> Identity:
    _check_expiry(sandbox, session)
    account = session.account_id
    role = aws.role_by_arn(account, session.role_arn)
    role_id = role.id if role is not None else "AROA" + "UNKNOWNROLE"
    identity = Identity("session", session.arn, session.role_arn, account, session.access_key_id,
                        f"{role_id}:{session.session_name}", issued=_issued(sandbox, session),
                        source_identity=getattr(session, "source_identity", None),
                        ec2_source=getattr(session, "ec2_source", None))
    if role is not None:
        identity.tags = tags_of(role.tags)
    # A session tag wins over the role's tag of the same key (AWS: Passing session tags in AWS STS).
    identity.tags.update(getattr(session, "session_tags", None) or {})
    if role is not None:
        attach_policies(identity, role, f"role {role.name}")
        attach_boundary(identity, role.permissions_boundary_arn, account)
    else:
        identity.unreadable.append(f"the role {session.role_arn} no longer exists, so no policy grants anything")
    if session.policy:
        identity.session_policy = parse_stored(session.policy, "session", "session policy", identity)
    return identity


def _user_identity(user: Any, access_key_id: str) -> Identity:
    identity = Identity("user", user.arn, user.arn, user.account_id, access_key_id, user.id, username=user.name)
    iam = aws.iam(user.account_id)
    identity.tags = tags_of(iam.tagger.list_tags_for_resource(user.arn))
    attach_policies(identity, user, f"user {user.name}")
    for group in iam.groups.values():
        if any(member.name == user.name for member in group.users):
            attach_policies(identity, group, f"group {group.name}")
    attach_boundary(identity, getattr(user, "permissions_boundary_arn", None), user.account_id)
    return identity


def identity_for(sandbox: Any, principal: Any) -> Identity:
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
        return service_identity(principal, account)
    if not principal.startswith("arn:"):
        return identify(sandbox, principal)
    if principal == f"arn:aws:iam::{account}:root":
        return root_identity(account)
    if principal == ADMIN_ARN:
        ensure_administrator(account)
    for session in reversed(aws.sts(account).assumed_roles):
        if session.arn == principal:
            return _session_identity(sandbox, session)
    iam = aws.iam(account)
    for user in iam.users.values():
        if user.arn == principal:
            return _user_identity(user, "")
    role = aws.role_by_arn(account, principal)
    if role is None and ":assumed-role/" in principal:
        name = principal.split(":assumed-role/", 1)[1].split("/")[0]
        role = next((r for r in iam.roles.values() if r.name == name), None)
    if role is None:
        raise ValueError(f"There is no user, role or role session {principal!r} in this sandbox.")
    # A role ARN stands for a session of it with no session policy: name one, as AWS names every session.
    session_arn = principal if ":assumed-role/" in principal else \
        f"arn:aws:sts::{account}:assumed-role/{role.name}/playground"
    # A session of it issued now: the one a reader who takes the role would hold.
    identity = Identity("session", session_arn, role.arn, account, "", f"{role.id}:{session_arn.rsplit('/', 1)[-1]}",
                        tags=tags_of(role.tags), issued=sandbox.clock.now().replace(microsecond=0))
    attach_policies(identity, role, f"role {role.name}")
    attach_boundary(identity, role.permissions_boundary_arn, account)
    return identity