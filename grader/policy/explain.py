"""Decisions told for people: AWS's AccessDenied message forms, and a longer explanation for the book.

The message forms are those on AWS's "Access denied error messages" page:

    User: <caller ARN> is not authorized to perform: <action> on resource: <resource> because no <policy type>
    allows the <action> action
    User: <caller ARN> is not authorized to perform: <action> on resource: <resource> with an explicit deny in
    <a/an> <policy type>

When the resource is ``*`` the " on resource: ..." part is left out, as AWS does for actions without a resource.
"""

from __future__ import annotations

__all__ = ["access_denied_message", "explain", "deciding", "fix"]

_ARTICLE = {"identity-based policy": "an", "resource-based policy": "a", "permissions boundary": "a",
            "session policy": "a"}


def access_denied_message(decision, caller_arn: str | None = None, *, with_reason: bool = True) -> str | None:
    """The AccessDenied message AWS would return for a denied decision, or None when it was allowed.

    Most services end the message with the kind of policy that decided ("because no identity-based policy allows
    ...", "with an explicit deny in ..."); STS does not (``with_reason=False``): its AccessDenied for AssumeRole
    stops at the resource, whether the caller's policy or the role's trust policy refused.
    """
    if decision.allowed:
        return None
    request = decision.request
    who = caller_arn or request.principal
    text = f"User: {who} is not authorized to perform: {request.action}"
    if request.resource != "*":
        text += f" on resource: {request.resource}"
    if not with_reason:
        return text
    ptype = decision.denied_by or "identity-based policy"
    if decision.outcome == "explicit-deny":
        return f"{text} with an explicit deny in {_ARTICLE.get(ptype, 'a')} {ptype}"
    return f"{text} because no {ptype} allows the {request.action} action"


def explain(decision) -> str:
    """A multi-line account of a decision: the request, the verdict, what matched and what did not."""
    request = decision.request
    lines = [f"Request: {request.principal} wants {request.action}"
             + ("" if request.resource == "*" else f" on {request.resource}")]
    if request.context:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(request.context.items()))
        lines.append(f"Context: {shown}")
    if decision.policy_types:
        lines.append("Policies considered: " + ", ".join(decision.policy_types))
    verdict = {"allow": "ALLOWED", "explicit-deny": "DENIED (explicit deny)",
               "implicit-deny": "DENIED (implicit deny: nothing allowed it)"}[decision.outcome]
    if decision.denied_by:
        verdict += f", decided by the {decision.denied_by}"
    lines.append(f"Decision: {verdict}")
    lines.append(f"Why: {decision.reason}")
    if decision.statements:
        lines.append("Statements that applied:")
        for st in decision.statements:
            lines.append(f"  - {st.effect} {st.where}")
            for detail in st.details:
                lines.append(f"      {detail}")
    if decision.misses and not decision.allowed:
        lines.append("Allow statements that did not apply:")
        for st in decision.misses:
            lines.append(f"  - {st.where}: {'; '.join(st.details)}")
    message = decision.access_denied_message()
    if message:
        lines.append(f"AWS would say: {message}")
    return "\n".join(lines)


def deciding(decision) -> str:
    """One line: the statement that decided a refusal, or the Allow that was missing (with the near misses)."""
    if decision.outcome == "explicit-deny" and decision.statements:
        hit = decision.statements[0]
        return f"Decided by: Deny {hit.where}: {'; '.join(hit.details)}"
    reason = decision.reason
    if reason.startswith("implicit deny: "):
        reason = reason[len("implicit deny: "):]
    if decision.outcome == "implicit-deny":
        return f"Missing Allow: {reason}"
    return f"Decided by: {reason}"


def fix(decision) -> str:
    """One line: what would change the answer, as the reader would go about it."""
    request = decision.request
    wanted = request.action + ("" if request.resource == "*" else f" on {request.resource}")
    if decision.outcome == "explicit-deny" and decision.statements:
        return (f"Fix: a Deny outweighs every Allow: narrow or remove {decision.statements[0].where}, or ask for "
                "something it does not cover.")
    if decision.outcome == "allow":
        return "Fix: nothing to fix: the request is allowed."
    ptype = decision.denied_by
    unmet = next((m for m in decision.misses if m.policy_type == (ptype or "identity-based policy")
                  and m.details and m.details[0].startswith("Condition ")), None)
    if unmet is not None:
        # An Allow covered the request but for its condition: the request, not the policy, is what usually differs.
        return (f"Fix: {unmet.where} would allow it, but its condition is not met: send a request that meets "
                "it, or change the condition if it is wrong.")
    if ptype == "resource-based policy" and request.action.lower().startswith("sts:assumerole"):
        return (f"Fix: name {request.principal} (or its role or account) as Principal in a statement of the role's "
                f"trust policy that allows {request.action}.")
    if ptype == "resource-based policy":
        return f"Fix: add a statement to the resource's policy that allows {wanted} for {request.principal}."
    if ptype == "permissions boundary":
        return f"Fix: the permissions boundary caps what the policies grant: it must allow {wanted} too."
    if ptype == "session policy":
        return f"Fix: the session policy passed when the role was assumed must allow {wanted} too."
    if ptype is None or ptype == "identity-based policy":
        return f"Fix: add an Allow for {wanted} to a policy attached to the caller's role or user."
    return f"Fix: {decision.reason}"
