"""A learner's own record: every self-check is kept on their machine, and mistakes() lists the ones that recur.

conftest.py points ``GATED_COMMUNITY_PRACTICE`` at a folder of the test run's own; each test here points it at its
own file.
"""

from __future__ import annotations

import json

import pytest

from grader.checks import record
from grader.selfcheck import check, mistakes

ECS_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
TASKS_TRUST = ECS_TRUST.replace("ecs.amazonaws.com", "ecs-tasks.amazonaws.com")


@pytest.fixture
def practice(tmp_path, monkeypatch):
    file = tmp_path / "data" / "practice.jsonl"
    monkeypatch.setenv(record.VARIABLE, str(file))
    return file


def test_the_record_lives_in_the_learners_data_folder_unless_told(monkeypatch, tmp_path):
    monkeypatch.delenv(record.VARIABLE)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert record.location() == tmp_path / "share" / "gated-community" / "practice.jsonl"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert record.location() == tmp_path / "home" / ".local" / "share" / "gated-community" / "practice.jsonl"


def test_a_mistake_made_twice_is_listed_and_then_seen_fixed(aws, practice):
    iam = aws.client("iam")
    assert "No recurring mistake" in str(mistakes())
    iam.create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=ECS_TRUST)
    check("protocol-2"), check("protocol-2"), check("protocol-1")  # protocol-1: no role yet (not a mistake)
    found = mistakes()
    assert [(m.part, m.times, m.fixed) for m in found] == [("protocol-2", 2, False)]
    assert "trusts ecs.amazonaws.com" in str(found) and "still there" in str(found)
    iam.update_assume_role_policy(RoleName="ParcelTaskRole", PolicyDocument=TASKS_TRUST)
    assert check("protocol-2").result.passed  # what it checked passes; more is checked at grading
    assert [(m.times, m.fixed) for m in mistakes()] == [(2, True)]
    lines = [json.loads(line) for line in practice.read_text().splitlines()]
    assert [e["passed"] for e in lines] == [False, False, False, True]
    assert lines[0]["assignment"] == "01-community-protocol"


def test_a_home_that_cannot_be_written_never_fails_a_check(aws, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(record.VARIABLE, str(blocker / "practice.jsonl"))  # its folder is a file: no record
    aws.client("iam").create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=TASKS_TRUST)
    assert check("protocol-2").result.passed  # what it checked passes; more is checked at grading
    assert len(mistakes()) == 0


def test_lines_that_cannot_be_read_are_skipped(practice):
    practice.parent.mkdir(parents=True)
    finding = {"key": "protocol-2#1:x", "kind": "x", "diagnosis": "d"}
    practice.write_text("not json\n" + "\n".join(json.dumps({"part": "protocol-2", "passed": False,
                                                             "findings": [finding]}) for _ in range(2)) + "\n[]\n")
    assert [m.times for m in mistakes()] == [2]
