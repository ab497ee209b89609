"""Policy documents: parse JSON into Policy and Statement objects, validating them the way IAM does.

IAM refuses a malformed document with the error code ``MalformedPolicyDocument`` and a message of its own ("Syntax
errors in policy.", "Policy statement must contain actions.", ...); so does ``parse``, word for word, and it adds the
book's explanation: what is wrong, where (statement Sid or index, and field) and how to put it right. What IAM takes
and what it answers follow AWS's "IAM JSON policy element reference", "Grammar of the IAM JSON policy language" and
"Policy types", and the answers IAM gave to malformed documents as moto records them (moto/iam/policy_validation.py).
``validate`` adds the rules IAM applies only when it stores a document.
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

__all__ = ["parse", "validate", "read_stored", "Policy", "Statement", "MalformedPolicyDocument", "KINDS", "TRUST_ACTIONS"]

KINDS = ("identity", "resource", "trust", "boundary", "session")
VERSIONS = ("2012-10-17", "2008-10-17")
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:TagSession",
                 "sts:SetSourceIdentity", "sts:SetContext")
_TRUST_LOWER = tuple(a.lower() for a in TRUST_ACTIONS)
_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
                   "Condition")
_IAM_SID = re.compile(r"[A-Za-z0-9]*")
_KIND_LABEL = {"identity": "identity-based policy", "resource": "resource-based policy", "trust": "trust policy",
               "boundary": "permissions boundary", "session": "session policy"}


class MalformedPolicyDocument(ValueError):
    """A policy document IAM would refuse.

    ``code`` is IAM's error code and ``message`` IAM's own words ("Syntax errors in policy."), exactly what a learner
    would read from AWS; ``explanation`` is the book's sentence: what is wrong and how to put it right. ``statement``
    and ``field`` say where.
    """

    code = "MalformedPolicyDocument"

    def __init__(self, message: str, statement=None, field: str | None = None, policy: str | None = None,
                 explanation: str | None = None):
        # ``statement`` is the Sid when the statement has one, else its index (from 0); ``index`` is always the index.
        if isinstance(statement, tuple):
            self.index, self.statement = statement
        else:
            self.index, self.statement = statement, statement
        self.field = field
        self.policy = policy
        self.message = message
        self.explanation = explanation or message
        self.problem = self.explanation
        where = []
        if policy:
            where.append(policy)
        if statement is not None:
            where.append(_statement_label(statement))
        if field:
            where.append(f"field {field}")
        self.where = ", ".join(where)
        prefix = "MalformedPolicyDocument"
        if where:
            prefix += " (" + self.where + ")"
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
            matchers.append((p, parts if has_variables(parts) else None, Glob(parts, resource=True)
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
                glob = Glob(resolved, resource=True)
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

    __slots__ = ("kind", "name", "version", "id", "statements", "document", "variables", "unreadable")

    def __init__(self, document: dict, kind: str, name: str | None, readable=None, unreadable=()):
        self.document = document
        self.kind = kind
        self.name = name
        self.version = document.get("Version")
        self.id = document.get("Id")
        # Policy variables exist only in version 2012-10-17; otherwise ${...} is literal text (AWS).
        self.variables = self.version == "2012-10-17"
        if readable is None:
            raw = document["Statement"]
            readable = enumerate(raw if isinstance(raw, list) else [raw])
        self.statements = [Statement(s, i, self.variables) for i, s in readable]
        # (index or None for the whole document, what could not be read): statements read_stored() left out
        self.unreadable = list(unreadable)

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


def read_stored(document, kind: str = "identity", name: str | None = None) -> Policy:
    """A policy as AWS has stored it: never refused, whatever the engine can or cannot read of it.

    AWS evaluates every policy it holds, so a request must get a decision even when a stored document is one this
    engine would not accept (stored before a rule changed, put in place behind IAM's back, or using something the
    engine does not know). Each statement is read on its own; one that cannot be read is left out and listed in
    ``Policy.unreadable``. A statement left out can neither allow nor deny, which is also how AWS treats a statement
    whose condition can never be true.
    """
    try:
        return parse(document, kind, name)
    except MalformedPolicyDocument as exc:
        whole = exc
    text = document.decode("utf-8", "replace") if isinstance(document, (bytes, bytearray)) else document
    try:
        loaded = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        loaded = None
    raw = loaded.get("Statement") if isinstance(loaded, dict) else None
    if not isinstance(raw, (list, dict)):
        return Policy({"Statement": []}, kind, name, [], [(None, f"{whole.message} ({whole.explanation})")])
    raw = raw if isinstance(raw, list) else [raw]
    version = loaded.get("Version") if loaded.get("Version") in VERSIONS else None
    readable, unreadable = [], []
    for index, statement in enumerate(raw):
        alone = {"Statement": [statement]} if version is None else {"Version": version, "Statement": [statement]}
        try:
            _parse(alone, kind, name)
            readable.append((index, statement))
        except MalformedPolicyDocument as exc:
            unreadable.append((index, f"{exc.message} ({exc.explanation})"))
    stored = {"Statement": raw} if version is None else {"Version": version, "Statement": raw}
    return Policy(stored, kind, name, readable, unreadable)


# IAM checks a document in stages and answers with the first stage that fails, so a document with two faults gets
# the message of the earlier stage (the order moto's record of IAM's answers shows): the JSON grammar, then the
# "legacy" parser (exact Effect, dates, the shape of an ARN), unique Sids, actions, resource ARNs, action vendors,
# and last the rules of the kind of policy.
SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"
_STAGES = ("legacy", "sid", "actions", "resource", "vendor", "kind")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
_IAM_RESOURCE_TYPES = ("user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
                       "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/",
                       "access-report/")
_VENDOR = re.compile(r"[A-Za-z0-9.-]+")
_IDENTITY_KINDS = ("identity", "boundary", "session")


class _Found:
    """The faults found so far; IAM reports the one of the earliest stage."""

    def __init__(self, where: str | None):
        self.where = where
        self.faults = []

    def syntax(self, explanation, statement=None, field=None):
        raise MalformedPolicyDocument(SYNTAX, statement, field, self.where, explanation)

    def add(self, stage, message, explanation, statement=None, field=None):
        self.faults.append((_STAGES.index(stage), len(self.faults), message, explanation, statement, field))

    def raise_first(self):
        if self.faults:
            _, _, message, explanation, statement, field = min(self.faults)
            raise MalformedPolicyDocument(message, statement, field, self.where, explanation)


def _parse(document, kind: str, name: str | None) -> Policy:
    found = _Found(name)
    fail = found.syntax
    if isinstance(document, str):
        if not document.strip():
            fail("the document is empty; a policy is a JSON object such as "
                 "{\"Version\": \"2012-10-17\", \"Statement\": [...]}")
        try:
            document = json.loads(document, object_pairs_hook=_no_duplicate_keys)
        except _DuplicateKey as exc:
            fail(f"the key {exc.key!r} appears twice in one object; keep only one")
        except json.JSONDecodeError as exc:
            if kind == "trust":  # CreateRole and UpdateAssumeRolePolicy word it their own way
                raise MalformedPolicyDocument(
                    "This policy contains invalid Json", None, None, name,
                    f"the document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                    "check for a missing comma, quote or bracket there") from None
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
    # An empty list is read (such a policy allows nothing); storing one is refused by validate().
    if not isinstance(statements, list):
        fail("Statement must be an object or a list of objects", field="Statement")

    sids: dict[str, int] = {}
    variables = version == "2012-10-17"
    for index, statement in enumerate(statements):
        _validate_statement(statement, index, kind, sids, variables, found)
    found.raise_first()
    try:
        return Policy(document, kind, name)
    except ConditionValueError as exc:  # pragma: no cover - conditions are validated above
        fail(str(exc))


def validate(document, kind: str = "identity", name: str | None = None) -> Policy:
    """Check a document as IAM does when asked to store it (CreatePolicy, PutRolePolicy, CreateRole...).

    On top of what ``parse`` reads, IAM refuses to store a policy with no statement at all, and an identity-based
    policy (or permissions boundary) written in a policy language older than 2012-10-17.
    """
    if isinstance(document, Policy):
        document = document.document
    if isinstance(document, (bytes, bytearray)):
        document = document.decode("utf-8")
    try:
        policy = parse(document, kind, name)
    except MalformedPolicyDocument as exc:
        if exc.message != SYNTAX:
            _check_version(document, kind, name)
        raise
    if not policy.statements:
        raise MalformedPolicyDocument(SYNTAX, None, "Statement", name,
                                      "the Statement list is empty; a policy needs at least one statement")
    _check_version(document, kind, name)
    return policy


def _check_version(document, kind: str, name: str | None) -> None:
    if kind not in ("identity", "boundary"):
        return  # role trust policies and resource-based policies may still be written in 2008-10-17
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return
    version = document.get("Version") if isinstance(document, dict) else None
    if version != "2012-10-17":
        shown = "no Version" if version is None else f"Version {version!r}"
        raise MalformedPolicyDocument(
            "Policy document must be version 2012-10-17 or greater.", None, "Version", name,
            f"the policy has {shown}; IAM stores identity-based policies only in the current policy language: "
            "add \"Version\": \"2012-10-17\" (a fixed date, not today's date)")


def _did_you_mean(word: str, options) -> str:
    for option in options:
        if option.lower() == str(word).lower() or option.lower().rstrip("s") == str(word).lower().rstrip("s"):
            return f" (did you mean {option!r}? element names are case-sensitive)"
    return ""


def _validate_statement(statement, index: int, kind: str, sids: dict, variables: bool, found: _Found) -> None:
    fail = found.syntax
    if not isinstance(statement, dict):
        fail("each statement must be a JSON object with Effect, Action and (for most policies) Resource", index)
    sid = statement.get("Sid")
    where = (index, sid) if isinstance(sid, str) and sid else index
    for key in statement:
        if key not in _STATEMENT_KEYS:
            hint = _did_you_mean(key, _STATEMENT_KEYS)
            fail(f"unknown element {key!r}{hint}; a statement may contain Sid, Effect, Principal, NotPrincipal, "
                 "Action, NotAction, Resource, NotResource and Condition", where, key)
    if "Action" in statement and "NotAction" in statement:
        fail("the statement has both Action and NotAction; keep exactly one of them", where, "NotAction")
    if "Resource" in statement and "NotResource" in statement:
        fail("the statement has both Resource and NotResource; keep exactly one of them", where, "NotResource")
    # Effect: the grammar takes any case, the legacy parser only "Allow" and "Deny".
    effect = statement.get("Effect")
    if effect is None:
        fail("the statement has no Effect; add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"", where, "Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        fail(f"{effect!r} is not a valid Effect; use exactly \"Allow\" or \"Deny\"", where, "Effect")
    if effect not in ("Allow", "Deny"):
        found.add("legacy", LEGACY, f"{effect!r} is not a valid Effect (Effect is case-sensitive); use exactly "
                  "\"Allow\" or \"Deny\"", where, "Effect")
    for field in ("Action", "NotAction", "Resource", "NotResource"):
        if field in statement:
            _strings(statement[field], field, where, fail)
    if "Sid" in statement and not isinstance(sid, str):
        fail("Sid must be a string", where, "Sid")
    if "Condition" in statement:
        _validate_condition(statement["Condition"], variables, where, found)
    # Sid
    if isinstance(sid, str) and sid:
        if kind != "resource" and not _IAM_SID.fullmatch(sid):
            found.add("sid", "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
                      "regular expression [0-9A-Za-z]*",
                      f"Sid {sid!r} may only contain letters A-Z, a-z and digits 0-9 in IAM policies; "
                      "remove spaces and punctuation", where, "Sid")
        if sid in sids:
            found.add("sid", "Statement IDs (SID) in a single policy must be unique.",
                      f"Sid {sid!r} is already used by statement #{sids[sid]}; each Sid must be unique in a policy",
                      where, "Sid")
        sids.setdefault(sid, index)
    # Action / NotAction
    field = "Action" if "Action" in statement else "NotAction"
    actions = _as_list(statement.get(field))
    if not actions:
        found.add("actions", "Policy statement must contain actions.",
                  "the statement has no Action; add \"Action\": \"service:Operation\" (or NotAction)", where,
                  "Action")
    for action in actions or ():
        _validate_action(action, field, kind, where, found)
    # Resource / NotResource
    has_resource, has_not_resource = "Resource" in statement, "NotResource" in statement
    field = "Resource" if has_resource else "NotResource"
    for resource in _as_list(statement.get(field)) or ():
        _validate_resource(resource, field, where, found)
    if kind == "trust" and (has_resource or has_not_resource):
        found.add("kind", f"Has prohibited field {field}",
                  "a role trust policy must not have a Resource element: the resource is the role itself; "
                  "remove it", where, field)
    if kind in _IDENTITY_KINDS and not _as_list(statement.get(field)):
        found.add("kind", "Policy statement must contain resources.",
                  "the statement has no Resource; add \"Resource\": \"arn:...\" (or \"*\"), or NotResource",
                  where, "Resource")
    # Principal / NotPrincipal
    has_principal, has_not_principal = "Principal" in statement, "NotPrincipal" in statement
    field = "Principal" if has_principal or not has_not_principal else "NotPrincipal"
    if kind in _IDENTITY_KINDS and (has_principal or has_not_principal):
        what = {"identity": "an identity-based policy", "boundary": "a permissions boundary",
                "session": "a session policy"}[kind]
        found.add("kind", "Policy document should not specify a principal.",
                  f"{what} must not name a Principal: it applies to the identity it is attached to; remove the "
                  "element (Principal belongs in resource-based policies and role trust policies)", where, field)
    if kind in ("resource", "trust"):
        if has_principal and has_not_principal:
            fail("the statement has both Principal and NotPrincipal; keep exactly one", where, "NotPrincipal")
        if not (has_principal or has_not_principal):
            what = "a role trust policy" if kind == "trust" else "a resource-based policy"
            # IAM passes on the words of its policy library here; S3 answers for a bucket policy in its own.
            message = ("Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in "
                       "policy has a statement with no principals!") if kind == "trust" else \
                "Missing required field Principal"
            found.add("kind", message,
                      f"{what} must say who it applies to: add \"Principal\", for example "
                      "{\"Service\": \"ecs-tasks.amazonaws.com\"} or {\"AWS\": \"arn:aws:iam::123456789012:root\"}",
                      where, "Principal")
        else:
            _validate_principal(statement[field], field, kind, where, found)


def _validate_condition(block, variables: bool, where, found: _Found) -> None:
    if not isinstance(block, dict):
        found.syntax("Condition must be an object of the form {\"Operator\": {\"context-key\": \"value\"}}",
                     where, "Condition")
    for operator, pairs in block.items():
        if not isinstance(pairs, dict):
            found.syntax(f"{operator} must map context keys to values, e.g. {{\"{operator}\": "
                         "{\"aws:PrincipalTag/team\": \"blue\"}}", where, "Condition")
        for key, value in pairs.items():
            for v in value if isinstance(value, list) else [value]:
                if not isinstance(v, (str, bool, int, float)):
                    found.syntax(f"{operator} {key}: {v!r} is not a string, number or boolean", where,
                                 "Condition")
    try:
        compile_condition(block, variables)
    except ConditionValueError as exc:
        # Of the values a policy gives, IAM's legacy parser reads the dates; the rest it reports as syntax errors.
        operator = str(exc).split(" ", 1)[0]
        stage = LEGACY if "Date" in operator else SYNTAX
        if stage == LEGACY:
            found.add("legacy", LEGACY, str(exc), where, "Condition")
        else:
            found.syntax(str(exc), where, "Condition")
    except ValueError as exc:
        found.syntax(str(exc), where, "Condition")


def _strings(value, field, where, fail) -> list:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str):
            fail(f"{field} values must be strings, found {v!r}", where, field)
    return values


def _validate_action(action: str, field: str, kind: str, where, found: _Found) -> None:
    if action != "*":
        parts = action.split(":")
        if len(parts) == 1:
            found.add("vendor", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                      f"{action!r} is not an action; write it as \"service:Operation\", e.g. \"s3:GetObject\" or "
                      "\"s3:Get*\" (wildcards * and ? are allowed)", where, field)
            return
        if len(parts) > 2:
            found.add("vendor", "Actions/Condition can contain only one colon.",
                      f"{action!r} has more than one colon; an action is \"service:Operation\"", where, field)
            return
        if parts[0] != "*" and not _VENDOR.fullmatch(parts[0]):
            found.add("vendor", f"Vendor {parts[0]} is not valid",
                      f"{parts[0]!r} is not a service prefix; prefixes are letters, digits, '-' and '.', such as "
                      "s3, iam or ecs-tasks", where, field)
            return
    if kind == "trust":
        lowered = action.lower()
        allowed = lowered in _TRUST_LOWER or (
            lowered.startswith("sts:") and ("*" in lowered or "?" in lowered)
            and any(Glob((("lit", lowered),))(a) for a in _TRUST_LOWER))
        if not allowed:
            found.add("kind", "AssumeRole policy may only specify STS AssumeRole actions.",
                      f"{action!r} cannot appear in a role trust policy; a trust policy only says who may assume "
                      f"the role, with actions such as {', '.join(TRUST_ACTIONS)}", where, field)


def _validate_resource(resource: str, field: str, where, found: _Found) -> None:
    """A Resource value as IAM reads it: "*", or text with at least a partition after the first colon."""
    if resource == "*":
        return
    how = ("a resource is \"*\" or an ARN such as arn:aws:s3:::bucket/key "
           "(arn:partition:service:region:account:resource)")
    _, colon, rest = resource.partition(":")
    if not colon:
        found.add("resource", f'Resource {resource} must be in ARN format or "*".',
                  f"{resource!r} is not an ARN; {how}", where, field)
        return
    partition, colon, rest = rest.partition(":")
    if partition != "*" and partition not in PARTITIONS:
        pieces = rest.split(":")
        shown = [pieces[0] if pieces[0] != "" or len(pieces) > 1 else "*"]
        shown += [pieces[i] if len(pieces) > i else "*" for i in (1, 2)]
        shown.append(":".join(pieces[3:]) if len(pieces) > 3 else "*")
        found.add("resource", f'Partition "{partition}" is not valid for resource "arn:{partition}:'
                  f'{":".join(shown)}".',
                  f"{partition!r} is not a partition (aws, aws-cn, aws-us-gov...); {how}", where, field)
        return
    if not colon:
        found.add("resource", "Resource vendor must be fully qualified and cannot contain regexes.",
                  f"{resource!r} stops before the service; {how}", where, field)
        return
    service, _, region_and_rest = rest.partition(":")
    region, _, account_and_rest = region_and_rest.partition(":")
    resource_id = account_and_rest.partition(":")[2]
    if service == "iam" and region:
        found.add("resource", f"IAM resource {resource} cannot contain region information.",
                  "IAM is global: leave the region empty, as in arn:aws:iam::123456789012:role/Name", where, field)
        return
    if service == "s3" and region and not resource_id.startswith("accesspoint/"):
        found.add("resource", f"Resource {resource} can not contain region information.",
                  "a bucket or object ARN has no region: arn:aws:s3:::bucket/key", where, field)
        return
    type_part = resource_id.split("/", 1)[0]
    if service == "iam" and not resource_id.startswith(_IAM_RESOURCE_TYPES) and not (
            "*" in type_part or "?" in type_part):
        found.add("resource", 'IAM resource path must either be "*" or start with '
                  + ", ".join(_IAM_RESOURCE_TYPES) + ".",
                  "after the account, an IAM ARN names the type of thing first, as in role/Name or user/Name",
                  where, field)
        return
    # The legacy parser: a short ARN is read only when it has no empty part, and every ARN needs a service.
    bare = re.sub(r"\$\{[^}]*\}", "x", resource)
    pieces = bare.split(":")
    if (bare.count(":") < 5 and "::" in bare) or len(pieces) < 3 or pieces[2] == "":
        found.add("legacy", LEGACY, f"{resource!r} is cut short: an ARN with empty parts (such as the region "
                  f"and account of arn:aws:s3:::bucket) needs all six parts; {how}", where, field)


def _validate_principal(element, field, kind, where, found: _Found) -> None:
    if element == "*":
        return
    if not isinstance(element, dict) or not element:
        found.syntax(f"{field} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::123456789012:root\"}} "
                     "or {\"Service\": \"ec2.amazonaws.com\"}", where, field)
    for key, values in element.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            found.syntax(f"{field} {key} is an empty list; name at least one principal", where, field)
        for value in values:
            problem = validate_principal_value(key, value)
            if problem:
                # IAM names the principal it could not accept; S3 says only that one of them is invalid.
                message = "Invalid principal in policy" if kind == "resource" else \
                    f'Invalid principal in policy: "{str(key).upper()}":{json.dumps(value)}'
                found.add("kind", message, problem, where, field)
