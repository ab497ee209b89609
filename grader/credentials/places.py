"""Where code runs: on an EC2 instance, in an ECS task, or nowhere in particular (a laptop).

One process plays every instance and task, so the sandbox keeps track of where a piece of code "runs": sessions
made by ``on_instance`` and ``in_task`` carry their place, and ``with inside(...):`` puts a reader's own code there.
Outside any place, nothing answers at the link-local addresses, as on a laptop.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

from grader import account
from grader.credentials.errors import UnknownTask

__all__ = ["Place", "here", "inside", "at", "task_arn_of"]

@dataclass(frozen=True)
class Place:
    """Where a piece of code runs: on an EC2 instance, or in an ECS task (``task_arn``; its instance, if any)."""

    instance_id: Optional[str] = None
    task_arn: Optional[str] = None


_place: contextvars.ContextVar[Optional[Place]] = contextvars.ContextVar("gated_community_place", default=None)


def here() -> Optional[Place]:
    return _place.get()


@contextlib.contextmanager
def inside(where: Union[str, Mapping, Place], *, sandbox: Any = None):
    """Run the block's code on an EC2 instance (an instance id) or in an ECS task (a task ARN or dict).

    Inside, ``http://169.254.169.254/`` is that instance's metadata service, as that code would reach it, and
    ``http://169.254.170.2`` is the ECS agent's credential endpoint.
    """
    place = where if isinstance(where, Place) else (sandbox or account.current()).place_of(where)
    token = _place.set(place)
    try:
        yield
    finally:
        _place.reset(token)


def at(place: Optional[Place], function: Callable) -> Callable:
    def run(*args: Any, **kwargs: Any):
        token = _place.set(place)
        try:
            return function(*args, **kwargs)
        finally:
            _place.reset(token)

    return run

def task_arn_of(task: Union[str, Mapping]) -> str:
    """The ARN a learner means by a task: an ARN or id as given, or the task of what run_task, start_task or
    describe_tasks returned."""
    if isinstance(task, Mapping):
        if "taskArn" in task:
            return task["taskArn"]
        if "tasks" in task and task["tasks"]:
            return task["tasks"][0]["taskArn"]
        raise UnknownTask(f"Pass a task ARN or a task as ECS describes it (with 'taskArn'), not {dict(task)!r}.")
    return str(task)
