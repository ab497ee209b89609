"""IAM's operations as IAM authorises them: roles, policies, instance profiles, users and groups.

Resource ARNs follow the Service Authorization Reference: ``arn:aws:iam::<account>:role/<path><name>`` and the like,
with the path of the existing role (or of the one being created). Every operation is authorised as the Service
Authorization Reference says (``reference.py``), with ``iam:PolicyARN``, ``iam:PermissionsBoundary`` and a role's
tags as condition keys; the entries here add what the reference does not say: the documents a call carries,
``MaxSessionDuration``'s range, ``iam:PassRole`` on the role ``AddRoleToInstanceProfile`` hands over, and IAM's
quotas on what a call may store (below), each refused with IAM's own code and words before anything is stored.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from grader.aws.errors import AwsError, LimitExceeded, ValidationError
from grader.aws.limits import too_long

from . import Call, Check, Extra, ServiceTable, document

# IAM and AWS STS quotas, "IAM and STS character limits" and "IAM object quotas":
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# "IAM doesn't count white space when calculating the size of a policy against these quotas."
TRUST_POLICY_SIZE = 2048          # role trust policy length
MANAGED_POLICY_SIZE = 6144        # managed policy size
INLINE_POLICY_SIZE = {"role": 10240, "user": 2048, "group": 5120}   # inline policies, all of one identity together
ATTACHED_POLICIES = 10            # managed policies attached to one role, user or group
_WHITESPACE = re.compile(r"\s+")


def _role(call: Call) -> list:
    return [call.state.role_arn(call.param("RoleName", "*"), call.param("Path"))]


def _user(call: Call) -> list:
    name = call.param("UserName")
    if name is None:  # GetUser, ListAccessKeys... with no UserName are about the caller
        return [call.caller if ":user/" in call.caller else f"arn:{call.partition}:iam::{call.account}:user/*"]
    return [call.state.user_arn(name, call.param("Path"))]


def _group(call: Call) -> list:
    path = call.param("Path", "/")
    return [f"arn:{call.partition}:iam::{call.account}:group{path}{call.param('GroupName', '*')}"]


def _instance_profile(call: Call) -> list:
    return [call.state.instance_profile_arn(call.param("InstanceProfileName", "*"), call.param("Path"))]


def _policy(call: Call) -> list:
    if call.param("PolicyArn"):
        return [call.param("PolicyArn")]
    path = call.param("Path", "/")
    return [f"arn:{call.partition}:iam::{call.account}:policy{path}{call.param('PolicyName', '*')}"]


def _role_tags(call: Call) -> dict:
    return call.state.role_resource_tags(call.param("RoleName"))


def _max_session_duration(call: Call):
    """IAM's range for a role's MaxSessionDuration: one to twelve hours, in seconds (moto stores any number)."""
    value = call.param("MaxSessionDuration")
    if value is None or 3600 <= int(value) <= 43200:
        return None
    bound = "greater than or equal to 3600" if int(value) < 3600 else "less than or equal to 43200"
    return ValidationError(f"1 validation error detected: Value '{value}' at 'maxSessionDuration' failed to "
                           f"satisfy constraint: Member must have value {bound}")


def _size(text) -> int:
    """A policy's size as IAM counts it against its quotas: its characters, white space left out."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return len(_WHITESPACE.sub("", text or ""))


def _limit_exceeded(message: str) -> LimitExceeded:
    return LimitExceeded(message)


def _trust_policy_size(param: str) -> Callable[[Call], Optional[AwsError]]:
    def check(call: Call) -> Optional[AwsError]:
        text = call.param(param)
        if text is not None and _size(text) > TRUST_POLICY_SIZE:
            return _limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}")
        return None

    return check


def _managed_policy_size(call: Call) -> Optional[AwsError]:
    text = call.param("PolicyDocument")
    if text is not None and _size(text) > MANAGED_POLICY_SIZE:
        return _limit_exceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}")
    return None


def _identity(call: Call, kind: str):
    """The role, user or group a call names (moto's object), or None when there is none (moto says so itself)."""
    name = call.param(f"{kind.capitalize()}Name")
    if not name:
        return None
    if kind == "role":
        return call.state.role(name)
    return (call.state.iam.users if kind == "user" else call.state.iam.groups).get(name)


def _inline_policies_size(kind: str) -> Callable[[Call], Optional[AwsError]]:
    """All of an identity's inline policies together, the one being put in place of its namesake."""
    limit = INLINE_POLICY_SIZE[kind]

    def check(call: Call) -> Optional[AwsError]:
        owner = _identity(call, kind)
        text = call.param("PolicyDocument")
        if owner is None or text is None:
            return None
        replaced = call.param("PolicyName")
        total = _size(text) + sum(_size(other) for name, other in owner.policies.items() if name != replaced)
        if total > limit:
            return _limit_exceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} "
                                   f"{call.param(f'{kind.capitalize()}Name')}")
        return None

    return check


