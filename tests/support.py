"""What many test modules share: the account's constants and the small documents every role needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ACCOUNT = "123456789012"
AMI = "ami-12c6146b"
ECS_FOR_EC2 = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def trust(service: str, **statement) -> str:
    """A trust policy, as a JSON string, that lets ``service`` assume the role (extra statement keys merge in)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", **statement}]})


TRUST_EC2 = trust("ec2.amazonaws.com")


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


COURSE = Path(__file__).resolve().parents[1] / "exercises"


def copy_course(where: Path, *, roster: bool = False) -> Path:
    """A copy of the course at ``where`` as an instructor starts one: nothing released, collected or graded yet, and
    no roster unless ``roster``."""
    generated = ["release", "submitted", "autograded", "feedback", "gradebook.db", "__pycache__"]
    shutil.copytree(COURSE, where, ignore=shutil.ignore_patterns(*generated, *([] if roster else ["students.csv"])))
    return where
