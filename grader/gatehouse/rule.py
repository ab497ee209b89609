"""THE rule path: may this identity do this, in this context? Every call, decision, badge and check comes here.

``authorize()`` is the one authorisation rule of the sandbox: the gate judges every real call with it, ``decide()``
answers the book's "would IAM allow this?" with it, badges are minted through it (a service principal taking a role)
and the graded checks and the playground ask it too, so what the book predicts is what the account does.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Any, Mapping, Optional

from grader.aws import managed_policies as _managed_policies
from grader.gatehouse.account_view import AccountView
from grader.gatehouse.identity import Identity, identity_for
from grader.gatehouse.log import source_ip_for, state
from grader.gatehouse.services import Call, Check, ResourcePolicy, table_for
from grader.policy import Decision, MalformedPolicyDocument, Request, evaluate, parse, read_stored, validate

__all__ = ["authorize", "decide", "request_context", "RefusedByAws", "validate_documents", "malformed_note"]


def _clock_text(sandbox: Any) -> tuple:
    """aws:CurrentTime and aws:EpochTime for the sandbox clock's present second (formatted once per second)."""
    held = state(sandbox)
    now = sandbox.clock.now()
    second = now.replace(microsecond=0)
    kept = held.clock_text
    if kept[0] != second:
        kept = held.clock_text = (second, now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   str(calendar.timegm(now.utctimetuple())))
    return kept[1], kept[2]


def _date_text(moment: Any) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_context(sandbox: Any, identity: Identity, region: str, secure: bool,
                    headers: Optional[Mapping] = None) -> dict:
    """The global condition keys AWS puts in a request's context, each where AWS documents it present.

    IAM User Guide, AWS global condition context keys
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), each key's
    *Availability*:

    * every request: ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:RequestedRegion``, ``aws:SecureTransport``,
      ``aws:UserAgent`` (the request's User-Agent header; ``decide()`` has no request and leaves it out), and
      ``aws:PrincipalIsAWSService`` (``true`` only when a service principal makes the request itself);
      ``aws:Referer`` only when the request carries the header;
    * a service principal's own request: ``aws:PrincipalServiceName`` and ``aws:PrincipalServiceNamesList``; none of
      the keys of an account's identity;
    * an account's principal: ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:userid``,
      ``aws:SourceIp``, ``aws:ViaAWSService`` (``false``: the caller calls directly), ``aws:username`` for an IAM
      user, ``aws:PrincipalTag/*`` for the user's or role's tags and a session's tags;
    * temporary credentials only (a role session): ``aws:TokenIssueTime`` (when STS issued them, ISO 8601 UTC) and
      ``aws:MultiFactorAuthPresent`` (``false``: no session of the sandbox is authenticated with MFA, so
      ``aws:MultiFactorAuthAge`` is never present); long-term access keys carry neither;
    * a session whose role was assumed with a source identity: ``aws:SourceIdentity``;
    * an EC2 role credential (handed out by an instance's metadata service): ``aws:Ec2InstanceSourceVpc`` and
      ``aws:Ec2InstanceSourcePrivateIPv4``, the VPC and primary private IPv4 address of that instance.

    Never present here, as AWS documents them absent for what the sandbox is: ``aws:PrincipalOrgID``,
    ``aws:PrincipalOrgPaths`` (the account is in no organization), ``aws:SourceVpc``, ``aws:SourceVpce``,
    ``aws:VpcSourceIp`` (no VPC endpoints), ``aws:CalledVia*`` (no service calls another with a caller's
    credentials), ``aws:FederatedProvider`` (no identity provider), ``aws:MultiFactorAuthAge``.
    ``aws:ResourceAccount`` depends on the resource, so ``authorize()`` adds it per check.
    """
    current_time, epoch_time = _clock_text(sandbox)
    context = {
        "aws:CurrentTime": current_time,
        "aws:EpochTime": epoch_time,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true" if secure else "false",
    }
    for header, key in (("User-Agent", "aws:UserAgent"), ("Referer", "aws:Referer")):
        value = _header(headers, header)
        if value:
            context[key] = value
    if identity.kind == "service":
        # A service principal's own request carries no principal keys of an account's identity.
        context.update({"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": identity.arn,
                        "aws:PrincipalServiceNamesList": [identity.arn]})
        return context
    context.update({
        "aws:PrincipalArn": identity.principal_arn,
        "aws:PrincipalAccount": identity.account,
        "aws:PrincipalType": {"session": "AssumedRole", "user": "User", "root": "Account"}[identity.kind],
        "aws:PrincipalIsAWSService": "false",
        "aws:userid": identity.userid,
        "aws:SourceIp": source_ip_for(identity, sandbox),
        "aws:ViaAWSService": "false",
    })
    if identity.username:
        context["aws:username"] = identity.username
    for key, value in identity.tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    if identity.kind == "session":
        context["aws:TokenIssueTime"] = _date_text(identity.issued or sandbox.clock.now())
        context["aws:MultiFactorAuthPresent"] = "false"
        if identity.source_identity:
            context["aws:SourceIdentity"] = identity.source_identity
        if identity.ec2_source:
            vpc, address = identity.ec2_source
            if vpc:
                context["aws:Ec2InstanceSourceVpc"] = vpc
            if address:
                context["aws:Ec2InstanceSourcePrivateIPv4"] = address
    return context


