"""IAM's policy simulator in the sandbox: SimulatePrincipalPolicy and SimulateCustomPolicy, answered as AWS answers.

moto has neither operation, so the sandbox adds both to moto's IAM responder (``grader.aws.fixes.iam``), which asks
the running account's ``simulator``: :func:`answer` here. The
gatehouse has already checked the caller's own permission (``iam:SimulatePrincipalPolicy`` on the policy source,
``iam:SimulateCustomPolicy``) before moto is asked; each simulated action then goes through
``grader.gatehouse.authorize()``, the one rule every real call and ``decide()`` follow, so the simulator cannot
disagree with the account.

The request and response follow the IAM API reference:

* https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
* https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
* https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html

As AWS does now, there is one ``EvaluationResult`` per action: its decision is the most restrictive over the
resources asked about, and each resource's own decision is in ``ResourceSpecificResults``. Only the context keys the
request supplies (``ContextEntries``) are known to the simulator; a condition key a policy reads and the request
does not supply is reported in ``MissingContextValues``. ``EvalDecisionDetails`` is present (and empty) when a
resource ARN is named and absent for ``*``, as the reference says for a simulation within one account; the sandbox
has one account and no organization, so ``OrganizationsDecisionDetail`` never appears.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Optional
from xml.sax.saxutils import escape

from grader.aws import state as aws
from grader.aws.errors import AwsError, InvalidInput, NoSuchEntity
from grader.gatehouse.rule import authorize
from grader.gatehouse.identity import Identity, parse_stored
from grader.gatehouse.services import Check, ResourcePolicy
from grader.policy import MalformedPolicyDocument, validate

__all__ = ["simulate", "statement_spans", "answer"]

_RANK = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}
_EVAL_DECISION = {"allow": "allowed", "implicit-deny": "implicitDeny", "explicit-deny": "explicitDeny"}
_NS = "https://iam.amazonaws.com/doc/2010-05-08/"




# --------------------------------------------------------------------------------------------------------------
# Where a statement sits in its document: the simulator names it by line and column


def statement_spans(text: str) -> list:
    """((line, column), (line, column)) of each statement's opening and closing brace, 1-based, in order."""
    decoder = json.JSONDecoder()
    spans: list = []

    def position(index: int) -> tuple:
        line = text.count("\n", 0, index) + 1
        return line, index - (text.rfind("\n", 0, index) + 1) + 1

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def span(i: int) -> int:
        _, end = decoder.raw_decode(text, i)
        spans.append((position(i), position(end - 1)))
        return end

    i = skip(0)
    if not text.startswith("{", i):
        return spans
    i = skip(i + 1)
    while i < len(text) and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = skip(skip(i) + 1)  # past the colon
        if key == "Statement" and text[i] == "[":
            i = skip(i + 1)
            while text[i] != "]":
                i = skip(span(i))
                if text[i] == ",":
                    i = skip(i + 1)
            i += 1
        elif key == "Statement" and text[i] == "{":
            i = span(i)
        else:
            _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if i < len(text) and text[i] == ",":
            i = skip(i + 1)
    return spans


# --------------------------------------------------------------------------------------------------------------
# The policies a simulation reads


@dataclass
class _Source:
    """One policy in the simulation: how AWS names it in MatchedStatements, and its text for the positions."""

    policy_id: str
    policy_type: Optional[str]
    text: str
    spans: list = field(default_factory=list)


@dataclass
class _Simulation:
    caller: Any                                  # the gatehouse Identity the actions are evaluated for
    sources: dict                                # policy label -> _Source
    resource_policy: Optional[str] = None


def _text(document: Any) -> str:
    from urllib.parse import unquote

    if isinstance(document, dict):
        return json.dumps(document)
    text = str(document)
    return unquote(text) if text.lstrip().startswith("%7B") else text


def _add(sim_sources: dict, identity: Any, label: str, text: str, policy_id: str, policy_type: Optional[str],
         kind: str = "identity") -> Any:
    policy = parse_stored(text, kind, label, identity)
    try:
        spans = statement_spans(text)
    except (ValueError, IndexError):
        spans = []
    sim_sources[label] = _Source(policy_id, policy_type, text, spans)
    return policy


