"""The gatehouse and IAM/STS: managing roles, trust policies, boundaries, session policies and principal tags."""

from __future__ import annotations

from grader import gatehouse
from support import (ACCOUNT, ACCOUNT_ROOT, EC2_PRINCIPAL, allow, assume, code_of, document, make_role, make_user,
                     message_of, refused, session_arn, trust_policy)


def test_a_role_manager_manages_only_the_roles_its_policy_names(aws):
    manager = make_role(aws, "RoleManager",
                        allow(["iam:CreateRole", "iam:GetRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                               "iam:DeleteRole", "iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile",
                               "iam:GetInstanceProfile", "iam:CreatePolicy", "iam:AttachRolePolicy",
                               "iam:ListAttachedRolePolicies"],
                              [f"arn:aws:iam::{ACCOUNT}:role/app-*", f"arn:aws:iam::{ACCOUNT}:instance-profile/app-*",
                               f"arn:aws:iam::{ACCOUNT}:policy/app-*"]),
                        allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app-*"),
                        allow("iam:ListRoles"))
    iam = assume(aws, manager).client("iam")

    iam.create_role(RoleName="app-web", AssumeRolePolicyDocument=trust_policy(EC2_PRINCIPAL))
    iam.put_role_policy(RoleName="app-web", PolicyName="read", PolicyDocument=document(allow("s3:GetObject")))
    iam.create_instance_profile(InstanceProfileName="app-web")
    iam.add_role_to_instance_profile(InstanceProfileName="app-web", RoleName="app-web")
    arn = iam.create_policy(PolicyName="app-logs", PolicyDocument=document(allow("logs:*")))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="app-web", PolicyArn=arn)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="app-web")["AttachedPolicies"]] == [arn]
    assert any(r["RoleName"] == "app-web" for r in iam.list_roles()["Roles"])

    error = refused(iam.create_role, RoleName="admin-web", AssumeRolePolicyDocument=trust_policy())
    assert message_of(error) == (f"User: {session_arn('RoleManager')} is not authorized to perform: iam:CreateRole "
                                 f"on resource: arn:aws:iam::{ACCOUNT}:role/admin-web because no identity-based "
                                 "policy allows the iam:CreateRole action")
    assert code_of(refused(iam.get_role, RoleName="RoleManager")) == "AccessDenied"
    assert code_of(refused(iam.delete_role_policy, RoleName="RoleManager", PolicyName="RoleManager-policy")) == \
        "AccessDenied"
    iam.delete_role_policy(RoleName="app-web", PolicyName="read")


def test_adding_a_role_to_an_instance_profile_needs_pass_role(aws):
    make_role(aws, "app-worker", principal=EC2_PRINCIPAL)
    aws.client("iam").create_instance_profile(InstanceProfileName="app-worker")
    builder = make_role(aws, "Builder", allow("iam:AddRoleToInstanceProfile"))
    error = refused(assume(aws, builder).client("iam").add_role_to_instance_profile,
                    InstanceProfileName="app-worker", RoleName="app-worker")
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/app-worker" in message_of(error)


def test_a_trust_policy_for_ec2_only_refuses_assume_role(aws):
    caller = assume(aws, make_role(aws, "Visitor", allow("sts:AssumeRole")), "visitor")
    instance_role = make_role(aws, "InstanceOnly", principal=EC2_PRINCIPAL)
    open_role = make_role(aws, "OpenToAccount")

    error = refused(caller.client("sts").assume_role, RoleArn=instance_role, RoleSessionName="sneak")
    assert code_of(error) == "AccessDenied"
    # STS's words stop at the resource, whichever policy refused: AccessDenied answers quoted from real accounts in
    # https://github.com/Netflix/security_monkey/issues/77 and https://github.com/aws/karpenter-provider-aws/issues/4680
    assert message_of(error) == (
        f"User: {session_arn('Visitor', 'visitor')} is not authorized to perform: sts:AssumeRole on resource: "
        f"{instance_role}")
    credentials = caller.client("sts").assume_role(RoleArn=open_role, RoleSessionName="fine")["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")


