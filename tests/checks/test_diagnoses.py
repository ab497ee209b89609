"""A failed aspect as data: one key for one kind of mistake, whatever the learner called things; IAM's decision and
the decisive statement as the account stores it; the grade untouched."""

from __future__ import annotations

import json

from grader.checks import badges, diagnoses, protocol


def _trust(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: dict, **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def test_one_mistake_written_two_ways_has_one_key_and_its_own_statement(aws):
    iam = aws.client("iam")
    iam.create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=_trust(
        _allow({"Service": "ec2.amazonaws.com"}, Sid="Van"), _allow({"Service": ["ecs.amazonaws.com"]}, Sid="Ecs")))
    iam.create_role(RoleName="OtherTaskRole", AssumeRolePolicyDocument=_trust(_allow({"Service": "ecs.amazonaws.com"})))
    first, second = protocol.tasks_only("ParcelTaskRole", hidden=True), protocol.tasks_only("OtherTaskRole",
                                                                                            hidden=True)
    assert first.points == second.points == 0  # recording changes no grade
    [one], [two] = first.findings, second.findings
    assert one.key == two.key == "protocol-2#1:trusts-ecs.amazonaws.com-instead-of-ecs-tasks.amazonaws.com"
    # The decisive statement, as the account stores it: the one that let ecs.amazonaws.com in, not the van's.
    assert [json.loads(s["statement"])["Sid"] for s in one.statements] == ["Ecs"]
    outcomes = {(d["principal"], d["outcome"]) for d in one.decisions}
    assert ("ecs-tasks.amazonaws.com", "implicit-deny") in outcomes and ("ecs.amazonaws.com", "allow") in outcomes


def test_an_implicit_deny_is_told_from_an_allow_and_names_the_statement_that_did_not_apply(aws):
    courier = "arn:aws:iam::123456789012:user/courier"
    iam = aws.client("iam")
    for user in ("courier", "mallory"):
        iam.create_user(UserName=user)
    iam.create_role(RoleName="VisitorRole", AssumeRolePolicyDocument=_trust(_allow({"AWS": courier})))
    [finding] = protocol.deny_mallory("VisitorRole", hidden=True).findings
    assert finding.key == "protocol-4#2:mallory-refused-by-implicit-deny-only" and finding.hidden
    [decision] = finding.decisions
    assert decision["outcome"] == "implicit-deny" and decision["not_applied"][0]["index"] == 0
    assert courier in finding.statements[0]["statement"]


def test_without_a_named_mistake_the_key_leaves_out_what_differs_between_learners():
    text = ("the instance profile VanProfile holds ['AdasRole', 'Spare']: add DeliveryVanRole to it (the profile is "
            "the badge holder; the role is the badge)")
    other = ("the instance profile VanProfile holds ['BensRole']: add DeliveryVanRole to it (the profile is the "
             "badge holder; the role is the badge)")
    arguments = ("VanProfile", "DeliveryVanRole")
    assert diagnoses.kind_of(text, arguments) == diagnoses.kind_of(other, arguments)
    assert "adas" not in diagnoses.kind_of(text, arguments)
    arns = [f"the task definition scanner has taskRoleArn arn:aws:iam::123456789012:role/{name}: the task's badge "
            "is taskRoleArn=..." for name in ("AdaRole", "BenRole")]
    assert diagnoses.kind_of(arns[0]) == diagnoses.kind_of(arns[1])
    ids = [f"code on {i} asked STS who it is and got: no credentials ({i})" for i in ("i-0abc12345", "i-0def67890")]
    assert diagnoses.kind_of(ids[0]) == diagnoses.kind_of(ids[1])


def test_a_part_not_answered_is_kept_as_missing(aws):
    result = badges.instance_profile_holds_role(hidden=True)
    assert [f.kind for f in result.findings] == [diagnoses.MISSING]
