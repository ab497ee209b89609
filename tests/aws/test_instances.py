"""Instance profiles on EC2 instances: what describe_instances shows after each change, and IAM's one-role rule."""

from __future__ import annotations


import pytest
from botocore.exceptions import ClientError

from grader.aws import state as instances
from grader.aws.fixes import ec2 as ec2_fixes
from support import AMI, TRUST_EC2


def _profile(aws, name: str, role: str | None = None) -> dict:
    iam = aws.client("iam")
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    if role:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    return profile


def _shown_profile(aws, instance_id: str):
    reservations = aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0].get("IamInstanceProfile")


def _launch(aws, **kwargs) -> list[str]:
    kwargs.setdefault("MinCount", 1)
    kwargs.setdefault("MaxCount", kwargs["MinCount"])
    answer = aws.client("ec2").run_instances(ImageId=AMI, **kwargs)
    return [i["InstanceId"] for i in answer["Instances"]]


def test_describe_instances_shows_the_profile_arn_and_the_profiles_own_id(aws):
    profile = _profile(aws, "WebProfile", "WebRole")
    [instance_id] = _launch(aws, IamInstanceProfile={"Name": "WebProfile"})
    assert _shown_profile(aws, instance_id) == {"Arn": profile["Arn"], "Id": profile["InstanceProfileId"]}


def test_every_launched_instance_gets_the_profile(aws):
    profile = _profile(aws, "FleetProfile", "FleetRole")
    ids = _launch(aws, MinCount=3, IamInstanceProfile={"Arn": profile["Arn"]})
    assert [(_shown_profile(aws, i) or {}).get("Arn") for i in ids] == [profile["Arn"]] * 3
    associations = aws.client("ec2").describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    assert sorted(a["InstanceId"] for a in associations) == sorted(ids)


def test_replace_shows_the_new_profile_under_a_new_association(aws):
    ec2 = aws.client("ec2")
    _profile(aws, "Old", "OldRole")
    new = _profile(aws, "New", "NewRole")
    [instance_id] = _launch(aws, IamInstanceProfile={"Name": "Old"})
    [old_association] = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]

    replaced = ec2.replace_iam_instance_profile_association(
        AssociationId=old_association["AssociationId"], IamInstanceProfile={"Name": "New"},
    )["IamInstanceProfileAssociation"]

    assert replaced["AssociationId"] != old_association["AssociationId"]
    assert _shown_profile(aws, instance_id) == {"Arn": new["Arn"], "Id": new["InstanceProfileId"]}
    [current] = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    assert current["AssociationId"] == replaced["AssociationId"]
    assert current["IamInstanceProfile"]["Arn"] == new["Arn"]
    assert instances.role_of(instances.instance_profile_of(aws, instance_id)).name == "NewRole"


def test_replace_with_an_unknown_association_changes_nothing(aws):
    ec2 = aws.client("ec2")
    old = _profile(aws, "Old", "OldRole")
    _profile(aws, "New", "NewRole")
    [instance_id] = _launch(aws, IamInstanceProfile={"Name": "Old"})
    with pytest.raises(ClientError) as refused:
        ec2.replace_iam_instance_profile_association(AssociationId="iip-assoc-0000000000000000",
                                                     IamInstanceProfile={"Name": "New"})
    assert "iip-assoc-0000000000000000" in str(refused.value)
    assert _shown_profile(aws, instance_id)["Arn"] == old["Arn"]


def test_disassociate_leaves_the_instance_without_a_profile(aws):
    ec2 = aws.client("ec2")
    _profile(aws, "WebProfile", "WebRole")
    [instance_id] = _launch(aws, IamInstanceProfile={"Name": "WebProfile"})
    [association] = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    ec2.disassociate_iam_instance_profile(AssociationId=association["AssociationId"])
    assert _shown_profile(aws, instance_id) is None
    assert ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"] == []
    assert instances.instance_profile_of(aws, instance_id) is None


