"""EC2 instances and their instance profiles, as the sandbox shows them: lookups, and small corrections to moto.

The metadata service (``grader.credentials``) needs one question answered for each instance: which instance
profile is attached to it now, and which role is in that profile. EC2 keeps that in the *association* between
instance and profile, so that is what :func:`instance_profile_of` reads.

moto 5 gets three details of associations wrong, and a chapter that prints ``describe_instances`` after swapping
a profile would teach the wrong thing. The corrections below wrap moto's own methods, are installed when a sandbox first
starts, and can be taken out again with :func:`remove_moto_corrections`:

* ``ReplaceIamInstanceProfileAssociation`` changed moto's association but not the instance, so
  ``describe_instances`` kept showing the old profile. On AWS the replacement is a new association (with a new
  ``AssociationId``) and the instance shows the new profile at once.
* ``describe_instances`` showed the association id as ``IamInstanceProfile.Id``; AWS shows the instance profile's
  own id, the one ``iam get-instance-profile`` returns as ``InstanceProfileId``.
* ``RunInstances`` with ``MinCount`` above one attached the profile to the first instance only; AWS attaches it to
  every instance it launches.

IAM's rule of one role per instance profile (``LimitExceeded``, "Cannot exceed quota for
InstanceSessionsPerInstanceProfile: 1") is already enforced by moto, so it needs no correction here.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from grader import sandbox as _sandbox
from grader.errors import GatedCommunityError


class UnknownInstance(GatedCommunityError):
    """The sandbox has no EC2 instance with this id."""


# --------------------------------------------------------------------------------------------------------------
# Lookups


def _ec2_backend(sandbox: Any):
    from moto.ec2.models import ec2_backends

    return ec2_backends[sandbox.account_id][sandbox.region]


def find_instance(sandbox: Any, instance_id: str):
    """moto's instance ``instance_id``, or :class:`UnknownInstance` with a message that says what to check."""
    backend = _ec2_backend(sandbox)
    for reservation in backend.reservations.values():
        for instance in reservation.instances:
            if instance.id == instance_id:
                return instance
    raise UnknownInstance(
        f"There is no EC2 instance {instance_id!r} in the sandbox account. Launch one with "
        "ec2.run_instances(...) and use the InstanceId it returns (ec2.describe_instances() lists them all)."
    )


def instance_profile_of(sandbox: Any, instance_id: str):
    """The instance profile attached to the instance now (moto's object), or None."""
    association = _ec2_backend(sandbox).iam_instance_profile_associations.get(instance_id)
    return association.iam_instance_profile if association is not None else None


def role_of(instance_profile: Any):
    """The role in an instance profile (there is at most one), or None for an empty profile."""
    if instance_profile is None or not instance_profile.roles:
        return None
    return instance_profile.roles[0]


def is_running(instance: Any) -> bool:
    return instance._state.name in ("pending", "running")


# --------------------------------------------------------------------------------------------------------------
# Corrections to moto


_saved: dict[tuple[type, str], Any] = {}


def _shown(instance_profile: Any) -> dict:
    """What describe_instances shows as IamInstanceProfile: the profile's ARN and the profile's own id."""
    return {"Arn": instance_profile.arn, "Id": instance_profile.id}


def _replace_association(self, association_id: str, iam_instance_profile_name: Optional[str] = None,
                         iam_instance_profile_arn: Optional[str] = None):
    from moto.ec2.exceptions import InvalidAssociationIDIamProfileAssociationError

    current = next((a for a in self.iam_instance_profile_associations.values()
                    if a.association_id == association_id), None)
    if current is None:
        raise InvalidAssociationIDIamProfileAssociationError(association_id)
    # Look the new profile up first, so that a wrong name leaves the old association in place, as on AWS.
    from moto.ec2.utils import filter_iam_instance_profiles

    filter_iam_instance_profiles(self.account_id, partition=self.partition,
                                 iam_instance_profile_arn=iam_instance_profile_arn,
                                 iam_instance_profile_name=iam_instance_profile_name)
    instance_id = current.instance_id
    self.disassociate_iam_instance_profile(association_id)
    return self.associate_iam_instance_profile(instance_id, iam_instance_profile_name, iam_instance_profile_arn)


def _install() -> None:
    if _saved:
        return
    from moto.ec2.models.iam_instance_profile import (
        IamInstanceProfileAssociation,
        IamInstanceProfileAssociationBackend,
    )
    from moto.ec2.models.instances import InstanceBackend

    original_init = IamInstanceProfileAssociation.__init__
    original_run = InstanceBackend.run_instances

    @functools.wraps(original_init)
    def association_init(self, ec2_backend, association_id, instance, iam_instance_profile):
        original_init(self, ec2_backend, association_id, instance, iam_instance_profile)
        ec2_backend.modify_instance_attribute(instance.id, "iam_instance_profile", _shown(iam_instance_profile))

    @functools.wraps(original_run)
    def run_instances(self, *args: Any, **kwargs: Any):
        reservation = original_run(self, *args, **kwargs)
        name = kwargs.get("iam_instance_profile_name")
        arn = kwargs.get("iam_instance_profile_arn")
        if name or arn:
            # moto's RunInstances handler associates the first instance itself, after this returns.
            for instance in reservation.instances[1:]:
                self.associate_iam_instance_profile(instance.id, name, arn)
        return reservation

    _saved[(IamInstanceProfileAssociation, "__init__")] = original_init
    _saved[(InstanceBackend, "run_instances")] = original_run
    _saved[(IamInstanceProfileAssociationBackend, "replace_iam_instance_profile_association")] = (
        IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association)
    IamInstanceProfileAssociation.__init__ = association_init
    InstanceBackend.run_instances = run_instances
    IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association = _replace_association


def remove_moto_corrections() -> None:
    """Put moto's original methods back (the corrections are installed again by :func:`install_moto_corrections`)."""
    for (owner, name), original in _saved.items():
        setattr(owner, name, original)
    _saved.clear()


install_moto_corrections = _install


def _install_on_start(sandbox: Any) -> None:
    _install()


# Installed when a sandbox starts (importing moto's EC2 models is too slow for ``import grader``), or now if one runs.
_sandbox.on_start(_install_on_start)
if _sandbox._current is not None and not getattr(_sandbox._current, "served", False):  # a served kernel has no moto
    _install()
