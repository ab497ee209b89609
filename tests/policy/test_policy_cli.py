"""The command line: ``python -m grader.policy decide|validate``, run as a user would, in a subprocess."""

import json
import subprocess
import sys

import pytest

from support import POLICY_DATA, ROOT

ANN = "arn:aws:iam::123456789012:user/Ann"
ALLOW_GET = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                     "Resource": "arn:aws:s3:::parcels/*"}]}


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "grader.policy", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def lines(output):
    return [json.loads(line) for line in output.splitlines()]


def case(id="c1", **fields):
    base = {"id": id, "principal": ANN, "action": "s3:GetObject", "resource": "arn:aws:s3:::parcels/box-1",
            "identity_policies": [ALLOW_GET]}
    base.update(fields)
    return json.dumps(base)


@pytest.mark.parametrize("name", ["evaluation.jsonl", "conditions.jsonl", "variables.jsonl"])
def test_decides_every_data_file_like_the_library(name):
    result = run("decide", str(POLICY_DATA / name))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = [json.loads(line) for line in (POLICY_DATA / name).read_text().splitlines() if line.strip()]
    answers = lines(result.stdout)
    assert [a["id"] for a in answers] == [c["id"] for c in expected]
    for answer, want in zip(answers, expected):
        assert set(answer) == {"id", "decision", "reason"}
        assert answer["decision"] == want["expect"], (want["id"], answer["reason"])


def test_reads_standard_input_and_skips_blank_lines():
    denied = case("c2", action="s3:PutObject")
    result = run("decide", "-", stdin=f"{case()}\n\n   \n{denied}\n")
    assert result.returncode == 0
    answers = lines(result.stdout)
    assert [(a["id"], a["decision"]) for a in answers] == [("c1", "allow"), ("c2", "implicit-deny")]
    assert "no identity-based policy allows s3:PutObject" in answers[1]["reason"]


def test_optional_fields_default_to_empty():
    minimal = json.dumps({"id": "bare", "principal": ANN, "action": "s3:GetObject", "resource": "*"})
    answers = lines(run("decide", "-", stdin=minimal + "\n").stdout)
    assert answers == [{"id": "bare", "decision": "implicit-deny",
                        "reason": "implicit deny: no identity-based policy allows s3:GetObject"}]


def test_malformed_lines_report_errors_and_the_rest_are_decided():
    bad_policy = case("bad-policy", identity_policies=[{"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}]}])
    text = "\n".join([
        case("first"),
        "{not json",
        json.dumps({"principal": ANN, "action": "s3:GetObject", "resource": "*"}),
        json.dumps({"id": "no-action", "principal": ANN, "resource": "*"}),
        bad_policy,
        case("bad-context", context=["x"]),
        "[1, 2, 3]",
        case("last", action="s3:DeleteObject"),
    ]) + "\n"
    result = run("decide", "-", stdin=text)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    answers = lines(result.stdout)
    assert len(answers) == 8
    assert answers[0]["decision"] == "allow"
    assert answers[1] == {"id": None, "line": 2, "error": answers[1]["error"]}
    assert "not valid JSON" in answers[1]["error"]
    assert answers[2]["id"] is None and answers[2]["line"] == 3 and "\"id\"" in answers[2]["error"]
    assert answers[3]["id"] == "no-action" and "'action'" in answers[3]["error"]
    assert answers[4]["id"] == "bad-policy" and answers[4]["line"] == 5
    assert "identity_policies[0]" in answers[4]["error"]
    assert "statement 'Read' (#0)" in answers[4]["error"] and "field Effect" in answers[4]["error"]
    assert answers[5]["id"] == "bad-context" and "context" in answers[5]["error"]
    assert answers[6]["id"] is None and "JSON object" in answers[6]["error"]
    assert answers[7] == {"id": "last", "decision": "implicit-deny", "reason": answers[7]["reason"]}


def test_trust_policy_in_a_case_is_parsed_as_a_trust_policy():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                     "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    both = [json.dumps({"id": who, "principal": who, "action": "sts:AssumeRole",
                        "resource": "arn:aws:iam::123456789012:role/TaskRole", "resource_policy": trust})
            for who in ("ecs-tasks.amazonaws.com", "ec2.amazonaws.com")]
    answers = lines(run("decide", "-", stdin="\n".join(both)).stdout)
    assert [a["decision"] for a in answers] == ["allow", "implicit-deny"]


def test_missing_file_is_a_usage_error_without_traceback():
    result = run("decide", "no/such/cases.jsonl")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "cannot read no/such/cases.jsonl" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("decide").returncode == 2
    assert run("frobnicate").returncode == 2


def test_help_describes_the_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "decide" in result.stdout and "validate" in result.stdout
    sub = run("decide", "--help")
    assert sub.returncode == 0 and "explicit-deny" in sub.stdout


def test_validate_ok(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(ALLOW_GET))
    result = run("validate", str(path))
    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_validate_reports_the_problem(tmp_path):
    path = tmp_path / "trust.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Ec2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Resource": "*"}]}))
    result = run("validate", str(path), "--kind", "trust")
    assert result.returncode == 1
    assert result.stdout.startswith("MalformedPolicyDocument (statement 'Ec2' (#0), field Resource)")
    first, second = result.stdout.splitlines()
    assert first.endswith(": Has prohibited field Resource")  # IAM's words, then the book's explanation
    assert "must not have a Resource element" in second
    assert "Traceback" not in result.stderr
    assert run("validate", str(path), "--kind", "resource").stdout == "ok\n"


def test_validate_reads_stdin_and_rejects_bad_kind():
    assert run("validate", "-", stdin=json.dumps(ALLOW_GET)).stdout == "ok\n"
    assert run("validate", "-", "--kind", "bucket", stdin="{}").returncode == 2


def test_validate_missing_file():
    result = run("validate", "nowhere.json")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "cannot read" in result.stderr


def test_the_policy_package_depends_on_nothing_else_of_the_project():
    # grader.policy is pure Python over JSON documents, so that it also runs in the browser: importing it must load
    # no other part of grader, and neither moto nor botocore.
    probe = ("import sys, grader.policy, grader.policy.__main__; "
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('grader', 'moto', 'botocore', "
             "'boto3'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded and all(m == "grader" or m.startswith("grader.policy") for m in loaded), loaded
