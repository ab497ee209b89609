"""What the gatehouse costs a sandbox call: the same boto3 calls with the gatehouse on and with the gates removed.

Calls are made with a role session's credentials (the case the gatehouse works hardest for: a role with an inline
and an AWS managed policy, a bucket policy on the bucket), and as the sandbox's administrator (an IAM user whose
``AdministratorAccess`` is read like any other policy), the reader's default. On and off are measured in alternating rounds within one
run and compared by their best rounds, because this machine is shared and its speed drifts (the slow rounds are
other work, not ours); the ratio is what counts. The time spent inside the gate itself is also measured during the
"on" rounds, as a share of the whole call: it is the steadier of the two figures.
"""

from __future__ import annotations

import json
import statistics
import time

ROUNDS = 15
CALLS = 30


def _setup(box):
    import boto3

    s3 = box.client("s3")
    s3.create_bucket(Bucket="parcels")
    s3.put_object(Bucket="parcels", Key="box-1", Body=b"hello")
    s3.put_bucket_policy(Bucket="parcels", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::parcels/*"}]}))
    iam = box.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{box.account_id}:root"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="Courier", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="Courier", PolicyName="deliver", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::parcels*"},
            {"Effect": "Allow", "Action": "iam:GetRole", "Resource": role}]}))
    iam.attach_role_policy(RoleName="Courier",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    credentials = box.client("sts").assume_role(RoleArn=role, RoleSessionName="bench")["Credentials"]
    session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name=box.region)
    return session.client("s3"), session.client("iam")


def _per_call(call) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        call()
    return (time.perf_counter() - started) / CALLS


def _compare(box, call) -> tuple:
    saved = list(box.gates)
    spent = [0.0]

    def timed(gate):
        def timed_gate(sandbox, request):
            started = time.perf_counter()
            try:
                return gate(sandbox, request)
            finally:
                spent[0] += time.perf_counter() - started
        return timed_gate

    on, off, inside = [], [], []
    call()  # warm caches (parsed policies, moto's routers) before measuring
    for _ in range(ROUNDS):
        box.gates[:] = [timed(g) for g in saved]
        spent[0] = 0.0
        on.append(_per_call(call))
        inside.append(spent[0] / CALLS)
        box.gates[:] = []
        try:
            off.append(_per_call(call))
        finally:
            box.gates[:] = saved
    return min(on), min(off), statistics.median(inside) / statistics.median(on)


def run() -> dict:
    from grader import sandbox

    box = sandbox.start()
    try:
        s3, iam = _setup(box)
        admin_s3, admin_iam = box.client("s3"), box.client("iam")
        results = {}
        for name, call in (("s3 get_object", lambda: s3.get_object(Bucket="parcels", Key="box-1")["Body"].read()),
                           ("iam get_role", lambda: iam.get_role(RoleName="Courier")),
                           ("administrator s3 get_object",
                            lambda: admin_s3.get_object(Bucket="parcels", Key="box-1")["Body"].read()),
                           ("administrator iam get_role", lambda: admin_iam.get_role(RoleName="Courier"))):
            on, off, share = _compare(box, call)
            results[f"{name}: ms with gatehouse"] = on * 1000
            results[f"{name}: ms without"] = off * 1000
            results[f"{name}: ratio (on/off)"] = on / off
            results[f"{name}: gate's share of the call"] = share
        return results
    finally:
        box.stop()


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<50} {value:.3f}")