def test_associate_after_launch_shows_the_profile(aws):
    profile = _profile(aws, "Later", "LaterRole")
    [instance_id] = _launch(aws)
    assert _shown_profile(aws, instance_id) is None
    aws.client("ec2").associate_iam_instance_profile(InstanceId=instance_id, IamInstanceProfile={"Name": "Later"})
    assert _shown_profile(aws, instance_id) == {"Arn": profile["Arn"], "Id": profile["InstanceProfileId"]}


def test_a_profile_holds_one_role_only(aws):
    iam = aws.client("iam")
    _profile(aws, "Crowded", "First")
    iam.create_role(RoleName="Second", AssumeRolePolicyDocument=TRUST_EC2)
    with pytest.raises(ClientError) as refused:
        iam.add_role_to_instance_profile(InstanceProfileName="Crowded", RoleName="Second")
    assert refused.value.response["Error"]["Code"] == "LimitExceeded"
    assert refused.value.response["Error"]["Message"] == "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    roles = iam.get_instance_profile(InstanceProfileName="Crowded")["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == ["First"]


def test_unknown_instance_is_explained(aws):
    with pytest.raises(instances.UnknownInstance, match="run_instances"):
        instances.find_instance(aws, "i-0123456789abcdef0")


def test_the_corrections_go_with_the_sandbox():
    from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend

    from grader import sandbox

    box = sandbox.start()
    try:
        corrected = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association
        assert corrected is ec2_fixes._replace_association
    finally:
        box.stop()
    assert IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association is not corrected


# EC2's own refusal of an instance profile that does not exist, as AWS prints it for RunInstances and
# AssociateIamInstanceProfile ("Value (NAME) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance
# Profile name"; for an ARN, "... parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"),
# quoted from AWS's answers in https://github.com/CiscoDevNet/cloud-cml/issues/4 and
# https://github.com/lacework/go-sdk/pull/1045. The parameter is documented at
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IamInstanceProfileSpecification.html
def _refusal(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]


def test_run_instances_with_an_unknown_profile_name_is_refused_in_ec2s_words(aws):
    error = _refusal(lambda: _launch(aws, IamInstanceProfile={"Name": "NoSuchProfile"}))
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == ("Value (NoSuchProfile) for parameter iamInstanceProfile.name is invalid. "
                                "Invalid IAM Instance Profile name")
    assert aws.client("ec2").describe_instances()["Reservations"] == []


def test_run_instances_with_an_unknown_profile_arn_is_refused_in_ec2s_words(aws):
    arn = "arn:aws:iam::123456789012:instance-profile/NoSuchProfile"
    error = _refusal(lambda: _launch(aws, IamInstanceProfile={"Arn": arn}))
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid. "
                                "Invalid IAM Instance Profile ARN")


def test_a_role_arn_is_not_an_instance_profile_arn(aws):
    _profile(aws, "DeliveryProfile", "DeliveryRole")
    arn = "arn:aws:iam::123456789012:role/DeliveryRole"
    error = _refusal(lambda: _launch(aws, IamInstanceProfile={"Arn": arn}))
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN")


def test_associating_an_unknown_profile_is_refused_in_ec2s_words(aws):
    [instance_id] = _launch(aws)
    error = _refusal(lambda: aws.client("ec2").associate_iam_instance_profile(
        InstanceId=instance_id, IamInstanceProfile={"Name": "NoSuchProfile"}))
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "Value (NoSuchProfile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name")
    assert _shown_profile(aws, instance_id) is None


def test_replacing_with_an_unknown_profile_keeps_the_old_one(aws):
    old = _profile(aws, "Old", "OldRole")
    [instance_id] = _launch(aws, IamInstanceProfile={"Name": "Old"})
    ec2 = aws.client("ec2")
    [association] = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    error = _refusal(lambda: ec2.replace_iam_instance_profile_association(
        AssociationId=association["AssociationId"], IamInstanceProfile={"Name": "Gone"}))
    assert error["Code"] == "InvalidParameterValue"
    assert _shown_profile(aws, instance_id)["Arn"] == old["Arn"]
