"""02-delivery-rules: permissions policies, and reading a refusal to fix the right one."""

from notebooks import AS_YOU_GO, Notebook


def notebook() -> Notebook:
    nb = Notebook("02-delivery-rules")
    nb.md("intro", """
        # Assignment 2: Delivery rules

        A badge gets a courier through the gate; what they may do inside is written in the role's **permissions
        policies**. In this assignment you write those rules for the community's couriers, keep them out of the
        charging station, send them to designated parking only, and debug a refused pickup.

        Run the next cell first: it starts your sandbox and builds the community (buckets, parcels and badges).
        Check a part as you go with `from grader.selfcheck import check; check("delivery-1")`.
    """ + AS_YOU_GO)
    nb.code("setup", """
        import json
        import boto3
        from botocore.exceptions import ClientError
        from grader import sandbox

        aws = sandbox.start()
        iam, s3 = aws.client("iam"), aws.client("s3")

        def trusting(service):
            return json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})

        # The community: parcels on porches, in garages and in the parking area; a clubhouse and a charging station.
        for bucket, keys in {
            "parcels": ["porch/box-1.txt", "garage/box-7.txt", "parking/van-1.txt"],
            "community": ["clubhouse/menu.txt", "charging-station/plug-1"],
            "manifests": ["today/route.json"],
            "residents-private": ["diary.txt"],
        }.items():
            s3.create_bucket(Bucket=bucket)
            for key in keys:
                s3.put_object(Bucket=bucket, Key=key, Body=f"{bucket}/{key}".encode())

        # The badges: a courier with no rules yet, a night courier who may read everything, and a dispatcher.
        iam.create_role(RoleName="CourierRole", AssumeRolePolicyDocument=trusting("ec2.amazonaws.com"))
        iam.create_role(RoleName="NightCourierRole", AssumeRolePolicyDocument=trusting("ec2.amazonaws.com"))
        iam.attach_role_policy(RoleName="NightCourierRole",
                               PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        iam.create_user(UserName="dispatcher")
        iam.create_role(RoleName="DispatchRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::123456789012:user/dispatcher"}}]}))
        iam.put_user_policy(UserName="dispatcher", PolicyName="wear-dispatch-badge", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::123456789012:role/DispatchRole"}]}))
        iam.put_role_policy(RoleName="DispatchRole", PolicyName="dispatch", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "ReadManifests", "Effect": "Allow",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::manifest/*"}]}))
        print("Sandbox ready:", aws)
    """)
    nb.md("part1", """
        ## Part 1: the courier's badge, least privilege (3 points)

        Give **`CourierRole`** an inline policy (`iam.put_role_policy`) that lets it pick up and drop off parcels
        (`s3:GetObject`, `s3:PutObject`) anywhere in the `parcels` bucket, and nothing more: no deleting, no other
        bucket, no other service.
    """)
    nb.answer("delivery-1-answer", "", """
        iam.put_role_policy(RoleName="CourierRole", PolicyName="deliver", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                           "Resource": "arn:aws:s3:::parcels/*"}],
        }))
    """)
    nb.test("delivery-1", "delivery", 'least_privilege("CourierRole")', 'least_privilege("CourierRole", hidden=True)')
    nb.md("part2", """
        ## Part 2: never the charging station (2 points)

        **`NightCourierRole`** has AWS's broad `AmazonS3ReadOnlyAccess`: it may read every bucket. Keep that, and
        make sure the night courier can never use the community's charging station (anything under
        `community/charging-station/`), whatever else it is ever granted. Which effect beats every Allow?
    """)
    nb.answer("delivery-2-answer", "", """
        iam.put_role_policy(RoleName="NightCourierRole", PolicyName="never-the-charging-station",
                            PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:*",
                           "Resource": "arn:aws:s3:::community/charging-station/*"}],
        }))
    """)
    nb.test("delivery-2", "delivery", 'charging_station("NightCourierRole")',
            'charging_station("NightCourierRole", hidden=True)')
    nb.md("part3", """
        ## Part 3: designated parking only (2 points)

        Couriers may look around (list objects in) the `parcels` bucket, but only in the designated parking area:
        keys that start with `parking/`. Add a policy to **`CourierRole`** that allows `s3:ListBucket` only under
        that condition (the condition key is `s3:prefix`).
    """)
    nb.answer("delivery-3-answer", "", """
        iam.put_role_policy(RoleName="CourierRole", PolicyName="designated-parking", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::parcels",
                           "Condition": {"StringLike": {"s3:prefix": "parking/*"}}}],
        }))
    """)
    nb.test("delivery-3", "delivery", 'parking_only("CourierRole")', 'parking_only("CourierRole", hidden=True)')
    nb.md("part4", """
        ## Part 4: a refused pickup (3 points)

        The dispatcher wears **`DispatchRole`** to read today's route from the `manifests` bucket, and is refused.
        Run the cell below and read the refusal and its explanation: which policy did IAM look at, and what did it
        find? Then fix **that** policy, and only that one. Opening the bucket to everyone, or giving the dispatcher
        more than it needs, loses points.
    """)
    nb.code("part4-refusal", """
        keys = iam.create_access_key(UserName="dispatcher")["AccessKey"]
        dispatcher = boto3.Session(aws_access_key_id=keys["AccessKeyId"],
                                   aws_secret_access_key=keys["SecretAccessKey"], region_name="us-east-1")

        def pick_up_route():
            badge = dispatcher.client("sts").assume_role(
                RoleArn="arn:aws:iam::123456789012:role/DispatchRole", RoleSessionName="dispatch")["Credentials"]
            as_dispatch = boto3.Session(aws_access_key_id=badge["AccessKeyId"],
                                        aws_secret_access_key=badge["SecretAccessKey"],
                                        aws_session_token=badge["SessionToken"], region_name="us-east-1")
            return as_dispatch.client("s3").get_object(Bucket="manifests", Key="today/route.json")["Body"].read()

        try:
            print(pick_up_route())
        except ClientError as refusal:
            print(refusal)
            from grader.gatehouse import why
            print(why(refusal))
    """)
    nb.answer("delivery-4-answer", "# Fix the policy the refusal points at, then run pick_up_route() again.", """
        iam.put_role_policy(RoleName="DispatchRole", PolicyName="dispatch", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "ReadManifests", "Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::manifests/*"}],
        }))
    """, "print(pick_up_route())")
    nb.test("delivery-4", "delivery", 'debug_dispatch("DispatchRole")', 'debug_dispatch("DispatchRole", hidden=True)')
    return nb
