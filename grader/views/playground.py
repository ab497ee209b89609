"""The policy playground: pick a principal, an action and a resource, and read what IAM would decide, and why.

``playground()`` returns an ipywidgets panel (plain ipywidgets 8, so it runs in JupyterLab 4, Notebook 7 and on
Binder without a frontend extension). Its choices come from the running sandbox: the roles and users the
administrator can list, and the role sessions that have called the gatehouse. Pressing its button asks
``gatehouse.decide`` against the account as it is at that moment, without making the call.

The decision itself is ``evaluate_choice(principal, action, resource)``, a plain function that returns text, so a
chapter can print it (a static page shows no live widget) and a test can read it.
"""

from __future__ import annotations

import textwrap
from typing import Any, Optional, Union

__all__ = ["playground", "evaluate_choice", "principals", "resources", "parse_context", "COMMON_ACTIONS"]

COMMON_ACTIONS = (
    "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:ListAllMyBuckets",
    "s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy",
    "sts:AssumeRole", "iam:PassRole", "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy",
    "ec2:RunInstances", "ec2:DescribeInstances", "ec2:TerminateInstances",
    "ecs:RegisterContainerInstance", "ecs:RunTask", "ecs:DescribeClusters",
    "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents",
)

_VERDICTS = {"allow": "ALLOWED", "explicit-deny": "DENIED (explicit deny)",
             "implicit-deny": "DENIED (implicit deny: nothing allowed it)"}


def _admin(service: str):
    from grader import sandbox

    return sandbox.current().client(service)


def _pages(client: Any, operation: str, key: str, **params: Any) -> list:
    items = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(key, []))
    return items


def principals() -> list:
    """``(label, ARN)`` for every role, user and role session the playground can ask about, in that order.

    Roles and users are listed by the administrator, as ``iam.list_roles`` and ``iam.list_users`` show them. IAM
    keeps no register of sessions, so the sessions offered are those that have called the sandbox: the gatehouse
    remembers its recent callers.
    """
    from grader import gatehouse

    iam = _admin("iam")
    choices = [(f"role {r['RoleName']}", r["Arn"]) for r in _pages(iam, "list_roles", "Roles")]
    choices += [(f"user {u['UserName']}", u["Arn"]) for u in _pages(iam, "list_users", "Users")]
    seen = set()
    for entry in gatehouse.last_decisions():
        caller = entry.caller or ""
        if ":assumed-role/" in caller and caller not in seen:
            seen.add(caller)
            role, session = caller.split(":assumed-role/", 1)[1].split("/", 1)
            choices.append((f"session {session} of {role}", caller))
    return choices


def resources(limit_per_bucket: int = 20) -> list:
    """Suggested resource ARNs: ``*``, each bucket, its objects (up to ``limit_per_bucket``), and each role."""
    s3, iam = _admin("s3"), _admin("iam")
    suggestions = ["*"]
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        suggestions += [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        listing = s3.list_objects_v2(Bucket=name, MaxKeys=limit_per_bucket)
        suggestions += [f"arn:aws:s3:::{name}/{o['Key']}" for o in listing.get("Contents", [])]
    suggestions += [r["Arn"] for r in _pages(iam, "list_roles", "Roles")]
    return suggestions


def parse_context(text: Union[str, dict, None]) -> dict:
    """Condition keys from ``"s3:prefix=parking/; aws:SourceIp=198.51.100.7"`` (a dict is returned as it is)."""
    if not text:
        return {}
    if isinstance(text, dict):
        return dict(text)
    context = {}
    for part in str(text).replace("\n", ";").split(";"):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{part.strip()!r} is not a condition key and its value: write it as key=value, "
                             "for example s3:prefix=parking/")
        context[key.strip()] = value.strip()
    return context


