"""The gatehouse's answers in AWS's words: EC2's encoded refusals, DecodeAuthorizationMessage, services not run."""

from __future__ import annotations

import json
from typing import Any, Optional
from xml.sax.saxutils import escape

from grader.aws.errors import answer
from grader.gatehouse.identity import Identity
from grader.gatehouse.log import Entry, State
from grader.gatehouse.services import Call, services_run
from grader.gatehouse.services import reference as _reference
from grader.policy import Decision

__all__ = ["ec2_denied_message", "decode_authorization_message", "not_run_message"]

def ec2_denied_message(state: State, operation: str, identity: Identity, decision: Decision,
                        plain: str) -> str:
    """EC2's words for a refusal: its own sentence first, then either the plain reason or an encoded one.

    EC2's describe calls name the caller and the missing permission in the clear; its other operations hide the
    details in an "Encoded authorization failure message" that only sts:DecodeAuthorizationMessage opens, because
    they can name policies and resources the caller should not see (AWS: DecodeAuthorizationMessage). The sandbox's
    message is an opaque token, a key into the gatehouse's own state: nothing but that call can read it.
    """
    if operation.startswith("Describe"):
        return f"You are not authorized to perform this operation. {plain}"
    token = state.encode(_authorization_status(identity, decision))
    return f"You are not authorized to perform this operation. Encoded authorization failure message: {token}"


def _authorization_status(identity: Identity, decision: Decision) -> dict:
    """The decoded message, in the shape sts:DecodeAuthorizationMessage gives it on AWS."""
    request = decision.request

    def values(value: Any) -> dict:
        items = value if isinstance(value, (list, tuple)) else [value]
        return {"items": [{"value": str(v)} for v in items]}

    matched = [{"statementId": st.sid or "", "effect": st.effect.upper()}
               for st in decision.statements if getattr(st, "effect", None)]
    principal = {"id": identity.userid, "arn": identity.arn}
    if identity.username:
        principal["name"] = identity.username
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.outcome == "explicit-deny",
        "matchedStatements": {"items": matched},
        "failures": {"items": []},
        "context": {
            "principal": principal,
            "action": request.action,
            "resource": request.resource,
            "conditions": {"items": [{"key": key, "values": values(value)}
                                     for key, value in sorted(request.context.items())]},
        },
    }


def decode_authorization_message(state: State, call: Call, entry: Entry) -> tuple:
    """Answer sts:DecodeAuthorizationMessage (moto has no such call): the status the token stands for."""
    token = call.param("EncodedMessage", "")
    status = state.encoded.get(token)
    request_id = state.request_id()
    if status is None:
        entry.allowed = False
        entry.code, entry.message = "InvalidAuthorizationMessageException", "The encoded message is not valid."
        entry.request_id = request_id
        entry.note = ("Only the encoded message of a refusal in this sandbox can be decoded, and only in the "
                      "sandbox that refused the call.")
        return answer("query", 400, entry.code, entry.message, request_id)
    body = ('<DecodeAuthorizationMessageResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<DecodeAuthorizationMessageResult><DecodedMessage>"
            f"{escape(json.dumps(status, separators=(',', ':')))}</DecodedMessage>"
            "</DecodeAuthorizationMessageResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            "</DecodeAuthorizationMessageResponse>")
    return 200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


def not_run_message(signing_name: Optional[str], consequence: str = "this call has no answer here") -> str:
    """The sandbox's sentence for a service it does not run, and what that means for the caller."""
    runs = ", ".join(f"{name} ({key})" for key, name in services_run())
    return (f"The sandbox does not run {_reference.service_name(signing_name or '?')} ({signing_name}): "
            f"{consequence}. The sandbox runs {runs}.")

def describe_missing_model(service: str, consequence: str) -> Optional[str]:
    """``not_run_message`` for a service AWS has; None for a name that is no service of AWS's either."""
    if _reference.service_name(service) == service:
        return None
    return not_run_message(service, consequence)
