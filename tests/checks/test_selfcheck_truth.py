"""The self-check tells the truth: for every graded part of every assignment, a wrong answer that fails only hidden
aspects never gets PASS from ``check()`` or ``panel()``; it gets NOT YET CONFIRMED, with what was checked and what
kind of thing grading also looks at, never the hidden test itself.

The parts and their aspects come from the checks' own registry (``grader.checks.PARTS``), so a new part or a new
hidden aspect is covered without touching this file, in three ways:

* from the aspects' structure: on a solved account, the visible run of each part announces every aspect the hidden
  run judges beyond it, so a verdict that needs "nothing left for grading" cannot be PASS while a hidden aspect exists;
* each hidden aspect forced to fail in turn (the grade loses points, the visible aspects still pass): no PASS;
* real wrong answers in a real account, one per part (``WRONG``): the grade loses points, the self-check says no PASS.
"""

from __future__ import annotations

import json
import re

import pytest

from grader.checks import ASSIGNMENTS, Marker, Result, load_all, parts_of
from grader.selfcheck import Answer, check, panel
from support import ACCOUNT_ROOT, solve

PASS_WORD = re.compile(r"\bPASS\b")


def _trusting(*services: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}]})


def _policy(effect: str, action, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action,
                                                               "Resource": resource}]})


def _iam(aws):
    return aws.client("iam")


def _untrusted_once_its_badge_expires(aws, role_name: str) -> None:
    """The instance's role no longer trusts EC2, and the badge it was handed has expired: the instance gets none."""
    _iam(aws).update_assume_role_policy(RoleName=role_name, PolicyDocument=_trusting("ecs-tasks.amazonaws.com"))
    aws.clock.advance(hours=13)


S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

