"""03-badges: a role in an instance profile, an instance that wears it, and a task role."""

from notebooks import AS_YOU_GO, Notebook


def notebook() -> Notebook:
    nb = Notebook("03-badges")
    nb.md("intro", """
        # Assignment 3: Badges

        A role is a badge; something has to hold it. An EC2 instance holds its badge in an **instance profile**, and
        code on the instance finds the badge's temporary credentials in the instance metadata. An ECS task gets its
        own badge, the **task role**, named in its task definition.

        Run the next cell first. Check a part as you go with `from grader.selfcheck import check; check("badges-1")`.
    """ + AS_YOU_GO)
    nb.code("setup", """
        import json
        import grader
        from grader import sandbox

        aws = sandbox.start()
        iam, ec2, ecs, s3 = aws.client("iam"), aws.client("ec2"), aws.client("ecs"), aws.client("s3")

        s3.create_bucket(Bucket="parcels")
        s3.put_object(Bucket="parcels", Key="porch/box-1.txt", Body=b"a parcel")
        IMAGE_ID = "ami-12c6146b"  # an image the sandbox already has

        def trusting(service):
            return json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})

        iam.create_role(RoleName="DeliveryVanRole", AssumeRolePolicyDocument=trusting("ec2.amazonaws.com"))
        print("Sandbox ready:", aws)
    """)
    nb.md("part1", """
        ## Part 1: the badge holder (2 points)

        Create the instance profile **`DeliveryVanProfile`** and put the role `DeliveryVanRole` in it.
    """)
    nb.answer("badges-1-answer", "", """
        iam.create_instance_profile(InstanceProfileName="DeliveryVanProfile")
        iam.add_role_to_instance_profile(InstanceProfileName="DeliveryVanProfile", RoleName="DeliveryVanRole")
    """)
    nb.test("badges-1", "badges", 'instance_profile_holds_role("DeliveryVanProfile", "DeliveryVanRole")',
            'instance_profile_holds_role("DeliveryVanProfile", "DeliveryVanRole", hidden=True)')
    nb.md("part2", """
        ## Part 2: a van on the road (2 points)

        Launch one instance (`ec2.run_instances`, image `IMAGE_ID`, type `t3.micro`) with the instance profile
        `DeliveryVanProfile`. Then ask, as code on the instance, who it is:
        `grader.on_instance(instance_id).client("sts").get_caller_identity()["Arn"]`.
    """)
    nb.answer("badges-2-answer", "", """
        van = ec2.run_instances(ImageId=IMAGE_ID, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                IamInstanceProfile={"Name": "DeliveryVanProfile"})["Instances"][0]
        print(grader.on_instance(van["InstanceId"]).client("sts").get_caller_identity()["Arn"])
    """)
    nb.test("badges-2", "badges", 'instance_wears_badge("DeliveryVanProfile", "DeliveryVanRole")',
            'instance_wears_badge("DeliveryVanProfile", "DeliveryVanRole", hidden=True)')
    nb.md("part3", """
        ## Part 3: the parcel scanner's own badge (2 points)

        Create the role **`ParcelScannerTaskRole`** for ECS tasks, allow it to read parcels (`s3:GetObject` on
        `arn:aws:s3:::parcels/*`), and register the task definition **`parcel-scanner`** (one container,
        image `public.ecr.aws/docker/library/busybox:latest`, 128 MiB) that runs with it as its task role.
    """)
    nb.answer("badges-3-answer", "", """
        scanner = iam.create_role(RoleName="ParcelScannerTaskRole",
                                  AssumeRolePolicyDocument=trusting("ecs-tasks.amazonaws.com"))["Role"]
        iam.put_role_policy(RoleName="ParcelScannerTaskRole", PolicyName="read-parcels", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::parcels/*"}],
        }))
        ecs.register_task_definition(family="parcel-scanner", taskRoleArn=scanner["Arn"], containerDefinitions=[
            {"name": "scanner", "image": "public.ecr.aws/docker/library/busybox:latest", "memory": 128}])
    """)
    nb.test("badges-3", "badges", 'task_role("parcel-scanner", "ParcelScannerTaskRole")',
            'task_role("parcel-scanner", "ParcelScannerTaskRole", hidden=True)')
    return nb
