"""The checks judge the account, not the code: every solution earns full marks, and wrong states get the feedback
that names their misconception. Notebook cells run in this process (no kernel), against a sandbox per test."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from grader.checks import PARTS, load_all, parts_of
from support import COURSE

ASSIGNMENTS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
_SOLUTION = re.compile(r"###\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)[^\n]*\n?")


def cells(assignment):
    nb = nbformat.read(COURSE / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def run_cell(namespace, source):
    exec(compile(_SOLUTION.sub("", source), "<cell>", "exec"), namespace)


def trust(*services):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}]})


def setup_of(assignment, aws):
    namespace = {}
    run_cell(namespace, cells(assignment)[0].source)
    return namespace


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_earns_every_point(assignment, aws):
    """Run setup and solutions in order; every part's hidden check gives full marks."""
    namespace = {}
    for cell in cells(assignment):
        grade = cell.metadata.get("nbgrader", {})
        if grade.get("grade"):
            continue
        run_cell(namespace, cell.source)
    for part in parts_of(assignment):
        result = part.run(hidden=True)
        assert result.passed, result.report()
        assert result.max_points == part.points


def test_test_cells_are_worth_their_parts_points():
    load_all()
    for assignment in ASSIGNMENTS:
        graded = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
                  for c in cells(assignment) if c.metadata.get("nbgrader", {}).get("grade")}
        expected = {f"test-{p.id}": p.points for p in PARTS.values() if p.assignment == assignment}
        assert graded == expected


def test_the_course_has_four_assignments_and_twelve_parts():
    load_all()
    assert len(ASSIGNMENTS) >= 4
    assert len(PARTS) >= 12


def test_a_role_nobody_can_wear_gets_nothing(aws):
    from grader.checks import protocol

    result = protocol.ec2_only("DeliveryRole", hidden=True)
    assert result.points == 0 and not result.complete
    assert "There is no role 'DeliveryRole'" in result.report()


def test_trusting_tasks_too_loses_the_hidden_point(aws):
    from grader.checks import protocol

    aws.client("iam").create_role(RoleName="DeliveryRole",
                                  AssumeRolePolicyDocument=trust("ec2.amazonaws.com", "ecs-tasks.amazonaws.com"))
    assert protocol.ec2_only("DeliveryRole").passed  # the visible aspect holds
    hidden = protocol.ec2_only("DeliveryRole", hidden=True)
    assert hidden.points == 1 and "ecs-tasks.amazonaws.com may assume DeliveryRole too" in hidden.report()


def test_ecs_service_instead_of_tasks_is_named(aws):
    from grader.checks import protocol

    aws.client("iam").create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=trust("ecs.amazonaws.com"))
    result = protocol.tasks_only("ParcelTaskRole")
    assert not result.passed and "ecs.amazonaws.com, which is the ECS service itself" in result.report()
    with pytest.raises(AssertionError, match="ecs-tasks.amazonaws.com"):
        result.assert_full_marks()


def test_no_deny_for_mallory_is_an_implicit_deny_at_best(aws):
    from grader.checks import protocol

    setup_of("01-community-protocol", aws)
    aws.client("iam").create_role(RoleName="VisitorRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": "arn:aws:iam::123456789012:user/courier"}}]}))
    result = protocol.deny_mallory("VisitorRole", hidden=True)
    assert result.points == 1 and "implicit deny" in result.report()


def test_a_courier_with_s3_star_is_told_what_else_it_can_do(aws):
    from grader.checks import delivery

    setup_of("02-delivery-rules", aws)
    aws.client("iam").put_role_policy(RoleName="CourierRole", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    result = delivery.least_privilege("CourierRole", hidden=True)
    assert result.points == 2
    assert "delete parcels" in result.report() and "read residents' private mail" in result.report()


def test_removing_the_broad_allow_is_not_the_charging_station_deny(aws):
    from grader.checks import delivery

    setup_of("02-delivery-rules", aws)
    aws.client("iam").detach_role_policy(RoleName="NightCourierRole",
                                         PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    result = delivery.charging_station("NightCourierRole", hidden=True)
    assert result.points == 0 and "implicit deny" in result.report()


def test_parking_without_a_condition_lists_everything(aws):
    from grader.checks import delivery

    setup_of("02-delivery-rules", aws)
    aws.client("iam").put_role_policy(RoleName="CourierRole", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::parcels"}]}))
    result = delivery.parking_only("CourierRole", hidden=True)
    assert result.points == 1 and "without a Condition on s3:prefix" in result.report()


def test_opening_the_manifests_bucket_is_the_wrong_fix(aws):
    from grader.checks import delivery

    setup_of("02-delivery-rules", aws)
    aws.client("s3").put_bucket_policy(Bucket="manifests", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": "arn:aws:s3:::manifests/*"}]}))
    result = delivery.debug_dispatch("DispatchRole", hidden=True)
    assert result.points == 2, result.report()
    assert "the bucket policy was the wrong one to change" in result.report()