def _owner_policies(identity: Any, sources: dict, owner: Any, owner_type: str, what: str) -> None:
    for name, document in owner.policies.items():
        text = _text(document)
        identity.identity_policies.append(
            _add(sources, identity, f"inline policy '{name}' on {what}", text, name, owner_type))
    for arn, policy in owner.managed_policies.items():
        text = _text(aws.managed_document(policy) or '{"Version": "2012-10-17", "Statement": []}')
        kind = "aws-managed" if arn.startswith("arn:aws:iam::aws:policy/") else "user-managed"
        identity.identity_policies.append(
            _add(sources, identity, f"managed policy {arn}", text, policy.name, kind))


def _principal_simulation(account: str, source_arn: str, caller_arn: Optional[str]) -> _Simulation:
    iam = aws.iam(account)
    kind = source_arn.split(":", 5)[-1].split("/", 1)[0] if source_arn.count(":") >= 5 else ""
    owner = None
    if kind == "user":
        owner = next((u for u in iam.users.values() if u.arn == source_arn), None)
    elif kind == "role":
        owner = aws.role_by_arn(account, source_arn)
    elif kind == "group":
        owner = next((g for g in iam.groups.values() if g.arn == source_arn), None)
    if owner is None:
        raise NoSuchEntity(f"PolicySourceArn {source_arn} does not exist.")
    principal = caller_arn or source_arn
    if kind == "group" and not caller_arn:
        # A group is never a caller: its policies speak for its members, so the simulation stands for one of them.
        principal = f"arn:aws:iam::{account}:user/member-of-{owner.name}"
    identity = Identity("session" if kind == "role" and not caller_arn else "user", principal, principal,
                        account)
    sources: dict = {}
    _owner_policies(identity, sources, owner, kind, f"{kind} {owner.name}")
    if kind == "user":
        for group in iam.groups.values():
            if any(member.name == owner.name for member in group.users):
                _owner_policies(identity, sources, group, "group", f"group {group.name}")
    boundary_arn = getattr(owner, "permissions_boundary_arn", None)
    if boundary_arn:
        managed = iam.managed_policies.get(boundary_arn)
        text = _text((aws.managed_document(managed) if managed else None)
                     or '{"Version": "2012-10-17", "Statement": []}')
        name = managed.name if managed else boundary_arn.rsplit("/", 1)[-1]
        btype = "aws-managed" if boundary_arn.startswith("arn:aws:iam::aws:policy/") else "user-managed"
        identity.permissions_boundary = _add(sources, identity, f"permissions boundary {boundary_arn}", text, name,
                                             btype, "boundary")
    return _Simulation(identity, sources)


def _custom_simulation(account: str, caller_arn: Optional[str]) -> _Simulation:
    # With no CallerArn, the policies stand for nobody in particular: an IAM user of the account is the nearest.
    principal = caller_arn or f"arn:aws:iam::{account}:user/simulated"
    return _Simulation(Identity("user", principal, principal, account), {})


# --------------------------------------------------------------------------------------------------------------
# Running it


def _condition_keys(policy: Any, action: str) -> set:
    keys = set()
    for statement in policy.statements:
        if not statement.match_action(action.lower(), action)[0]:
            continue
        for block in (statement.condition or {}).values():
            if isinstance(block, dict):
                keys.update(block)
    return keys


def _missing(simulation: _Simulation, action: str, context: dict) -> list:
    policies = list(simulation.caller.identity_policies)
    if simulation.caller.permissions_boundary is not None:
        policies.append(simulation.caller.permissions_boundary)
    known = {k.lower() for k in context}
    wanted: dict = {}
    for policy in policies:
        for key in _condition_keys(policy, action):
            wanted.setdefault(key.lower(), key)
    return sorted(original for lowered, original in wanted.items() if lowered not in known)


