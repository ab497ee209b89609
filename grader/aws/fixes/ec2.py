"""Where moto's EC2 differs from AWS's, corrected: instance profiles and metadata options, as EC2 shows them.

The metadata service (``grader.credentials``) asks each instance which instance profile is attached to it now
(``grader.aws.state.instance_profile_of`` reads EC2's *association* between instance and profile). moto 5 gets three details of associations wrong, and a chapter that prints ``describe_instances`` after swapping
a profile would teach the wrong thing. The corrections below wrap moto's own methods; they live in the sandbox's patch
registry (``grader.aws.patches``), installed by ``sandbox.start()`` and removed by ``stop()``:

* ``ReplaceIamInstanceProfileAssociation`` changed moto's association but not the instance, so
  ``describe_instances`` kept showing the old profile. On AWS the replacement is a new association (with a new
  ``AssociationId``) and the instance shows the new profile at once.
* ``describe_instances`` showed the association id as ``IamInstanceProfile.Id``; AWS shows the instance profile's
  own id, the one ``iam get-instance-profile`` returns as ``InstanceProfileId``.
* ``RunInstances`` with ``MinCount`` above one attached the profile to the first instance only; AWS attaches it to
  every instance it launches.

* The account's instance metadata defaults (``ModifyInstanceMetadataDefaults``, ``GetInstanceMetadataDefaults``),
  which moto lacks: each applies to an instance launched later whose request does not set that option.
* ``ModifyInstanceMetadataOptions`` reset every option the request left out; AWS keeps them. The instance metadata
  service (``grader.credentials``) reads these options on every request, so a change takes effect at once.
* An instance profile that does not exist, named at launch or in an association, was refused with IAM's
  ``NoSuchEntity``; EC2 answers in its own words: ``InvalidParameterValue``, "Value (NAME) for parameter
  iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name" (``.arn`` and "ARN" for an ARN).

IAM's rule of one role per instance profile (``LimitExceeded``, "Cannot exceed quota for
InstanceSessionsPerInstanceProfile: 1") is already enforced by moto, so it needs no correction here.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from grader.aws import patches


# --------------------------------------------------------------------------------------------------------------
# Corrections to moto


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
    from moto.ec2 import utils

    utils.filter_iam_instance_profiles(self.account_id, partition=self.partition,
                                 iam_instance_profile_arn=iam_instance_profile_arn,
                                 iam_instance_profile_name=iam_instance_profile_name)
    instance_id = current.instance_id
    self.disassociate_iam_instance_profile(association_id)
    return self.associate_iam_instance_profile(instance_id, iam_instance_profile_name, iam_instance_profile_arn)


def _association_init(original_init):
    @functools.wraps(original_init)
    def association_init(self, ec2_backend, association_id, instance, iam_instance_profile):
        original_init(self, ec2_backend, association_id, instance, iam_instance_profile)
        ec2_backend.modify_instance_attribute(instance.id, "iam_instance_profile", _shown(iam_instance_profile))

    return association_init


# The account's instance metadata defaults, per Region (EC2 API reference, ModifyInstanceMetadataDefaults): each
# applies to an instance launched later whose launch request does not set that option.
_DEFAULT_FIELDS = (("HttpTokens", "http_tokens"), ("HttpPutResponseHopLimit", "http_put_response_hop_limit"),
                   ("HttpEndpoint", "http_endpoint"), ("InstanceMetadataTags", "instance_metadata_tags"))


def metadata_defaults(backend: Any) -> dict:
    """The account-level defaults set in this Region ({} until ModifyInstanceMetadataDefaults sets one)."""
    return backend.__dict__.setdefault("_instance_metadata_defaults", {})


def _apply_metadata_defaults(backend: Any, instance: Any, asked: dict) -> None:
    from moto.ec2.models.instances import MetadataOptions

    defaults = metadata_defaults(backend)
    if not defaults:
        return
    now = instance.metadata_options
    options = {"State": "applied", "HttpProtocolIpv6": now.http_protocol_ipv6}
    for field, attribute in _DEFAULT_FIELDS:
        value = asked.get(field)
        options[field] = value if value not in (None, "") else defaults.get(field, getattr(now, attribute))
    instance.metadata_options = MetadataOptions(options)


def _run_instances(original_run):
    @functools.wraps(original_run)
    def run_instances(self, *args: Any, **kwargs: Any):
        reservation = original_run(self, *args, **kwargs)
        for instance in reservation.instances:
            _apply_metadata_defaults(self, instance, kwargs.get("metadata_options") or {})
        name = kwargs.get("iam_instance_profile_name")
        arn = kwargs.get("iam_instance_profile_arn")
        if name or arn:
            # moto's RunInstances handler associates the first instance itself, after this returns.
            for instance in reservation.instances[1:]:
                self.associate_iam_instance_profile(instance.id, name, arn)
        return reservation

    return run_instances


def unknown_instance_profile(name: Optional[str], arn: Optional[str]):
    """EC2's refusal of an instance profile it cannot find: the ARN when one was given, else the name."""
    from moto.ec2.exceptions import EC2ClientError

    if arn:
        return EC2ClientError("InvalidParameterValue",
                              f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid. "
                              "Invalid IAM Instance Profile ARN")
    return EC2ClientError("InvalidParameterValue",
                          f"Value ({name}) for parameter iamInstanceProfile.name is invalid. "
                          "Invalid IAM Instance Profile name")


