"""The local home: the account's engine runs in this process (Jupyter, Binder, the in-browser edition).

``LocalAccount`` is the engine's ``Sandbox`` (``grader.aws.sandbox``: moto, sealed off from the real AWS) with the
layers above put at its door when it starts: the gatehouse judges every call, the metadata service hands out
badges, the ECS corrections hold tasks still. This module is where they are wired together, in one place: the
layers below never import the ones above, so what moto needs of them (the gate, IAM's simulator, whether ECS may
assume a task's role) it finds on the running account, as hooks set here.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from grader import account
from grader.aws import browser, front_door
from grader.aws import sandbox as engine
from grader.aws.fixes.ecs import hold_task_states
from grader.aws.names import DEFAULT_SEED
from grader.credentials import ecs_agent as _ecs_agent, metadata as _metadata, mint as _mint, sessions as _sessions
from grader.errors import show_errors_plainly
from grader import gatehouse
from grader.gatehouse import explaining as _why, last_accessed as _last_accessed, rule as _rule
from grader.gatehouse import simulator as _simulator
from grader.gatehouse.answers import describe_missing_model, not_run_message

__all__ = ["LocalAccount", "start", "prepare", "chosen"]


class LocalAccount(engine.Sandbox):
    """A running mock account in this process. Get one from ``sandbox.start()``; there is at most one per process."""

    def _open(self) -> None:
        super()._open()
        self.simulator = _simulator.answer
        self.not_run = not_run_message
        self.service_last_accessed = lambda arn: _last_accessed.report(self, arn)
        self.task_role_refusal = lambda definition, overrides, task_arn=None: _mint.task_role_refusal(
            self, definition, overrides, task_arn)
        gatehouse.install(self)
        hold_task_states(self)

    # -- IAM's decisions -----------------------------------------------------------------------------------------

    def why(self, error: Any = None) -> _why.Explanation:
        return _why.explain(self, error)

    def decide(self, principal: Any, action: str, resource: str = "*", context: Optional[dict] = None):
        return _rule.decide(self, principal, action, resource, context)

    # -- badges: where code runs ---------------------------------------------------------------------------------

    def on_instance(self, instance_id: str):
        return _sessions.on_instance(instance_id, sandbox=self)

    def in_task(self, task: Union[str, Mapping]):
        return _sessions.in_task(task, sandbox=self)

    def place_of(self, where: Any):
        return _sessions.place_of(where, sandbox=self)

    def link_local(self) -> _metadata.MetadataService:
        return _metadata.service_of(self)

    def metadata_service(self) -> _metadata.MetadataService:
        return _metadata.service_of(self)

    def ecs_agent(self, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
                  awsvpc_block_imds: bool = False) -> _ecs_agent.EcsAgent:
        return _ecs_agent.ecs_agent(self, instance_id, cluster, block_task_metadata_access=block_task_metadata_access,
                                    awsvpc_block_imds=awsvpc_block_imds)


def chosen() -> bool:
    return True


def prepare() -> None:
    """Refuse every AWS call of this process while no account runs (the front door), from the first import on."""
    front_door.install()


def start(seed: int = DEFAULT_SEED) -> LocalAccount:
    """Start the account (or, if one runs with this seed, reset it to a fresh state) and return it."""
    browser.describe_missing_service = describe_missing_model
    show_errors_plainly()  # on a reset too: the shell may be new since the account started (a test's, say)
    with engine.lock:
        front_door.install()
        running = account.running()
        if isinstance(running, LocalAccount) and running.seed == seed and running.running:
            return running.reset()
        if running is not None:
            running.stop()
        box = LocalAccount(seed=seed)
        box._open()
        account.enter(box)
    return box
