"""EC2's operations as EC2 authorises them: instances by ARN, describes on ``*``, iam:PassRole for an instance profile.

Most operations are as the Service Authorization Reference says (``reference.py``), with ``ec2:Region`` and the
request's tags as condition keys; the entries here are the ones that need more.

Launching an instance with an instance profile, or attaching one to a running instance, hands the profile's role to
EC2: AWS then also checks ``iam:PassRole`` on that role with ``iam:PassedToService`` = ``ec2.amazonaws.com``.
``RunInstances`` is authorised on the new instance (``instance/*``) and on its image, the two resource types every
launch has; the sandbox has no subnets or volumes to speak of.
"""

from __future__ import annotations

from . import Call, Check, Rule, ServiceTable, as_list

_RESOURCE_TYPES = {"i": "instance", "ami": "image", "sg": "security-group", "subnet": "subnet", "vpc": "vpc",
                   "vol": "volume", "eni": "network-interface", "snap": "snapshot", "igw": "internet-gateway",
                   "rtb": "route-table", "key": "key-pair"}


def _arn(call: Call, kind: str, ident: str) -> str:
    account = "" if kind in ("image", "snapshot") else call.account  # AWS writes images without an account
    return f"arn:{call.partition}:ec2:{call.region}:{account}:{kind}/{ident}"


def _instances(call: Call) -> list:
    ids = as_list(call.param("InstanceIds")) or as_list(call.param("InstanceId"))
    return [_arn(call, "instance", i) for i in ids] or [_arn(call, "instance", "*")]


def _association_instance(call: Call) -> list:
    instance_id = call.state.instance_of_association(call.param("AssociationId", ""))
    return [_arn(call, "instance", instance_id or "*")]


def _tagged(call: Call) -> list:
    out = []
    for ident in as_list(call.param("Resources")):
        kind = _RESOURCE_TYPES.get(str(ident).split("-", 1)[0], "*")
        out.append(_arn(call, kind, ident))
    return out or ["*"]


def _run(call: Call) -> list:
    return [_arn(call, "instance", "*"), _arn(call, "image", call.param("ImageId", "*"))]


def _instance_profile_context(call: Call) -> dict:
    profile = call.param("IamInstanceProfile") or {}
    arn = call.state.instance_profile_arn_of(profile.get("Arn") or profile.get("Name"))
    return {"ec2:InstanceProfile": arn} if arn else {}


def _pass_instance_profile_role(call: Call) -> list:
    """The role inside the instance profile is passed to EC2: iam:PassRole on it, for ec2.amazonaws.com."""
    profile = call.param("IamInstanceProfile") or {}
    reference = profile.get("Arn") or profile.get("Name")
    if not reference:
        return []
    return [Check("iam:PassRole", role_arn, {"iam:PassedToService": "ec2.amazonaws.com"})
            for role_arn in call.state.instance_profile_role_arns(reference)]


def _rules() -> dict:
    """The launches and associations that hand a role to EC2, and the calls whose resources the reference cannot
    name from the parameters (an association id, a list of ids of any kind)."""
    rules = {}

    def add(operations, resources, **kw):
        for operation in operations.split():
            rules[operation] = Rule(f"ec2:{operation}", resources, **kw)

    add("RunInstances", _run, context=_instance_profile_context, also=_pass_instance_profile_role)
    add("AssociateIamInstanceProfile", _instances, context=_instance_profile_context,
        also=_pass_instance_profile_role)
    add("ReplaceIamInstanceProfileAssociation", _association_instance, context=_instance_profile_context,
        also=_pass_instance_profile_role)
    add("DisassociateIamInstanceProfile", _association_instance)
    add("CreateTags DeleteTags", _tagged)
    return rules


TABLE = ServiceTable(signing_name="ec2", model_name="ec2", prefix="ec2", rules=_rules(),
                     denied_code="UnauthorizedOperation",
                     # EC2's parameters name a security group GroupId and a key pair KeyName.
                     variables={"SecurityGroupId": lambda call: call.param("GroupId") or call.param("GroupIds"),
                                "KeyPairName": lambda call: call.param("KeyName")},
                     condition_keys={"ec2:Region": lambda call: call.region})
