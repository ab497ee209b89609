"""ECS on EC2 in the sandbox: an ECS agent that joins a cluster with the instance's own badge and starts tasks.

On AWS, an EC2 instance joins an ECS cluster because the ECS agent running on it calls
``ecs:RegisterContainerInstance`` with the *instance role's* credentials, which it finds in the instance metadata
like any other program on the instance. That is why the instance role needs ``AmazonEC2ContainerServiceforEC2Role``
(or the same permissions), and why the tasks the agent starts need roles of their own: the task role, served to
the task's containers on their credentials endpoint, and the execution role, which the agent alone uses to pull
images and send logs. ``ecs_agent(sandbox, instance_id, cluster)`` plays that agent:

* ``register()`` reads the identity document from the instance metadata and registers the instance, through an
  ``on_instance`` session, so the gatehouse judges the call as the instance role's;
* ``start_task(task_definition)`` asks ECS (as the cluster's scheduler, the administrator) to start a task on this
  container instance, gives the task its credentials endpoint and reports it running;
* ``report()`` is the agent's heartbeat: DiscoverPollEndpoint and the state of its tasks;
* ``pull_images(task)`` / ``send_logs(task, ...)`` use the execution role's session, never the application's.

Two corrections to moto make this hold still for a chapter (``grader.aws.fixes.ecs``): a task stays in the state
the agent last reported, and the agent's SubmitTaskStateChange / SubmitContainerStateChange are answered.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Union

import boto3

from grader.aws import state as aws
from grader.credentials.places import task_arn_of
from grader.credentials.sessions import (admin_client, block_awsvpc_task_metadata_access, block_task_metadata_access,
                                         execution_role_session, metadata_service, on_instance, task_registration)
from grader.errors import GatedCommunityError

__all__ = ["ecs_agent", "EcsAgent", "AgentNotRegistered"]

AGENT_VERSION_INFO = {"agentVersion": "1.82.0", "agentHash": "ef0a53d6", "dockerVersion": "DockerVersion: 20.10.25"}


class AgentNotRegistered(GatedCommunityError):
    pass


class EcsAgent:
    """The ECS agent on one EC2 instance, for one cluster."""

    def __init__(self, sandbox: Any, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
                 awsvpc_block_imds: bool = False):
        self.sandbox = sandbox
        self.instance_id = instance_id
        self.cluster = cluster
        self.container_instance_arn: Optional[str] = None
        self.block_task_metadata_access = block_task_metadata_access
        self.awsvpc_block_imds = awsvpc_block_imds
        self._session: Optional[boto3.Session] = None
        self._clients: dict[str, Any] = {}

    @property
    def block_task_metadata_access(self) -> bool:
        """Whether the instance drops its bridge-mode containers' traffic to the instance metadata (iptables).

        Off by default, as on AWS: a container reaches the instance role unless the instance is set up to stop it.
        """
        return metadata_service(self.sandbox).blocks_task_metadata_access(self.instance_id)

    @block_task_metadata_access.setter
    def block_task_metadata_access(self, blocked: bool) -> None:
        block_task_metadata_access(self.instance_id, blocked, sandbox=self.sandbox)

    @property
    def awsvpc_block_imds(self) -> bool:
        """``ECS_AWSVPC_BLOCK_IMDS`` in the agent's configuration: awsvpc-mode tasks kept from the instance metadata."""
        return metadata_service(self.sandbox).blocks_awsvpc_task_metadata_access(self.instance_id)

    @awsvpc_block_imds.setter
    def awsvpc_block_imds(self, blocked: bool) -> None:
        block_awsvpc_task_metadata_access(self.instance_id, blocked, sandbox=self.sandbox)

    @property
    def session(self) -> boto3.Session:
        """The agent's session: the instance role's credentials, from the instance metadata (renewed by botocore)."""
        if self._session is None:
            self._session = on_instance(self.instance_id, sandbox=self.sandbox)
        return self._session

    def _ecs(self):
        if "ecs" not in self._clients:
            self._clients["ecs"] = self.session.client("ecs")
        return self._clients["ecs"]

    def _scheduler(self):
        if "scheduler" not in self._clients:
            self._clients["scheduler"] = admin_client("ecs", sandbox=self.sandbox)
        return self._clients["scheduler"]

    def _require_registered(self) -> str:
        if self.container_instance_arn is None:
            raise AgentNotRegistered(
                f"The ECS agent on {self.instance_id} has not joined cluster {self.cluster!r} yet: call "
                "agent.register() first (it needs the instance role to allow ecs:RegisterContainerInstance)."
            )
        return self.container_instance_arn

    def identity(self) -> tuple[str, str]:
        """The instance identity document and its signature, read from the instance metadata as the agent does."""
        service = metadata_service(self.sandbox)
        instance = aws.find_instance(self.sandbox, self.instance_id)
        return json.dumps(service.identity_document(instance), indent=2), service.identity_signature(instance)

    def register(self, *, cpu: int = 2048, memory: int = 3904) -> dict:
        """Join the cluster (ecs:RegisterContainerInstance with the instance role's credentials)."""
        document, signature = self.identity()
        answer = self._ecs().register_container_instance(
            cluster=self.cluster,
            instanceIdentityDocument=document,
            instanceIdentityDocumentSignature=signature,
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]},
                {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
            ],
            versionInfo=AGENT_VERSION_INFO,
        )
        self.container_instance_arn = answer["containerInstance"]["containerInstanceArn"]
        return answer["containerInstance"]

    def report(self) -> dict:
        """The agent's heartbeat: where to poll, and the state of each task it runs, sent as the instance role."""
        arn = self._require_registered()
        ecs = self._ecs()
        poll = ecs.discover_poll_endpoint(containerInstance=arn, cluster=self.cluster)
        reported = []
        for task in self._tasks():
            ecs.submit_task_state_change(cluster=self.cluster, task=task.task_arn, status=task.last_status)
            reported.append(task.task_arn)
        return {"endpoint": poll.get("endpoint"), "telemetryEndpoint": poll.get("telemetryEndpoint"),
                "tasks": reported}

    def _tasks(self) -> list:
        return aws.tasks_of_container_instance(self.sandbox.account_id, self.sandbox.region,
                                               self.container_instance_arn)

    def start_task(self, task_definition: str, *, overrides: Optional[dict] = None,
                   started_by: str = "gated-community") -> dict:
        """Start a task here (ecs:StartTask, as the cluster's scheduler), give it its endpoint and report it running."""
        arn = self._require_registered()
        kwargs = {"cluster": self.cluster, "taskDefinition": task_definition, "containerInstances": [arn],
                  "startedBy": started_by}
        if overrides:
            kwargs["overrides"] = overrides
        answer = self._scheduler().start_task(**kwargs)
        if answer.get("failures") or not answer.get("tasks"):
            raise GatedCommunityError(f"ECS did not start the task: {answer.get('failures')}")
        task = answer["tasks"][0]
        task_registration(task["taskArn"], sandbox=self.sandbox)
        self._ecs().submit_task_state_change(cluster=self.cluster, task=task["taskArn"], status="RUNNING")
        return task

    def stop_task(self, task: Union[str, Mapping], reason: str = "Stopped by the ECS agent") -> dict:
        """Stop a task (as the scheduler); its credentials endpoint stops answering, as the agent's does."""
        return self._scheduler().stop_task(cluster=self.cluster, task=task_arn_of(task), reason=reason)["task"]

    def pull_images(self, task: Union[str, Mapping]) -> dict:
        """What the agent does before starting containers from ECR: ecr:GetAuthorizationToken as the execution role."""
        return execution_role_session(task_arn_of(task), sandbox=self.sandbox).client("ecr").get_authorization_token()

    def send_logs(self, task: Union[str, Mapping], log_group: str, messages: list[str],
                  *, stream_prefix: str = "app") -> str:
        """Deliver container output to CloudWatch Logs as the awslogs driver does: as the execution role."""
        registration = task_registration(task_arn_of(task), sandbox=self.sandbox)
        logs = execution_role_session(registration.task_arn, sandbox=self.sandbox).client("logs")
        stream = f"{stream_prefix}/{registration.task_id}"
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        now = int(self.sandbox.clock.now().timestamp() * 1000)
        logs.put_log_events(logGroupName=log_group, logStreamName=stream,
                            logEvents=[{"timestamp": now, "message": m} for m in messages])
        return stream


def ecs_agent(sandbox: Any, instance_id: str, cluster: str, *, block_task_metadata_access: bool = False,
              awsvpc_block_imds: bool = False) -> EcsAgent:
    """The ECS agent on ``instance_id`` for ``cluster``; ``agent.register()`` makes the instance join."""
    return EcsAgent(sandbox, instance_id, cluster, block_task_metadata_access=block_task_metadata_access,
                    awsvpc_block_imds=awsvpc_block_imds)