"""The length limits an AWS API sets on each parameter, checked as AWS checks them, from botocore's models.

Every operation's input shape says how long each string may be (``max``): IAM's role and user names 64 characters,
group, policy and instance profile names 128, paths 512, descriptions 1,000, policy documents 131,072 (IAM API
reference, each operation's Request Parameters, e.g.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html). botocore checks only the minimum before it
sends a request, and moto stores what it is given; AWS refuses a longer value with ``ValidationError``, before it
does anything else: "1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint: Member must
have length less than or equal to 64" (AWS's query protocol error for a constraint, naming the member in
lowerCamelCase).
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Optional

from grader.aws.errors import ValidationError

__all__ = ["too_long"]


@functools.lru_cache(maxsize=None)
def _maxima(model_name: str, operation: str) -> tuple:
    """(member, lowerCamel name, max) of each top-level string or list member that has a maximum length."""
    from moto.core.utils import get_service_model

    try:
        shape = get_service_model(model_name).operation_model(operation).input_shape
    except Exception:  # no such operation: the gatehouse refuses it elsewhere
        return ()
    if shape is None:
        return ()
    found = []
    for member, member_shape in shape.members.items():
        maximum = member_shape.metadata.get("max")
        if maximum is not None and member_shape.type_name in ("string", "list"):
            found.append((member, member[:1].lower() + member[1:], int(maximum)))
    return tuple(found)


def too_long(model_name: str, operation: str, params: Mapping[str, Any]) -> Optional[tuple]:
    """AWS's ``ValidationError`` when a parameter is longer than the model allows, else None."""
    errors = []
    for member, field, maximum in _maxima(model_name, operation):
        value = params.get(member)
        if isinstance(value, (str, bytes, list, tuple)) and len(value) > maximum:
            shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            errors.append(f"Value '{shown}' at '{field}' failed to satisfy constraint: Member must have length less "
                          f"than or equal to {maximum}")
    if not errors:
        return None
    count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
    return ValidationError(f"{count}: " + "; ".join(errors))
