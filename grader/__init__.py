"""The engine of The Gated Community: a mock AWS account that evaluates IAM, enforces it and hands out badges.

Submodules load on first use: ``import grader.policy`` stays free of moto and boto3, while
``from grader import sandbox`` (and ``sandbox.start()``) brings up the whole engine.
"""

import importlib
import sys

_EXPORTS = {
    "why": ("grader.gatehouse", "why"),
    "on_instance": ("grader.credentials", "on_instance"),
    "in_task": ("grader.credentials", "in_task"),
    "ecs_agent": ("grader.ecs", "ecs_agent"),
}
_SERVED = {"why", "on_instance", "in_task", "ecs_agent"}
_SUBMODULES = {"sandbox", "gatehouse", "instances", "credentials", "ecs", "policy", "errors"}

__all__ = sorted(_SUBMODULES | set(_EXPORTS))


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        running = getattr(sys.modules.get("grader.sandbox"), "_current", None)
        if name in _SERVED and getattr(running, "served", False):
            module = "grader.served"  # under the grader, the account and its endpoints are the worker's
        return getattr(importlib.import_module(module), attribute)
    if name in _SUBMODULES:
        return importlib.import_module(f"grader.{name}")
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
