"""The IAM policy language: parse and validate policy documents, evaluate requests, explain the decisions.

Pure Python over JSON documents, with no dependency on the rest of the project and no I/O, so that it also runs in
the browser. The usual entry points::

    from grader.policy import parse, Request, evaluate

    policy = parse(document, kind="identity", name="inline policy 'deliver' on role DeliveryRole")
    decision = evaluate(Request(principal, "s3:GetObject", "arn:aws:s3:::parcels/box-1", context),
                        identity_policies=[policy])
    decision.outcome                   # "allow" | "explicit-deny" | "implicit-deny"
    decision.access_denied_message()   # AWS's AccessDenied wording when denied
"""

from .conditions import OPERATORS
from .document import KINDS, TRUST_ACTIONS, MalformedPolicyDocument, Policy, Statement, parse, read_stored, validate
from .evaluation import Decision, Request, StatementResult, evaluate
from .explain import access_denied_message, explain
from .matching import matches_action, matches_arn, matches_arn_like

__all__ = [
    "parse", "validate", "read_stored", "Policy", "Statement", "MalformedPolicyDocument", "KINDS", "TRUST_ACTIONS",
    "Request", "Decision", "StatementResult", "evaluate",
    "explain", "access_denied_message",
    "matches_action", "matches_arn", "matches_arn_like", "OPERATORS",
]
