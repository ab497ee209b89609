"""The account as the service tables may read it: names to ARNs, trust policies, bucket and repository policies."""

from __future__ import annotations

from typing import Any, Optional

from grader.aws import state as aws
from grader.gatehouse.identity import tags_of
from grader.gatehouse.services import Call

__all__ = ["AccountView"]

class AccountView:
    """Read-only questions the service tables ask about the account (names to ARNs, trust policies, buckets)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    @property
    def iam(self):
        return aws.iam(self.account)

    def role(self, name_or_arn: str) -> Any:
        if not name_or_arn:
            return None
        if name_or_arn.startswith("arn:"):
            return aws.role_by_arn(self.account, name_or_arn)
        for role in self.iam.roles.values():
            if role.name == name_or_arn:
                return role
        return None

    def role_arn(self, name: str, path: Optional[str] = None) -> str:
        role = self.role(name) if name != "*" else None
        if role is not None:
            return role.arn
        return f"arn:aws:iam::{self.account}:role{path or '/'}{name}"

    def role_resource_tags(self, name: Optional[str]) -> dict:
        role = self.role(name) if name else None
        return {f"aws:ResourceTag/{k}": v for k, v in tags_of(role.tags).items()} if role is not None else {}

    def user_arn(self, name: str, path: Optional[str] = None) -> str:
        user = self.iam.users.get(name)
        if user is not None:
            return user.arn
        return f"arn:aws:iam::{self.account}:user{path or '/'}{name}"

    def _instance_profile(self, reference: str) -> Any:
        for profile in self.iam.instance_profiles.values():
            if reference in (profile.name, profile.arn):
                return profile
        return None

    def instance_profile_arn(self, name: str, path: Optional[str] = None) -> str:
        profile = self._instance_profile(name)
        if profile is not None:
            return profile.arn
        return f"arn:aws:iam::{self.account}:instance-profile{path or '/'}{name}"

    def instance_profile_arn_of(self, reference: Optional[str]) -> Optional[str]:
        if not reference:
            return None
        profile = self._instance_profile(reference)
        if profile is not None:
            return profile.arn
        return reference if reference.startswith("arn:") else self.instance_profile_arn(reference)

    def instance_profile_role_arns(self, reference: str) -> list:
        profile = self._instance_profile(reference)
        return [role.arn for role in profile.roles] if profile is not None else []

    def managed_policy_document(self, arn: str) -> Optional[str]:
        policy = self.iam.managed_policies.get(arn)
        return aws.managed_document(policy) if policy is not None else None

    def bucket_policy(self, bucket: str) -> Optional[str]:
        found = aws.s3(self.account).buckets.get(bucket)
        policy = getattr(found, "policy", None)
        return policy.decode("utf-8") if isinstance(policy, bytes) else policy

    def instance_of_association(self, association_id: str) -> Optional[str]:
        association = aws.ec2(self.account, self.region).iam_instance_profile_associations.get(association_id)
        return association.instance_id if association is not None else None

    def _task_definition(self, reference: str, call: Call) -> Any:
        try:
            return aws.task_definition(self.account, call.region, reference)
        except Exception:  # not registered (yet): the ARN is built from the reference instead
            return None

    def task_definition_arn(self, reference: str, call: Call) -> str:
        if reference.startswith("arn:"):
            return reference
        definition = self._task_definition(reference, call) if reference != "*" else None
        if definition is not None:
            return definition.arn
        family = reference if ":" in reference else f"{reference}:*"
        return f"arn:aws:ecs:{call.region}:{self.account}:task-definition/{family}"

    def task_definition_roles(self, reference: str, call: Call) -> list:
        definition = self._task_definition(reference, call) if reference else None
        if definition is None:
            return []
        return [getattr(definition, "task_role_arn", None), getattr(definition, "execution_role_arn", None)]

    def repository_policy(self, name: str, call: Call) -> Optional[str]:
        repository = aws.ecr(self.account, call.region).repositories.get(name)
        return getattr(repository, "policy", None)