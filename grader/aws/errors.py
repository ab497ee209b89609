"""AWS's errors as classes: one per code, raised where the decision is made, serialised once per protocol.

moto's habit, kept here for the sandbox's own answers (the gatehouse's refusals, the simulator's, the link-local
endpoints' words stay their own): an error knows its code, its message and its HTTP status; :func:`answer` writes it
in the wire format of the service's protocol (query XML, EC2's XML, rest-xml, JSON 1.0/1.1 and rest-json), so that
botocore raises the ``ClientError`` AWS would cause, with AWS's words. Credentials AWS does not accept are named
differently by each protocol (``ExpiredToken`` is EC2's ``RequestExpired`` and S3's ``ExpiredToken`` with another
sentence): :meth:`AwsError.in_protocol` gives each protocol its own words.
"""

from __future__ import annotations

import json
from typing import Optional
from xml.sax.saxutils import escape

__all__ = ["AwsError", "AccessDenied", "ExpiredToken", "InvalidClientTokenId", "IncompleteSignature",
           "MissingAuthenticationToken", "NotImplementedHere", "InvalidAction", "InternalFailure",
           "NoSuchEntity", "InvalidInput", "ValidationError", "LimitExceeded", "answer",
           "error_answer"]


class AwsError(Exception):
    """An error AWS answers with: ``code``, ``message`` (AWS's words) and the HTTP ``status``.

    ``note`` is the sandbox's own explanation, for ``why()``; it never travels in the answer.
    """

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str, *, code: Optional[str] = None, status: Optional[int] = None,
                 note: Optional[str] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.note = note

    def in_protocol(self, protocol: str) -> tuple:
        """``(code, message, status)`` as a service of ``protocol`` words this error."""
        return self.code, self.message, self.status


# Each protocol's words for credentials AWS does not accept.
_CREDENTIAL_WORDS = {
    ("ec2", "ExpiredToken"): ("RequestExpired", "Request has expired.", 400),
    ("ec2", "InvalidClientTokenId"): ("AuthFailure", "AWS was not able to validate the provided access credentials",
                                      401),
    ("rest-xml", "ExpiredToken"): ("ExpiredToken", "The provided token has expired.", 400),
    ("rest-xml", "InvalidClientTokenId"): ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
                                           "exist in our records.", 403),
    ("json", "ExpiredToken"): ("ExpiredTokenException", "The security token included in the request is expired",
                               400),
    ("json", "InvalidClientTokenId"): ("UnrecognizedClientException", "The security token included in the "
                                       "request is invalid.", 400),
}


class _CredentialError(AwsError):
    status = 403

    def in_protocol(self, protocol: str) -> tuple:
        words = _CREDENTIAL_WORDS.get((protocol, self.code))
        if words is None and protocol == "rest-json":
            words = _CREDENTIAL_WORDS.get(("json", self.code))
        return words or (self.code, self.message, self.status)


class ExpiredToken(_CredentialError):
    code = "ExpiredToken"

    def __init__(self, *, note: Optional[str] = None):
        super().__init__("The security token included in the request is expired", note=note)


class InvalidClientTokenId(_CredentialError):
    code = "InvalidClientTokenId"

    def __init__(self, *, note: Optional[str] = None):
        super().__init__("The security token included in the request is invalid.", note=note)


class AccessDenied(AwsError):
    code = "AccessDenied"
    status = 403


class IncompleteSignature(AwsError):
    code = "IncompleteSignature"


class MissingAuthenticationToken(AwsError):
    code = "MissingAuthenticationToken"
    status = 403

    def __init__(self, *, note: Optional[str] = None):
        super().__init__("Request is missing Authentication Token", note=note)


class NotImplementedHere(AwsError):
    """A service or operation the sandbox does not run (AWS's ``NotImplemented`` code)."""

    code = "NotImplemented"


class InvalidAction(AwsError):
    code = "InvalidAction"


class InternalFailure(AwsError):
    # 400, not 500: botocore would retry a 500 several times, with pauses, for the same answer.
    code = "InternalFailure"


class ValidationError(AwsError):
    """A parameter outside the service's constraints (its length, range or pattern), in the service's words."""

    code = "ValidationError"


class LimitExceeded(AwsError):
    code = "LimitExceeded"
    status = 409  # IAM's LimitExceeded is an HTTP 409 (IAM API reference, Errors)


class NoSuchEntity(AwsError):
    code = "NoSuchEntity"
    status = 404


class InvalidInput(AwsError):
    code = "InvalidInput"


def answer(protocol: str, status: int, code: str, message: str, request_id: str) -> tuple:
    """``(status, headers, body)`` of an error in the wire format of ``protocol``."""
    headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if protocol in ("json", "rest-json"):
        headers.update({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})
        return status, headers, json.dumps({"__type": code, "message": message})
    headers["Content-Type"] = "text/xml"
    code, message = escape(code), escape(message)
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
    else:
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, headers, body


def error_answer(protocol: str, error: AwsError, request_id: str) -> tuple:
    """``error`` answered in ``protocol``, in that protocol's words for it."""
    code, message, status = error.in_protocol(protocol)
    return answer(protocol, status, code, message, request_id)
