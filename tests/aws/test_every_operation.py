"""Every operation of IAM, STS and ECS in botocore's model, and EC2's in the book's world, answers as AWS would.

Issue 19, item 3: a learner who leaves the chapters' path and calls an operation the book never shows gets an AWS
answer (a result, or a ``ClientError`` in the service's words: a refusal, a validation error, or the sandbox's
``NotImplemented`` naming the operation as outside this sandbox), never a Python traceback. Each operation is called
as the administrator, in a fresh sandbox per service, with the smallest input botocore's own validation accepts:
every required member, with a placeholder of its type and shape read from the model.
"""

from __future__ import annotations

import datetime as _dt

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from support import ACCOUNT

# The EC2 of the book's world: instances, their instance profiles and metadata options, and the resources the
# chapters touch (images, subnets, security groups, VPCs, key pairs, tags, regions and zones).
EC2_BOOK_WORLD = (
    "RunInstances", "DescribeInstances", "StartInstances", "StopInstances", "RebootInstances", "TerminateInstances",
    "DescribeInstanceStatus", "DescribeInstanceAttribute", "ModifyInstanceAttribute", "ResetInstanceAttribute",
    "MonitorInstances", "UnmonitorInstances", "GetConsoleOutput", "GetPasswordData", "DescribeInstanceTypes",
    "DescribeInstanceTypeOfferings", "ModifyInstanceMaintenanceOptions", "DescribeInstanceCreditSpecifications",
    "ModifyInstanceCreditSpecification", "ModifyInstancePlacement",
    "AssociateIamInstanceProfile", "DisassociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation",
    "DescribeIamInstanceProfileAssociations",
    "ModifyInstanceMetadataOptions", "ModifyInstanceMetadataDefaults", "GetInstanceMetadataDefaults",
    "DescribeImages", "DescribeImageAttribute", "ModifyImageAttribute", "RegisterImage", "DeregisterImage",
    "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "CreateSecurityGroup", "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "DescribeNetworkInterfaces",
    "DescribeKeyPairs", "CreateKeyPair", "DeleteKeyPair", "ImportKeyPair",
    "CreateTags", "DeleteTags", "DescribeTags", "DescribeRegions", "DescribeAvailabilityZones",
    "DescribeAccountAttributes",
)

PLACEHOLDER_ARN = f"arn:aws:iam::{ACCOUNT}:role/placeholder"

# Operations that moto answers with a fault of its own for a placeholder input (a resource that does not exist, an
# assertion that is not base64): the sandbox answers them with InternalFailure, a ClientError naming the fault,
# where AWS would name what is wrong with the input. Known, so that a new one fails this test.
ENGINE_FAULTS = {
    "iam": {"CreateServiceLinkedRole"},
    "sts": {"AssumeRoleWithSAML"},
    "ecs": {"CreateCapacityProvider", "DeleteAttributes", "DeleteCapacityProvider", "DeleteTaskSet",
            "DeregisterContainerInstance", "DescribeCapacityProviders", "DescribeContainerInstances", "PutAttributes",
            "RegisterContainerInstance", "StopTask", "TagResource", "UpdateCapacityProvider",
            "UpdateContainerInstancesState"},
    "ec2": {"DescribeImageAttribute"},
}


