"""Pictures of the live sandbox account: the two layers of permissions on an ECS host, and who may assume what.

Each picture comes in two halves, kept apart so that the data can be tested and the drawing stays simple:

``layers(aws)`` / ``draw_layers(aws)``
    The **infrastructure layer**: every running EC2 instance, the instance profile that delivers its badge, the
    role in that profile and the role's policies. The **application layer**: every running ECS task, the container
    endpoint that delivers its badge, its task role and the role's policies (and, dashed, the execution role that
    only the ECS agent uses). The two layers are drawn as two bands, one above the other.

``trust(aws)`` / ``draw_trust(aws)``
    Every role of the account, and the principals its trust policy lets call ``sts:AssumeRole``: services such as
    ``ec2.amazonaws.com`` and ``ecs-tasks.amazonaws.com``, accounts, users, roles.

The data functions read the account through boto3 with the administrator's credentials, never through moto's own
objects, so a picture shows what the account holds, exactly as ``describe_*`` and ``get_*`` report it. The drawings
are plain matplotlib figures (the Agg renderer: no display, no fonts or programs beyond matplotlib's own), made
without pyplot, so that drawing one never opens a window or leaves a figure behind, and of a size and resolution
fixed by their content, so the same account gives the same picture.
"""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import unquote

from grader.aws import browser

# In a browser, matplotlib is one of Pyodide's own packages, loaded the first time a diagram is drawn.
browser.load("matplotlib", "Drawing a diagram")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from grader.policy import matches_action

__all__ = ["layers", "trust", "draw_layers", "draw_trust", "Diagram", "PALETTE"]

# Okabe and Ito's palette, readable with every common form of colour blindness.
PALETTE = {
    "infrastructure": "#0072B2",  # blue
    "application": "#E69F00",     # orange
    "service": "#009E73",         # bluish green
    "account": "#CC79A7",         # reddish purple
    "federated": "#56B4E9",       # sky blue
    "warning": "#D55E00",         # vermillion
    "ink": "#1A1A1A",
    "muted": "#666666",
    "paper": "#FFFFFF",
}
_BAND_TINT = {"infrastructure": "#E5F0F8", "application": "#FCF2DC"}
_DPI = 100
_WIDTH = 12.0  # inches, and data units: one unit is one inch
_AWS_MANAGED = "arn:aws:iam::aws:policy/"


# --------------------------------------------------------------------------------------------------------------
# Reading the account


def _sandbox(aws: Any):
    if aws is None:
        from grader import sandbox

        return sandbox.current()
    return aws


def _document(value: Any) -> dict:
    if isinstance(value, str):
        value = json.loads(unquote(value))
    return value or {}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _statements(document: dict) -> list[dict]:
    """Each statement as {effect, actions, resources}, lists of strings (NotAction shown with a '¬')."""
    out = []
    for statement in _as_list(document.get("Statement")):
        actions = _as_list(statement.get("Action")) or ["¬" + a for a in _as_list(statement.get("NotAction"))]
        resources = _as_list(statement.get("Resource")) or ["¬" + r for r in _as_list(statement.get("NotResource"))]
        out.append({"effect": statement.get("Effect", "Allow"), "actions": actions, "resources": resources,
                    "conditions": bool(statement.get("Condition"))})
    return out


def _trusted(document: dict) -> list[dict]:
    """The principals an Allow statement of a trust policy lets call sts:AssumeRole, as {kind, id, conditions}."""
    found = []
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        if not any(matches_action(a, "sts:AssumeRole") for a in _as_list(statement.get("Action"))):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            principal = {"AWS": "*"}
        for kind, ids in (principal or {}).items():
            for identifier in _as_list(ids):
                found.append({"kind": kind, "id": identifier, "conditions": bool(statement.get("Condition"))})
    return found