def _matched(simulation: _Simulation, decision: Any) -> list:
    if decision.outcome == "implicit-deny":
        return []
    matched = []
    for statement in decision.statements:
        source = simulation.sources.get(statement.policy_name)
        if source is None:
            if statement.policy_name == "ResourcePolicy" and simulation.resource_policy is not None:
                source = _Source("ResourcePolicy", "resource", simulation.resource_policy,
                                 statement_spans(simulation.resource_policy))
            else:
                continue
        item: dict = {"SourcePolicyId": source.policy_id}
        if source.policy_type:
            item["SourcePolicyType"] = source.policy_type
        if statement.index < len(source.spans):
            (sl, sc), (el, ec) = source.spans[statement.index]
            item["StartPosition"] = {"Line": sl, "Column": sc}
            item["EndPosition"] = {"Line": el, "Column": ec}
        matched.append(item)
    return matched


def _evaluate(simulation: _Simulation, action: str, resource: str, context: dict) -> dict:
    policy = ResourcePolicy(simulation.resource_policy, "ResourcePolicy") if simulation.resource_policy else None
    decision = authorize(simulation.caller, Check(action, resource, {}, policy), dict(context))
    result = {"EvalResourceName": resource, "EvalDecision": _EVAL_DECISION[decision.outcome],
              "MatchedStatements": _matched(simulation, decision),
              "MissingContextValues": _missing(simulation, action, context)}
    if simulation.caller.permissions_boundary is not None:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": decision.denied_by != "permissions boundary"}
    return result


def _context(entries: list) -> dict:
    context = {}
    for entry in entries:
        values = entry.get("ContextKeyValues") or []
        kind = entry.get("ContextKeyType", "string")
        context[entry["ContextKeyName"]] = values if kind.endswith("List") or len(values) != 1 else values[0]
    return context


def simulate(account: str, params: dict) -> dict:
    """The SimulatePrincipalPolicy (``PolicySourceArn`` given) or SimulateCustomPolicy answer, as a dict."""
    actions = params.get("ActionNames") or []
    if not actions:
        raise InvalidInput("ActionNames must contain at least one action.")
    caller_arn = params.get("CallerArn")
    source_arn = params.get("PolicySourceArn")
    resource_policy = params.get("ResourcePolicy")
    if caller_arn and ":user/" not in caller_arn:
        raise InvalidInput("CallerArn must be the ARN of an IAM user.")
    if source_arn is not None:
        simulation = _principal_simulation(account, source_arn, caller_arn)
        if resource_policy and not caller_arn and ":user/" not in source_arn:
            raise InvalidInput("CallerArn is required when ResourcePolicy is included and "
                               "PolicySourceArn is not the ARN of an IAM user.")
    else:
        simulation = _custom_simulation(account, caller_arn)
    for n, text in enumerate(params.get("PolicyInputList") or [], 1):
        simulation.caller.identity_policies.append(
            _add(simulation.sources, simulation.caller, f"PolicyInputList.{n}", text, f"PolicyInputList.{n}", None))
    for n, text in enumerate(params.get("PermissionsBoundaryPolicyInputList") or [], 1):
        # A boundary passed in replaces the entity's own, so a reader can try a new one before attaching it.
        simulation.caller.permissions_boundary = _add(
            simulation.sources, simulation.caller, f"PermissionsBoundaryPolicyInputList.{n}", text,
            f"PermissionsBoundaryPolicyInputList.{n}", None, "boundary")
    if resource_policy:
        validate(resource_policy, "resource", "ResourcePolicy")
        simulation.resource_policy = resource_policy
    context = _context(params.get("ContextEntries") or [])
    resources = params.get("ResourceArns") or ["*"]

    results = []
    for action in actions:
        per_resource = [_evaluate(simulation, action, resource, context) for resource in resources]
        worst = max(per_resource, key=lambda r: _RANK[r["EvalDecision"]])
        result = {"EvalActionName": action, "EvalResourceName": worst["EvalResourceName"],
                  "EvalDecision": worst["EvalDecision"], "MatchedStatements": worst["MatchedStatements"],
                  "MissingContextValues": [] if resources != ["*"] else worst["MissingContextValues"]}
        if "PermissionsBoundaryDecisionDetail" in worst:
            result["PermissionsBoundaryDecisionDetail"] = worst["PermissionsBoundaryDecisionDetail"]
        if resources != ["*"]:
            result["EvalDecisionDetails"] = {}
            result["ResourceSpecificResults"] = [
                {"EvalResourceName": r["EvalResourceName"], "EvalResourceDecision": r["EvalDecision"],
                 "MatchedStatements": r["MatchedStatements"], "MissingContextValues": r["MissingContextValues"],
                 "EvalDecisionDetails": {},
                 **({"PermissionsBoundaryDecisionDetail": r["PermissionsBoundaryDecisionDetail"]}
                    if "PermissionsBoundaryDecisionDetail" in r else {})}
                for r in per_resource]
        results.append(result)

    start = _marker_offset(params.get("Marker"))
    size = int(params.get("MaxItems") or 100)
    page = results[start:start + size]
    answer: dict = {"EvaluationResults": page, "IsTruncated": start + size < len(results)}
    if answer["IsTruncated"]:
        answer["Marker"] = base64.b64encode(f"simulation:{start + size}".encode()).decode()
    return answer