# A wrong answer per part that every visible aspect accepts and a hidden aspect refuses, made on the solved account.
WRONG = {
    "protocol-1": lambda aws: _iam(aws).update_assume_role_policy(
        RoleName="DeliveryRole", PolicyDocument=_trusting("ec2.amazonaws.com", "ecs-tasks.amazonaws.com")),
    "protocol-2": lambda aws: _iam(aws).update_assume_role_policy(  # the issue's own example: EC2 trusted too
        RoleName="ParcelTaskRole", PolicyDocument=_trusting("ecs-tasks.amazonaws.com", "ec2.amazonaws.com")),
    "protocol-3": lambda aws: _iam(aws).update_assume_role_policy(
        RoleName="SharedCourierRole",
        PolicyDocument=_trusting("ec2.amazonaws.com", "lambda.amazonaws.com", "glue.amazonaws.com")),
    "protocol-4": lambda aws: _iam(aws).update_assume_role_policy(  # the other example: no Deny for mallory
        RoleName="VisitorRole", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole"}]})),
    "delivery-1": lambda aws: _iam(aws).put_role_policy(
        RoleName="CourierRole", PolicyName="and-pass-roles", PolicyDocument=_policy("Allow", "iam:PassRole", "*")),
    "delivery-2": lambda aws: _iam(aws).put_role_policy(
        RoleName="NightCourierRole", PolicyName="never-the-charging-station",
        PolicyDocument=_policy("Deny", "s3:*", "arn:aws:s3:::community/*")),
    "delivery-3": lambda aws: _iam(aws).put_role_policy(
        RoleName="CourierRole", PolicyName="designated-parking",
        PolicyDocument=_policy("Allow", "s3:ListBucket", "arn:aws:s3:::parcels")),
    "delivery-4": lambda aws: _iam(aws).put_role_policy(
        RoleName="DispatchRole", PolicyName="dispatch",
        PolicyDocument=_policy("Allow", "s3:GetObject", "arn:aws:s3:::*")),
    "badges-1": lambda aws: _iam(aws).update_assume_role_policy(
        RoleName="DeliveryVanRole", PolicyDocument=_trusting("ecs-tasks.amazonaws.com")),
    "badges-2": lambda aws: _untrusted_once_its_badge_expires(aws, "DeliveryVanRole"),
    "badges-3": lambda aws: _iam(aws).delete_role_policy(RoleName="ParcelScannerTaskRole",
                                                         PolicyName="read-parcels"),
    "two-layers-1": lambda aws: _iam(aws).attach_role_policy(RoleName="ContainerHostRole", PolicyArn=S3_READ_ONLY),
    "two-layers-2": lambda aws: _iam(aws).update_assume_role_policy(
        RoleName="ParcelAppTaskRole", PolicyDocument=_trusting("ecs-tasks.amazonaws.com", "ec2.amazonaws.com")),
    "two-layers-3": lambda aws: _untrusted_once_its_badge_expires(aws, "ContainerHostRole"),
    "two-layers-4": lambda aws: _iam(aws).attach_role_policy(RoleName="ContainerHostRole", PolicyArn=S3_READ_ONLY),
}


def _all_parts() -> list[str]:
    return list(load_all())


def _panel_text(part) -> tuple[str, Answer]:
    box = panel(part.assignment)
    box.buttons[part.id].click()
    output = box.outputs[part.id]
    return "".join(o["text"] for o in output.outputs), output.answer


def _assert_not_confirmed(part, later: list[str]) -> str:
    """check() and panel() say NOT YET CONFIRMED, name what grading also looks at, and never say PASS."""
    answer = check(part.id)
    text = answer.text()
    assert not answer.passed and not answer and answer.verdict == "NOT YET CONFIRMED", (part.id, text)
    assert not PASS_WORD.search(text), (part.id, text)
    assert text.startswith(f"NOT YET CONFIRMED {part.id}:"), text
    for about in later:
        assert about in text, (part.id, about, text)
    assert "checked at grading" in text
    shown, clicked = _panel_text(part)
    assert not PASS_WORD.search(shown) and shown.startswith(f"NOT YET CONFIRMED {part.id}:"), (part.id, shown)
    assert not clicked.passed
    return text


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_every_hidden_aspect_is_announced_by_the_visible_run(assignment, aws):
    """From the aspects' structure: the visible run of a solved part judges its visible aspects and counts each hidden
    one by its public description, so no hidden aspect can go unmentioned in a verdict."""
    solve(assignment)
    for part in parts_of(assignment):
        visible, hidden = part.run(), part.run(hidden=True)
        assert hidden.confirmed and hidden.points == part.points, hidden.report()
        assert visible.passed and visible.complete, visible.report()
        assert visible.checked + len(visible.later) == hidden.checked, (part.id, visible.later)
        assert all(about.strip() for about in visible.later)
        assert visible.confirmed == (not visible.later)
        answer = check(part.id)
        assert (answer.verdict == "PASS") == (not visible.later), (part.id, answer.text())


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_each_hidden_aspect_failing_alone_never_gets_a_pass(assignment, aws, monkeypatch):
    """Each hidden aspect of each part forced to fail, alone, on a solved account: the grade loses its points, every
    visible aspect still passes, and neither check() nor panel() says PASS."""
    solve(assignment)
    judge = Marker.aspect
    for part in parts_of(assignment):
        later = part.run().later
        for failing in range(len(later)):
            def aspect(marker, points, ok, good, bad, *, hidden=False, _failing=failing, **kwargs):
                if hidden:  # the hidden aspects of one run, counted in the order the check judges them
                    marker.hidden_seen = getattr(marker, "hidden_seen", -1) + 1
                    ok = ok and marker.hidden_seen != _failing
                return judge(marker, points, ok, good, bad, hidden=hidden, **kwargs)

            monkeypatch.setattr(Marker, "aspect", aspect)
            graded = part.run(hidden=True)
            assert graded.points < part.points, (part.id, failing, graded.report())
            assert part.run().passed, part.id
            _assert_not_confirmed(part, later)
            monkeypatch.setattr(Marker, "aspect", judge)


def test_every_part_has_a_real_wrong_answer_that_only_hidden_aspects_catch():
    assert sorted(WRONG) == sorted(_all_parts()), "add to WRONG a wrong answer for each new part"


@pytest.mark.parametrize("part_id", sorted(WRONG))
def test_a_real_wrong_answer_caught_only_at_grading_never_gets_a_pass(part_id, aws):
    """The issue's case, in a real account: the answer passes every visible aspect, loses points at grading, and the
    self-check says so instead of PASS."""
    part = load_all()[part_id]
    solve(part.assignment)
    WRONG[part_id](aws)
    visible, graded = part.run(), part.run(hidden=True)
    assert visible.passed, visible.report()
    assert graded.points < part.points, graded.report()
    said = _assert_not_confirmed(part, visible.later)
    # What the hidden test found stays for grading: none of its feedback is in the self-check.
    hidden_only = [line for line in graded.feedback if line not in visible.feedback]
    assert hidden_only and not any(line in said for line in hidden_only), hidden_only


@pytest.mark.parametrize("checked, failing, later, complete", [
    (0, 0, [], False), (1, 0, [], True), (1, 1, [], True), (2, 0, ["a"], True), (1, 1, ["a", "b"], True),
    (3, 0, ["a", "a"], True), (1, 0, ["a"], False), (0, 0, ["a"], True),
])
def test_the_verdict_is_pass_only_when_every_aspect_was_checked_and_passed(checked, failing, later, complete):
    points = checked - failing
    result = Result("p", "A part", points, max(checked, 1), ["✓ x"] * points + ["✗ y"] * failing, complete,
                    checked, failing, list(later))
    answer = Answer("p", result.confirmed, result, "a hint")
    says_pass = bool(PASS_WORD.search(answer.text()))
    assert says_pass == (complete and checked > 0 and not failing and not later), answer.text()
    if later and complete:
        assert "checked at grading" in answer.text()
    elif complete and checked:
        assert "checked here:" in answer.text()


def test_the_wording_of_a_part_not_yet_confirmed(aws):
    solve("01-community-protocol")
    WRONG["protocol-2"](aws)
    assert check("protocol-2").text() == (
        "NOT YET CONFIRMED protocol-2: A badge for the parcel scanner's tasks (ECS tasks only)\n"
        "  ✓ ecs-tasks.amazonaws.com may assume ParcelTaskRole: a task can wear this badge\n"
        "  1 of 2 aspects checked here, passing; 1 more is checked at grading (who else may assume the role).")


def test_a_visible_test_that_passes_says_so_and_what_is_left(aws, capsys):
    from grader.checks import protocol

    solve("01-community-protocol")
    protocol.ec2_only("DeliveryRole").assert_full_marks()
    shown = capsys.readouterr().out
    assert shown.startswith("[protocol-1] A badge only delivery vans may wear (EC2 only): passing so far\n")
    assert "1 more is checked at grading (who else may assume the role)" in shown
    assert "full marks" not in shown