class _Reader:
    """The administrator's clients, made once per picture."""

    def __init__(self, aws: Any):
        self.aws = _sandbox(aws)
        self._clients: dict[str, Any] = {}
        self._roles: dict[str, dict] = {}

    def client(self, service: str):
        if service not in self._clients:
            from grader.credentials import admin_client  # shares parsed service models with the other sessions

            self._clients[service] = admin_client(service, sandbox=self.aws)
        return self._clients[service]

    def role(self, arn_or_name: str) -> dict:
        """A role as the pictures show it: name, ARN, trusted principals, policies; ``exists`` False if missing."""
        name = arn_or_name.rsplit("/", 1)[-1]
        if name in self._roles:
            return self._roles[name]
        iam = self.client("iam")
        try:
            found = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            info = {"name": name, "arn": arn_or_name if arn_or_name.startswith("arn:") else None,
                    "exists": False, "trusted": [], "trusted_services": [], "policies": []}
            self._roles[name] = info
            return info
        trusted = _trusted(_document(found.get("AssumeRolePolicyDocument")))
        policies = []
        for attached in self._all(iam.list_attached_role_policies, "AttachedPolicies", RoleName=name):
            arn = attached["PolicyArn"]
            entry = {"name": attached["PolicyName"], "arn": arn,
                     "kind": "AWS managed" if arn.startswith(_AWS_MANAGED) else "managed", "statements": []}
            if entry["kind"] == "managed":  # the account's own: short enough to summarise
                policy = iam.get_policy(PolicyArn=arn)["Policy"]
                version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
                entry["statements"] = _statements(_document(version["PolicyVersion"]["Document"]))
            policies.append(entry)
        for policy_name in self._all(iam.list_role_policies, "PolicyNames", RoleName=name):
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            policies.append({"name": policy_name, "arn": None, "kind": "inline",
                             "statements": _statements(_document(document))})
        info = {"name": name, "arn": found["Arn"], "exists": True, "trusted": trusted,
                "trusted_services": sorted({t["id"] for t in trusted if t["kind"] == "Service"}),
                "policies": policies}
        self._roles[name] = info
        return info

    @staticmethod
    def _all(operation, key: str, **kwargs) -> list:
        items, marker = [], None
        while True:
            page = operation(**kwargs, **({"Marker": marker} if marker else {}))
            items += page[key]
            if not page.get("IsTruncated"):
                return items
            marker = page["Marker"]


def _instances(reader: _Reader) -> list[dict]:
    ec2, iam = reader.client("ec2"), reader.client("iam")
    found = []
    reservations = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    for reservation in reservations:
        for instance in reservation["Instances"]:
            entry = {"id": instance["InstanceId"], "instance_profile": None, "role": None}
            attached = instance.get("IamInstanceProfile")
            if attached:
                name = attached["Arn"].rsplit("/", 1)[-1]
                entry["instance_profile"] = name
                try:
                    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
                except iam.exceptions.NoSuchEntityException:
                    profile = {"Roles": []}
                if profile["Roles"]:
                    entry["role"] = profile["Roles"][0]["RoleName"]
            found.append(entry)
    return sorted(found, key=lambda e: e["id"])


def _tasks(reader: _Reader, cluster: Optional[str]) -> list[dict]:
    ecs = reader.client("ecs")
    clusters = [cluster] if cluster else ecs.list_clusters()["clusterArns"]
    found = []
    for name in clusters:
        arns = ecs.list_tasks(cluster=name, desiredStatus="RUNNING")["taskArns"]
        if not arns:
            continue
        described = ecs.describe_tasks(cluster=name, tasks=arns)["tasks"]
        instance_of = {}
        container_instances = sorted({t["containerInstanceArn"] for t in described if t.get("containerInstanceArn")})
        if container_instances:
            for ci in ecs.describe_container_instances(cluster=name,
                                                       containerInstances=container_instances)["containerInstances"]:
                instance_of[ci["containerInstanceArn"]] = ci.get("ec2InstanceId")
        for task in described:
            if task.get("lastStatus") == "STOPPED":
                continue
            definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
            overrides = task.get("overrides") or {}
            found.append({
                "id": task["taskArn"].rsplit("/", 1)[-1],
                "arn": task["taskArn"],
                "cluster": task["clusterArn"].rsplit("/", 1)[-1],
                "family": definition["family"],
                "revision": definition["revision"],
                "instance": instance_of.get(task.get("containerInstanceArn")),
                "task_role": (overrides.get("taskRoleArn") or definition.get("taskRoleArn") or "").rsplit("/", 1)[-1]
                or None,
                "execution_role": (overrides.get("executionRoleArn") or definition.get("executionRoleArn") or ""
                                   ).rsplit("/", 1)[-1] or None,
            })
    return sorted(found, key=lambda t: (t["family"], t["revision"], t["id"]))


