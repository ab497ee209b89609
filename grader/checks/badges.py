"""Checks for 03-badges: a role in its instance profile, an instance wearing it, and a task role for a task.

The instance part makes a real call: code on the instance asks STS who it is, with the credentials botocore finds
in the instance metadata. If the badge is right, the answer is the role's assumed-role session.
"""

from __future__ import annotations

from grader.checks import Missing, part
from grader.checks._account import (
    caller_on_instance, instance_profile, instances_with_profile, may_assume, role, role_arn, role_may,
    task_definition,
)

A = "03-badges"


@part("badges-1", A, "The delivery van's badge holder (a role in an instance profile)", 2,
      "An instance wears a role through an instance profile: iam.create_instance_profile(InstanceProfileName=...), "
      "then iam.add_role_to_instance_profile(InstanceProfileName=..., RoleName=...). The role must trust "
      "ec2.amazonaws.com.", defaults=("DeliveryVanProfile", "DeliveryVanRole"))
def instance_profile_holds_role(m, profile_name="DeliveryVanProfile", role_name="DeliveryVanRole"):
    role(role_name)
    profile = instance_profile(profile_name)
    names = [r["RoleName"] for r in profile.get("Roles", [])]
    first = m.aspect(1, role_name in names, f"the instance profile {profile_name} holds {role_name}",
                     f"the instance profile {profile_name} holds {names or 'no role'}: add {role_name} to it "
                     "(the profile is the badge holder; the role is the badge)")
    m.aspect(1, may_assume("ec2.amazonaws.com", role_name).allowed, f"{role_name} trusts ec2.amazonaws.com",
             f"{role_name} does not trust ec2.amazonaws.com, so an instance holding the profile gets no credentials",
             hidden=True, needs=first, about="who may assume the role in the profile")


@part("badges-2", A, "A van on the road wearing its badge (an instance with the profile)", 2,
      "ec2.run_instances(..., IamInstanceProfile={'Name': 'DeliveryVanProfile'}); then code on the instance "
      "(grader.on_instance(instance_id)) gets the role's credentials from the instance metadata.",
      defaults=("DeliveryVanProfile", "DeliveryVanRole"))
def instance_wears_badge(m, profile_name="DeliveryVanProfile", role_name="DeliveryVanRole"):
    instances = instances_with_profile(profile_name)
    if not instances:
        raise Missing(f"No running instance has the instance profile {profile_name}: launch one with "
                      f"ec2.run_instances(..., IamInstanceProfile={{'Name': {profile_name!r}}}).")
    m.aspect(1, True, f"instance {instances[0]} runs with the instance profile {profile_name}", "")
    arn = caller_on_instance(instances[0])
    m.aspect(1, f":assumed-role/{role_name}/" in arn,
             f"code on {instances[0]} is {arn}: it wears {role_name}",
             f"code on {instances[0]} asked STS who it is and got: {arn}", hidden=True,
             about="who code on the instance is, by its credentials")


@part("badges-3", A, "The parcel scanner's own badge (a task role)", 2,
      "Create ParcelScannerTaskRole trusting ecs-tasks.amazonaws.com, allow it s3:GetObject on "
      "arn:aws:s3:::parcels/*, and register the task definition with taskRoleArn set to the role's ARN.",
      defaults=("parcel-scanner", "ParcelScannerTaskRole"))
def task_role(m, family="parcel-scanner", role_name="ParcelScannerTaskRole"):
    definition = task_definition(family)
    named = definition.get("taskRoleArn", "")
    first = m.aspect(1, named == role_arn(role_name), f"the task definition {family} names {role_name} as its task role",
                     f"the task definition {family} has taskRoleArn {named or '(none)'}: the task's badge is "
                     f"taskRoleArn={role_arn(role_name)!r}" + (" (executionRoleArn is the agent's badge, not the "
                                                               "application's)" if definition.get(
                         "executionRoleArn", "").endswith("/" + role_name) else ""))
    role(role_name)
    trusted = may_assume("ecs-tasks.amazonaws.com", role_name).allowed
    reads = role_may(role_name, "s3:GetObject", "arn:aws:s3:::parcels/porch/box-1.txt").allowed
    m.aspect(1, trusted and reads, f"{role_name} trusts ecs-tasks.amazonaws.com and may read parcels",
             f"{role_name} " + ("does not trust ecs-tasks.amazonaws.com, so the task gets no credentials"
                                if not trusted else "may not read parcels (s3:GetObject on arn:aws:s3:::parcels/*)"),
             hidden=True, needs=first, about="who may assume the task role, and what it may do")
