"""The engine of The Gated Community: a mock AWS account that evaluates IAM, enforces it and hands out badges."""

from grader import sandbox
from grader import gatehouse  # every sandbox started from here on has the gatehouse at its door
from grader.gatehouse import why
from grader import instances  # describe_instances shows instance profiles as EC2 does
from grader import credentials  # badges: the instance metadata service and the ECS container endpoint
from grader import ecs  # the ECS agent; tasks hold still between describes
from grader.credentials import in_task, on_instance
from grader.ecs import ecs_agent

__all__ = ["sandbox", "gatehouse", "why", "instances", "credentials", "ecs", "on_instance", "in_task", "ecs_agent"]
