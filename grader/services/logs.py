"""CloudWatch Logs' operations as Logs authorises them: log groups and log streams by ARN.

The ARNs are the Service Authorization Reference's: ``arn:aws:logs:<region>:<account>:log-group:<name>`` and
``...:log-group:<name>:log-stream:<stream>``. ``DescribeLogGroups`` is authorised on every log group of the account
(``log-group:*``), which is how policies grant it.
"""

from __future__ import annotations

from . import Call, Rule, ServiceTable


def _group_arn(call: Call, name: str) -> str:
    return f"arn:{call.partition}:logs:{call.region}:{call.account}:log-group:{name}"


def _group(call: Call) -> list:
    return [_group_arn(call, call.param("logGroupName", "*"))]


def _stream(call: Call) -> list:
    return [f"{_group_arn(call, call.param('logGroupName', '*'))}:log-stream:{call.param('logStreamName', '*')}"]


def _rules() -> dict:
    rules = {}

    def add(operations, resources):
        for operation in operations.split():
            rules[operation] = Rule(f"logs:{operation}", resources)

    add("CreateLogGroup DeleteLogGroup DescribeLogStreams PutRetentionPolicy DeleteRetentionPolicy "
        "FilterLogEvents TagLogGroup ListTagsLogGroup", _group)
    # Stream actions are authorised on the stream, so the usual grant "log-group:<name>:*" covers them.
    add("CreateLogStream PutLogEvents GetLogEvents DeleteLogStream", _stream)
    add("DescribeLogGroups", lambda call: [_group_arn(call, "*")])
    return rules


TABLE = ServiceTable(signing_name="logs", model_name="logs", prefix="logs", rules=_rules(),
                     denied_code="AccessDeniedException")
