"""Systems Manager's operations as the Service Authorization Reference gives them: parameters by ARN.

The book reads AWS's public parameters (the ECS-optimised AMI's id) from here. A parameter's ARN drops the
name's leading slash: ``/aws/service/...`` is ``arn:aws:ssm:<region>:<account>:parameter/aws/service/...``. AWS's
public parameters belong to no account, and their ARN says so with an empty account field: the reads, which are
what reach them, are written by hand for that reason; every other operation comes from the reference.
"""

from __future__ import annotations

from . import Call, Rule, ServiceTable, as_list


def _parameter_name(call: Call):
    names = call.param("Name") or call.param("Names")
    if isinstance(names, list):
        return [str(n).lstrip("/") for n in names]
    return str(names).lstrip("/") if names else None


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
}, denied_code="AccessDeniedException", variables={"ParameterNameWithoutLeadingSlash": _parameter_name})
