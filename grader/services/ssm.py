"""Systems Manager Parameter Store's operations as SSM authorises them: parameters by ARN.

The ARN is the Service Authorization Reference's, ``arn:aws:ssm:<region>:<account>:parameter/<name without its
leading slash>``. AWS's public parameters (``/aws/service/...``, such as the ECS-optimized AMI ids) belong to no
account, and their ARN says so with an empty account field.
"""

from __future__ import annotations

from . import Call, Rule, ServiceTable, as_list


def _parameter_arn(call: Call, name: str) -> str:
    name = name.lstrip("/")
    account = "" if name.startswith("aws/") else call.account
    return f"arn:{call.partition}:ssm:{call.region}:{account}:parameter/{name}"


def _parameter(call: Call) -> list:
    return [_parameter_arn(call, call.param("Name", "*"))]


def _parameters(call: Call) -> list:
    return [_parameter_arn(call, name) for name in as_list(call.param("Names"))] or [_parameter_arn(call, "*")]


def _path(call: Call) -> list:
    return [_parameter_arn(call, call.param("Path", "*"))]


TABLE = ServiceTable(signing_name="ssm", model_name="ssm", prefix="ssm", rules={
    "GetParameter": Rule("ssm:GetParameter", _parameter),
    "GetParameters": Rule("ssm:GetParameters", _parameters),
    "GetParametersByPath": Rule("ssm:GetParametersByPath", _path),
    "PutParameter": Rule("ssm:PutParameter", _parameter),
    "DeleteParameter": Rule("ssm:DeleteParameter", _parameter),
}, denied_code="AccessDeniedException")
