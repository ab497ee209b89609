"""04-two-layers-capstone: ECS on EC2 from scratch, each permission on the right layer."""

from notebooks import AS_YOU_GO, Notebook


def notebook() -> Notebook:
    nb = Notebook("04-two-layers-capstone")
    nb.md("intro", """
        # Assignment 4 (capstone): Two layers

        A delivery depot runs on one host. The host (an EC2 instance) wears the **instance role**: its ECS agent
        uses it to join the cluster and take work. Each application on the host runs as an ECS task wearing its own
        **task role**. Build it all from an empty account: the parcel app must read parcels, and nothing else on the
        host may.

        Run the next cell first. The panel below it checks each part for you at any time.
    """ + AS_YOU_GO)
    nb.code("setup", """
        import json
        import grader
        from grader import sandbox
        from grader.selfcheck import panel

        aws = sandbox.start()
        iam, ec2, ecs, s3 = aws.client("iam"), aws.client("ec2"), aws.client("ecs"), aws.client("s3")
        s3.create_bucket(Bucket="parcels")
        s3.put_object(Bucket="parcels", Key="porch/box-1.txt", Body=b"a parcel")
        IMAGE_ID = "ami-12c6146b"  # an image the sandbox already has

        def trusting(service):
            return json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})

        panel("04-two-layers-capstone")
    """)
    nb.md("part1", """
        ## Part 1: the instance layer (2 points)

        Create **`ContainerHostRole`** for the host: EC2 may wear it, and it carries what the ECS agent needs (AWS's
        managed policy `arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`). Nothing more.
    """)
    nb.answer("two-layers-1-answer", "", """
        iam.create_role(RoleName="ContainerHostRole", AssumeRolePolicyDocument=trusting("ec2.amazonaws.com"))
        iam.attach_role_policy(RoleName="ContainerHostRole",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    """)
    nb.test("two-layers-1", "layers", 'instance_layer("ContainerHostRole")',
            'instance_layer("ContainerHostRole", hidden=True)')
    nb.md("part2", """
        ## Part 2: the task layer (2 points)

        Create **`ParcelAppTaskRole`** for the parcel app: ECS tasks may wear it, and it may read parcels
        (`s3:GetObject` on `arn:aws:s3:::parcels/*`). Which layer does each permission belong on?
    """)
    nb.answer("two-layers-2-answer", "", """
        iam.create_role(RoleName="ParcelAppTaskRole", AssumeRolePolicyDocument=trusting("ecs-tasks.amazonaws.com"))
        iam.put_role_policy(RoleName="ParcelAppTaskRole", PolicyName="read-parcels", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::parcels/*"}],
        }))
    """)
    nb.test("two-layers-2", "layers", 'task_layer("ParcelAppTaskRole")', 'task_layer("ParcelAppTaskRole", hidden=True)')
    nb.md("part3", """
        ## Part 3: the host (3 points)

        Create the cluster **`community`**, the instance profile **`ContainerHostProfile`** holding
        `ContainerHostRole`, launch one instance with it (image `IMAGE_ID`, type `t3.micro`), and let its ECS agent
        join the cluster: `agent = grader.ecs_agent(aws, instance_id, "community"); agent.register()`.
    """)
    nb.answer("two-layers-3-answer", "", """
        ecs.create_cluster(clusterName="community")
        iam.create_instance_profile(InstanceProfileName="ContainerHostProfile")
        iam.add_role_to_instance_profile(InstanceProfileName="ContainerHostProfile", RoleName="ContainerHostRole")
        host = ec2.run_instances(ImageId=IMAGE_ID, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                 IamInstanceProfile={"Name": "ContainerHostProfile"})["Instances"][0]
        agent = grader.ecs_agent(aws, host["InstanceId"], "community")
        agent.register()
    """)
    nb.test("two-layers-3", "layers", 'host("ContainerHostProfile", "ContainerHostRole")',
            'host("ContainerHostProfile", "ContainerHostRole", hidden=True)')
    nb.md("part4", """
        ## Part 4: the application (3 points)

        Register the task definition **`parcel-app`** (one container, image
        `public.ecr.aws/docker/library/busybox:latest`, 128 MiB) with `ParcelAppTaskRole` as its task role, and
        start it on the host with `agent.start_task("parcel-app")`. Then show that the task reads a parcel
        (`grader.in_task(task)`) and the host does not (`grader.on_instance(instance_id)`).
    """)
    nb.answer("two-layers-4-answer", "", """
        ecs.register_task_definition(
            family="parcel-app", taskRoleArn="arn:aws:iam::123456789012:role/ParcelAppTaskRole",
            containerDefinitions=[{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest",
                                   "memory": 128}])
        task = agent.start_task("parcel-app")
        print(grader.in_task(task).client("s3").get_object(Bucket="parcels", Key="porch/box-1.txt")["Body"].read())
    """)
    nb.test("two-layers-4", "layers", 'application("parcel-app", "ParcelAppTaskRole")',
            'application("parcel-app", "ParcelAppTaskRole", hidden=True)')
    return nb
