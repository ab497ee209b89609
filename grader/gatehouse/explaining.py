"""why(): the gatehouse's explanation of a refusal, in the book's words, and where to ask AWS the same question."""

from __future__ import annotations

from typing import Any, Optional

from grader.account import Explanation
from grader.gatehouse.rule import RefusedByAws
from grader.gatehouse.log import Entry, state
from grader.policy.explain import deciding as explain_deciding, fix as explain_fix

__all__ = ["Explanation", "explain", "request_id_of"]

def request_id_of(error: Any) -> Optional[str]:
    response = getattr(error, "response", None) or {}
    return (response.get("ResponseMetadata") or {}).get("RequestId")


def explain(sandbox: Any, error: Any = None) -> Explanation:
    """Explain a refused call: ``why(err)`` for a botocore ClientError, ``why()`` for the last refusal.

    In order, once each: what AWS said (code and message), who asked for what on which resource, the statement that
    decided (or the Allow that was missing), the fix in one line, and where to ask the same question on a real
    account (CloudTrail, ``aws iam simulate-principal-policy``, ``aws sts decode-authorization-message``, IAM
    Access Analyzer's ``validate-policy``).
    """
    entries = list(state(sandbox).log)
    entry = None
    if error is not None:
        wanted = request_id_of(error)
        entry = next((e for e in reversed(entries) if e.request_id == wanted), None)
        if entry is None:
            return Explanation("The sandbox's gatehouse did not refuse this call (its request id is not in the "
                               "gatehouse's log): the error came from the service itself, not from IAM. "
                               f"It says: {error}")
    else:
        entry = next((e for e in reversed(entries) if not e.allowed), None)
        if entry is None:
            return Explanation("Nothing has been refused in this sandbox yet.")
    return Explanation(_explain_entry(entry))


_MALFORMED = ("MalformedPolicyDocument", "MalformedPolicy", "MalformedPolicyDocumentException")


_CREDENTIALS = ("ExpiredToken", "InvalidClientTokenId", "RequestExpired", "AuthFailure", "InvalidAccessKeyId",
                "ExpiredTokenException", "UnrecognizedClientException", "MissingAuthenticationToken")


# Operations on objects are data events: CloudTrail keeps them only on a trail that asks for data events.
_DATA_EVENTS = {"s3": ("GetObject", "PutObject", "DeleteObject", "HeadObject", "CopyObject")}


def _explain_entry(entry: Entry) -> str:
    if entry.allowed:
        return f"Allowed: {entry.caller} called {entry.service} {entry.operation}."
    lines = [f"AWS says: {entry.code}: {entry.message}"]
    decision = entry.decision
    request = decision.request if decision is not None else None
    asked = f"{entry.service}:{entry.operation}" if request is None else (
        request.action + ("" if request.resource == "*" else f" on {request.resource}"))
    lines.append(f"Who asked: {entry.caller or 'a caller the gatehouse could not identify'}, for {asked} "
                 f"(request {entry.request_id})")
    if entry.note:
        lines.append(entry.note)
    if decision is not None and not decision.allowed and entry.code not in _MALFORMED:
        if isinstance(decision, RefusedByAws):
            lines.append(f"Fix: {decision.reason}.")
        else:
            lines.append(explain_deciding(decision))
            lines.append(explain_fix(decision))
    elif decision is not None and decision.allowed:
        # Refused after every policy allowed it (a validation error): naming policies would send the reader
        # looking in the wrong place.
        lines.append("No policy refused this call: the service refused the request itself.")
    lines.append("On a real account: " + _on_a_real_account(entry))
    return "\n".join(lines)


def _on_a_real_account(entry: Entry) -> str:
    """Where a reader asks AWS the same question: the tool that answers it there."""
    if entry.code in _MALFORMED:
        kind = "RESOURCE_POLICY" if entry.service in ("s3", "ecr") or "trust" in (entry.note or "") or \
            entry.operation in ("CreateRole", "UpdateAssumeRolePolicy") else "IDENTITY_POLICY"
        extra = " --validate-policy-resource-type AWS::IAM::AssumeRolePolicyDocument" \
            if entry.operation in ("CreateRole", "UpdateAssumeRolePolicy") else ""
        return ("IAM Access Analyzer checks a document before you use it: aws accessanalyzer validate-policy "
                f"--policy-type {kind}{extra} --policy-document file://policy.json")
    if entry.code in _CREDENTIALS:
        return ("aws sts get-caller-identity says whether the credentials in use are still accepted, and whose "
                "they are; a role session's expiry is in the Expiration its credentials came with.")
    if entry.message and "Encoded authorization failure message: " in entry.message:
        token = entry.message.rsplit("Encoded authorization failure message: ", 1)[1]
        return (f"aws sts decode-authorization-message --encoded-message {token[:12]}... opens the encoded "
                "message (it needs sts:DecodeAuthorizationMessage); the sandbox answers it too.")
    decision = entry.decision
    trail = f"CloudTrail records the refusal as event {entry.operation} with errorCode {entry.code}"
    if entry.operation in _DATA_EVENTS.get(entry.service, ()):
        trail += " (a data event: only on a trail that logs S3 data events)"
    source = (decision.request.context.get("aws:PrincipalArn") if decision is not None else None) or ""
    if decision is None or isinstance(decision, RefusedByAws) or ":root" in source or not source:
        return trail + "."
    request = decision.request
    resource = "" if request.resource == "*" else f" --resource-arns {request.resource}"
    return (f"{trail}; IAM's simulator answers the same question: aws iam simulate-principal-policy "
            f"--policy-source-arn {source} --action-names {request.action}{resource} (the sandbox answers it too).")