"""Self-check: an immediate answer with a hint on the visible aspects only, and the ipywidgets panel. (That it never
says PASS while hidden aspects are left for grading: test_selfcheck_truth.py.)"""

from __future__ import annotations

import json

from grader.selfcheck import check, panel

EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]},
     "Action": "sts:AssumeRole"}]})


def test_a_missing_role_fails_with_a_hint(aws):
    answer = check("protocol-1")
    assert not answer.passed and not answer
    assert "There is no role 'DeliveryRole'" in answer.text()
    assert "Hint:" in answer.text() and "ec2.amazonaws.com" in answer.hint


def test_self_check_judges_only_the_visible_aspects(aws):
    aws.client("iam").create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=EC2_TRUST)
    answer = check("protocol-1")
    assert answer.result.passed and not answer.passed  # all it checked passes; the hidden aspect is left for grading
    assert answer.text().startswith("NOT YET CONFIRMED protocol-1")
    assert "ecs-tasks" not in answer.text()  # the hidden aspect (nobody else may assume it) is not revealed...
    assert "1 more is checked at grading (who else may assume the role)" in answer.text()  # ...but it is described
    assert "Hint" not in answer.text()


def test_self_check_is_quick(aws):
    import time

    check("protocol-1")  # the first IAM call loads AWS's managed policies
    started = time.perf_counter()
    check("protocol-1")
    assert time.perf_counter() - started < 0.5


def test_an_unknown_check_names_the_real_ones():
    import pytest

    with pytest.raises(KeyError, match="two-layers-1"):
        check("two-layer-1")


def test_the_panel_lists_every_part_and_a_click_shows_the_answer(aws):
    box = panel("04-two-layers-capstone")
    assert list(box.buttons) == ["two-layers-1", "two-layers-2", "two-layers-3", "two-layers-4"]
    box.buttons["two-layers-1"].click()
    output = box.outputs["two-layers-1"]
    text = "".join(o["text"] for o in output.outputs)
    assert text.startswith("FAIL two-layers-1") and "ContainerHostRole" in text
    aws.client("iam").create_role(RoleName="ContainerHostRole", AssumeRolePolicyDocument=EC2_TRUST)
    aws.client("iam").attach_role_policy(
        RoleName="ContainerHostRole",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    box.buttons["two-layers-1"].click()
    text = "".join(o["text"] for o in output.outputs)
    assert text.startswith("NOT YET CONFIRMED two-layers-1") and output.answer.result.passed  # one answer, not two
    assert text.count("two-layers-1") == 1
