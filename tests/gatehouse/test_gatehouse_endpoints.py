"""The service a request is for is the one its host names, as AWS's endpoints are named, and no other.

AWS names each service's endpoints (https://docs.aws.amazon.com/general/latest/gr/rande.html: ``iam.amazonaws.com``,
``sts.<region>.amazonaws.com``, ``ec2.<region>.amazonaws.com``, ``api.ecr.<region>.amazonaws.com``...; S3's
virtual-hosted-style ``<bucket>.s3.<region>.amazonaws.com``,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html). A request signed for another service
than the endpoint's is refused ("Credential should be scoped to correct service", Signature Version 4 troubleshooting:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html). The sandbox's mock account
routes by its own URL patterns, so a request on which host, signature and that routing disagree is refused, in
process and in the account a grading worker serves.
"""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError

from grader import sandbox
from grader.served import wire
from grader.served.client import _Connection
from grader.served.server import AccountServer
from grader.aws import routing
from grader.gatehouse import gate

COURSE = {name: name for name in ("iam", "sts", "s3", "ec2", "ecs", "ecr", "logs", "ssm")}


def _signed(service: str, **more) -> dict:
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={sandbox.ADMIN_ACCESS_KEY_ID}/20240101/us-east-1/"
                             f"{service}/aws4_request, SignedHeaders=host, Signature=00",
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **more}


@pytest.mark.parametrize("host, service", [
    ("iam.amazonaws.com", "iam"), ("sts.amazonaws.com", "sts"), ("sts.eu-west-1.amazonaws.com", "sts"),
    ("ec2.us-east-1.amazonaws.com", "ec2"), ("ecs.us-east-1.amazonaws.com", "ecs"),
    ("logs.us-east-1.amazonaws.com", "logs"), ("api.ecr.us-east-1.amazonaws.com", "ecr"),
    ("ecr.us-east-1.amazonaws.com", "ecr"), ("ssm.us-east-1.amazonaws.com", "ssm"), ("s3.amazonaws.com", "s3"),
    ("s3.eu-west-1.amazonaws.com", "s3"), ("parcels.s3.amazonaws.com", "s3"),
    ("parcels.s3.eu-west-1.amazonaws.com", "s3"), ("iam.s3.amazonaws.com", "s3"),
    # Not endpoints of these services: IAM is global only, and the rest name no service the sandbox runs.
    ("iam.us-east-1.amazonaws.com", None), ("sqs.us-east-1.amazonaws.com", None),
    ("stream-logs.sqs.amazonaws.com", None), ("iam.sqs.amazonaws.com", None), ("ec2.amazonaws.com", None),
])
def test_a_host_names_the_service_whose_endpoint_it_is(host, service):
    route = routing.host_service(host, COURSE)
    assert (route.service if route else None) == service


def test_the_hosts_botocore_builds_are_the_ones_that_name_each_service():
    session = boto3.Session(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="us-east-1")
    for service in COURSE:
        for region in ("us-east-1", "eu-west-1"):
            host = session.client(service, region_name=region).meta.endpoint_url.split("://", 1)[1]
            assert routing.host_service(host, COURSE).service == service, host


def test_moto_is_asked_the_way_it_routes(aws):
    # The first of moto's patterns that matches is IAM's, but no IAM URL matches the path: moto goes on to SQS.
    assert routing.moto_service("https://iam.sqs.amazonaws.com/123456789012/q") == "sqs"
    assert routing.moto_service("https://iam.s3.amazonaws.com/") == "iam"
    assert routing.moto_service("https://parcels.s3.amazonaws.com/key") == "s3"


def test_a_call_through_a_crafted_host_is_refused_unanswered(aws):
    # Unsigned, at a host that names no service: moto would answer it as SQS, which the sandbox does not run.
    answer = gate(aws, _Request("POST", "https://stream-logs.sqs.amazonaws.com/123456789012/evil",
                                        {"Content-Type": "application/x-www-form-urlencoded"},
                                        b"Action=CreateQueue&QueueName=evil"))
    assert answer is not None and answer[0] == 400
    assert "is not the endpoint of any service the sandbox runs" in answer[2]


