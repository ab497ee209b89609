"""CloudWatch Logs' operations as Logs authorises them: log groups and log streams by ARN.

The ARNs are the Service Authorization Reference's: ``arn:aws:logs:<region>:<account>:log-group:<name>`` and
``...:log-group:<name>:log-stream:<stream>``. ``DescribeLogGroups`` is authorised on every log group of the account
(``log-group:*``), which is how policies grant it.
"""

from __future__ import annotations

from . import Call, Rule, ServiceTable


def _group_arn(call: Call, name: str) -> str:
    return f"arn:{call.partition}:logs:{call.region}:{call.account}:log-group:{name}"


def _rules() -> dict:
    # DescribeLogGroups is authorised on every log group of the account (``log-group:*``), which is how policies
    # grant it; every other operation is as the reference says (``reference.py``).
    return {"DescribeLogGroups": Rule("logs:DescribeLogGroups", lambda call: [_group_arn(call, "*")])}


TABLE = ServiceTable(signing_name="logs", model_name="logs", prefix="logs", rules=_rules(),
                     denied_code="AccessDeniedException")
