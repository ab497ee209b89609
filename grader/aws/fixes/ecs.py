"""Where moto's ECS differs from AWS's, corrected, so that ECS on EC2 holds still for a chapter.

* moto moves a task one state further (towards STOPPED) every time it is described; while the sandbox runs a task
  stays in the state the agent last reported (``hold_task_states``, which the local home calls at start);
* moto does not implement the agent's SubmitTaskStateChange / SubmitContainerStateChange: they are added to its
  ECS handler (acknowledging, and recording the task's reported status);
* a task whose role ECS cannot assume never starts (RunTask, StartTask: ``ClientException``), and a service's events
  say why none of its tasks starts. Whether ECS may assume the role is IAM's decision: the running account's
  ``task_role_refusal`` hook answers it.
"""

from __future__ import annotations

from typing import Any, Optional

from grader import account
from grader.aws import patches

_STABLE = {"progression": "manual", "times": 2 ** 62}


def _submit_task_state_change(self) -> Any:
    from moto.core.responses import ActionResult

    task_ref, status = self._get_param("task"), self._get_param("status")
    if task_ref and status:
        for tasks in self.ecs_backend.tasks.values():
            for arn, task in tasks.items():
                if arn == task_ref or arn.split("/")[-1] == task_ref:
                    task.last_status = status
    return ActionResult({"acknowledgment": "ACK"})


def _submit_container_state_change(self) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult({"acknowledgment": "ACK"})


def hold_task_states(sandbox: Any) -> None:
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition=_STABLE)
    if _release_task_states not in sandbox.on_stop:
        sandbox.on_stop.append(_release_task_states)


def _release_task_states(sandbox: Any) -> None:
    from moto.moto_api import state_manager

    if state_manager.get_transition("ecs::task") is _STABLE:
        state_manager.unset_transition("ecs::task")


def _refuse_unassumable_roles(original):
    """Wrap moto's RunTask / StartTask so that a task whose role ECS cannot assume never starts, as on AWS."""

    def launch(self, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any):
        from moto.ecs.exceptions import EcsClientException

        box = account.running()
        refusal = getattr(box, "task_role_refusal", None)
        if refusal is None or not box.running:
            return original(self, cluster_str, task_definition_str, *args, **kwargs)
        overrides = kwargs.get("overrides")
        if overrides is None:  # both operations take overrides as their fourth argument
            overrides = args[1] if len(args) > 1 else None
        # The task's ARN, which ECS shows the trust policy as aws:SourceArn, exists only once moto has made the
        # task; a refused launch takes its tasks back, and the ids drawn for them, so it leaves no trace.
        from moto.moto_api._internal import mock_random

        drawn = mock_random.getstate()
        tasks = original(self, cluster_str, task_definition_str, *args, **kwargs)
        for task in tasks:
            refused = refusal(task_definition_str, overrides, task.task_arn)
            if refused is not None:
                _take_back(self, tasks)
                mock_random.setstate(drawn)
                raise EcsClientException(refused)
        return tasks

    launch.__wrapped__ = original
    return launch


def _take_back(backend: Any, tasks: list) -> None:
    """Undo a launch moto has made: the tasks leave their cluster and give back their instance's resources."""
    for task in tasks:
        cluster = task.cluster_name
        backend.tasks.get(cluster, {}).pop(task.task_arn, None)
        instance_arn = getattr(task, "container_instance_arn", None)
        instance = backend.container_instances.get(cluster, {}).get((instance_arn or "").split("/")[-1])
        if instance is not None:
            backend.update_container_instance_resources(instance, task.resource_requirements, removing=True)


def _record_unlaunchable_service(original):
    """Wrap moto's CreateService: a service whose task role ECS cannot assume is created, and its events say why
    none of its tasks starts, in ECS's words ("service <name> failed to launch a task with (error ...)")."""

    def create_service(self, cluster_str: str, service_name: str, desired_count: int,
                       task_definition_str: Optional[str] = None, *args: Any, **kwargs: Any):
        service = original(self, cluster_str, service_name, desired_count, task_definition_str, *args, **kwargs)
        box = account.running()
        refusal = getattr(box, "task_role_refusal", None)
        if refusal is not None and box.running and task_definition_str and desired_count:
            # The task the service would start: an ARN in the service's cluster, its id made from the service's
            # name rather than drawn, so that the seeded ids the book prints stay where they were.
            import uuid

            task_arn = (f"arn:aws:ecs:{box.region}:{box.account_id}:task/{cluster_str.split('/')[-1]}/"
                        f"{uuid.uuid5(uuid.NAMESPACE_URL, service_name).hex}")
            refused = refusal(task_definition_str, None, task_arn)
            if refused is not None:
                from moto.moto_api._internal import mock_random

                service.events.insert(0, {
                    "id": str(mock_random.uuid4()), "createdAt": box.clock.now(),
                    "message": (f"service {service_name} failed to launch a task with "
                                f"(error {refused})."),
                })
        return service

    create_service.__wrapped__ = original
    return create_service


patches.register_all((
    ("moto.ecs.models:EC2ContainerServiceBackend", "create_service", _record_unlaunchable_service,
     "a service whose task role ECS cannot assume records the failed launch in its events"),
    ("moto.ecs.models:EC2ContainerServiceBackend", "run_task", _refuse_unassumable_roles,
     "RunTask fails with ClientException when ECS cannot assume the task's role"),
    ("moto.ecs.models:EC2ContainerServiceBackend", "start_task", _refuse_unassumable_roles,
     "StartTask fails with ClientException when ECS cannot assume the task's role"),
    ("moto.ecs.responses:EC2ContainerServiceResponse", "submit_task_state_change",
     lambda absent: _submit_task_state_change, "the ECS agent reports a task's state; moto lacks the operation"),
    ("moto.ecs.responses:EC2ContainerServiceResponse", "submit_container_state_change",
     lambda absent: _submit_container_state_change, "the ECS agent reports a container's state; moto lacks it"),
))
