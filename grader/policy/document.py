"""Policy documents: parse JSON into Policy and Statement objects, validating them the way IAM does.

IAM refuses a malformed document with the error code ``MalformedPolicyDocument``; so does ``parse``, with a message
that says what is wrong, where (statement Sid or index, and field) and how to put it right. The grammar follows
AWS's "IAM JSON policy element reference" and "Grammar of the IAM JSON policy language"; what each kind of policy
may contain follows "Policy types" (identity-based, resource-based, role trust policies, permissions boundaries,
session policies).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict

from .conditions import ConditionValueError, compile_condition
from .matching import Glob
from .principals import PrincipalSpec, validate_principal_value
from .variables import Unresolved, has_variables, parse_template, resolve

__all__ = ["parse", "Policy", "Statement", "MalformedPolicyDocument", "KINDS", "TRUST_ACTIONS"]

KINDS = ("identity", "resource", "trust", "boundary", "session")
VERSIONS = ("2012-10-17", "2008-10-17")
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:TagSession",
                 "sts:SetSourceIdentity", "sts:SetContext")
_TRUST_LOWER = tuple(a.lower() for a in TRUST_ACTIONS)
_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
                   "Condition")
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+")
_IAM_SID = re.compile(r"[A-Za-z0-9]*")
_KIND_LABEL = {"identity": "identity-based policy", "resource": "resource-based policy", "trust": "trust policy",
               "boundary": "permissions boundary", "session": "session policy"}


class MalformedPolicyDocument(ValueError):
    """A policy document IAM would refuse. ``code`` is IAM's error code; ``statement`` and ``field`` say where."""

    code = "MalformedPolicyDocument"

    def __init__(self, message: str, statement=None, field: str | None = None, policy: str | None = None):
        # ``statement`` is the Sid when the statement has one, else its index (from 0); ``index`` is always the index.
        if isinstance(statement, tuple):
            self.index, self.statement = statement
        else:
            self.index, self.statement = statement, statement
        self.field = field
        self.policy = policy
        self.problem = message
        where = []
        if policy:
            where.append(policy)
        if statement is not None:
            where.append(_statement_label(statement))
        if field:
            where.append(f"field {field}")
        prefix = "MalformedPolicyDocument"
        if where:
            prefix += " (" + ", ".join(where) + ")"
        super().__init__(f"{prefix}: {message}")


def _statement_label(statement) -> str:
    if isinstance(statement, tuple):  # (index, sid)
        index, sid = statement
        return f"statement {sid!r} (#{index})" if sid else f"statement #{index}"
    if isinstance(statement, int):
        return f"statement #{statement}"
    return f"statement {statement!r}"


