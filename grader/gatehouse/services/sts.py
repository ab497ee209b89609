"""STS's operations as AWS authorises them: sts:AssumeRole needs both the caller's permission and the role's trust policy.

``AssumeRole`` is authorised on the role's ARN with the role's trust policy as the resource-based policy (the policy
engine applies AWS's rule that a trust policy must always allow). Session tags need ``sts:TagSession`` and a source
identity needs ``sts:SetSourceIdentity``, both also allowed by the trust policy. ``GetCallerIdentity`` is always
allowed: AWS answers it even when a policy denies everything.
"""

from __future__ import annotations

import re

from grader.aws.errors import ValidationError

from . import Call, Check, ResourcePolicy, Rule, ServiceTable, document

_SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
CHAINED_SESSION_LIMIT = 3600


def _role_arn(call: Call) -> list:
    return [call.param("RoleArn", "*")]


def _trust_policy(call: Call) -> ResourcePolicy:
    arn = call.param("RoleArn", "")
    role = call.state.role(arn)
    if role is None:
        return ResourcePolicy(None, "trust policy", missing=arn)
    return ResourcePolicy(role.assume_role_policy_document, f"trust policy of role {role.name}")


def _assume_context(call: Call) -> dict:
    context = {"sts:RoleSessionName": call.param("RoleSessionName"), "sts:ExternalId": call.param("ExternalId"),
               "sts:SourceIdentity": call.param("SourceIdentity")}
    tags = call.param("Tags") or []
    for tag in tags:
        if isinstance(tag, dict):
            context[f"aws:RequestTag/{tag.get('Key')}"] = tag.get("Value", "")
    if tags:
        context["aws:TagKeys"] = [t.get("Key") for t in tags if isinstance(t, dict)]
    transitive = call.param("TransitiveTagKeys")
    if transitive:
        context["sts:TransitiveTagKeys"] = list(transitive)
    return {k: v for k, v in context.items() if v is not None}


def _session_extras(call: Call) -> list:
    """Tagging a session and setting its source identity are separate permissions, checked against the same trust."""
    extras = []
    arn = call.param("RoleArn", "*")
    policy = _trust_policy(call)
    if call.param("Tags"):
        extras.append(Check("sts:TagSession", arn, _assume_context(call), policy))
    if call.param("SourceIdentity"):
        extras.append(Check("sts:SetSourceIdentity", arn, _assume_context(call), policy))
    return extras


def _constraint(value, field: str, rule: str) -> ValidationError:
    return ValidationError(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                           f"constraint: {rule}")


def _validate_assume_role(call: Call):
    """STS's own limits on AssumeRole (AWS: API_AssumeRole, DurationSeconds and RoleSessionName).

    A session name is 2 to 64 characters of ``[\\w+=,.@-]``; a session lasts 900 seconds up to the role's
    MaxSessionDuration, and at most one hour when a role session takes a role (role chaining).
    """
    name = call.param("RoleSessionName", "")
    if len(name) < 2:
        return _constraint(name, "roleSessionName", "Member must have length greater than or equal to 2")
    if len(name) > 64:
        return _constraint(name, "roleSessionName", "Member must have length less than or equal to 64")
    if not _SESSION_NAME.fullmatch(name):
        return _constraint(name, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    duration = call.param("DurationSeconds")
    if duration is None:
        return None
    duration = int(duration)
    if duration < 900:
        return _constraint(duration, "durationSeconds", "Member must have value greater than or equal to 900")
    if duration > 43200:
        return _constraint(duration, "durationSeconds", "Member must have value less than or equal to 43200")
    if ":assumed-role/" in call.caller and duration > CHAINED_SESSION_LIMIT:
        return ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
                               "by role chaining.")
    role = call.state.role(call.param("RoleArn", ""))
    if role is not None and duration > int(role.max_session_duration or 3600):
        return ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    return None


TABLE = ServiceTable(signing_name="sts", model_name="sts", prefix="sts", rules={
    "AssumeRole": Rule("sts:AssumeRole", _role_arn, context=_assume_context, resource_policy=_trust_policy,
                       also=_session_extras, documents=(document("Policy", "session", "session policy"),),
                       validate=_validate_assume_role),
    "GetCallerIdentity": Rule("sts:GetCallerIdentity", always_allowed=True),
    # AWS: "You cannot use policies to control access to GetSessionToken" (only the long-term keys can call it).
    "GetSessionToken": Rule("sts:GetSessionToken", always_allowed=True),
    "GetAccessKeyInfo": Rule("sts:GetAccessKeyInfo"),
    "DecodeAuthorizationMessage": Rule("sts:DecodeAuthorizationMessage"),
    "GetFederationToken": Rule("sts:GetFederationToken",
                               lambda call: [f"arn:{call.partition}:sts::{call.account}:federated-user/"
                                             f"{call.param('Name', '*')}"],
                               documents=(document("Policy", "session", "session policy"),)),
}, states_reason=False)