def layers(aws: Any = None, cluster: Optional[str] = None) -> dict:
    """The two layers of the live account, as plain data.

    ``{"instances": [...], "tasks": [...], "roles": {name: role}}``: each instance with its ``instance_profile``
    and ``role``; each running task (of ``cluster``, or of every cluster) with its ``family``, ``revision``,
    ``instance``, ``task_role`` and ``execution_role``; each role named there with its ARN, whether it exists,
    the principals its trust policy names (``trusted``, ``trusted_services``) and its ``policies`` (name, kind
    ``AWS managed`` / ``managed`` / ``inline``, and for the account's own policies their statements).
    """
    reader = _Reader(aws)
    instances = _instances(reader)
    tasks = _tasks(reader, cluster)
    names = [i["role"] for i in instances] + [t[k] for t in tasks for k in ("task_role", "execution_role")]
    roles = {}
    for name in names:
        if name and name not in roles:
            roles[name] = reader.role(name)
    return {"instances": instances, "tasks": tasks, "roles": roles}


def trust(aws: Any = None) -> dict:
    """Who may assume what: ``{"roles": {name: {"arn", "trusted": [{kind, id, conditions}]}}, "principals": [...]}``.

    ``principals`` lists each principal once, as ``{kind, id}``, services first.
    """
    reader = _Reader(aws)
    roles = {}
    for found in _Reader._all(reader.client("iam").list_roles, "Roles"):
        if found.get("Path", "/").startswith("/aws-service-role/"):
            continue  # service-linked roles: AWS's own, trusted by their service alone
        roles[found["RoleName"]] = {"arn": found["Arn"],
                                    "trusted": _trusted(_document(found.get("AssumeRolePolicyDocument")))}
    order = {"Service": 0, "AWS": 1, "Federated": 2}
    seen = {(t["kind"], t["id"]) for role in roles.values() for t in role["trusted"]}
    principals = [{"kind": k, "id": i} for k, i in sorted(seen, key=lambda p: (order.get(p[0], 3), p[1]))]
    return {"roles": dict(sorted(roles.items())), "principals": principals}


# --------------------------------------------------------------------------------------------------------------
# Drawing


