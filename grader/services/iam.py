"""IAM's operations as IAM authorises them: roles, policies, instance profiles, users and groups.

Resource ARNs follow the Service Authorization Reference: ``arn:aws:iam::<account>:role/<path><name>`` and the like,
with the path of the existing role (or of the one being created). Every operation is authorised as the Service
Authorization Reference says (``reference.py``), with ``iam:PolicyARN``, ``iam:PermissionsBoundary`` and a role's
tags as condition keys; the entries here add what the reference does not say: the documents a call carries,
``MaxSessionDuration``'s range, and ``iam:PassRole`` on the role ``AddRoleToInstanceProfile`` hands over.
"""

from __future__ import annotations

from . import Call, Check, Extra, ServiceTable, document


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
    return ("ValidationError", f"1 validation error detected: Value '{value}' at 'maxSessionDuration' failed to "
                               f"satisfy constraint: Member must have value {bound}")


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
        "CreateRole": Extra(validate=_max_session_duration,
                            documents=(document("AssumeRolePolicyDocument", "trust", "trust policy"),
                                       _boundary_document)),
        "UpdateAssumeRolePolicy": Extra(documents=(document("PolicyDocument", "trust", "trust policy"),)),
        "UpdateRole": Extra(validate=_max_session_duration),
        "PutRolePermissionsBoundary": Extra(documents=(_boundary_document,)),
        "PutUserPermissionsBoundary": Extra(documents=(_boundary_document,)),
        "CreateUser": Extra(documents=(_boundary_document,)),
        "PutRolePolicy": Extra(documents=identity),
        "PutUserPolicy": Extra(documents=identity),
        "PutGroupPolicy": Extra(documents=identity),
        "CreatePolicy": Extra(documents=identity),
        "CreatePolicyVersion": Extra(documents=identity),
        # The IAM API reference: AddRoleToInstanceProfile also needs iam:PassRole on the role.
        "AddRoleToInstanceProfile": Extra(also=_pass_role_for_instance_profile),
    }


TABLE = ServiceTable(signing_name="iam", model_name="iam", prefix="iam", rules={}, extras=_extras(),
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
