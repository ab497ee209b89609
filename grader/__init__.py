"""The engine of The Gated Community: a mock AWS account that evaluates IAM, enforces it and hands out badges.

Submodules load on first use: ``import grader.policy`` stays free of moto and boto3, while
``from grader import sandbox`` (and ``sandbox.start()``) brings up the whole engine.

The book's helpers here ask the running account (``grader.account``) and work the same wherever it lives: in this
process, or in the grading worker that serves it to a graded kernel.
"""

import importlib

_SUBMODULES = {"sandbox", "gatehouse", "credentials", "policy", "errors", "account"}
_HELPERS = {"why", "decide", "on_instance", "in_task", "ecs_agent"}

__all__ = sorted(_SUBMODULES | _HELPERS)


def on_instance(instance_id, *, sandbox=None):
    """A boto3 session for code on the EC2 instance: its credentials come from the instance metadata."""
    from grader import account

    return (sandbox or account.current()).on_instance(instance_id)


def in_task(task, *, sandbox=None):
    """A boto3 session for code in the ECS task: the container endpoint first, then the instance metadata."""
    from grader import account

    return (sandbox or account.current()).in_task(task)


def ecs_agent(sandbox, instance_id, cluster, *, block_task_metadata_access=False, awsvpc_block_imds=False):
    """The ECS agent on ``instance_id`` for ``cluster``; ``agent.register()`` makes the instance join."""
    return sandbox.ecs_agent(instance_id, cluster, block_task_metadata_access=block_task_metadata_access,
                             awsvpc_block_imds=awsvpc_block_imds)


def __getattr__(name: str):
    if name in ("why", "decide"):  # the gatehouse's own, which ask the running account
        return getattr(importlib.import_module("grader.gatehouse"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"grader.{name}")
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