class Statement:
    """One statement of a policy, compiled for fast matching. ``index`` counts from 0 in the Statement list."""

    __slots__ = ("sid", "index", "effect", "actions", "not_actions", "resources", "not_resources", "principal",
                 "not_principal", "conditions", "condition", "_action_globs", "_resource_matchers", "document")

    def __init__(self, document: dict, index: int, variables: bool):
        self.document = document
        self.index = index
        self.sid = document.get("Sid") or None
        self.effect = document["Effect"]
        self.actions = _as_list(document.get("Action"))
        self.not_actions = _as_list(document.get("NotAction"))
        self.resources = _as_list(document.get("Resource"))
        self.not_resources = _as_list(document.get("NotResource"))
        self.principal = PrincipalSpec(document["Principal"]) if "Principal" in document else None
        self.not_principal = PrincipalSpec(document["NotPrincipal"]) if "NotPrincipal" in document else None
        self.condition = document.get("Condition")
        self.conditions = compile_condition(self.condition, variables) if self.condition else []
        patterns = self.actions if self.actions is not None else self.not_actions
        self._action_globs = [(p, Glob((("lit", p.lower()),))) for p in patterns or ()]
        rpatterns = self.resources if self.resources is not None else self.not_resources
        matchers = []
        for p in rpatterns or ():
            parts = parse_template(p, variables)
            matchers.append((p, parts if has_variables(parts) else None, Glob(parts)
                             if not has_variables(parts) else None))
        self._resource_matchers = matchers

    @property
    def label(self) -> str:
        return f"statement {self.sid!r} (#{self.index})" if self.sid else f"statement #{self.index}"

    # -- matching ------------------------------------------------------------------------------------------------
    def match_action(self, action_lower: str, action: str) -> tuple[bool, str]:
        for pattern, glob in self._action_globs:
            if glob(action_lower):
                if self.actions is not None:
                    return True, f"Action {pattern} matches {action}"
                return False, f"NotAction {pattern} matches {action}, so the statement does not cover it"
        if self.actions is not None:
            return False, f"Action {_short(self.actions)} does not match {action}"
        return True, f"NotAction {_short(self.not_actions)} does not list {action}"

    def match_resource(self, resource: str, context: dict) -> tuple[bool, str]:
        if not self._resource_matchers:
            return True, ""  # trust policies (and some resource policies) have no Resource element
        unresolved = []
        for pattern, parts, glob in self._resource_matchers:
            shown = pattern
            if glob is None:
                try:
                    resolved = resolve(parts, context)
                except Unresolved as exc:
                    unresolved.append(f"{pattern} (its variable {exc.source} {exc.why})")
                    continue
                glob = Glob(resolved)
                shown = f"{pattern} (= {glob.pattern})"
            if glob(resource):
                if self.resources is not None:
                    return True, f"Resource {shown} matches {resource}"
                return False, f"NotResource {shown} matches {resource}, so the statement does not cover it"
        patterns = self.resources if self.resources is not None else self.not_resources
        note = ""
        if unresolved:
            note = "; cannot be resolved: " + ", ".join(unresolved)
        if self.resources is not None:
            return False, f"Resource {_short(patterns)} does not match {resource}{note}"
        return True, f"NotResource {_short(patterns)} does not list {resource}{note}"

    def match_conditions(self, context: dict) -> tuple[bool, list[str]]:
        notes = []
        for condition in self.conditions:
            ok, text = condition.evaluate(context)
            if not ok:
                return False, [f"Condition {text}"]
            notes.append(f"Condition {text}")
        return True, notes

    def __repr__(self):
        return f"<Statement {self.label} {self.effect}>"


def _short(values: list) -> str:
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def _as_list(value):
    if value is None:
        return None
    return list(value) if isinstance(value, list) else [value]


class Policy:
    """A parsed, validated policy document. Treat it as immutable: parsed policies are cached and shared."""

    __slots__ = ("kind", "name", "version", "id", "statements", "document", "variables")

    def __init__(self, document: dict, kind: str, name: str | None):
        self.document = document
        self.kind = kind
        self.name = name
        self.version = document.get("Version")
        self.id = document.get("Id")
        # Policy variables exist only in version 2012-10-17; otherwise ${...} is literal text (AWS).
        self.variables = self.version == "2012-10-17"
        raw = document["Statement"]
        raw = raw if isinstance(raw, list) else [raw]
        self.statements = [Statement(s, i, self.variables) for i, s in enumerate(raw)]

    @property
    def label(self) -> str:
        return self.name or _KIND_LABEL[self.kind]

    def to_json(self) -> str:
        return json.dumps(self.document)

    def __repr__(self):
        return f"<Policy {self.label!r} kind={self.kind} statements={len(self.statements)}>"


# --- parsing ------------------------------------------------------------------------------------------------------

def _no_duplicate_keys(pairs):
    seen = OrderedDict()
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return dict(seen)