def _filter_instance_profiles(original):
    """moto looks the profile up in IAM and lets IAM's NotFound through; EC2 answers with its own words."""

    @functools.wraps(original)
    def filter_iam_instance_profiles(account_id: str, partition: str, iam_instance_profile_arn: Optional[str],
                                     iam_instance_profile_name: Optional[str]):
        from moto.iam.exceptions import NotFoundException

        try:
            profile = original(account_id, partition=partition, iam_instance_profile_arn=iam_instance_profile_arn,
                               iam_instance_profile_name=iam_instance_profile_name)
        except NotFoundException:
            raise unknown_instance_profile(iam_instance_profile_name, iam_instance_profile_arn) from None
        if profile is None and (iam_instance_profile_arn or iam_instance_profile_name):
            # A name and an ARN that name two different profiles: EC2 cannot tell which was meant.
            raise unknown_instance_profile(iam_instance_profile_name, iam_instance_profile_arn)
        return profile

    return filter_iam_instance_profiles


HOP_LIMIT_RANGE = range(1, 65)
"""ModifyInstanceMetadataOptions: "Possible values: Integers from 1 to 64"
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceMetadataOptions.html)."""


def _modify_metadata_options(original):
    """Keep every option the request leaves out, as AWS does ("If no parameter is specified, the existing state is
    maintained"); moto resets the ones left out to nothing."""

    @functools.wraps(original)
    def modify_instance_metadata_options(self, instance_id: str, http_tokens: Optional[str] = None,
                                         hop_limit: Optional[int] = None, http_endpoint: Optional[str] = None,
                                         dry_run: Optional[bool] = False, http_protocol: Optional[str] = None,
                                         metadata_tags: Optional[str] = None):
        from moto.ec2.models.instances import MetadataOptions

        instance = self.get_instance(instance_id)
        if http_tokens is not None and http_tokens not in ("optional", "required"):
            raise _invalid("HttpTokens", http_tokens)
        if http_endpoint is not None and http_endpoint not in ("enabled", "disabled"):
            raise _invalid("HttpEndpoint", http_endpoint)
        if hop_limit is not None and int(hop_limit) not in HOP_LIMIT_RANGE:
            raise _invalid("HttpPutResponseHopLimit", hop_limit)
        now = instance.metadata_options
        instance.metadata_options = MetadataOptions({
            "State": "applied",
            "HttpTokens": http_tokens or now.http_tokens,
            "HttpPutResponseHopLimit": hop_limit if hop_limit is not None else now.http_put_response_hop_limit,
            "HttpEndpoint": http_endpoint or now.http_endpoint,
            "HttpProtocolIpv6": http_protocol or now.http_protocol_ipv6,
            "InstanceMetadataTags": metadata_tags or now.instance_metadata_tags,
        })
        return instance.metadata_options

    return modify_instance_metadata_options


