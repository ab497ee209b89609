"""01-community-protocol: trust policies, the gatehouse's list of who may wear each badge."""

from notebooks import AS_YOU_GO, Notebook

TRUST_HELP = """
        A trust policy is a JSON document. One statement that lets a service wear the badge looks like this:

        ```python
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "<service>.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ```
"""


def notebook() -> Notebook:
    nb = Notebook("01-community-protocol")
    nb.md("intro", """
        # Assignment 1: The community protocol

        Every badge in the gated community (every IAM **role**) comes with a protocol at the gatehouse: the **trust
        policy**, which says *who* may wear the badge. A delivery van (an EC2 instance) wears its badge as the service
        `ec2.amazonaws.com`; a parcel scanner running as an ECS task wears its own as `ecs-tasks.amazonaws.com`.

        In this assignment you write four trust policies. Each part is checked against the sandbox account itself:
        the grader asks IAM whether each service or user may assume your role, so any correct policy passes.

        Run the next cell first: it starts your own sandbox account and sets up two residents, `courier` and `mallory`.
        You can check any part as you go with `from grader.selfcheck import check; check("protocol-1")`.
    """ + AS_YOU_GO)
    nb.code("setup", """
        import json
        from grader import sandbox

        aws = sandbox.start()
        iam = aws.client("iam")

        # Two residents who ask the gatehouse for visitor badges (part 4).
        for user in ("courier", "mallory"):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="ask-for-badges", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }))
        print("Sandbox ready:", aws)
    """)
    nb.md("part1", """
        ## Part 1: a badge only delivery vans may wear (2 points)

        Create the role **`DeliveryRole`** whose trust policy lets EC2 instances (`ec2.amazonaws.com`) assume it, and
        nobody else.
    """ + TRUST_HELP)
    nb.answer("protocol-1-answer", "", """
        iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }))
    """)
    nb.test("protocol-1", "protocol", 'ec2_only("DeliveryRole")', 'ec2_only("DeliveryRole", hidden=True)')
    nb.md("part2", """
        ## Part 2: a badge for the parcel scanner's tasks (2 points)

        Create the role **`ParcelTaskRole`** that ECS tasks may assume, and neither the instances they run on nor
        any other service.
    """)
    nb.answer("protocol-2-answer", "", """
        iam.create_role(RoleName="ParcelTaskRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }))
    """)
    nb.test("protocol-2", "protocol", 'tasks_only("ParcelTaskRole")', 'tasks_only("ParcelTaskRole", hidden=True)')
    nb.md("part3", """
        ## Part 3: one badge, two kinds of courier (2 points)

        Create the role **`SharedCourierRole`** that both EC2 instances and Lambda functions (`lambda.amazonaws.com`)
        may assume, and nobody else.
    """)
    nb.answer("protocol-3-answer", "", """
        iam.create_role(RoleName="SharedCourierRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow",
                           "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
                           "Action": "sts:AssumeRole"}],
        }))
    """)
    nb.test("protocol-3", "protocol", 'several_services("SharedCourierRole")',
            'several_services("SharedCourierRole", hidden=True)')
    nb.md("part4", """
        ## Part 4: everyone in the community except Mallory (2 points)

        Create the role **`VisitorRole`** that any identity of this account (`arn:aws:iam::123456789012:root`) may
        assume, except the user `mallory`. Keep her out with an explicit **Deny**: it must hold even if someone later
        widens the Allow.
    """)
    nb.answer("protocol-4-answer", "", """
        iam.create_role(RoleName="VisitorRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
                {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/mallory"},
                 "Action": "sts:AssumeRole"},
            ],
        }))
    """)
    nb.test("protocol-4", "protocol", 'deny_mallory("VisitorRole")', 'deny_mallory("VisitorRole", hidden=True)')
    return nb
