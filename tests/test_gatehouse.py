"""The gatehouse: who is calling, refusals in AWS's words, and a gate that bad input cannot break.

Helpers at the top are shared by the other test_gatehouse_*.py files: they build roles and users with the
administrator's client and hand back boto3 sessions holding the credentials a reader's code would hold.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
EC2_TRUST = {"Service": "ec2.amazonaws.com"}


def statement(effect, actions, resources="*", sid=None, condition=None, **extra):
    st = {"Effect": effect, "Action": actions, "Resource": resources, **extra}
    if sid:
        st["Sid"] = sid
    if condition:
        st["Condition"] = condition
    return st


def allow(actions, resources="*", **kw):
    return statement("Allow", actions, resources, **kw)


def deny(actions, resources="*", **kw):
    return statement("Deny", actions, resources, **kw)


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust_policy(principal=None, action="sts:AssumeRole"):
    return document({"Effect": "Allow", "Principal": principal or {"AWS": ROOT}, "Action": action})


def make_role(box, name, *statements, principal=None, tags=None, boundary=None):
    """A role trusted by the account (or ``principal``) with one inline policy of ``statements``."""
    iam = box.client("iam")
    kwargs = {"Tags": tags} if tags else {}
    if boundary:
        kwargs["PermissionsBoundary"] = boundary
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(principal), **kwargs)["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=document(*statements))
    return arn


def credentials_session(credentials, region="us-east-1"):
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials.get("SessionToken"), region_name=region)


def assume(box, role_arn, session_name="reader", policy=None, via=None, region="us-east-1"):
    """A boto3 session for a new session of ``role_arn`` (assumed by the administrator unless ``via``)."""
    sts = (via or box.admin_session()).client("sts")
    kwargs = {"Policy": policy} if policy else {}
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **kwargs)["Credentials"]
    return credentials_session(credentials, region)


def make_user(box, name, *statements, groups=(), tags=None):
    iam = box.client("iam")
    iam.create_user(UserName=name, **({"Tags": tags} if tags else {}))
    if statements:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=document(*statements))
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         region_name="us-east-1")


def refused(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


def code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def message_of(error: ClientError) -> str:
    return error.response["Error"]["Message"]


def session_arn(role, session="reader"):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


# ----------------------------------------------------------------------------------------------------------------


def test_the_administrator_is_unrestricted(aws):
    aws.client("iam").create_role(RoleName="Anything", AssumeRolePolicyDocument=trust_policy())
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="box-1", Body=b"x")
    aws.client("ec2").describe_instances()
    aws.client("ecs").create_cluster(clusterName="depot")
    aws.client("sts").get_caller_identity()


def test_a_role_session_does_what_its_policy_allows_and_nothing_else(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="box-1", Body=b"hello")
    role = make_role(aws, "Courier", allow("s3:GetObject", "arn:aws:s3:::parcels/*"))
    s3 = assume(aws, role).client("s3")

    assert s3.get_object(Bucket="parcels", Key="box-1")["Body"].read() == b"hello"
    error = refused(s3.put_object, Bucket="parcels", Key="box-2", Body=b"no")
    assert code_of(error) == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert message_of(error) == (
        f"User: {session_arn('Courier')} is not authorized to perform: s3:PutObject on resource: "
        "arn:aws:s3:::parcels/box-2 because no identity-based policy allows the s3:PutObject action")
    assert "box-2" not in [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="parcels")["Contents"]]


def test_an_explicit_deny_beats_an_allow_of_everything(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    aws.client("s3").put_object(Bucket="parcels", Key="vault/gold", Body=b"$")
    aws.client("s3").put_object(Bucket="parcels", Key="open/letter", Body=b"hi")
    role = make_role(aws, "Porter", allow("s3:*"), deny("s3:GetObject", "arn:aws:s3:::parcels/vault/*",
                                                         sid="KeepOutOfTheVault"))
    s3 = assume(aws, role).client("s3")
    assert s3.get_object(Bucket="parcels", Key="open/letter")["Body"].read() == b"hi"
    error = refused(s3.get_object, Bucket="parcels", Key="vault/gold")
    assert code_of(error) == "AccessDenied"
    assert message_of(error).endswith("with an explicit deny in an identity-based policy")


def test_get_caller_identity_is_always_allowed(aws):
    role = make_role(aws, "Nobody", deny("*"))
    session = assume(aws, role, "who-am-i")
    assert session.client("sts").get_caller_identity()["Arn"] == session_arn("Nobody", "who-am-i")
    assert code_of(refused(session.client("s3").list_buckets)) == "AccessDenied"


def test_each_protocol_refuses_in_its_own_words(aws):
    session = assume(aws, make_role(aws, "Idle"))
    iam_error = refused(session.client("iam").list_roles)
    assert (code_of(iam_error), iam_error.response["Error"]["Type"]) == ("AccessDenied", "Sender")
    assert iam_error.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    ec2_error = refused(session.client("ec2").describe_instances)
    assert code_of(ec2_error) == "UnauthorizedOperation"
    assert message_of(ec2_error).startswith("You are not authorized to perform this operation. User: ")

    ecs_error = refused(session.client("ecs").list_clusters)
    assert code_of(ecs_error) == "AccessDeniedException"
    assert ecs_error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message_of(ecs_error) == (f"User: {session_arn('Idle')} is not authorized to perform: ecs:ListClusters "
                                     "because no identity-based policy allows the ecs:ListClusters action")


def test_an_iam_user_gets_its_own_and_its_groups_policies(aws):
    iam = aws.client("iam")
    iam.create_group(GroupName="readers")
    iam.put_group_policy(GroupName="readers", PolicyName="list", PolicyDocument=document(allow("s3:ListAllMyBuckets")))
    user = make_user(aws, "ana", allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/ana"), groups=["readers"])
    user.client("s3").list_buckets()
    assert user.client("iam").get_user(UserName="ana")["User"]["UserName"] == "ana"
    error = refused(user.client("iam").get_user, UserName="other")
    assert message_of(error).startswith(f"User: arn:aws:iam::{ACCOUNT}:user/ana is not authorized to perform: "
                                        "iam:GetUser on resource: arn:aws:iam::123456789012:user/other")


def test_a_session_expires_on_the_sandbox_clock(aws):
    aws.client("s3").create_bucket(Bucket="parcels")
    role = make_role(aws, "Courier", allow("s3:ListBucket", "arn:aws:s3:::parcels"), allow("iam:ListRoles"))
    session = assume(aws, role)
    session.client("s3").list_objects_v2(Bucket="parcels")
    aws.clock.advance(hours=2)
    error = refused(session.client("iam").list_roles)
    assert code_of(error) == "ExpiredToken"
    assert message_of(error) == "The security token included in the request is expired"
    assert code_of(refused(session.client("s3").list_objects_v2, Bucket="parcels")) == "ExpiredToken"
    assert code_of(refused(session.client("ecs").list_clusters)) == "ExpiredTokenException"


def test_a_key_nobody_issued_is_refused(aws):
    stranger = boto3.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40,
                             region_name="us-east-1")
    error = refused(stranger.client("sts").get_caller_identity)
    assert code_of(error) == "InvalidClientTokenId"
    assert message_of(error) == "The security token included in the request is invalid."
    assert code_of(refused(stranger.client("s3").list_buckets)) == "InvalidAccessKeyId"
    assert code_of(refused(stranger.client("ec2").describe_instances)) == "AuthFailure"


def test_a_deleted_access_key_stops_working(aws):
    user = make_user(aws, "leaver", allow("s3:ListAllMyBuckets"))
    user.client("s3").list_buckets()
    key = user.get_credentials().access_key
    aws.client("iam").delete_access_key(UserName="leaver", AccessKeyId=key)
    assert code_of(refused(user.client("s3").list_buckets)) == "InvalidAccessKeyId"


def test_a_service_the_sandbox_does_not_run_is_refused_by_name(aws):
    session = assume(aws, make_role(aws, "Everything", allow("*")))
    session.client("iam").list_open_id_connect_providers()  # no hand-written entry: the reference authorises it
    error = refused(session.client("sqs").list_queues)
    assert code_of(error) == "NotImplemented"
    assert message_of(error).startswith("The sandbox does not run Amazon SQS (sqs): this call has no answer here.")
    assert "Amazon EC2 (ec2)" in message_of(error) and "AWS Security Token Service (sts)" in message_of(error)
    # The administrator is an IAM user like any other: no call is waved through unjudged, not even its own.
    assert code_of(refused(aws.client("sqs").list_queues)) == "NotImplemented"


def test_refusals_have_deterministic_request_ids():
    from grader import sandbox

    def first_refusal_id():
        box = sandbox.start()
        try:
            session = assume(box, make_role(box, "Idle"))
            return refused(session.client("iam").list_roles).response["ResponseMetadata"]["RequestId"]
        finally:
            box.stop()

    assert first_refusal_id() == first_refusal_id()


def test_the_gate_survives_garbage(aws):
    from grader import gatehouse

    garbage = [
        ("POST", "https://iam.amazonaws.com/", {"Authorization": "nonsense"}, b"Action=GetRole"),
        ("POST", "https://iam.amazonaws.com/", {"Authorization": "AWS4-HMAC-SHA256 Credential=a/b"}, b""),
        ("POST", "https://iam.amazonaws.com/",
         {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIASANDBOXADMIN0001/20240101/us-east-1/iam/aws4_request",
          "Content-Type": "application/x-www-form-urlencoded"}, b"Action=NoSuchThing&\xff\xfe"),
        ("POST", "https://ecs.us-east-1.amazonaws.com/",
         {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIASANDBOXADMIN0001/20240101/us-east-1/ecs/aws4_request",
          "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
          "Content-Type": "application/x-amz-json-1.1"}, b"{not json"),
        ("GET", "not a url at all", {}, None),
        ("PUT", "https://parcels.s3.amazonaws.com/key", {"Authorization": b"\xff\xfe"}, object()),
        ("POST", "https://ecs.us-east-1.amazonaws.com/", None, None),
    ]
    for method, url, headers, body in garbage:
        answer = gatehouse.admit(aws, method, url, headers, body)
        assert answer is None or (isinstance(answer, tuple) and len(answer) == 3), (url, answer)
        if answer is not None:
            status, _, text = answer
            assert 400 <= status < 500
            assert "Traceback" not in text


def test_a_broken_authorization_header_is_a_client_error_not_a_crash(aws):
    client = aws.client("iam")

    def break_signature(request, **_):
        request.headers["Authorization"] = "AWS4-HMAC-SHA256 Signature=only"

    client.meta.events.register_last("before-send.iam.ListRoles", break_signature)
    error = refused(client.list_roles)
    assert code_of(error) == "IncompleteSignature"


def test_the_gatehouse_is_installed_by_every_start():
    from grader import gatehouse, sandbox

    box = sandbox.start()
    try:
        assert gatehouse.gate in box.gates
        assert sandbox.start() is box and box.gates.count(gatehouse.gate) == 1
    finally:
        box.stop()