def _marker_offset(marker: Optional[str]) -> int:
    if not marker:
        return 0
    try:
        kind, _, offset = base64.b64decode(marker).decode().partition(":")
        if kind == "simulation":
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("Marker is not valid: pass the Marker of the previous response.")


# --------------------------------------------------------------------------------------------------------------
# moto's side: read the query parameters, answer in IAM's XML


def _params(querystring: dict) -> dict:
    """The operation's parameters from IAM's query form (``ActionNames.member.1=...``)."""
    flat = {k: v[0] if isinstance(v, list) else v for k, v in querystring.items()}

    def members(prefix: str) -> list:
        found = sorted((int(k[len(prefix):]), v) for k, v in flat.items()
                       if k.startswith(prefix) and k[len(prefix):].isdigit())
        return [v for _, v in found]

    entries = []
    n = 1
    while f"ContextEntries.member.{n}.ContextKeyName" in flat:
        base = f"ContextEntries.member.{n}."
        entries.append({"ContextKeyName": flat[base + "ContextKeyName"],
                        "ContextKeyType": flat.get(base + "ContextKeyType", "string"),
                        "ContextKeyValues": members(base + "ContextKeyValues.member.")})
        n += 1
    params = {name: flat[name] for name in ("PolicySourceArn", "ResourcePolicy", "ResourceOwner", "CallerArn",
                                            "ResourceHandlingOption", "MaxItems", "Marker") if name in flat}
    for name in ("ActionNames", "ResourceArns", "PolicyInputList", "PermissionsBoundaryPolicyInputList"):
        params[name] = members(f"{name}.member.")
    params["ContextEntries"] = entries
    return params


def _xml(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    if isinstance(value, dict):
        if name == "EvalDecisionDetails":
            inner = "".join(f"<entry><key>{escape(k)}</key><value>{escape(v)}</value></entry>"
                            for k, v in value.items())
        else:
            inner = "".join(_xml(v, k) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        return f"<{name}>" + "".join(_xml(v, "member") for v in value) + f"</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def answer(operation: str, querystring: dict, account: str) -> tuple:
    """The account's ``simulator`` hook: IAM's XML answer to a simulator operation, or AWS's error (``AwsError``)."""
    try:
        result = simulate(account, _params(querystring))
    except MalformedPolicyDocument as error:
        raise AwsError(error.message, code="MalformedPolicyDocument") from None
    inner = "".join(_xml(value, key) for key, value in result.items())
    body = (f'<{operation}Response xmlns="{_NS}"><{operation}Result>{inner}</{operation}Result>'
            f"<ResponseMetadata><RequestId>simulation</RequestId></ResponseMetadata></{operation}Response>")
    return 200, {"Content-Type": "text/xml"}, body
