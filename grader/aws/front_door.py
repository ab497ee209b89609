"""The front door: every botocore request of the process passes here, and none without a running sandbox.

Two pieces. A before-send handler placed ahead of moto's in botocore's built-in handlers refuses any AWS call while
no sandbox runs, so a process that imported ``grader`` never reaches the real AWS, before ``start()`` or after
``stop()``. And moto's request handler, wrapped, passes each request through the running sandbox's gates (the
gatehouse is one) before moto answers it, and refuses what moto would let leave the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from botocore.handlers import BUILTIN_HANDLERS

from grader import account
from grader.aws import network, parsing, patches, routing
from grader.aws.errors import AwsError, InternalFailure, NotImplementedHere, error_answer
from grader.aws.fixes.iam import ensure_administrator
from grader.aws.names import ADMIN_ACCESS_KEY_ID
from grader.errors import SandboxNotRunning

Gate = Callable[[Any, Any], Optional[tuple]]
"""A gate sees each request before moto does: ``gate(sandbox, request)`` returns ``None`` to let it through, or a
``(status, headers, body)`` response to answer it itself (a refusal, say)."""


@dataclass
class CallRecord:
    """What the sandbox saw of one request: enough to prove whose credentials were used, never the secret."""

    method: str
    url: str
    access_key_id: Optional[str]


def _access_key_of(request: Any) -> Optional[str]:
    auth = request.headers.get("Authorization") or request.headers.get("authorization")
    if isinstance(auth, bytes):
        auth = auth.decode("utf-8", "replace")
    if auth and "Credential=" in auth:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    return None



def _refuse_without_sandbox(request: Any = None, **_: Any) -> None:
    """A before-send handler, placed ahead of moto's: no running sandbox means no AWS call at all."""
    from moto.core.models import botocore_stubber

    if account.running() is None and not botocore_stubber.enabled:
        url = getattr(request, "url", "an AWS endpoint")
        raise SandboxNotRunning(
            f"No sandbox is running, so this AWS call ({url}) was stopped before it left the machine. "
            "Run `from grader import sandbox; sandbox.start()` first (the first code cell of every chapter does)."
        )
    return None


def install() -> None:
    """Put the no-sandbox guard ahead of moto in botocore's built-in handlers, once per process.

    This one change to botocore stays outside the patch registry on purpose, and stays after ``stop()``: it is
    what refuses an AWS call from a process that imported ``grader`` while no sandbox runs, so that a stopped
    sandbox never lets a call reach the real AWS. It does nothing while a sandbox (or moto itself) runs.
    """
    from moto.core.models import botocore_stubber

    entry = ("before-send", _refuse_without_sandbox)
    if entry in BUILTIN_HANDLERS:
        return
    for index, handler_entry in enumerate(BUILTIN_HANDLERS):
        if handler_entry[1] is botocore_stubber:
            BUILTIN_HANDLERS.insert(index, entry)
            break
    else:
        BUILTIN_HANDLERS.append(entry)

    patches.register("moto.core.models:botocore_stubber", "process_request", _gated,
                     "every botocore request passes the sandbox's gates before moto answers it")


def _gated(original: Callable) -> Callable:
    """moto's request handler, with the sandbox's gates in front of it and the network guard behind it."""

    def process_request(request: Any):
        sandbox = account.running()
        if getattr(sandbox, "gates", None) is None:  # no account in this process: moto's own use
            sandbox = None
        if sandbox is not None:
            access_key_id = _access_key_of(request)
            sandbox.calls.append(CallRecord(request.method, request.url, access_key_id))
            if access_key_id == ADMIN_ACCESS_KEY_ID:
                ensure_administrator(sandbox.account_id)
            for gate in list(sandbox.gates):
                answer = gate(sandbox, request)
                if answer is not None:
                    return answer
        try:
            answer = original(request)
        except Exception as failure:
            if sandbox is None:
                raise
            return unanswered(request, failure)
        if sandbox is not None and answer is not None and tuple(answer[:1]) == (404,) and \
                answer[2] == _MOTO_HAS_NO_SUCH_SERVICE:
            return _service_not_run(sandbox, request)
        if answer is None and sandbox is not None:
            # moto does not serve this URL, so botocore would send it out: refuse here, where the message survives
            # (botocore would otherwise wrap the socket error in a bare "Could not connect to the endpoint URL").
            if not network.is_loopback_host(urlsplit(request.url).hostname or ""):
                raise network.blocked(request.url)
        return answer

    return process_request


