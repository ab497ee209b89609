"""Why a badge could not be handed out: the credentials package's errors, for people."""

from __future__ import annotations

from typing import Any

from grader.errors import GatedCommunityError

__all__ = ["CredentialsError", "RoleNotFound", "RoleNotTrusted", "UnknownTask", "NoTaskRole",
           "InstanceMetadataBlocked"]


class CredentialsError(GatedCommunityError):
    """A badge could not be handed out."""


class RoleNotFound(CredentialsError):
    pass


class RoleNotTrusted(CredentialsError):
    """The role's trust policy does not let the service assume it. ``decision`` is the policy engine's answer."""

    def __init__(self, message: str, decision: Any = None):
        super().__init__(message)
        self.decision = decision


class UnknownTask(CredentialsError):
    pass


class NoTaskRole(CredentialsError):
    pass


class InstanceMetadataBlocked(CredentialsError):
    pass
