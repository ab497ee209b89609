"""The gatehouse and EC2: launching with an instance profile needs iam:PassRole, as on AWS.

EC2 answers a refusal with ``UnauthorizedOperation``; its operations other than the describes hide the details in an
"Encoded authorization failure message" that ``sts:DecodeAuthorizationMessage`` opens, for a caller allowed that
action (https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html,
https://repost.aws/knowledge-center/ec2-not-auth-launch).
"""

from __future__ import annotations

from support import (ACCOUNT, EC2_PRINCIPAL, ENCODED, allow, assume, code_of, decoded, make_role, make_user,
                     message_of, refused, session_arn)


def _image(aws):
    return aws.client("ec2").describe_images()["Images"][0]["ImageId"]


def _instance_profile(aws, name="web"):
    make_role(aws, name, allow("s3:GetObject"), principal=EC2_PRINCIPAL)
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
    status = decoded(aws, error)
    assert status["allowed"] is False and status["explicitDeny"] is False
    assert status["context"]["principal"]["arn"] == session_arn("Launcher")
    assert status["context"]["action"] == "iam:PassRole"
    assert status["context"]["resource"] == f"arn:aws:iam::{ACCOUNT}:role/web"
    conditions = {c["key"]: [v["value"] for v in c["values"]["items"]] for c in status["context"]["conditions"]["items"]}
    assert conditions["iam:PassedToService"] == ["ec2.amazonaws.com"]
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
    assert decoded(aws, error)["context"]["action"] == "iam:PassRole"


def test_run_instances_is_authorised_on_the_instance_and_the_image(aws):
    image = _image(aws)
    other_image = aws.client("ec2").describe_images()["Images"][1]["ImageId"]
    launcher = make_role(aws, "OneImage", allow("ec2:RunInstances", [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*", f"arn:aws:ec2:us-east-1::image/{image}"]))
    ec2 = assume(aws, launcher).client("ec2")
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    error = refused(ec2.run_instances, ImageId=other_image, MinCount=1, MaxCount=1)
    assert decoded(aws, error)["context"]["resource"] == f"arn:aws:ec2:us-east-1::image/{other_image}"


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
    context = decoded(aws, error)["context"]
    assert (context["action"], context["resource"]) == ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/batch")
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
    assert decoded(aws, error)["context"]["resource"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{theirs}"


def test_describe_refusals_name_the_missing_permission_in_the_clear(aws):
    user = make_user(aws, "looker")
    error = refused(user.client("ec2").describe_instances)
    assert code_of(error) == "UnauthorizedOperation"
    assert message_of(error) == (
        f"You are not authorized to perform this operation. User: arn:aws:iam::{ACCOUNT}:user/looker is not "
        "authorized to perform: ec2:DescribeInstances because no identity-based policy allows the "
        "ec2:DescribeInstances action")


def test_decoding_needs_its_own_permission_and_a_real_message(aws):
    image = _image(aws)
    user = make_user(aws, "launcher", allow("ec2:DescribeImages"))
    error = refused(user.client("ec2").run_instances, ImageId=image, MinCount=1, MaxCount=1)
    token = message_of(error)[len(ENCODED):]
    assert "ec2:RunInstances" not in message_of(error) and "launcher" not in message_of(error)

    denied = refused(user.client("sts").decode_authorization_message, EncodedMessage=token)
    assert code_of(denied) == "AccessDenied"
    assert "sts:DecodeAuthorizationMessage" in message_of(denied)

    decoder = make_user(aws, "decoder", allow("sts:DecodeAuthorizationMessage"))
    status = decoded(aws, error, via=decoder)
    assert status["context"]["principal"]["name"] == "launcher"
    assert status["context"]["principal"]["id"].startswith("AIDA")
    assert status["context"]["action"] == "ec2:RunInstances"

    bogus = refused(decoder.client("sts").decode_authorization_message, EncodedMessage=token[:-4] + "AAAA")
    assert code_of(bogus) == "InvalidAuthorizationMessageException"


def test_an_explicit_deny_is_marked_in_the_decoded_message(aws):
    image = _image(aws)
    role = make_role(aws, "NoLaunch", allow("ec2:*"), {"Sid": "NeverLaunch", "Effect": "Deny",
                                                        "Action": "ec2:RunInstances", "Resource": "*"})
    error = refused(assume(aws, role).client("ec2").run_instances, ImageId=image, MinCount=1, MaxCount=1)
    status = decoded(aws, error)
    assert status["explicitDeny"] is True
    assert [(item["statementId"], item["effect"]) for item in status["matchedStatements"]["items"]] == \
        [("NeverLaunch", "DENY")]


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