class _DuplicateKey(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 2048
_CACHE_LOCK = threading.Lock()


def parse(document, kind: str = "identity", name: str | None = None) -> Policy:
    """Parse and validate a policy document (JSON text, a dict, or an already parsed Policy, returned as is)."""
    if isinstance(document, Policy):
        return document
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if isinstance(document, (bytes, bytearray)):
        document = document.decode("utf-8")
    if isinstance(document, str):
        key = (document, kind, name)
    else:
        try:
            key = (json.dumps(document, sort_keys=True), kind, name)
        except (TypeError, ValueError):
            key = None
    if key is not None:
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None:
                _CACHE.move_to_end(key)
                return cached
    policy = _parse(document, kind, name)
    if key is not None:
        with _CACHE_LOCK:  # the gatehouse may decide calls from several server threads at once
            _CACHE[key] = policy
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return policy


def _parse(document, kind: str, name: str | None) -> Policy:
    where = name

    def fail(message, statement=None, field=None):
        raise MalformedPolicyDocument(message, statement, field, where)

    if isinstance(document, str):
        if not document.strip():
            fail("the document is empty; a policy is a JSON object such as "
                 "{\"Version\": \"2012-10-17\", \"Statement\": [...]}")
        try:
            document = json.loads(document, object_pairs_hook=_no_duplicate_keys)
        except _DuplicateKey as exc:
            fail(f"the key {exc.key!r} appears twice in one object; IAM refuses duplicate keys, keep only one")
        except json.JSONDecodeError as exc:
            fail(f"the document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                 "check for a missing comma, quote or bracket there")
    if not isinstance(document, dict):
        fail(f"a policy must be a JSON object with a Statement, not {type(document).__name__}")
    for key in document:
        if key not in _TOP_KEYS:
            hint = _did_you_mean(key, _TOP_KEYS)
            fail(f"unknown top-level element {key!r}{hint}; a policy may only contain Version, Id and Statement",
                 field=key)
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        fail(f"Version {version!r} is not a policy language version; use \"2012-10-17\" (current) "
             "or the older \"2008-10-17\" (this is a fixed date, not today's date)", field="Version")
    if "Id" in document and not isinstance(document["Id"], str):
        fail("Id must be a string", field="Id")
    if "Statement" not in document:
        fail("the policy has no Statement; add \"Statement\": [{\"Effect\": ..., \"Action\": ..., ...}]",
             field="Statement")
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    # An empty list is accepted: such a policy allows nothing (a role that does not exist has, in effect, one).
    if not isinstance(statements, list):
        fail("Statement must be an object or a list of objects", field="Statement")

    sids: dict[str, int] = {}
    variables = version == "2012-10-17"
    for index, statement in enumerate(statements):
        _validate_statement(statement, index, kind, sids, variables, fail)
    try:
        return Policy(document, kind, name)
    except ConditionValueError as exc:  # pragma: no cover - conditions are validated above
        fail(str(exc))


def _did_you_mean(word: str, options) -> str:
    for option in options:
        if option.lower() == str(word).lower() or option.lower().rstrip("s") == str(word).lower().rstrip("s"):
            return f" (did you mean {option!r}? element names are case-sensitive)"
    return ""


def _validate_statement(statement, index: int, kind: str, sids: dict, variables: bool, fail) -> None:
    if not isinstance(statement, dict):
        fail("each statement must be a JSON object with Effect, Action and (for most policies) Resource", index)
    sid = statement.get("Sid")
    where = (index, sid) if isinstance(sid, str) and sid else index
    for key in statement:
        if key not in _STATEMENT_KEYS:
            hint = _did_you_mean(key, _STATEMENT_KEYS)
            fail(f"unknown element {key!r}{hint}; a statement may contain Sid, Effect, Principal, NotPrincipal, "
                 "Action, NotAction, Resource, NotResource and Condition", where, key)
    # Sid
    if "Sid" in statement:
        if not isinstance(sid, str):
            fail("Sid must be a string", where, "Sid")
        if kind != "resource" and not _IAM_SID.fullmatch(sid):
            fail(f"Sid {sid!r} may only contain letters A-Z, a-z and digits 0-9 in IAM policies; "
                 "remove spaces and punctuation", where, "Sid")
        if sid:
            if sid in sids:
                fail(f"Sid {sid!r} is already used by statement #{sids[sid]}; each Sid must be unique in a policy",
                     where, "Sid")
            sids[sid] = index
    # Effect
    effect = statement.get("Effect")
    if effect is None:
        fail("the statement has no Effect; add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"", where, "Effect")
    if effect not in ("Allow", "Deny"):
        hint = " (Effect is case-sensitive)" if isinstance(effect, str) and effect.lower() in ("allow", "deny") \
            else ""
        fail(f"{effect!r} is not a valid Effect{hint}; use exactly \"Allow\" or \"Deny\"", where, "Effect")
    # Action / NotAction
    has_action, has_not_action = "Action" in statement, "NotAction" in statement
    if has_action and has_not_action:
        fail("the statement has both Action and NotAction; keep exactly one of them", where, "NotAction")
    if not has_action and not has_not_action:
        fail("the statement has no Action; add \"Action\": \"service:Operation\" (or NotAction)", where, "Action")
    field = "Action" if has_action else "NotAction"
    for action in _strings(statement[field], field, where, fail):
        _validate_action(action, field, kind, where, fail)
    # Resource / NotResource
    has_resource, has_not_resource = "Resource" in statement, "NotResource" in statement
    if has_resource and has_not_resource:
        fail("the statement has both Resource and NotResource; keep exactly one of them", where, "NotResource")
    if kind == "trust":
        if has_resource or has_not_resource:
            fail("a role trust policy must not have a Resource element: the resource is the role itself; "
                 "remove it", where, "Resource" if has_resource else "NotResource")
    elif kind in ("identity", "boundary", "session") and not (has_resource or has_not_resource):
        fail("the statement has no Resource; add \"Resource\": \"arn:...\" (or \"*\"), or NotResource",
             where, "Resource")
    if has_resource or has_not_resource:
        field = "Resource" if has_resource else "NotResource"
        for resource in _strings(statement[field], field, where, fail):
            _validate_resource(resource, field, where, fail)
    # Principal / NotPrincipal
    has_principal, has_not_principal = "Principal" in statement, "NotPrincipal" in statement
    if kind in ("identity", "boundary", "session") and (has_principal or has_not_principal):
        what = {"identity": "an identity-based policy", "boundary": "a permissions boundary",
                "session": "a session policy"}[kind]
        fail(f"{what} must not name a Principal: it applies to the identity it is attached to; remove the element "
             "(Principal belongs in resource-based policies and role trust policies)",
             where, "Principal" if has_principal else "NotPrincipal")
    if kind in ("resource", "trust"):
        if has_principal and has_not_principal:
            fail("the statement has both Principal and NotPrincipal; keep exactly one", where, "NotPrincipal")
        if not (has_principal or has_not_principal):
            what = "a role trust policy" if kind == "trust" else "a resource-based policy"
            fail(f"{what} must say who it applies to: add \"Principal\", for example "
                 "{\"Service\": \"ecs-tasks.amazonaws.com\"} or {\"AWS\": \"arn:aws:iam::123456789012:root\"}",
                 where, "Principal")
        field = "Principal" if has_principal else "NotPrincipal"
        _validate_principal(statement[field], field, where, fail)
    # Condition
    if "Condition" in statement:
        try:
            compile_condition(statement["Condition"], variables)
        except ValueError as exc:
            fail(str(exc), where, "Condition")


def _strings(value, field, where, fail) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        fail(f"{field} is an empty list; give at least one value", where, field)
    for v in values:
        if not isinstance(v, str) or not v:
            fail(f"{field} values must be non-empty strings, found {v!r}", where, field)
    return values


def _validate_action(action: str, field: str, kind: str, where, fail) -> None:
    if action != "*" and not _ACTION.fullmatch(action):
        fail(f"{action!r} is not an action; write it as \"service:Operation\", e.g. \"s3:GetObject\" or "
             "\"s3:Get*\" (wildcards * and ? are allowed)", where, field)
    if kind == "trust":
        lowered = action.lower()
        allowed = lowered in _TRUST_LOWER or (
            lowered.startswith("sts:") and ("*" in lowered or "?" in lowered)
            and any(Glob((("lit", lowered),))(a) for a in _TRUST_LOWER))
        if not allowed:
            fail(f"{action!r} cannot appear in a role trust policy; a trust policy only says who may assume the "
                 f"role, with actions such as {', '.join(TRUST_ACTIONS)}", where, field)


def _validate_resource(resource: str, field: str, where, fail) -> None:
    if resource == "*":
        return
    # Count colons outside policy variables: ${aws:username} contains one of its own.
    bare = re.sub(r"\$\{[^}]*\}", "x", resource)
    if not bare.startswith("arn:") or bare.count(":") < 5:
        fail(f"{resource!r} is not an ARN; a resource is \"*\" or an ARN such as arn:aws:s3:::bucket/key "
             "(arn:partition:service:region:account:resource)", where, field)


def _validate_principal(element, field, where, fail) -> None:
    if element == "*":
        return
    if not isinstance(element, dict) or not element:
        fail(f"{field} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::123456789012:root\"}} or "
             "{\"Service\": \"ec2.amazonaws.com\"}", where, field)
    for key, values in element.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            fail(f"{field} {key} is an empty list; name at least one principal", where, field)
        for value in values:
            problem = validate_principal_value(key, value)
            if problem:
                fail(problem, where, field)
