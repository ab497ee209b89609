"""Systems Manager's operations, every one as the Service Authorization Reference gives it: parameters by ARN.

The book reads AWS's public parameters (the ECS-optimised AMI's id) from here. A parameter's ARN drops the
name's leading slash: ``/aws/service/...`` is ``arn:aws:ssm:<region>:<account>:parameter/aws/service/...``.
"""

from __future__ import annotations

from . import Call, ServiceTable


def _parameter_name(call: Call):
    names = call.param("Name") or call.param("Names")
    if isinstance(names, list):
        return [str(n).lstrip("/") for n in names]
    return str(names).lstrip("/") if names else None


TABLE = ServiceTable(signing_name="ssm", model_name="ssm", prefix="ssm", rules={},
                     denied_code="AccessDeniedException",
                     variables={"ParameterNameWithoutLeadingSlash": _parameter_name})
