"""Policy evaluation within one account: may this principal perform this action on this resource?

The logic follows AWS's "Policy evaluation logic" and "Policy evaluation for requests within a single account":

1. An explicit Deny in any applicable policy (identity-based, resource-based, permissions boundary, session policy)
   decides: explicit deny.
2. Otherwise something must allow. Within one account an Allow may come from either side:
   * identity-based policies, when the permissions boundary (if any) and the session policy (if any) allow too;
   * a resource-based policy that names the caller itself (user ARN, role-session ARN, service, ``*``): that grant
     stands on its own, whatever the identity policies, boundary or session policy leave out;
   * a resource-based policy that names the role ARN: it grants to the role's sessions, but an implicit deny in the
     boundary or the session policy still limits it;
   * a resource-based policy that names only the account delegates to the identity-based policies.
3. A role trust policy is a resource-based policy that must always allow (AWS: "IAM role trust policies ... must
   explicitly allow access for principals"): for sts:AssumeRole* nothing else can stand in for it.
4. Services have no identity-based policies: for a service principal only the resource-based policy decides.
5. A caller from another account than ``account`` needs both: the resource-based policy and its own
   identity-based policies must allow (AWS: "Cross-account policy evaluation logic").
6. Nothing allowed: implicit deny.

The context is taken as given: evaluation adds no keys of its own (no clock, no source IP).
"""

from __future__ import annotations

from .document import Policy, TRUST_ACTIONS, parse
from .principals import ACCOUNT, DIRECT, EVERYONE, ROLE, Caller, caller

__all__ = ["Request", "Decision", "StatementResult", "evaluate", "IDENTITY", "RESOURCE", "BOUNDARY", "SESSION"]

IDENTITY = "identity-based policy"
RESOURCE = "resource-based policy"
BOUNDARY = "permissions boundary"
SESSION = "session policy"
_TRUST_LOWER = frozenset(a.lower() for a in TRUST_ACTIONS)


def _normalise_context(context) -> dict:
    """Lower-case the keys (context keys are case-insensitive) and make every value a list of strings."""
    out = {}
    for key, value in (context or {}).items():
        if value is None:
            continue
        key = key.lower() if type(key) is str else str(key).lower()
        if type(value) is str:  # nearly every value the gatehouse passes: no conversion to make
            out[key] = [value]
            continue
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        out[key] = [_text(v) for v in values]
    return out


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Request:
    """What is being asked: ``principal`` (an ARN or a service principal), ``action``, ``resource``, ``context``."""

    __slots__ = ("principal", "action", "resource", "context", "_context", "_action_lower")

    def __init__(self, principal: str, action: str, resource: str, context: dict | None = None):
        for name, value in (("principal", principal), ("action", action), ("resource", resource)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"Request {name} must be a non-empty string, not {value!r}")
        if context is not None and not isinstance(context, dict):
            raise ValueError(f"Request context must be a dict of context keys to values, not {type(context).__name__}")
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = dict(context or {})
        self._context = _normalise_context(self.context)
        self._action_lower = action.lower()

    def __repr__(self):
        return (f"Request(principal={self.principal!r}, action={self.action!r}, resource={self.resource!r}, "
                f"context={self.context!r})")


class StatementResult:
    """A statement that applied to the request (or, in ``Decision.misses``, one that did not, and why)."""

    __slots__ = ("policy_name", "policy_type", "sid", "index", "effect", "details", "how")

    def __init__(self, policy_name, policy_type, sid, index, effect, details, how=None):
        self.policy_name = policy_name
        self.policy_type = policy_type
        self.sid = sid
        self.index = index
        self.effect = effect
        self.details = details
        self.how = how

    @property
    def label(self) -> str:
        return f"statement {self.sid!r} (#{self.index})" if self.sid else f"statement #{self.index}"

    @property
    def where(self) -> str:
        return f"{self.label} of {self.policy_name}"

    def as_dict(self) -> dict:
        return {"policy_name": self.policy_name, "policy_type": self.policy_type, "sid": self.sid,
                "index": self.index, "effect": self.effect, "details": list(self.details)}

    def __repr__(self):
        return f"<{self.effect} {self.where}: {'; '.join(self.details)}>"


class Decision:
    """IAM's answer to one request: ``outcome`` is "allow", "explicit-deny" or "implicit-deny"."""

    __slots__ = ("outcome", "reason", "denied_by", "statements", "misses", "request", "policy_types")

    def __init__(self, outcome, reason, denied_by, statements, misses, request, policy_types):
        self.outcome = outcome
        self.reason = reason
        self.denied_by = denied_by
        self.statements = statements
        self.misses = misses
        self.request = request
        self.policy_types = policy_types

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    def access_denied_message(self, caller_arn: str | None = None, *, with_reason: bool = True) -> str | None:
        """AWS's AccessDenied message for this decision (None when the request is allowed)."""
        from .explain import access_denied_message
        return access_denied_message(self, caller_arn, with_reason=with_reason)

    def __bool__(self):
        return self.allowed

    def __repr__(self):
        return f"<Decision {self.outcome}: {self.reason}>"


