"""The gatehouse: who is calling, refusals in AWS's words, and a gate that bad input cannot break.

The helpers that build roles and users and hand back a reader's sessions are in ``tests/support.py``.
"""

from __future__ import annotations

import boto3

from support import (ACCOUNT, allow, assume, code_of, deny, document, make_role, make_user, message_of, refused,
                     session_arn, trust_policy)


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