def test_a_trust_policy_naming_the_account_still_needs_the_callers_permission(aws):
    target = make_role(aws, "Target")
    without = assume(aws, make_role(aws, "NoAssume", allow("s3:*")))
    error = refused(without.client("sts").assume_role, RoleArn=target, RoleSessionName="x1")
    # STS says only who, what and where; the gatehouse's record keeps which policy decided.
    assert message_of(error) == (f"User: {session_arn('NoAssume')} is not authorized to perform: sts:AssumeRole "
                                 f"on resource: {target}")
    decision = gatehouse.last_decisions(1)[0].decision
    assert (decision.outcome, decision.denied_by) == ("implicit-deny", "identity-based policy")


def test_a_trust_policy_naming_the_role_itself_lets_it_in_without_an_identity_grant(aws):
    caller_role = make_role(aws, "Named", allow("s3:ListAllMyBuckets"))
    target = aws.client("iam").create_role(
        RoleName="NamesCaller",
        AssumeRolePolicyDocument=trust_policy({"AWS": caller_role}))["Role"]["Arn"]
    caller = assume(aws, caller_role)
    caller.client("sts").assume_role(RoleArn=target, RoleSessionName="direct")


def test_assuming_a_role_that_does_not_exist_is_refused(aws):
    caller = assume(aws, make_role(aws, "Seeker", allow("sts:AssumeRole")))
    error = refused(caller.client("sts").assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Ghost",
                    RoleSessionName="boo")
    assert code_of(error) == "AccessDenied", message_of(error)


def test_session_tags_need_tag_session_in_the_trust_policy(aws):
    caller = assume(aws, make_role(aws, "Tagger", allow(["sts:AssumeRole", "sts:TagSession"])))
    target = make_role(aws, "PlainTrust")
    error = refused(caller.client("sts").assume_role, RoleArn=target, RoleSessionName="tagged",
                    Tags=[{"Key": "team", "Value": "blue"}])
    assert "sts:TagSession" in message_of(error)


def test_a_permissions_boundary_caps_what_the_role_policy_grants(aws):
    iam = aws.client("iam")
    aws.client("s3").create_bucket(Bucket="parcels")
    boundary = iam.create_policy(PolicyName="OnlyS3Read",
                                 PolicyDocument=document(allow(["s3:GetObject", "s3:ListBucket"])))["Policy"]["Arn"]
    role = make_role(aws, "Bounded", allow(["s3:*", "iam:ListRoles"]), boundary=boundary)
    session = assume(aws, role)
    session.client("s3").list_objects_v2(Bucket="parcels")
    error = refused(session.client("iam").list_roles)
    assert message_of(error).endswith("because no permissions boundary allows the iam:ListRoles action")
    error = refused(session.client("s3").put_object, Bucket="parcels", Key="k", Body=b"")
    assert "permissions boundary" in message_of(error)


def test_a_session_policy_narrows_the_session(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="a", Body=b"a")
    role = make_role(aws, "Broad", allow("s3:*"))
    narrow = assume(aws, role, "narrow", policy=document(allow("s3:GetObject", "arn:aws:s3:::parcels/*")))
    narrow.client("s3").get_object(Bucket="parcels", Key="a")
    error = refused(narrow.client("s3").delete_object, Bucket="parcels", Key="a")
    assert message_of(error).endswith("because no session policy allows the s3:DeleteObject action")
    assume(aws, role, "broad").client("s3").delete_object(Bucket="parcels", Key="a")