# moto's answer to a request for an AWS endpoint none of its backends serves (BotocoreStubber.process_request).
_MOTO_HAS_NO_SUCH_SERVICE = "Not yet implemented"


def _service_not_run(sandbox: Any, request: Any) -> tuple:
    """The sandbox's words for a service that neither it nor moto runs, instead of moto's bare 404.

    The gatehouse judges only the services the sandbox runs; a request signed for any other service reaches moto,
    whose answer for an endpoint it does not serve is a 404 with no AWS error in it. The account's ``not_run`` hook
    (the gatehouse's sentence, which lists the services the sandbox runs) words it, in the request's protocol.
    """
    service = routing.credential_service(request.url, request.headers) or "?"
    wording = getattr(sandbox, "not_run", None)
    message = wording(service, "this call has no answer here") if wording is not None else None
    headers = request.headers
    if headers.get("X-Amz-Target"):
        protocol = "json"
    elif str(headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        protocol = "query"
    else:
        protocol = "rest-json"
    return error_answer(protocol, NotImplementedHere(
        message or f"The sandbox does not run {service}: it is outside this sandbox, so this call has no answer "
                   "here."), _request_id())


def _operation_of(service: Optional[str], request: Any, failure: Exception) -> Optional[str]:
    """The AWS operation a request is for: the one moto says it lacks, else the one its router reads."""
    if service is None:
        return None
    try:
        names = parsing.operation_names(service)
    except Exception:
        return None
    said = str(failure)
    if isinstance(failure, NotImplementedError) and said.startswith("The ") and " action " in said:
        wanted = said[len("The "):].split(" action ", 1)[0].replace("_", "").lower()
        found = next((name for name in names if name.lower() == wanted), None)
        if found is not None:
            return found
    try:
        body = request.body if isinstance(request.body, (bytes, str, type(None))) else None
        return parsing.route(service, request.method, request.url, request.headers,
                             body.encode("utf-8") if isinstance(body, str) else body)[0]
    except Exception:
        return None


def unanswered(request: Any, failure: Exception) -> tuple:
    """An AWS answer, in the service's protocol, for a request moto raised on instead of answering.

    moto raises ``NotImplementedError`` for an operation of AWS's that it does not implement, and any Python
    exception of its own when a request finds a fault in it; botocore would hand either to the caller as a raw
    traceback, which is no answer AWS ever gives. Here, in the one layer that knows moto, the request gets a
    ``ClientError`` in the sandbox's words instead: ``NotImplemented`` naming the operation as outside this sandbox,
    or ``InternalFailure`` naming the engine's fault. It is answered after the gates, not before them: a caller
    whose policies do not allow the operation is refused first, as AWS refuses it, whatever the sandbox runs.
    """
    service = routing.moto_service(request.url) or routing.credential_service(request.url, request.headers)
    operation = _operation_of(service, request, failure)
    try:
        model = parsing.service_model(service)
        protocol, full_name = model.protocol, model.metadata.get("serviceFullName", service)
    except Exception:
        protocol, full_name = "query", service or "this service"
    what = f"the operation {operation} of {full_name} ({service})" if operation else f"this request to {full_name}"
    if isinstance(failure, NotImplementedError):
        error: AwsError = NotImplementedHere(f"The sandbox does not run {what}: it is outside this sandbox, so this "
                                             "call has no answer here.")
    else:
        error = InternalFailure(f"The sandbox could not answer {what}: its engine failed with "
                                f"{type(failure).__name__}: {failure}. On a real account AWS would answer it.")
    return error_answer(protocol, error, _request_id())


def _request_id() -> str:
    import uuid

    return str(uuid.uuid4())


def answer_request(method: str, url: str, headers: dict, body: bytes) -> Optional[tuple]:
    """One HTTP request, as botocore would have sent it, answered by the account in this process (gates and all).

    ``None`` when moto serves no such URL. The served account's worker answers a kernel's requests this way.
    """
    from botocore.awsrequest import AWSPreparedRequest
    from moto.core.models import botocore_stubber

    return botocore_stubber.process_request(AWSPreparedRequest(method, url, headers, body, stream_output=False))