def _label(policy: Policy, default: str) -> str:
    return policy.name or default


def _run(policy: Policy, label: str, ptype: str, request: Request, who: Caller, allow, deny, misses,
         boundary_attached: bool = False) -> None:
    """Test every statement of a policy, sorting them into ``allow``, ``deny`` and ``misses`` (Allows that failed)."""
    context = request._context
    for index, what in policy.unreadable:
        left_out = "the whole document" if index is None else "it"
        misses.append(StatementResult(label, ptype, None, index if index is not None else 0, "Unreadable",
                                      [f"could not be read, so {left_out} was left out: {what}"]))
    for st in policy.statements:
        ok, note = st.match_action(request._action_lower, request.action)
        if not ok:
            if st.effect == "Allow":
                misses.append(StatementResult(label, ptype, st.sid, st.index, st.effect, [note]))
            continue
        details = [note]
        how = None
        if st.principal is not None:
            m = st.principal.match(who)
            if m is None:
                if st.effect == "Allow":
                    misses.append(StatementResult(label, ptype, st.sid, st.index, st.effect,
                                                  [f"Principal {_principal_text(st.principal.source)} does not name "
                                                   f"{request.principal}"]))
                continue
            how, value = m
            details.append(f"Principal {value} names {request.principal}")
        elif st.not_principal is not None:
            if boundary_attached and st.effect == "Deny" and who.is_iam:
                # AWS: a Deny with NotPrincipal always denies a principal that has a permissions boundary.
                details.append("NotPrincipal with Deny always applies to a principal with a permissions boundary")
            elif st.not_principal.names_all_of(who):
                if st.effect == "Allow":
                    misses.append(StatementResult(label, ptype, st.sid, st.index, st.effect,
                                                  [f"NotPrincipal lists {request.principal}"]))
                continue
            else:
                details.append(f"NotPrincipal {_principal_text(st.not_principal.source)} does not list every "
                               f"identity of {request.principal}")
            how = EVERYONE
        ok, note = st.match_resource(request.resource, context)
        if not ok:
            if st.effect == "Allow":
                misses.append(StatementResult(label, ptype, st.sid, st.index, st.effect, [note]))
            continue
        if note:
            details.append(note)
        if st.conditions:
            ok, notes = st.match_conditions(context)
            if not ok:
                if st.effect == "Allow":
                    misses.append(StatementResult(label, ptype, st.sid, st.index, st.effect, notes))
                continue
            details.extend(notes)
        (allow if st.effect == "Allow" else deny).append(
            StatementResult(label, ptype, st.sid, st.index, st.effect, details, how))


def _principal_text(source) -> str:
    if isinstance(source, dict):
        return ", ".join(f"{k} {v if isinstance(v, str) else ', '.join(v)}" for k, v in source.items())
    return str(source)


_STRENGTH = {EVERYONE: 0, DIRECT: 1, ROLE: 2, ACCOUNT: 3, None: 4}


