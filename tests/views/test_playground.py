"""The policy playground: evaluate_choice's answers from a live sandbox, and the widget that asks for them."""

from __future__ import annotations

import json

import boto3
import pytest

from grader import gatehouse
from grader.views.playground import COMMON_ACTIONS, evaluate_choice, parse_context, playground, principals, resources

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/DeliveryRole"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})
RULES = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "DeliverToResidences", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::residences/deliveries/*"},
    {"Sid": "ParkingBaysOnly", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::residences",
     "Condition": {"StringLike": {"s3:prefix": "parking/*"}}},
    {"Sid": "NoChargingStations", "Effect": "Deny", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::charging-stations", "arn:aws:s3:::charging-stations/*"]},
]})


@pytest.fixture
def estate(aws):
    s3, iam = aws.client("s3"), aws.client("iam")
    for bucket, key in (("residences", "deliveries/12-oak-lane/parcel.txt"), ("charging-stations", "plug-1")):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="DeliveryRole", PolicyName="rules", PolicyDocument=RULES)
    iam.create_user(UserName="inspector")
    iam.put_user_policy(UserName="inspector", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]}))
    return aws


def _driver(aws):
    key = aws.client("iam").create_access_key(UserName="inspector")["AccessKey"]
    inspector = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                              region_name=aws.region)
    badge = inspector.client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="driver-7")["Credentials"]
    return boto3.Session(aws_access_key_id=badge["AccessKeyId"], aws_secret_access_key=badge["SecretAccessKey"],
                         aws_session_token=badge["SessionToken"], region_name=aws.region)


def test_an_allow_names_the_statement_that_allowed_it(estate):
    text = evaluate_choice(ROLE_ARN, "s3:GetObject", "arn:aws:s3:::residences/deliveries/12-oak-lane/parcel.txt")
    assert " ".join(text.split()).startswith("ALLOWED: s3:GetObject on arn:aws:s3:::residences/deliveries/")
    assert "DeliverToResidences" in text
    assert f"Principal: arn:aws:sts::{ACCOUNT}:assumed-role/DeliveryRole/playground" in text


def test_an_explicit_deny_says_so_with_aws_words(estate):
    text = evaluate_choice(ROLE_ARN, "s3:GetObject", "arn:aws:s3:::charging-stations/plug-1")
    assert text.startswith("DENIED (explicit deny)")
    assert "NoChargingStations" in text
    assert "with an explicit deny in an identity-based policy" in " ".join(text.split())


def test_an_implicit_deny_names_the_statements_that_did_not_apply(estate):
    text = " ".join(evaluate_choice(ROLE_ARN, "s3:DeleteObject",
                                    "arn:aws:s3:::residences/deliveries/12-oak-lane/parcel.txt").split())
    assert text.startswith("DENIED (implicit deny: nothing allowed it)")
    assert "does not match s3:DeleteObject" in text
    assert "because no identity-based policy allows the s3:DeleteObject action" in text


def test_condition_keys_decide_and_are_shown(estate):
    parking = evaluate_choice(ROLE_ARN, "s3:ListBucket", "arn:aws:s3:::residences", "s3:prefix=parking/")
    assert parking.startswith("ALLOWED") and "Condition keys you gave: s3:prefix='parking/'" in parking
    private = evaluate_choice(ROLE_ARN, "s3:ListBucket", "arn:aws:s3:::residences", {"s3:prefix": "private/"})
    assert private.startswith("DENIED (implicit deny")
    assert evaluate_choice(ROLE_ARN, "s3:ListBucket", "arn:aws:s3:::residences").startswith("DENIED")


def test_the_answer_reads_the_same_every_time(estate):
    first = evaluate_choice(ROLE_ARN, "s3:GetObject", "arn:aws:s3:::charging-stations/plug-1")
    estate.clock.advance(minutes=5)
    assert evaluate_choice(ROLE_ARN, "s3:GetObject", "arn:aws:s3:::charging-stations/plug-1") == first
    assert "aws:EpochTime" not in first and "aws:CurrentTime" not in first
    assert all(len(line) <= 76 for line in first.splitlines())


def test_a_session_user_and_role_are_all_principals(estate):
    driver = _driver(estate)
    driver.client("s3").get_object(Bucket="residences", Key="deliveries/12-oak-lane/parcel.txt")
    offered = dict((value, label) for label, value in principals())
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/DeliveryRole/driver-7"
    assert offered[ROLE_ARN] == "role DeliveryRole"
    assert offered[f"arn:aws:iam::{ACCOUNT}:user/inspector"] == "user inspector"
    assert offered[session] == "session driver-7 of DeliveryRole"
    assert evaluate_choice(session, "s3:PutObject", "arn:aws:s3:::residences/deliveries/x").startswith("ALLOWED")
    # The user may assume the role, and nothing else.
    user = f"arn:aws:iam::{ACCOUNT}:user/inspector"
    assert evaluate_choice(user, "sts:AssumeRole", ROLE_ARN).startswith("ALLOWED")
    assert evaluate_choice(user, "s3:GetObject", "arn:aws:s3:::residences/deliveries/x").startswith("DENIED")


def test_the_answer_agrees_with_a_real_call(estate):
    driver = _driver(estate)
    decision = gatehouse.decide(driver, "s3:GetObject", "arn:aws:s3:::charging-stations/plug-1")
    text = evaluate_choice(f"arn:aws:sts::{ACCOUNT}:assumed-role/DeliveryRole/driver-7", "s3:GetObject",
                           "arn:aws:s3:::charging-stations/plug-1")
    assert decision.outcome == "explicit-deny" and text.startswith("DENIED (explicit deny)")
    with pytest.raises(Exception, match="explicit deny"):
        driver.client("s3").get_object(Bucket="charging-stations", Key="plug-1")


def test_bad_choices_get_a_sentence_not_a_traceback(estate):
    assert "Pick a principal" in evaluate_choice(None, "s3:GetObject", "*")
    assert "Give an action" in evaluate_choice(ROLE_ARN, "  ", "*")
    assert "service:Action" in evaluate_choice(ROLE_ARN, "GetObject", "*")
    assert "no user, role or role session" in evaluate_choice(f"arn:aws:iam::{ACCOUNT}:role/Nobody", "s3:GetObject")
    assert "key=value" in evaluate_choice(ROLE_ARN, "s3:ListBucket", "*", "s3:prefix parking/")


def test_parse_context():
    assert parse_context("s3:prefix=parking/; aws:SourceIp = 198.51.100.7") == {
        "s3:prefix": "parking/", "aws:SourceIp": "198.51.100.7"}
    assert parse_context("") == {} and parse_context(None) == {}
    assert parse_context({"s3:prefix": "a"}) == {"s3:prefix": "a"}


def test_resources_suggest_buckets_objects_and_roles(estate):
    suggested = resources()
    assert suggested[0] == "*"
    for arn in ("arn:aws:s3:::residences", "arn:aws:s3:::residences/*",
                "arn:aws:s3:::residences/deliveries/12-oak-lane/parcel.txt", ROLE_ARN):
        assert arn in suggested


def test_the_widget_asks_the_gatehouse_when_its_button_is_clicked(estate):
    box = playground()
    assert ROLE_ARN in [value for _, value in box.principal.options]
    assert "s3:GetObject" in box.action.options and set(COMMON_ACTIONS) <= set(box.action.options)
    assert "arn:aws:s3:::charging-stations/plug-1" in box.resource.options
    box.principal.value = ROLE_ARN
    box.action.value = "s3:GetObject"
    box.resource.value = "arn:aws:s3:::charging-stations/plug-1"
    box.button.click()
    text = "".join(o["text"] for o in box.output.outputs)
    assert text.startswith("DENIED (explicit deny)") and "NoChargingStations" in text
    assert box.answer == text.rstrip("\n")
    # A second question replaces the first answer.
    box.action.value = "s3:ListBucket"
    box.resource.value = "arn:aws:s3:::residences"
    box.context.value = "s3:prefix=parking/"
    box.button.click()
    text = "".join(o["text"] for o in box.output.outputs)
    assert text.startswith("ALLOWED: s3:ListBucket") and text.count("ALLOWED") == 1


def test_the_widget_refreshes_its_lists_and_has_a_short_plain_text_form(estate):
    box = playground()
    estate.client("iam").create_role(RoleName="TraineeRole", AssumeRolePolicyDocument=TRUST)
    assert f"arn:aws:iam::{ACCOUNT}:role/TraineeRole" not in [v for _, v in box.principal.options]
    box.principal.value = ROLE_ARN
    box.refresh.click()
    assert f"arn:aws:iam::{ACCOUNT}:role/TraineeRole" in [v for _, v in box.principal.options]
    assert box.principal.value == ROLE_ARN  # the choice survives a refresh
    plain = box._repr_mimebundle_()["text/plain"]
    assert plain.startswith("Policy playground") and len(plain) <= 110


def test_an_empty_account_still_builds_a_playground(aws):
    box = playground()
    assert list(box.principal.options) == [("user administrator",
                                            "arn:aws:iam::123456789012:user/administrator")]
    box.principal.options = []  # nothing picked: the panel asks for a principal instead of failing
    box.button.click()
    assert "Pick a principal" in "".join(o["text"] for o in box.output.outputs)
