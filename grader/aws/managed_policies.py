"""AWS managed policies are AWS's: an account reads and attaches them, and changes none of them.

"You cannot change the permissions defined in AWS managed policies" (IAM User Guide, AWS managed policies:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies).
An AWS managed policy (``arn:aws:iam::aws:policy/...``) belongs to AWS's own account, not to the caller's, so IAM
refuses every call that would write it: a new version, a deleted version, another default version, deleting the
policy, tagging it. moto lets an account do all of these, to objects the sandbox would then hand on.

AWS does not document the exact words of this refusal. The sandbox answers with the ``AccessDenied`` AWS gives for
a resource in another account that no resource-based policy opens to the caller ("... is not authorized to perform:
ACTION on resource: ARN because no resource-based policy allows the ACTION action", IAM User Guide, Access denied
error messages: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): it is AWS's
answer for a resource outside the caller's account, and an AWS managed policy is one.

The gatehouse refuses these calls before moto is asked (``refusal``). ``PATCHES`` make moto's IAM refuse them too,
for any code that reaches moto's IAM without the gate: nothing may change a policy every account shares.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Optional

__all__ = ["WRITES", "is_aws_managed", "refusal", "PATCHES"]

WRITES = ("iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
          "iam:TagPolicy", "iam:UntagPolicy")
"""The IAM actions that change a managed policy itself (IAM API reference: each takes the policy's ARN)."""

_WRITES = frozenset(action.lower() for action in WRITES)
_AWS_MANAGED = re.compile(r"arn:aws[a-z-]*:iam::aws:policy/")


def is_aws_managed(arn: Optional[str]) -> bool:
    """Whether ``arn`` names a policy in AWS's own account: ``arn:aws:iam::aws:policy/...``."""
    return isinstance(arn, str) and bool(_AWS_MANAGED.match(arn))


def refusal(caller_arn: str, action: str, resource: str) -> Optional[str]:
    """AWS's AccessDenied message when ``action`` would change the AWS managed policy ``resource``, else None."""
    if action.lower() not in _WRITES or not is_aws_managed(resource):
        return None
    return (f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} because no "
            f"resource-based policy allows the {action} action")


@functools.lru_cache(maxsize=1)
def _access_denied() -> type:
    """moto's IAM error for the refusal (moto serialises its ``code`` and message in IAM's protocol)."""
    from moto.iam.exceptions import IAMException

    class AccessDenied(IAMException):
        code = "AccessDenied"

    return AccessDenied


def _refusing(action: str) -> Callable[[Any], Callable]:
    def make(original: Callable) -> Callable:
        def method(self, policy_arn: str, *args: Any, **kwargs: Any):
            if is_aws_managed(policy_arn):
                raise _access_denied()(f"{action} on {policy_arn}: an AWS managed policy belongs to AWS's account, "
                                       "and no account may change it")
            return original(self, policy_arn, *args, **kwargs)

        method.__wrapped__ = original
        return method

    return make


PATCHES = tuple(
    ("moto.iam.models:IAMBackend", name, _refusing(action),
     f"IAM refuses {action} on an AWS managed policy, which belongs to AWS's account; moto lets an account write it")
    for name, action in (("create_policy_version", "iam:CreatePolicyVersion"),
                         ("delete_policy_version", "iam:DeletePolicyVersion"),
                         ("set_default_policy_version", "iam:SetDefaultPolicyVersion"),
                         ("delete_policy", "iam:DeletePolicy"),
                         ("tag_policy", "iam:TagPolicy"),
                         ("untag_policy", "iam:UntagPolicy")))
