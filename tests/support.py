"""What many test modules share: the account's constants and the small documents every role needs."""

from __future__ import annotations

import json

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