def evaluate(request: Request, identity_policies=(), resource_policy=None, permissions_boundary=None,
             session_policy=None, account: str = "123456789012") -> Decision:
    """Decide a request against the policies that apply to it (all within ``account``).

    Policies may be Policy objects or documents (JSON text or dicts); documents are parsed with the right kind.
    For sts:AssumeRole and its family, ``resource_policy`` is the role's trust policy.
    """
    if not isinstance(request, Request):
        raise TypeError("evaluate() needs a Request(principal, action, resource, context)")
    who = caller(request.principal)
    trust_mode = request._action_lower in _TRUST_LOWER
    if isinstance(identity_policies, (Policy, dict, str)):
        identity_policies = [identity_policies]
    identity = [parse(p, "identity") for p in identity_policies or ()]
    resource = parse(resource_policy, "trust" if trust_mode else "resource") if resource_policy is not None else None
    boundary = parse(permissions_boundary, "boundary") if permissions_boundary is not None else None
    session = parse(session_policy, "session") if session_policy is not None else None

    is_iam = who.is_iam
    applies_identity = is_iam
    applies_boundary = boundary is not None and is_iam and who.kind != "root"
    applies_session = session is not None and is_iam and who.kind != "root"

    misses: list[StatementResult] = []
    id_allow: list[StatementResult] = []
    id_deny: list[StatementResult] = []
    if applies_identity:
        many = len(identity) > 1
        for i, policy in enumerate(identity):
            default = f"{IDENTITY} #{i}" if many else IDENTITY
            _run(policy, _label(policy, default), IDENTITY, request, who, id_allow, id_deny, misses)
    res_allow: list[StatementResult] = []
    res_deny: list[StatementResult] = []
    if resource is not None:
        default = "trust policy" if trust_mode or resource.kind == "trust" else RESOURCE
        _run(resource, _label(resource, default), RESOURCE, request, who, res_allow, res_deny, misses,
             boundary_attached=applies_boundary)
    b_allow: list[StatementResult] = []
    b_deny: list[StatementResult] = []
    if applies_boundary:
        _run(boundary, _label(boundary, BOUNDARY), BOUNDARY, request, who, b_allow, b_deny, misses)
    s_allow: list[StatementResult] = []
    s_deny: list[StatementResult] = []
    if applies_session:
        _run(session, _label(session, SESSION), SESSION, request, who, s_allow, s_deny, misses)

    types = [t for t, on in ((IDENTITY, applies_identity and identity), (RESOURCE, resource is not None),
                             (BOUNDARY, applies_boundary), (SESSION, applies_session)) if on]

    def decide(decision, reason, denied_by, statements):
        return Decision(decision, reason, denied_by, statements, misses, request, types)

    # 1. Explicit deny anywhere wins.
    for denies, ptype in ((id_deny, IDENTITY), (res_deny, RESOURCE), (b_deny, BOUNDARY), (s_deny, SESSION)):
        if denies:
            hit = denies[0]
            return decide("explicit-deny", f"explicit deny: {hit.where} matched: {', '.join(hit.details)}",
                          ptype, denies)

    action_on = f"{request.action}" + ("" if request.resource == "*" else f" on {request.resource}")
    res_best = min(res_allow, key=lambda r: _STRENGTH[r.how]) if res_allow else None
    boundary_ok = not applies_boundary or bool(b_allow)
    session_ok = not applies_session or bool(s_allow)
    limits = ([b_allow[0]] if applies_boundary and b_allow else []) + ([s_allow[0]] if applies_session and s_allow
                                                                       else [])

    def limits_text() -> str:
        parts = []
        if applies_boundary:
            parts.append(f"the permissions boundary allows it too ({b_allow[0].where})")
        if applies_session:
            parts.append(f"the session policy allows it too ({s_allow[0].where})")
        return ("; " + "; ".join(parts)) if parts else ""

    def limit_failure(granted: StatementResult | None = None) -> tuple[str, str]:
        """An Allow was found but the boundary or the session policy leaves the request out."""
        if not boundary_ok:
            ptype, name = BOUNDARY, _label(boundary, BOUNDARY)
        else:
            ptype, name = SESSION, _label(session, SESSION)
        shown = "the " + ptype + ("" if name == ptype else f" ({name})")
        head = "implicit deny: "
        if granted is not None:
            head += f"{granted.where} allows it, but "
        reason = f"{head}{shown} does not allow {action_on}"
        tail = _miss_summary(misses, ptype)
        return ptype, reason + (f"; {tail}" if tail else "")

    # 2. Services and other non-IAM callers: only the resource-based policy speaks for them.
    if not is_iam:
        if res_best is not None:
            return decide("allow", f"allow: {res_best.where} allows it: {', '.join(res_best.details)}", None,
                          [res_best])
        why = "services have no identity-based policies, so " if who.kind == "service" else ""
        what = "trust policy" if trust_mode else RESOURCE
        if resource is None:
            reason = f"implicit deny: {why}only a {what} could allow {action_on}, and there is none"
        else:
            reason = f"implicit deny: {why}only the {what} could allow {action_on}, and " + \
                     _nobody_tail(misses, RESOURCE)
        return decide("implicit-deny", reason, RESOURCE, [])

    # 3. A caller from another account needs both sides: its own identity-based policies (within its boundary and
    #    session policy) and the resource's policy (AWS: "Cross-account policy evaluation logic").
    if who.account is not None and who.account != account:
        if res_best is None:
            what = "trust policy" if trust_mode else RESOURCE
            reason = (f"implicit deny: {request.principal} is in account {who.account}, not {account}, so the "
                      f"{what} must allow it too, and " + _nobody_tail(misses, RESOURCE, action_on))
            return decide("implicit-deny", reason, RESOURCE, [])
        if not id_allow:
            return decide("implicit-deny", f"implicit deny: {res_best.where} allows it, but a caller from another "
                                           f"account also needs its own identity-based policy to allow it, and "
                          + _nobody_tail(misses, IDENTITY, action_on), IDENTITY, [res_best])
        if not (boundary_ok and session_ok):
            ptype, reason = limit_failure(id_allow[0])
            return decide("implicit-deny", reason, ptype, [res_best, id_allow[0]])
        return decide("allow", f"allow: across accounts both sides allow it: {res_best.where} "
                               f"({', '.join(res_best.details)}) and {id_allow[0].where} "
                               f"({', '.join(id_allow[0].details)})" + limits_text(), None,
                      [res_best, id_allow[0]] + limits)

    # 4. Role trust policies must allow the assume-role family themselves.
    if trust_mode:
        if res_best is None:
            if resource is None:
                reason = f"implicit deny: {request.action} needs the role's trust policy to allow it, and none was given"
            else:
                reason = (f"implicit deny: the role's trust policy does not allow {request.principal} to perform "
                          f"{request.action}: " + _nobody_tail(misses, RESOURCE))
            return decide("implicit-deny", reason, RESOURCE, [])
        if res_best.how in (EVERYONE, DIRECT):
            return decide("allow", f"allow: {res_best.where} names the caller directly, which is enough within "
                                   f"the account: {', '.join(res_best.details)}", None, [res_best])
        if res_best.how == ROLE:
            if boundary_ok and session_ok:
                return decide("allow", f"allow: {res_best.where} names the role: {', '.join(res_best.details)}"
                              + limits_text(), None, [res_best] + limits)
            ptype, reason = limit_failure(res_best)
            return decide("implicit-deny", reason, ptype, [res_best])
        # The trust policy names the account: the caller's own policies must allow sts:AssumeRole too.
        if not id_allow:
            return decide("implicit-deny",
                          f"implicit deny: {res_best.where} trusts the account, which delegates to the caller's "
                          f"identity-based policies, and " + _nobody_tail(misses, IDENTITY, f"{action_on}"),
                          IDENTITY, [res_best])
        if boundary_ok and session_ok:
            return decide("allow", f"allow: {res_best.where} trusts the account ({', '.join(res_best.details)}) "
                                   f"and {id_allow[0].where} allows it: {', '.join(id_allow[0].details)}"
                          + limits_text(), None, [res_best, id_allow[0]] + limits)
        ptype, reason = limit_failure(id_allow[0])
        return decide("implicit-deny", reason, ptype, [res_best, id_allow[0]])

    # 5. The account root user has full access unless something denies it explicitly.
    if who.kind == "root":
        return decide("allow", "allow: the account root user has full access to its own account, and no policy "
                               "denies this explicitly", None, [])

    # 6. Ordinary requests: a direct resource grant, a role grant within the limits, or identity-based policies.
    if res_best is not None and res_best.how in (EVERYONE, DIRECT):
        return decide("allow", f"allow: {res_best.where} names the caller directly, which grants access on its "
                               f"own within the account: {', '.join(res_best.details)}", None, [res_best])
    if res_best is not None and res_best.how == ROLE and boundary_ok and session_ok:
        return decide("allow", f"allow: {res_best.where} names the caller's role: {', '.join(res_best.details)}"
                      + limits_text(), None, [res_best] + limits)
    if id_allow and boundary_ok and session_ok:
        return decide("allow", f"allow: {id_allow[0].where} allows it: {', '.join(id_allow[0].details)}"
                      + limits_text(), None, [id_allow[0]] + limits)
    if id_allow or (res_best is not None and res_best.how == ROLE):
        granted = id_allow[0] if id_allow else res_best
        ptype, reason = limit_failure(granted)
        return decide("implicit-deny", reason, ptype, [granted])
    reason = _nobody(IDENTITY, action_on, misses)
    if res_best is not None:
        reason += (f"; {res_best.where} names only the account, which delegates the decision to identity-based "
                   "policies")
    return decide("implicit-deny", reason, IDENTITY, [])


def _nobody(ptype: str, action_on: str, misses) -> str:
    head = f"implicit deny: no {ptype} allows {action_on}"
    tail = _miss_summary(misses, ptype)
    return head + (f"; {tail}" if tail else "")


def _nobody_tail(misses, ptype: str, action_on: str | None = None) -> str:
    summary = _miss_summary(misses, ptype)
    lead = f"no {ptype} allows {action_on}" if action_on else "no statement matched"
    return lead + (f"; {summary}" if summary else "")


def _miss_summary(misses, ptype: str, limit: int = 3) -> str:
    relevant = [m for m in misses if m.policy_type == ptype]
    if not relevant:
        return ""
    shown = [f"{m.where} did not apply: {'; '.join(m.details)}" for m in relevant[:limit]]
    more = len(relevant) - limit
    if more > 0:
        shown.append(f"and {more} more Allow statement{'s' if more > 1 else ''}")
    return "; ".join(shown)
