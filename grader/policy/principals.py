"""Who is calling, and whether a Principal or NotPrincipal element names them.

A caller is identified by an ARN (user, role, assumed-role session, account root, federated user) or, for an AWS
service acting on its own behalf, by a service principal such as ``ecs-tasks.amazonaws.com``.

How a Principal element names the caller matters within one account (AWS: "Policy evaluation for requests within
a single account"): naming the user or the session ARN grants on its own; naming the role ARN grants to the role's
sessions but stays subject to the permissions boundary and session policy; naming only the account delegates the
decision to the caller's identity-based policies. ``PrincipalMatch.how`` records which of these it was.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["Caller", "caller", "PrincipalSpec", "DIRECT", "ROLE", "ACCOUNT", "EVERYONE", "validate_principal_value"]

# How a resource-based policy named the caller, strongest first.
EVERYONE = "everyone"   # "*" or {"AWS": "*"}
DIRECT = "direct"       # the user ARN, the session ARN, the service, the federated identity itself
ROLE = "role"           # the role ARN, matching a session of that role
ACCOUNT = "account"     # the account id or its root ARN
_STRENGTH = {EVERYONE: 0, DIRECT: 1, ROLE: 2, ACCOUNT: 3}

_ARN = re.compile(r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)")
_ACCOUNT_ID = re.compile(r"\d{12}")


class Caller:
    """A request's principal, taken apart: its kind, account and (for a session) the role it belongs to."""

    __slots__ = ("arn", "kind", "account", "role_name", "partition")

    def __init__(self, arn: str):
        self.arn = arn
        self.kind = "other"
        self.account = None
        self.role_name = None
        self.partition = "aws"
        m = _ARN.fullmatch(arn)
        if m is None:
            if not arn.startswith("arn:") and "." in arn:
                self.kind = "service"
            return
        self.account = m["account"]
        self.partition = m["partition"]
        service, resource = m["service"], m["resource"]
        if service == "iam" and resource == "root":
            self.kind = "root"
        elif service == "iam" and resource.startswith("user/"):
            self.kind = "user"
        elif service == "iam" and resource.startswith("role/"):
            self.kind = "role"
            self.role_name = resource.rsplit("/", 1)[-1]
        elif service == "sts" and resource.startswith("assumed-role/") and resource.count("/") >= 2:
            self.kind = "session"
            self.role_name = resource.split("/")[1]
        elif service == "sts" and resource.startswith("federated-user/"):
            self.kind = "federated-user"

    @property
    def is_iam(self) -> bool:
        """An IAM identity of an account: the kinds to which identity-based policies and boundaries apply."""
        return self.kind in ("user", "role", "session", "federated-user", "root")

    def describe(self) -> str:
        return {"user": "IAM user", "role": "IAM role", "session": "role session", "root": "account root user",
                "federated-user": "federated user session", "service": "service principal"}.get(self.kind,
                                                                                                "principal")


@lru_cache(maxsize=4096)
def caller(arn: str) -> Caller:
    return Caller(arn)


def validate_principal_value(key: str, value: str) -> str | None:
    """A message when a Principal value is not something IAM accepts, else None."""
    if not isinstance(value, str) or not value:
        return f"each {key} principal must be a non-empty string"
    if key == "AWS":
        if value == "*" or _ACCOUNT_ID.fullmatch(value):
            return None
        if "*" in value or "?" in value:
            return (f"{value!r} uses a wildcard inside a principal, which IAM does not allow; name the ARN exactly, "
                    "use \"*\" alone, or match with a Condition such as ArnLike on aws:PrincipalArn")
        m = _ARN.fullmatch(value)
        if m is None:
            return (f"{value!r} is not a valid AWS principal; use an account id (123456789012), an IAM ARN such as "
                    "arn:aws:iam::123456789012:role/Name, or \"*\"")
        return None
    if key == "Service":
        if "*" in value or not re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?", value):
            return (f"{value!r} is not a service principal; service principals look like \"ec2.amazonaws.com\" or "
                    "\"ecs-tasks.amazonaws.com\"")
        return None
    if key == "Federated":
        if "*" in value:
            return f"{value!r}: a Federated principal cannot contain a wildcard"
        return None
    if key == "CanonicalUser":
        return None
    return (f"{key!r} is not a principal type; use \"AWS\", \"Service\", \"Federated\" or \"CanonicalUser\"")


class PrincipalSpec:
    """A compiled Principal or NotPrincipal element."""

    __slots__ = ("source", "everyone", "aws", "services", "federated", "canonical")

    def __init__(self, element):
        self.source = element
        self.everyone = element == "*"
        self.aws: list[str] = []
        self.services: set[str] = set()
        self.federated: set[str] = set()
        self.canonical: set[str] = set()
        if isinstance(element, dict):
            for key, values in element.items():
                values = values if isinstance(values, list) else [values]
                if key == "AWS":
                    self.aws.extend(values)
                elif key == "Service":
                    self.services.update(v.lower() for v in values)
                elif key == "Federated":
                    self.federated.update(values)
                elif key == "CanonicalUser":
                    self.canonical.update(values)
            if "*" in self.aws:
                self.everyone = True

    def match(self, who: Caller) -> tuple[str, str] | None:
        """(how, the value that matched) for the strongest way this element names the caller, or None."""
        if self.everyone:
            return EVERYONE, "*"
        best = None
        # A web-identity caller is named by its provider (cognito-identity.amazonaws.com), which looks like a service.
        if who.arn in self.federated:
            return DIRECT, f"Federated {who.arn}"
        if who.kind == "service":
            if who.arn.lower() in self.services:
                return DIRECT, f"Service {who.arn}"
            return None
        if who.arn in self.canonical:
            return DIRECT, f"CanonicalUser {who.arn}"
        for value in self.aws:
            how = _aws_match(value, who)
            if how and (best is None or _STRENGTH[how] < _STRENGTH[best[0]]):
                best = (how, f"AWS {value}")
        return best

    def names_all_of(self, who: Caller) -> bool:
        """For NotPrincipal: is every identity the request carries listed?

        AWS checks a session as the session, its role and its account, and a user as the user and its account
        (see "AWS JSON policy elements: NotPrincipal"): to exempt a session from a Deny with NotPrincipal, all three
        must be listed.
        """
        if self.everyone:
            return True
        if who.kind == "service":
            return who.arn.lower() in self.services or who.arn in self.federated
        if who.kind == "other":
            return who.arn in self.federated or who.arn in self.canonical or who.arn in self.aws
        named = {how for how in (_aws_match(v, who) for v in self.aws) if how}
        has_account = ACCOUNT in named
        if who.kind == "root":
            return has_account
        if who.kind == "session":
            session_named = any(v == who.arn for v in self.aws)
            role_named = any(_aws_match(v, who) == ROLE for v in self.aws)
            return session_named and role_named and has_account
        if who.kind == "role":
            return ROLE in named and has_account
        return DIRECT in named and has_account

    def __repr__(self):
        return f"PrincipalSpec({self.source!r})"


def _aws_match(value: str, who: Caller) -> str | None:
    if value == "*":
        return EVERYONE
    if who.account is None:
        return None
    if value == who.account or value == f"arn:{who.partition}:iam::{who.account}:root":
        return ACCOUNT
    if value == who.arn:
        return DIRECT if who.kind != "role" else ROLE
    if who.kind in ("session", "role"):
        m = _ARN.fullmatch(value)
        if (m and m["service"] == "iam" and m["account"] == who.account and m["resource"].startswith("role/")
                and m["resource"].rsplit("/", 1)[-1] == who.role_name):
            return ROLE
    return None
