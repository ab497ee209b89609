"""IAM's last accessed information: which services an entity's policies allow, and when it last tried each.

IAM User Guide, *Refining permissions in AWS using last accessed information*: the report lists the services the
entity's policies allow, and for each one the entity tried to use (allowed or refused: every attempt counts), when
it last did and which entity it was. The gatehouse saw every attempt, so its decision log is the record; the
report is what ``iam:GenerateServiceLastAccessedDetails`` hands back (``grader.aws.fixes.iam`` answers the call).
"""

from __future__ import annotations

from typing import Any

from grader.aws import state as aws
from grader.aws.fixes.iam import documents_of, grants_service
from grader.gatehouse.log import state
from grader.gatehouse.services import reference as _reference

__all__ = ["report"]


def _callers(account: str, arn: str) -> dict:
    """Who counts as the entity in the log: {caller ARN or session prefix: the entity's ARN AWS names}."""
    kind, _, path = arn.split(":", 5)[-1].partition("/")
    name = path.rsplit("/", 1)[-1]
    iam = aws.iam(account)
    if kind == "role":
        return {f"arn:aws:sts::{account}:assumed-role/{name}/": arn}
    if kind == "user":
        return {arn: arn}
    group = next((g for g in iam.groups.values() if g.name == name), None)
    return {user.arn: user.arn for user in (group.users if group is not None else [])}


def report(sandbox: Any, arn: str) -> list:
    """ServicesLastAccessed for ``arn`` (a user, group or role), on the sandbox clock."""
    account = sandbox.account_id
    documents = documents_of(aws.iam(account), arn)
    callers = _callers(account, arn)
    last: dict = {}
    for entry in list(state(sandbox).log):
        if entry.at is None:
            continue
        entity = next((who for caller, who in callers.items()
                       if entry.caller == caller or (caller.endswith("/") and entry.caller.startswith(caller))), None)
        if entity is None:
            continue
        seen = last.setdefault(entry.service, {})
        if seen.get("LastAuthenticated") is None or entry.at >= seen["LastAuthenticated"]:
            seen.update({"LastAuthenticated": entry.at, "LastAuthenticatedEntity": entity})
        seen.setdefault("entities", set()).add(entity)
    services = []
    for namespace, name in sorted(_reference._load("serviceNames.json").items()):
        if not any(grants_service(document, namespace) for document in documents):
            continue
        line = {"ServiceName": name, "ServiceNamespace": namespace}
        seen = last.get(namespace)
        if seen:
            line.update({"LastAuthenticated": seen["LastAuthenticated"],
                         "LastAuthenticatedEntity": seen["LastAuthenticatedEntity"],
                         "LastAuthenticatedRegion": sandbox.region})
        line["TotalAuthenticatedEntities"] = len(seen["entities"]) if seen else 0
        services.append(line)
    return services
