"""The engine of The Gated Community: a mock AWS account that evaluates IAM, enforces it and hands out badges."""

__all__ = ["sandbox"]