def _modify_metadata_defaults(_original: Any):
    """EC2's ModifyInstanceMetadataDefaults, which moto lacks: ``no-preference`` (``-1`` for the hop limit) clears
    an option; the others are the values ModifyInstanceMetadataOptions takes (EC2 API reference)."""

    def modify_instance_metadata_defaults(self):
        from moto.core.responses import ActionResult

        defaults = metadata_defaults(self.ec2_backend)
        allowed = {"HttpTokens": ("optional", "required"), "HttpEndpoint": ("enabled", "disabled"),
                   "InstanceMetadataTags": ("enabled", "disabled")}
        changes = {}
        for field, values in allowed.items():
            value = self._get_param(field)
            if value is not None and value not in values + ("no-preference",):
                raise _invalid(field, value)
            if value is not None:
                changes[field] = value
        hop_limit = self._get_param("HttpPutResponseHopLimit")
        if hop_limit is not None:
            hop_limit = int(hop_limit)
            if hop_limit != -1 and hop_limit not in HOP_LIMIT_RANGE:
                raise _invalid("HttpPutResponseHopLimit", hop_limit)
            changes["HttpPutResponseHopLimit"] = hop_limit
        for field, value in changes.items():
            if value in ("no-preference", -1):
                defaults.pop(field, None)
            else:
                defaults[field] = value
        return ActionResult({"Return": True})

    return modify_instance_metadata_defaults


def _get_metadata_defaults(_original: Any):
    """EC2's GetInstanceMetadataDefaults, which moto lacks: the account-level settings of this Region."""

    def get_instance_metadata_defaults(self):
        from moto.core.responses import ActionResult

        return ActionResult({"AccountLevel": dict(metadata_defaults(self.ec2_backend))})

    return get_instance_metadata_defaults


def _invalid(name: str, value: Any):
    from moto.ec2.exceptions import EC2ClientError

    return EC2ClientError("InvalidParameterValue", f"Value ({value}) for parameter {name} is invalid.")


patches.register_all((
    ("moto.ec2.models.iam_instance_profile:IamInstanceProfileAssociation", "__init__", _association_init,
     "describe_instances shows the profile attached now, with the profile's own id"),
    ("moto.ec2.models.instances:InstanceBackend", "run_instances", _run_instances,
     "RunInstances attaches the instance profile to every instance it launches"),
    ("moto.ec2.models.iam_instance_profile:IamInstanceProfileAssociationBackend",
     "replace_iam_instance_profile_association", lambda original: _replace_association,
     "ReplaceIamInstanceProfileAssociation makes a new association, and the instance shows it at once"),
    ("moto.ec2.models.instances:InstanceBackend", "modify_instance_metadata_options", _modify_metadata_options,
     "ModifyInstanceMetadataOptions keeps the options a request leaves out"),
    ("moto.ec2.responses:EC2Response", "modify_instance_metadata_defaults", _modify_metadata_defaults,
     "EC2 keeps account-level instance metadata defaults per Region; moto has no such operation"),
    ("moto.ec2.responses:EC2Response", "get_instance_metadata_defaults", _get_metadata_defaults,
     "EC2 shows the account-level instance metadata defaults; moto has no such operation"),
    # moto imports the lookup by name into the modules that use it, so each of them is patched.
    *((owner, "filter_iam_instance_profiles", _filter_instance_profiles,
       "EC2 refuses an unknown instance profile with InvalidParameterValue, in EC2's words")
      for owner in ("moto.ec2.utils:", "moto.ec2.models.iam_instance_profile:", "moto.ec2.responses.instances:")),
))
