"""IAM operations moto lacks or gets wrong, answered as IAM answers them.

Pages (IAM API reference): https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPermissionsBoundary.html,
API_DeleteUserPermissionsBoundary.html, API_CreateUser.html (PermissionsBoundary), API_GetUser.html,
API_ListInstanceProfileTags.html, API_GetContextKeysForPrincipalPolicy.html, API_GetContextKeysForCustomPolicy.html.
"""

from __future__ import annotations

from support import ACCOUNT, allow, code_of, document, make_role, make_user, refused


def boundary(aws, *statements) -> str:
    return aws.client("iam").create_policy(PolicyName="Boundary", PolicyDocument=document(*statements))["Policy"]["Arn"]


def test_a_users_permissions_boundary_is_set_shown_enforced_and_removed(aws):
    """PutUserPermissionsBoundary sets it, GetUser shows it, IAM enforces it, DeleteUserPermissionsBoundary removes it
    (IAM API reference; IAM User Guide, Permissions boundaries for IAM entities)."""
    iam = aws.client("iam")
    arn = boundary(aws, allow("sts:GetCallerIdentity"))
    user = make_user(aws, "worker", allow(["s3:ListAllMyBuckets", "sts:GetCallerIdentity"]))
    user.client("s3").list_buckets()
    iam.put_user_permissions_boundary(UserName="worker", PermissionsBoundary=arn)
    assert iam.get_user(UserName="worker")["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    assert code_of(refused(user.client("s3").list_buckets)) == "AccessDenied"
    iam.delete_user_permissions_boundary(UserName="worker")
    assert "PermissionsBoundary" not in iam.get_user(UserName="worker")["User"]
    user.client("s3").list_buckets()


def test_create_user_keeps_the_boundary_it_names(aws):
    """CreateUser's PermissionsBoundary is the user's boundary from the start (IAM API reference, CreateUser)."""
    iam = aws.client("iam")
    arn = boundary(aws, allow("sts:GetCallerIdentity"))
    assert iam.create_user(UserName="bounded", PermissionsBoundary=arn)["User"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == arn
    assert iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn


def test_a_boundary_for_a_user_that_does_not_exist_is_no_such_entity(aws):
    error = refused(aws.client("iam").put_user_permissions_boundary, UserName="nobody",
                    PermissionsBoundary=boundary(aws, allow("s3:*")))
    assert code_of(error) == "NoSuchEntity"


def test_an_instance_profiles_tags_are_listed(aws):
    iam = aws.client("iam")
    iam.create_instance_profile(InstanceProfileName="WebsiteProfile", Tags=[{"Key": "house", "Value": "12"}])
    answer = iam.list_instance_profile_tags(InstanceProfileName="WebsiteProfile")
    assert answer["Tags"] == [{"Key": "house", "Value": "12"}] and answer["IsTruncated"] is False


def test_context_keys_of_a_principals_policies_and_of_custom_ones(aws):
    """GetContextKeysForPrincipalPolicy: the condition keys in the entity's policies and in PolicyInputList;
    GetContextKeysForCustomPolicy: those of the policies passed in."""
    iam = aws.client("iam")
    make_role(aws, "Reader", allow("s3:GetObject", condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}),
              allow("s3:ListBucket", condition={"StringLike": {"s3:prefix": "porch/*"},
                                                "Bool": {"aws:SecureTransport": "true"}}))
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/Reader",
        PolicyInputList=[document(allow("*", condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))],
    )["ContextKeyNames"]
    assert sorted(keys) == ["aws:PrincipalTag/team", "aws:SecureTransport", "aws:SourceIp", "s3:prefix"]
    custom = iam.get_context_keys_for_custom_policy(PolicyInputList=[document(allow(
        "sts:AssumeRole", condition={"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}))])
    assert custom["ContextKeyNames"] == ["aws:TokenIssueTime"]
    assert code_of(refused(iam.get_context_keys_for_principal_policy,
                           PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/Nobody")) == "NoSuchEntity"


def test_policies_granting_service_access_name_each_policy_that_allows_the_service(aws):
    """ListPoliciesGrantingServiceAccess (IAM API reference): per service namespace, the identity's policies with an
    Allow reaching it; an inline policy names its owner, a managed one its ARN."""
    iam = aws.client("iam")
    make_role(aws, "Reader", allow(["s3:GetObject", "s3:ListBucket"]))
    iam.attach_role_policy(RoleName="Reader", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    answer = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{ACCOUNT}:role/Reader",
                                                       ServiceNamespaces=["s3", "ec2", "iam"])
    by_service = {entry["ServiceNamespace"]: entry["Policies"] for entry in answer["PoliciesGrantingServiceAccess"]}
    assert by_service["s3"] == [{"PolicyName": "Reader-policy", "PolicyType": "INLINE", "EntityType": "ROLE",
                                 "EntityName": "Reader"}]
    assert [p["PolicyArn"] for p in by_service["ec2"]] == ["arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"]
    assert by_service["iam"] == []


def test_last_accessed_details_list_the_allowed_services_and_when_the_role_last_tried_each(aws):
    """GenerateServiceLastAccessedDetails and GetServiceLastAccessedDetails (IAM API reference; IAM User Guide,
    Refining permissions in AWS using last accessed information): the services the role's policies allow, each
    with the last attempt by one of its sessions, on the account's clock; a service never tried has no date."""
    from support import assume

    iam = aws.client("iam")
    arn = make_role(aws, "Reader", allow(["s3:ListAllMyBuckets", "ec2:DescribeInstances"]))
    assume(aws, arn).client("s3").list_buckets()
    used_at = aws.clock.now()
    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    report = iam.get_service_last_accessed_details(JobId=job)
    assert report["JobStatus"] == "COMPLETED" and report["JobType"] == "SERVICE_LEVEL"
    services = {line["ServiceNamespace"]: line for line in report["ServicesLastAccessed"]}
    assert set(services) == {"s3", "ec2"}
    assert services["s3"]["LastAuthenticatedEntity"] == arn and services["s3"]["TotalAuthenticatedEntities"] == 1
    assert abs((services["s3"]["LastAuthenticated"] - used_at).total_seconds()) < 5
    assert "LastAuthenticated" not in services["ec2"] and services["ec2"]["TotalAuthenticatedEntities"] == 0
    assert code_of(refused(iam.get_service_last_accessed_details, JobId="0" * 36)) == "NoSuchEntity"