def test_a_signature_for_another_service_is_refused_in_aws_words(aws):
    iam_signed_at_s3 = _Request("PUT", "https://parcels.s3.amazonaws.com/", _signed("iam"), b"Action=ListUsers")
    status, _, body = gate(aws, iam_signed_at_s3)
    assert status == 400 and "<Code>AuthorizationHeaderMalformed</Code>" in body
    assert 'incorrect service "iam". This endpoint belongs to "s3".' in body
    s3_signed_at_iam = _Request("POST", "https://iam.amazonaws.com/", _signed("s3"), b"Action=ListUsers")
    status, _, body = gate(aws, s3_signed_at_iam)
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
    assert "Credential should be scoped to correct service: &apos;iam&apos;." in body or \
        "Credential should be scoped to correct service: 'iam'." in body


def test_a_json_target_of_another_service_is_refused(aws):
    request = _Request("POST", "https://ecs.us-east-1.amazonaws.com/",
                       _signed("ecs", **{"Content-Type": "application/x-amz-json-1.1",
                                         "X-Amz-Target": "AmazonSQS.ListQueues"}), b"{}")
    status, headers, body = gate(aws, request)
    assert status == 400 and headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_a_bucket_named_like_a_service_is_reached_path_style(aws):
    from botocore.config import Config

    path_style = aws.client("s3", config=Config(s3={"addressing_style": "path"}))
    path_style.create_bucket(Bucket="iam")
    s3 = aws.client("s3")
    s3.put_object(Bucket="iam", Key="k", Body=b"x")  # iam.s3.amazonaws.com/k: moto too answers it as S3
    with pytest.raises(ClientError) as refused:
        # iam.s3.amazonaws.com/ is S3's endpoint for the bucket, but the mock account would answer it as IAM.
        s3.list_objects_v2(Bucket="iam")
    assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert "path-style addressing" in refused.value.response["Error"]["Message"]
    assert [o["Key"] for o in path_style.list_objects_v2(Bucket="iam")["Contents"]] == ["k"]


class _Request:
    def __init__(self, method, url, headers, body):
        self.method, self.url, self.headers, self.body = method, url, headers, body


# --------------------------------------------------------------------------------------------------------------
# The account a grading worker serves


@pytest.fixture
def server(aws, tmp_path):
    account = AccountServer(aws, str(tmp_path / "account.sock"), threading.RLock())
    try:
        yield account
    finally:
        account.close()


def _http(server, method, url, headers, body=b""):
    return server.answer({"kind": "http", "method": method, "url": url, "headers": headers, "body": body})


def test_the_served_account_refuses_sqs_through_a_crafted_host(aws, server):
    from moto.sqs.models import sqs_backends

    for url, headers in (("https://stream-logs.sqs.amazonaws.com/123456789012/evil",
                          {"Content-Type": "application/x-www-form-urlencoded"}),
                         ("https://iam.sqs.amazonaws.com/123456789012/evil", _signed("iam")),
                         ("https://sqs.us-east-1.amazonaws.com/123456789012/evil", _signed("sqs"))):
        answer = _http(server, "POST", url, headers, b"Action=CreateQueue&QueueName=evil")
        assert "refused" in answer, (url, answer)
    assert not sqs_backends[sandbox.ACCOUNT_ID]["us-east-1"].queues


def test_the_served_account_does_not_judge_an_s3_request_as_the_iam_call_in_its_body(aws, server):
    admin_iam = aws.client("iam")
    admin_iam.create_user(UserName="visitor")
    # A bucket called "iam" under S3's endpoint, signed for IAM, with an IAM call in the body: moto's patterns
    # would hand it to IAM, and a gatehouse reading the signature would judge iam:ListUsers.
    answer = _http(server, "PUT", "https://iam.s3.amazonaws.com/", _signed("iam"),
                   b"Action=DeleteUser&UserName=visitor")
    assert "refused" in answer and "is an endpoint of s3" in answer["refused"]
    answer = _http(server, "PUT", "https://iam.amazonaws.com.s3.amazonaws.com/", _signed("s3"),
                   b"Action=DeleteUser&UserName=visitor")
    assert "refused" in answer
    assert admin_iam.get_user(UserName="visitor")["User"]["UserName"] == "visitor"


def test_the_served_account_still_answers_the_course_services(aws, server):
    # A plain call, as botocore sends it, still goes through (and the gatehouse still judges it).
    answer = _http(server, "POST", "https://sts.us-east-1.amazonaws.com/", _signed("sts"),
                   b"Action=GetCallerIdentity&Version=2011-06-15")
    assert answer.get("status") == 200 and b"user/administrator" in answer["body"]
    answer = _http(server, "POST", "https://iam.amazonaws.com/", _signed("iam"), b"Action=GetUser&Version=2010-05-08")
    assert answer.get("status") == 200