def _wrap(lines: list, width: int) -> str:
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        out.append(textwrap.fill(line.strip(), width, initial_indent=indent, subsequent_indent=indent + "    ",
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


def evaluate_choice(principal: Optional[str], action: Optional[str], resource: Optional[str] = "*",
                    context: Union[str, dict, None] = None, width: int = 76) -> str:
    """What IAM would decide for ``principal`` doing ``action`` on ``resource``, and why, as text.

    ``principal`` is a role, user or role-session ARN (a role stands for a fresh session of it); ``context`` adds
    condition keys to those the gatehouse fills in itself (time, region, source address, principal keys). The
    sandbox's clock and the other keys the gatehouse fills in are left out of the text, so that it reads the same
    each time; the keys you give are shown.
    """
    from grader import gatehouse
    from grader.policy import explain

    principal, action = (principal or "").strip(), (action or "").strip()
    resource = (resource or "").strip() or "*"
    if not principal:
        return "Pick a principal first: a role, a user or a role session. (Create one, then refresh the lists.)"
    if not action:
        return "Give an action, such as s3:GetObject: a service prefix, a colon and the action's name."
    if ":" not in action:
        return f"{action!r} is not an action: write it as service:Action, for example s3:GetObject."
    try:
        given = parse_context(context)
        decision = gatehouse.decide(principal, action, resource, given)
    except (ValueError, TypeError) as error:
        return f"The gatehouse cannot answer: {error}"
    lines = [f"{_VERDICTS[decision.outcome]}: {action}" + ("" if resource == "*" else f" on {resource}")]
    lines.append(f"Principal: {decision.request.principal}")
    if given:
        lines.append("Condition keys you gave: " + ", ".join(f"{k}={v!r}" for k, v in given.items()))
    for line in explain(decision).splitlines():
        if line.startswith(("Request:", "Context:", "Decision:")):
            continue  # said above; the full context holds the clock, which would change the text every second
        lines.append(line)
    return _wrap(lines, width)


def playground():
    """The playground panel: a principal, an action and a resource to choose, a button, and the answer below."""
    import ipywidgets as widgets

    class Playground(widgets.VBox):
        def __repr__(self) -> str:
            # What a page without a live kernel shows in the widget's place (ipywidgets cuts it at 110 characters).
            return "Policy playground: pick a principal, an action and a resource (live in a running notebook)"

    style = {"description_width": "80px"}
    wide = widgets.Layout(width="98%", max_width="760px")
    principal = widgets.Dropdown(description="Principal", style=style, layout=wide)
    action = widgets.Combobox(description="Action", options=COMMON_ACTIONS, value="s3:GetObject",
                              placeholder="service:Action, e.g. s3:GetObject", ensure_option=False,
                              style=style, layout=wide)
    resource = widgets.Combobox(description="Resource", value="*", ensure_option=False,
                                placeholder="an ARN, e.g. arn:aws:s3:::bucket/key, or *", style=style, layout=wide)
    context = widgets.Text(description="Condition", placeholder="optional: s3:prefix=parking/; aws:SourceIp=...",
                           style=style, layout=wide)
    ask = widgets.Button(description="Ask the gatehouse", icon="question", button_style="primary",
                         layout=widgets.Layout(width="180px"))
    refresh = widgets.Button(description="Refresh lists", icon="refresh", layout=widgets.Layout(width="140px"),
                             tooltip="Read the principals and resources from the sandbox again")
    output = widgets.Output(layout=widgets.Layout(border="1px solid #ddd", padding="2px 6px", overflow="auto"))

    def fill(_button: Any = None) -> None:
        chosen = principal.value
        principal.options = principals()
        values = [value for _, value in principal.options]
        if chosen in values:
            principal.value = chosen
        resource.options = resources()

    def on_ask(_button: Any) -> None:
        text = evaluate_choice(principal.value, action.value, resource.value, context.value)
        output.outputs = ()  # clear_output() would wait for a frontend; this works with or without one
        output.append_stdout(text + "\n")
        box.answer = text

    ask.on_click(on_ask)
    refresh.on_click(fill)
    fill()
    box = Playground([
        widgets.HTML("<b>Policy playground</b>: would IAM allow it? The gatehouse decides against the sandbox "
                     "as it is now, without making the call."),
        principal, action, resource, context, widgets.HBox([ask, refresh]), output,
    ])
    box.principal, box.action, box.resource, box.context = principal, action, resource, context
    box.button, box.refresh, box.output, box.answer = ask, refresh, output, None
    return box