def placeholder(shape, name: str = "", depth: int = 0):
    """The smallest value of ``shape`` that botocore's validation accepts (required members only)."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        if getattr(shape, "is_tagged_union", False):
            first = next(iter(members))
            return {first: placeholder(members[first], first, depth + 1)}
        return {member: placeholder(members[member], member, depth + 1)
                for member in shape.required_members if depth < 8}
    if kind == "list":
        count = max(int(shape.metadata.get("min", 1) or 1), 1)
        return [placeholder(shape.member, name, depth + 1) for _ in range(count)]
    if kind == "map":
        count = int(shape.metadata.get("min", 0) or 0)
        return {f"key{i}": placeholder(shape.value, name, depth + 1) for i in range(count)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        text = PLACEHOLDER_ARN if name.lower().endswith("arn") else "placeholder"
        return text.ljust(int(shape.metadata.get("min", 0) or 0), "x")
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1) if "min" in shape.metadata else 1
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1) or 1)
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    if kind == "blob":
        return b"placeholder"
    raise AssertionError(f"no placeholder for a {kind} ({name})")


def walk(client, operations):
    """Call each operation with its placeholder input: {operation: "result" | error code}; raises on anything else."""
    model = client.meta.service_model
    outcomes, failures = {}, {}
    for operation in operations:
        shape = model.operation_model(operation).input_shape
        params = placeholder(shape) if shape is not None else {}
        try:
            getattr(client, xform_name(operation))(**params)
            outcomes[operation] = "result"
        except ClientError as error:
            outcomes[operation] = error.response["Error"]["Code"]
            if outcomes[operation] in ("NotImplemented", "InternalFailure"):
                outcomes[operation] += ": " + error.response["Error"]["Message"]
        except Exception as other:  # the one outcome AWS never gives
            failures[operation] = f"{type(other).__name__}: {other}"
    return outcomes, failures


def _operations(aws, service):
    model = aws.client(service).meta.service_model
    return EC2_BOOK_WORLD if service == "ec2" else tuple(model.operation_names)


@pytest.mark.parametrize("service", ["iam", "sts", "ecs", "ec2"])
def test_every_operation_answers_as_aws_would(aws, service):
    """Each operation answers with a result or a ClientError, never a traceback: botocore accepts every input."""
    operations = _operations(aws, service)
    if service == "ec2":
        assert set(operations) <= set(aws.client("ec2").meta.service_model.operation_names)
    outcomes, failures = walk(aws.client(service), operations)
    assert not failures, "\n".join(f"{op}: {what}" for op, what in failures.items())
    assert len(outcomes) == len(operations)
    engine_faults = {op: what for op, what in outcomes.items() if what.startswith("InternalFailure")}
    unknown = {op: what for op, what in engine_faults.items() if op not in ENGINE_FAULTS[service]}
    assert not unknown, "\n".join(f"{op}: {what}" for op, what in unknown.items())
    for operation, what in outcomes.items():
        if what.startswith("NotImplemented"):
            assert operation in what and "outside this sandbox" in what or "finds no action" in what, what


def test_an_operation_outside_the_sandbox_is_named_in_its_refusal(aws):
    """moto lacks iam:GetServiceLastAccessedDetailsWithEntities: the learner gets a ClientError naming it, in IAM's
    query protocol."""
    from support import code_of, message_of, refused

    error = refused(aws.client("iam").get_service_last_accessed_details_with_entities, JobId="0" * 36,
                    ServiceNamespace="s3")
    assert code_of(error) == "NotImplemented"
    assert message_of(error) == ("The sandbox does not run the operation GetServiceLastAccessedDetailsWithEntities of "
                                 "AWS Identity and Access Management (iam): it is outside this sandbox, so this call has "
                                 "no answer here.")


def test_a_json_service_names_the_operation_too(aws):
    """ECS speaks JSON 1.1: the same answer, in its protocol (ECS ExecuteCommand, which moto lacks)."""
    from support import code_of, message_of, refused

    error = refused(aws.client("ecs").execute_command, cluster="community", task="0123", command="ls",
                    interactive=True)
    assert code_of(error) == "NotImplemented"
    assert "the operation ExecuteCommand of Amazon EC2 Container Service (ecs)" in message_of(error)


def test_a_refused_caller_is_refused_before_the_sandbox_says_what_it_runs(aws):
    """AWS refuses an operation the caller's policies do not allow, whatever the operation: the gate comes first."""
    from support import code_of, make_user, refused

    nobody = make_user(aws, "nobody")
    error = refused(nobody.client("iam").generate_service_last_accessed_details,
                    Arn=f"arn:aws:iam::{ACCOUNT}:role/placeholder")
    assert code_of(error) == "AccessDenied"


def test_a_service_neither_the_sandbox_nor_its_engine_runs_is_named_too(aws):
    """IAM Access Analyzer has no engine here: the learner gets NotImplemented naming the service and what the
    sandbox runs, not the engine's bare 404."""
    from support import code_of, message_of, refused

    error = refused(aws.client("accessanalyzer").list_analyzers)
    assert code_of(error) == "NotImplemented"
    assert message_of(error).startswith("The sandbox does not run AWS IAM Access Analyzer (access-analyzer): this "
                                        "call has no answer here. The sandbox runs ")