def _header(headers: Optional[Mapping], name: str) -> Optional[str]:
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# AWS: aws:ResourceAccount is "always included in the request context for most service actions"; these are the
# actions of the sandbox's services that the page names as not supporting it.
_NO_RESOURCE_ACCOUNT = frozenset(("ec2:copyfpgaimage", "ec2:copyimage", "ec2:copysnapshot",
                                  "ec2:createtransitgatewaypeeringattachment", "ec2:createvolume",
                                  "ec2:createvpcpeeringconnection"))


def _resource_account(identity: Identity, action: str, resource: str) -> Optional[str]:
    """aws:ResourceAccount: the account that owns the resource (the sandbox's one account, unless the ARN is AWS's)."""
    if identity.kind == "service" or action.lower() in _NO_RESOURCE_ACCOUNT:
        return None
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[4]:
        return parts[4] if parts[4].isdigit() else None   # "aws" (a managed policy): AWS's, not documented
    return identity.account


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
    resource_account = _resource_account(identity, check.action, check.resource)
    if resource_account is not None and "aws:ResourceAccount" not in context:
        context = {**context, "aws:ResourceAccount": resource_account}
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


def validate_documents(rule: Any, call: Call) -> None:
    for text, kind, name in rule.policy_documents(call):
        validate(text, kind, name)


def malformed_note(exc: MalformedPolicyDocument) -> str:
    """The book's reading of IAM's terse answer, for why(): where the fault is, what it is, how to fix it."""
    place = exc.where
    if not place:
        return f"What is wrong: {exc.explanation}"
    return f"What is wrong ({place}): {exc.explanation}"


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


def decide(sandbox: Any, principal: Any, action: str, resource: str = "*", context: Optional[dict] = None) -> Decision:
    """Would IAM allow this? Evaluated against the live sandbox state, without making the call.

    ``principal`` is a user, role or role-session ARN, the account's root (``arn:aws:iam::ACCOUNT:root``), a
    service principal (``ec2.amazonaws.com``), an access key id, or a boto3 Session. The request context is the one
    the gatehouse would build (time, principal keys, region, source address), updated with ``context``. The
    resource's policy (a bucket policy; a role's trust policy for sts:AssumeRole) is looked at too. The decision
    comes from ``authorize()``, the same function that decides every real call.
    """
    identity = identity_for(sandbox, principal)
    base = request_context(sandbox, identity, sandbox.region, True)
    base.update(context or {})
    check = Check(action, resource, {}, _resource_policy_for(action, resource, sandbox.account_id, sandbox.region))
    return authorize(identity, check, base, always_allowed=_always_allowed(action))