class Diagram(Figure):
    """A matplotlib Figure that shows itself as a PNG in a notebook, whether or not pyplot was ever imported."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
        return buffer.getvalue()


def _new_figure(height: float) -> tuple[Diagram, Any]:
    figure = Diagram(figsize=(_WIDTH, height), dpi=_DPI, facecolor=PALETTE["paper"])
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, _WIDTH)
    axes.set_ylim(height, 0)  # y grows downwards, like the page
    axes.axis("off")
    return figure, axes


def _box(axes, x: float, y: float, w: float, h: float, lines: list[tuple[str, dict]], *, edge: str,
         face: str = PALETTE["paper"], dashed: bool = False, weight: float = 1.6) -> None:
    axes.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08", linewidth=weight,
                                  edgecolor=edge, facecolor=face, linestyle=(0, (4, 2)) if dashed else "solid",
                                  zorder=2))
    step = 0.22
    top = y + h / 2 - step * (len(lines) - 1) / 2
    for n, (text, style) in enumerate(lines):
        axes.text(x + w / 2, top + n * step, text, ha="center", va="center", zorder=3,
                  **{"fontsize": 9.5, "color": PALETTE["ink"], "family": "DejaVu Sans", **style})


def _arrow(axes, start: tuple, end: tuple, colour: str, *, dashed: bool = False, label: str = "") -> None:
    axes.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13, linewidth=1.4, color=colour,
                                   linestyle=(0, (4, 2)) if dashed else "solid", zorder=1, shrinkA=0, shrinkB=0))
    if label:
        axes.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 - 0.1, label, ha="center", va="bottom",
                  fontsize=7.5, color=PALETTE["muted"], zorder=3)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_resource(resource: str) -> str:
    if resource.startswith("arn:aws:s3:::"):
        return "s3://" + resource[len("arn:aws:s3:::"):]
    if resource.startswith("arn:"):
        return resource.split(":", 5)[-1]
    return resource


def _policy_lines(role: dict, width: int = 44) -> list[tuple[str, dict]]:
    lines: list[tuple[str, dict]] = []
    if not role["exists"]:
        return [("no such role: no badge at all", {"color": PALETTE["warning"], "fontweight": "bold"})]
    if not role["policies"]:
        return [("no policies: allows nothing", {"color": PALETTE["muted"], "style": "italic"})]
    for policy in role["policies"]:
        lines.append((_clip(policy["name"], width - 6), {"fontweight": "bold", "fontsize": 9}))
        lines.append((f"{policy['kind']} policy", {"fontsize": 8, "color": PALETTE["muted"], "style": "italic"}))
        for statement in policy["statements"][:2]:
            actions = ", ".join(statement["actions"][:2]) + (" …" if len(statement["actions"]) > 2 else "")
            resources = ", ".join(_short_resource(r) for r in statement["resources"][:1])
            lines.append((_clip(f"{statement['effect']} {actions} on {resources}", width),
                          {"fontsize": 8.5, "color": PALETTE["ink"]}))
    return lines


def _role_lines(role: dict, expected_service: str) -> list[tuple[str, dict]]:
    lines = [(_clip(role["name"], 26), {"fontweight": "bold"})]
    if not role["exists"]:
        lines.append(("does not exist", {"color": PALETTE["warning"], "fontweight": "bold"}))
    elif expected_service not in role["trusted_services"]:
        trusted = ", ".join(role["trusted_services"]) or "no service"
        lines.append((_clip(f"trusts {trusted}", 30), {"fontsize": 8.5, "color": PALETTE["warning"]}))
        lines.append((f"not {expected_service}!", {"fontsize": 8.5, "color": PALETTE["warning"],
                                                    "fontweight": "bold"}))
    else:
        lines.append((f"trusts {expected_service}", {"fontsize": 8.5, "color": PALETTE["muted"]}))
    return lines


# Columns of the layers picture: (left edge, width) in inches.
_COLUMNS = {"who": (0.35, 2.2), "delivery": (3.0, 2.2), "role": (5.65, 2.3), "policies": (8.4, 3.35)}
_HEADERS = {"who": "what runs", "delivery": "badge delivered by", "role": "role (the badge)",
            "policies": "role policies (what it allows)"}


def _row_height(*line_counts: int) -> float:
    return max(0.85, 0.22 * max(line_counts) + 0.4)


def draw_layers(aws: Any = None, cluster: Optional[str] = None, *, execution_roles: bool = True,
                data: Optional[dict] = None) -> Diagram:
    """The two layers of the live account as a figure: instances above, tasks below, each with its badge.

    ``data`` is what ``layers()`` returned, if you have it; otherwise the account is read now.
    """
    data = data if data is not None else layers(aws, cluster)
    roles = data["roles"]
    plan: list[tuple] = []  # (band, kind, item, height)
    for instance in data["instances"]:
        role = roles.get(instance["role"]) if instance["role"] else None
        height = _row_height(3, len(_policy_lines(role)) if role else 1)
        plan.append(("infrastructure", "instance", instance, height))
    for task in data["tasks"]:
        role = roles.get(task["task_role"]) if task["task_role"] else None
        plan.append(("application", "task", task, _row_height(3, len(_policy_lines(role)) if role else 1)))
        if execution_roles and task["execution_role"]:
            execution = roles[task["execution_role"]]
            plan.append(("application", "execution", task, _row_height(3, len(_policy_lines(execution)))))

    gap, band_title, band_pad, header = 0.25, 0.5, 0.2, 0.55
    bands = {"infrastructure": [p for p in plan if p[0] == "infrastructure"],
             "application": [p for p in plan if p[0] == "application"]}
    band_heights = {name: band_title + band_pad + (sum(p[3] for p in rows) + gap * (len(rows) - 1) if rows else 0.6)
                    for name, rows in bands.items()}
    height = round(header + sum(band_heights.values()) + 0.35 + 0.3, 2)
    figure, axes = _new_figure(height)

    for column, (x, w) in _COLUMNS.items():
        axes.text(x + w / 2, 0.32, _HEADERS[column], ha="center", va="center", fontsize=9, color=PALETTE["muted"],
                  style="italic")

    titles = {"infrastructure": "Infrastructure layer: the instance's own job (instance profile → instance role)",
              "application": "Application layer: each task's own badge (ECS → task role)"}
    y = header
    for name in ("infrastructure", "application"):
        colour = PALETTE[name]
        axes.add_patch(Rectangle((0.12, y), _WIDTH - 0.24, band_heights[name], facecolor=_BAND_TINT[name],
                                 edgecolor=colour, linewidth=1.2, zorder=0))
        axes.text(0.3, y + band_title / 2 + 0.04, titles[name], ha="left", va="center", fontsize=10.5,
                  fontweight="bold", color=colour)
        row_y = y + band_title
        if not bands[name]:
            axes.text(_WIDTH / 2, row_y + 0.25, "(none running)", ha="center", va="center", fontsize=9,
                      color=PALETTE["muted"], style="italic")
        for _, kind, item, row_height in bands[name]:
            _draw_row(axes, kind, item, roles, row_y, row_height, colour)
            row_y += row_height + gap
        y += band_heights[name] + 0.35
    return figure


def _draw_row(axes, kind: str, item: dict, roles: dict, y: float, h: float, colour: str) -> None:
    mid = y + h / 2
    boxes = {}
    for column, (x, w) in _COLUMNS.items():
        boxes[column] = (x, w)
    dashed = kind == "execution"
    if kind == "instance":
        who = [("EC2 instance", {"fontsize": 8.5, "color": PALETTE["muted"]}), (item["id"], {"fontweight": "bold"})]
        delivery = ([("instance profile", {"fontsize": 8.5, "color": PALETTE["muted"]}),
                     (_clip(item["instance_profile"], 24), {"fontweight": "bold"}),
                     ("via instance metadata", {"fontsize": 8.5, "color": PALETTE["muted"]})]
                    if item["instance_profile"] else
                    [("no instance profile", {"color": PALETTE["warning"], "fontweight": "bold"})])
        role = roles.get(item["role"]) if item["role"] else None
        service = "ec2.amazonaws.com"
    elif kind == "task":
        host = f"on {item['instance']}" if item["instance"] else "on Fargate"
        who = [("ECS task", {"fontsize": 8.5, "color": PALETTE["muted"]}),
               (_clip(f"{item['family']}:{item['revision']}", 24), {"fontweight": "bold"}),
               (host, {"fontsize": 8.5, "color": PALETTE["muted"]})]
        delivery = ([("ECS container endpoint", {"fontweight": "bold"}),
                     ("AWS_CONTAINER_CREDENTIALS_…", {"fontsize": 8, "color": PALETTE["muted"]})]
                    if item["task_role"] else
                    [("no task role", {"color": PALETTE["warning"], "fontweight": "bold"}),
                     ("no endpoint, no badge", {"fontsize": 8.5, "color": PALETTE["muted"]})])
        role = roles.get(item["task_role"]) if item["task_role"] else None
        service = "ecs-tasks.amazonaws.com"
    else:
        who = [("the ECS agent", {"fontsize": 8.5, "color": PALETTE["muted"]}),
               (_clip(f"for {item['family']}:{item['revision']}", 24), {"fontweight": "bold"})]
        delivery = [("execution role", {"fontweight": "bold"}),
                    ("image pulls and logs only", {"fontsize": 8.5, "color": PALETTE["muted"]})]
        role = roles.get(item["execution_role"])
        service = "ecs-tasks.amazonaws.com"

    x, w = boxes["who"]
    _box(axes, x, y, w, h, who, edge=colour, dashed=dashed)
    x, w = boxes["delivery"]
    missing_delivery = (kind == "instance" and not item["instance_profile"]) or (kind == "task" and not
                                                                                 item["task_role"])
    _box(axes, x, y, w, h, delivery, edge=PALETTE["warning"] if missing_delivery else colour, dashed=dashed,
         face="#FFFFFF")
    _arrow(axes, (boxes["who"][0] + boxes["who"][1], mid), (x, mid), colour, dashed=dashed)
    if role is None:
        return
    x, w = boxes["role"]
    problem = not role["exists"] or service not in role["trusted_services"]
    _box(axes, x, y, w, h, _role_lines(role, service), edge=PALETTE["warning"] if problem else colour,
         dashed=dashed, weight=2.4)
    _arrow(axes, (boxes["delivery"][0] + boxes["delivery"][1], mid), (x, mid), colour, dashed=dashed)
    x, w = boxes["policies"]
    _box(axes, x, y, w, h, _policy_lines(role), edge=PALETTE["muted"], face="#F7F7F7", dashed=dashed, weight=1.0)
    _arrow(axes, (boxes["role"][0] + boxes["role"][1], mid), (x, mid), PALETTE["muted"], dashed=dashed)


_KIND_COLOUR = {"Service": PALETTE["service"], "AWS": PALETTE["account"], "Federated": PALETTE["federated"]}
_KIND_WORD = {"Service": "service", "AWS": "AWS principal", "Federated": "federated"}


def _principal_label(principal: dict) -> str:
    identifier = principal["id"]
    if principal["kind"] == "AWS" and identifier.startswith("arn:"):
        identifier = identifier.split(":", 4)[-1].replace(":", " ", 1)
    return _clip(identifier, 34)


def draw_trust(aws: Any = None, *, data: Optional[dict] = None) -> Diagram:
    """Who may assume what, as a figure: principals on the left, roles on the right, an arrow for each trust."""
    data = data if data is not None else trust(aws)
    principals, roles = data["principals"], data["roles"]
    row, top = 0.62, 0.9
    rows = max(len(principals), len(roles), 1)
    height = round(top + rows * row + 0.4, 2)
    figure, axes = _new_figure(height)
    left, right, w, h = 0.6, 7.6, 3.8, 0.46
    axes.text(left + w / 2, 0.4, "may call sts:AssumeRole …", ha="center", va="center", fontsize=10,
              color=PALETTE["muted"], style="italic")
    axes.text(right + w / 2, 0.4, "… on this role (its trust policy says so)", ha="center", va="center",
              fontsize=10, color=PALETTE["muted"], style="italic")

    def centre(index: int, count: int) -> float:
        offset = (rows - count) * row / 2
        return top + offset + index * row + h / 2

    where = {}
    for n, principal in enumerate(principals):
        y = centre(n, len(principals))
        colour = _KIND_COLOUR.get(principal["kind"], PALETTE["muted"])
        _box(axes, left, y - h / 2, w, h, [(_principal_label(principal), {"fontweight": "bold"})], edge=colour,
             weight=2.0)
        axes.text(left - 0.1, y, _KIND_WORD.get(principal["kind"], principal["kind"]), ha="right", va="center",
                  fontsize=7.5, color=colour, rotation=0)
        where[(principal["kind"], principal["id"])] = y
    for n, (name, role) in enumerate(roles.items()):
        y = centre(n, len(roles))
        lonely = not role["trusted"]
        _box(axes, right, y - h / 2, w, h, [(_clip(name, 34), {"fontweight": "bold"})],
             edge=PALETTE["muted"] if lonely else PALETTE["ink"], weight=2.0, dashed=lonely)
        if lonely:
            axes.text(right + w + 0.1, y, "nobody", ha="left", va="center", fontsize=7.5, color=PALETTE["muted"])
        for trusted in role["trusted"]:
            start = where[(trusted["kind"], trusted["id"])]
            _arrow(axes, (left + w, start), (right, y), _KIND_COLOUR.get(trusted["kind"], PALETTE["muted"]),
                   dashed=trusted["conditions"])
    if not roles:
        axes.text(_WIDTH / 2, top + 0.3, "(no roles in the account)", ha="center", fontsize=9, color=PALETTE["muted"])
    axes.text(_WIDTH - 0.2, height - 0.15, "dashed arrow: only under a condition", ha="right", va="bottom",
              fontsize=7.5, color=PALETTE["muted"])
    return figure
