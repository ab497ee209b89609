"""The gatehouse and EC2: launching with an instance profile needs iam:PassRole, as on AWS."""

from __future__ import annotations

from test_gatehouse import (ACCOUNT, EC2_TRUST, allow, assume, code_of, make_role, message_of, refused,
                            session_arn)


def _image(aws):
    return aws.client("ec2").describe_images()["Images"][0]["ImageId"]


def _instance_profile(aws, name="web"):
    make_role(aws, name, allow("s3:GetObject"), principal=EC2_TRUST)
    iam = aws.client("iam")
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return arn


def test_run_instances_with_an_instance_profile_needs_pass_role(aws):
    image = _image(aws)
    _instance_profile(aws, "web")
    launcher = make_role(aws, "Launcher", allow(["ec2:RunInstances", "ec2:DescribeInstances",
                                                 "ec2:TerminateInstances"]))
    ec2 = assume(aws, launcher).client("ec2")
    plain = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    error = refused(ec2.run_instances, ImageId=image, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": "web"})
    assert code_of(error) == "UnauthorizedOperation"
    assert message_of(error) == (
        f"You are not authorized to perform this operation. User: {session_arn('Launcher')} is not authorized to "
        f"perform: iam:PassRole on resource: arn:aws:iam::{ACCOUNT}:role/web because no identity-based policy "
        "allows the iam:PassRole action")
    ec2.terminate_instances(InstanceIds=[plain])


def test_pass_role_limited_to_ec2_by_passed_to_service(aws):
    image = _image(aws)
    _instance_profile(aws, "web")
    launcher = make_role(aws, "Launcher", allow("ec2:RunInstances"),
                         allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/web",
                               condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}))
    ec2 = assume(aws, launcher).client("ec2")
    reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": "web"})
    assert reservation["Instances"][0]["IamInstanceProfile"]["Arn"].endswith("instance-profile/web")

    wrong_service = make_role(aws, "EcsPasser", allow("ec2:RunInstances"),
                              allow("iam:PassRole", "*", condition={
                                  "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}))
    error = refused(assume(aws, wrong_service).client("ec2").run_instances, ImageId=image, MinCount=1,
                    MaxCount=1, IamInstanceProfile={"Name": "web"})
    assert "iam:PassRole" in message_of(error)


def test_run_instances_is_authorised_on_the_instance_and_the_image(aws):
    image = _image(aws)
    other_image = aws.client("ec2").describe_images()["Images"][1]["ImageId"]
    launcher = make_role(aws, "OneImage", allow("ec2:RunInstances", [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*", f"arn:aws:ec2:us-east-1::image/{image}"]))
    ec2 = assume(aws, launcher).client("ec2")
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    error = refused(ec2.run_instances, ImageId=other_image, MinCount=1, MaxCount=1)
    assert f"image/{other_image}" in message_of(error)


def test_associate_and_replace_an_instance_profile(aws):
    image = _image(aws)
    _instance_profile(aws, "web")
    _instance_profile(aws, "batch")
    instance = aws.client("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    operator = make_role(aws, "Operator",
                         allow(["ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation",
                                "ec2:DisassociateIamInstanceProfile", "ec2:DescribeIamInstanceProfileAssociations"],
                               ["*"]),
                         allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/web"))
    ec2 = assume(aws, operator).client("ec2")
    association = ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": "web"}, InstanceId=instance)
    association_id = association["IamInstanceProfileAssociation"]["AssociationId"]
    error = refused(ec2.replace_iam_instance_profile_association, IamInstanceProfile={"Name": "batch"},
                    AssociationId=association_id)
    assert f"iam:PassRole on resource: arn:aws:iam::{ACCOUNT}:role/batch" in message_of(error)
    ec2.disassociate_iam_instance_profile(AssociationId=association_id)


def test_terminate_is_authorised_per_instance(aws):
    image = _image(aws)
    ec2_admin = aws.client("ec2")
    mine, theirs = [ec2_admin.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
                    for _ in range(2)]
    role = make_role(aws, "Janitor", allow("ec2:TerminateInstances", f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{mine}"))
    ec2 = assume(aws, role).client("ec2")
    ec2.terminate_instances(InstanceIds=[mine])
    error = refused(ec2.terminate_instances, InstanceIds=[theirs])
    assert f"instance/{theirs}" in message_of(error)


def test_modify_instance_metadata_options_is_authorised_per_instance(aws):
    """The IMDSv2 hardening a learner applies: ec2:ModifyInstanceMetadataOptions on the instance's ARN
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html)."""
    image = _image(aws)
    instance_id = aws.client("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    hardener = make_role(aws, "Hardener", allow("ec2:ModifyInstanceMetadataOptions",
                                                f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{instance_id}"))
    ec2 = assume(aws, hardener).client("ec2")
    answer = ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert answer["InstanceMetadataOptions"]["HttpTokens"] == "required"
    other = aws.client("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    error = refused(ec2.modify_instance_metadata_options, InstanceId=other, HttpTokens="required")
    assert code_of(error) == "UnauthorizedOperation"
