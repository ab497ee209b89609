"""The gatehouse and S3: bucket and object actions, bucket policies, and conditions on prefix, address and region."""

from __future__ import annotations

import json

from support import allow, assume, code_of, deny, make_role, message_of, refused, session_arn


def _bucket(aws, name="parcels", keys=()):
    aws.client("s3").create_bucket(Bucket=name)
    for key in keys:
        aws.client("s3").put_object(Bucket=name, Key=key, Body=key.encode())


def test_bucket_and_object_crud_follow_the_policy(aws):
    role = make_role(aws, "Keeper", allow(["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket"],
                                          "arn:aws:s3:::keeper-*"),
                     allow(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], "arn:aws:s3:::keeper-*/*"),
                     allow("s3:ListAllMyBuckets"))
    s3 = assume(aws, role).client("s3")
    s3.create_bucket(Bucket="keeper-one")
    s3.put_object(Bucket="keeper-one", Key="a/b.txt", Body=b"b")
    assert s3.get_object(Bucket="keeper-one", Key="a/b.txt")["Body"].read() == b"b"
    assert s3.head_object(Bucket="keeper-one", Key="a/b.txt")["ContentLength"] == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="keeper-one")["Contents"]] == ["a/b.txt"]
    assert "keeper-one" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket="keeper-one", Key="a/b.txt")
    s3.delete_bucket(Bucket="keeper-one")
    error = refused(s3.create_bucket, Bucket="other-bucket")
    assert message_of(error) == (f"User: {session_arn('Keeper')} is not authorized to perform: s3:CreateBucket on "
                                 "resource: arn:aws:s3:::other-bucket because no identity-based policy allows the "
                                 "s3:CreateBucket action")


def test_copy_object_needs_get_on_the_source(aws):
    _bucket(aws, "parcels", ["in/a", "secret/b"])
    role = make_role(aws, "Copier", allow("s3:PutObject", "arn:aws:s3:::parcels/out/*"),
                     allow("s3:GetObject", "arn:aws:s3:::parcels/in/*"))
    s3 = assume(aws, role).client("s3")
    s3.copy_object(Bucket="parcels", Key="out/a", CopySource="parcels/in/a")
    error = refused(s3.copy_object, Bucket="parcels", Key="out/b", CopySource="parcels/secret/b")
    assert "s3:GetObject on resource: arn:aws:s3:::parcels/secret/b" in message_of(error)


def test_list_bucket_with_an_s3_prefix_condition(aws):
    _bucket(aws, "parcels", ["home/ana/1", "home/bo/2"])
    role = make_role(aws, "Ana", allow("s3:ListBucket", "arn:aws:s3:::parcels",
                                       condition={"StringLike": {"s3:prefix": "home/ana/*"}}))
    s3 = assume(aws, role).client("s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="parcels", Prefix="home/ana/")["Contents"]] == ["home/ana/1"]
    assert code_of(refused(s3.list_objects_v2, Bucket="parcels", Prefix="home/bo/")) == "AccessDenied"
    assert code_of(refused(s3.list_objects_v2, Bucket="parcels")) == "AccessDenied"
    assert code_of(refused(s3.list_objects, Bucket="parcels", Prefix="home/")) == "AccessDenied"


def test_a_delimiter_condition(aws):
    _bucket(aws, "parcels", ["top", "dir/inner"])
    role = make_role(aws, "Browser", allow("s3:ListBucket", "arn:aws:s3:::parcels",
                                           condition={"StringEquals": {"s3:delimiter": "/"}}))
    s3 = assume(aws, role).client("s3")
    s3.list_objects_v2(Bucket="parcels", Delimiter="/")
    assert code_of(refused(s3.list_objects_v2, Bucket="parcels")) == "AccessDenied"


def test_a_bucket_policy_deny_wins_over_the_role(aws):
    _bucket(aws, "parcels", ["box"])
    role = make_role(aws, "Reader", allow("s3:*"))
    aws.client("s3").put_bucket_policy(Bucket="parcels", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoReaders", "Effect": "Deny", "Principal": {"AWS": role}, "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::parcels/*"}]}))
    error = refused(assume(aws, role).client("s3").get_object, Bucket="parcels", Key="box")
    assert message_of(error).endswith("with an explicit deny in a resource-based policy")


def test_a_bucket_policy_can_grant_a_session_on_its_own(aws):
    _bucket(aws, "parcels", ["box"])
    role = make_role(aws, "Guest", allow("sts:GetCallerIdentity"))
    session = assume(aws, role, "guest")
    aws.client("s3").put_bucket_policy(Bucket="parcels", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": session_arn("Guest", "guest")},
                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::parcels/*"}]}))
    assert session.client("s3").get_object(Bucket="parcels", Key="box")["Body"].read() == b"box"
    other = assume(aws, role, "other")
    assert code_of(refused(other.client("s3").get_object, Bucket="parcels", Key="box")) == "AccessDenied"


def test_source_ip_condition_with_the_sandbox_address(aws):
    from grader import gatehouse

    _bucket(aws, "parcels", ["box"])
    role = make_role(aws, "Office", allow("s3:GetObject", "arn:aws:s3:::parcels/*",
                                          condition={"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}))
    session = assume(aws, role)
    s3 = session.client("s3")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box")) == "AccessDenied"
    gatehouse.set_source_ip("198.51.100.7", who=session_arn("Office"))
    s3.get_object(Bucket="parcels", Key="box")
    gatehouse.set_source_ip("192.0.2.1", who=session.get_credentials().access_key)
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box")) == "AccessDenied"


def test_source_ip_default_is_documented_and_changeable(aws):
    from grader import gatehouse

    assert gatehouse.DEFAULT_SOURCE_IP == "203.0.113.10"
    _bucket(aws, "parcels", ["box"])
    role = make_role(aws, "Remote", allow("s3:GetObject", "arn:aws:s3:::parcels/*",
                                          condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    s3 = assume(aws, role).client("s3")
    assert code_of(refused(s3.get_object, Bucket="parcels", Key="box")) == "AccessDenied"
    gatehouse.set_source_ip("192.0.2.44")
    s3.get_object(Bucket="parcels", Key="box")


def test_requested_region_condition(aws):
    role = make_role(aws, "EastOnly", allow("s3:ListAllMyBuckets"),
                     deny("*", condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))
    assume(aws, role).client("s3").list_buckets()
    west = assume(aws, role, region="eu-west-1")
    error = refused(west.client("s3").list_buckets)
    assert message_of(error).endswith("with an explicit deny in an identity-based policy")


def test_secure_transport_is_true_for_https(aws):
    _bucket(aws, "parcels", ["box"])
    role = make_role(aws, "Careful", allow("s3:GetObject", "*"),
                     deny("s3:*", condition={"Bool": {"aws:SecureTransport": "false"}}))
    assume(aws, role).client("s3").get_object(Bucket="parcels", Key="box")


def test_delete_objects_checks_every_key(aws):
    _bucket(aws, "parcels", ["tmp/a", "keep/b"])
    role = make_role(aws, "Cleaner", allow("s3:DeleteObject", "arn:aws:s3:::parcels/tmp/*"))
    s3 = assume(aws, role).client("s3")
    s3.delete_objects(Bucket="parcels", Delete={"Objects": [{"Key": "tmp/a"}]})
    error = refused(s3.delete_objects, Bucket="parcels", Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]})
    assert "arn:aws:s3:::parcels/keep/b" in message_of(error)
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="parcels")["Contents"]]
    assert keys == ["keep/b"]