def _attached_policies(kind: str) -> Callable[[Call], Optional[AwsError]]:
    def check(call: Call) -> Optional[AwsError]:
        owner = _identity(call, kind)
        if owner is None or call.param("PolicyArn") in owner.managed_policies:
            return None  # attaching a policy already attached changes nothing
        if len(owner.managed_policies) >= ATTACHED_POLICIES:
            return _limit_exceeded(f"Cannot exceed quota for PoliciesPer{kind.capitalize()}: {ATTACHED_POLICIES}")
        return None

    return check


def _first(*checks: Callable[[Call], Optional[AwsError]]) -> Callable[[Call], Optional[AwsError]]:
    """The first refusal of ``checks``, in order (IAM checks a value's form before its quota)."""

    def check(call: Call) -> Optional[AwsError]:
        return next((found for found in (c(call) for c in checks if c is not None) if found is not None), None)

    return check


def _parameter_lengths(call: Call) -> Optional[AwsError]:
    """Every IAM operation's parameters within the lengths its API reference gives (names, paths, documents...)."""
    return too_long("iam", call.operation, call.params)


def _boundary_document(call: Call) -> list:
    """A permissions boundary is named by ARN; the policy it names must be valid as a boundary."""
    arn = call.param("PermissionsBoundary")
    text = call.state.managed_policy_document(arn) if arn else None
    return [(text, "boundary", f"permissions boundary {arn}")] if text else []


def _pass_role_for_instance_profile(call: Call) -> list:
    return [Check("iam:PassRole", call.state.role_arn(call.param("RoleName", "*")))]


def _extras() -> dict:
    """Only what the reference cannot say: the documents a call carries, IAM's own ranges, iam:PassRole."""
    identity = (document("PolicyDocument", "identity"),)
    return {
        "CreateRole": Extra(validate=_first(_max_session_duration, _trust_policy_size("AssumeRolePolicyDocument")),
                            documents=(document("AssumeRolePolicyDocument", "trust", "trust policy"),
                                       _boundary_document)),
        "UpdateAssumeRolePolicy": Extra(validate=_trust_policy_size("PolicyDocument"),
                                        documents=(document("PolicyDocument", "trust", "trust policy"),)),
        "UpdateRole": Extra(validate=_max_session_duration),
        "PutRolePermissionsBoundary": Extra(documents=(_boundary_document,)),
        "PutUserPermissionsBoundary": Extra(documents=(_boundary_document,)),
        "CreateUser": Extra(documents=(_boundary_document,)),
        "PutRolePolicy": Extra(validate=_inline_policies_size("role"), documents=identity),
        "PutUserPolicy": Extra(validate=_inline_policies_size("user"), documents=identity),
        "PutGroupPolicy": Extra(validate=_inline_policies_size("group"), documents=identity),
        "CreatePolicy": Extra(validate=_managed_policy_size, documents=identity),
        # moto keeps IAM's limit of five versions itself, in IAM's words.
        "CreatePolicyVersion": Extra(validate=_managed_policy_size, documents=identity),
        "AttachRolePolicy": Extra(validate=_attached_policies("role")),
        "AttachUserPolicy": Extra(validate=_attached_policies("user")),
        "AttachGroupPolicy": Extra(validate=_attached_policies("group")),
        # The IAM API reference: AddRoleToInstanceProfile also needs iam:PassRole on the role.
        "AddRoleToInstanceProfile": Extra(also=_pass_role_for_instance_profile),
    }


TABLE = ServiceTable(signing_name="iam", model_name="iam", prefix="iam", rules={}, extras=_extras(),
                     validate=_parameter_lengths,
                     # IAM's ARNs carry the path of the existing entity (or of the one being created), so each is
                     # looked up whole; a value that is an ARN stands for the whole ARN.
                     variables={"RoleNameWithPath": lambda call: _role(call)[0],
                                "UserNameWithPath": lambda call: _user(call)[0],
                                "GroupNameWithPath": lambda call: _group(call)[0],
                                "InstanceProfileNameWithPath": lambda call: _instance_profile(call)[0],
                                "PolicyNameWithPath": lambda call: _policy(call)[0],
                                "OidcProviderName": lambda call: call.param("OpenIDConnectProviderArn"),
                                "SamlProviderName": lambda call: call.param("SAMLProviderArn")},
                     resource_tags={"role": _role_tags})
