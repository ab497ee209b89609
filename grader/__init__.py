"""The engine of The Gated Community: a mock AWS account that evaluates IAM, enforces it and hands out badges."""

from grader import sandbox
from grader import gatehouse  # every sandbox started from here on has the gatehouse at its door
from grader.gatehouse import why

__all__ = ["sandbox", "gatehouse", "why"]
