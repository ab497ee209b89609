"""STS's operations as AWS authorises them: sts:AssumeRole needs both the caller's permission and the role's trust policy.

``AssumeRole`` is authorised on the role's ARN with the role's trust policy as the resource-based policy (the policy
engine applies AWS's rule that a trust policy must always allow). Session tags need ``sts:TagSession`` and a source
identity needs ``sts:SetSourceIdentity``, both also allowed by the trust policy. ``GetCallerIdentity`` is always
allowed: AWS answers it even when a policy denies everything.
"""

from __future__ import annotations

from . import Call, Check, ResourcePolicy, Rule, ServiceTable, document


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


TABLE = ServiceTable(signing_name="sts", model_name="sts", prefix="sts", rules={
    "AssumeRole": Rule("sts:AssumeRole", _role_arn, context=_assume_context, resource_policy=_trust_policy,
                       also=_session_extras, documents=(document("Policy", "session", "session policy"),)),
    "GetCallerIdentity": Rule("sts:GetCallerIdentity", always_allowed=True),
    # AWS: "You cannot use policies to control access to GetSessionToken" (only the long-term keys can call it).
    "GetSessionToken": Rule("sts:GetSessionToken", always_allowed=True),
    "GetAccessKeyInfo": Rule("sts:GetAccessKeyInfo"),
    "DecodeAuthorizationMessage": Rule("sts:DecodeAuthorizationMessage"),
    "GetFederationToken": Rule("sts:GetFederationToken",
                               lambda call: [f"arn:{call.partition}:sts::{call.account}:federated-user/"
                                             f"{call.param('Name', '*')}"],
                               documents=(document("Policy", "session", "session policy"),)),
})