def test_principal_tags_come_from_the_role(aws):
    aws.client("s3").create_bucket(Bucket="blue-team")
    aws.client("s3").create_bucket(Bucket="red-team")
    rule = allow("s3:ListBucket", "arn:aws:s3:::${aws:PrincipalTag/team}-team")
    blue = assume(aws, make_role(aws, "BlueMember", rule, tags=[{"Key": "team", "Value": "blue"}]))
    blue.client("s3").list_objects_v2(Bucket="blue-team")
    assert code_of(refused(blue.client("s3").list_objects_v2, Bucket="red-team")) == "AccessDenied"
    untagged = assume(aws, make_role(aws, "Untagged", rule))
    assert code_of(refused(untagged.client("s3").list_objects_v2, Bucket="blue-team")) == "AccessDenied"


def test_resource_tags_of_a_role_are_in_the_context(aws):
    make_role(aws, "Tagged", tags=[{"Key": "owner", "Value": "ops"}])
    make_role(aws, "Untagged2")
    reader = assume(aws, make_role(aws, "TagReader", allow("iam:GetRole", condition={
        "StringEquals": {"aws:ResourceTag/owner": "ops"}})))
    reader.client("iam").get_role(RoleName="Tagged")
    assert code_of(refused(reader.client("iam").get_role, RoleName="Untagged2")) == "AccessDenied"


def test_a_role_session_chain_keeps_the_gatehouse_in_charge(aws):
    first = assume(aws, make_role(aws, "First", allow("sts:AssumeRole")))
    second = make_role(aws, "Second", allow("s3:ListAllMyBuckets"))
    chained = assume(aws, second, "chained", via=first)
    chained.client("s3").list_buckets()
    assert code_of(refused(chained.client("iam").list_roles)) == "AccessDenied"


def test_deny_on_the_role_arn_in_a_trust_policy(aws):
    iam = aws.client("iam")
    visitor_role = make_role(aws, "Denied", allow("sts:AssumeRole"))
    trust = document({"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole"},
                     {"Effect": "Deny", "Principal": {"AWS": visitor_role}, "Action": "sts:AssumeRole"})
    target = iam.create_role(RoleName="Guarded", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    error = refused(assume(aws, visitor_role).client("sts").assume_role, RoleArn=target, RoleSessionName="no")
    assert message_of(error).endswith(f"sts:AssumeRole on resource: {target}")
    decision = gatehouse.last_decisions(1)[0].decision
    assert (decision.outcome, decision.denied_by) == ("explicit-deny", "resource-based policy")


def test_the_administrator_is_held_to_the_trust_policy_too(aws):
    # The administrator is an IAM user with AdministratorAccess: its policy allows sts:AssumeRole, but taking a role
    # is also the trust policy's say, and a trust policy that names only EC2 does not name the user.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    ec2_only = make_role(aws, "InstanceOnly", principal=EC2_PRINCIPAL)
    error = refused(aws.client("sts").assume_role, RoleArn=ec2_only, RoleSessionName="me")
    assert code_of(error) == "AccessDenied"
    assert message_of(error) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/administrator is not authorized to perform: sts:AssumeRole on resource: "
        f"{ec2_only}")
    trusting_the_account = make_role(aws, "ForTheAccount")
    assert assume(aws, trusting_the_account, "me").client("sts").get_caller_identity()["Arn"] == \
        session_arn("ForTheAccount", "me")

def test_sts_names_no_reason_when_the_callers_own_policy_is_missing(aws):
    # Refused for want of an identity-based Allow, STS still answers only who, what and on which resource, unlike
    # the services whose AccessDenied adds "because no identity-based policy allows ..." (the AccessDenied answers
    # quoted in https://github.com/amzn/selling-partner-api-models/issues/1186).
    role = make_role(aws, "OpenToAccount")
    error = refused(make_user(aws, "walker").client("sts").assume_role, RoleArn=role, RoleSessionName="walk")
    assert code_of(error) == "AccessDenied"
    assert message_of(error) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/walker is not authorized to perform: sts:AssumeRole on resource: {role}")
    # Other services keep their reason (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
    other = refused(make_user(aws, "reader").client("iam").list_roles)
    assert message_of(other).endswith("because no identity-based policy allows the iam:ListRoles action")
