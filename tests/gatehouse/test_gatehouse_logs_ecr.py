"""The gatehouse and the task execution role's services: pulling from ECR and writing to CloudWatch Logs."""

from __future__ import annotations

import time

from support import ACCOUNT, allow, assume, code_of, make_role, message_of, refused, session_arn


def test_an_execution_role_writes_only_to_its_own_log_group(aws):
    logs_admin = aws.client("logs")
    logs_admin.create_log_group(logGroupName="/ecs/app")
    logs_admin.create_log_group(logGroupName="/ecs/other")
    role = make_role(aws, "Execution", allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                                             f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/app:*"))
    logs = assume(aws, role).client("logs")
    logs.create_log_stream(logGroupName="/ecs/app", logStreamName="task-1")
    logs.put_log_events(logGroupName="/ecs/app", logStreamName="task-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
    error = refused(logs.create_log_stream, logGroupName="/ecs/other", logStreamName="task-1")
    assert code_of(error) == "AccessDeniedException"
    assert message_of(error) == (
        f"User: {session_arn('Execution')} is not authorized to perform: logs:CreateLogStream on resource: "
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/other:log-stream:task-1 because no identity-based "
        "policy allows the logs:CreateLogStream action")
    assert code_of(refused(logs.create_log_group, logGroupName="/ecs/new")) == "AccessDeniedException"
    assert code_of(refused(logs.describe_log_groups)) == "AccessDeniedException"


def test_describe_log_groups_on_every_group_of_the_account(aws):
    role = make_role(aws, "LogReader", allow("logs:DescribeLogGroups",
                                             f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"))
    assume(aws, role).client("logs").describe_log_groups()


def test_pulling_an_image_needs_the_token_and_the_repository(aws):
    aws.client("ecr").create_repository(repositoryName="app")
    aws.client("ecr").create_repository(repositoryName="secret")
    repository = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"
    role = make_role(aws, "Puller", allow("ecr:GetAuthorizationToken"),
                     allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                           repository))
    ecr = assume(aws, role).client("ecr")
    assert ecr.get_authorization_token()["authorizationData"]
    ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "latest"}])
    error = refused(ecr.batch_get_image, repositoryName="secret", imageIds=[{"imageTag": "latest"}])
    assert code_of(error) == "AccessDeniedException"
    assert f"ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:{ACCOUNT}:repository/secret" in message_of(error)
    error = refused(ecr.get_download_url_for_layer, repositoryName="secret", layerDigest="sha256:" + "0" * 64)
    assert "ecr:GetDownloadUrlForLayer" in message_of(error)


def test_without_the_token_permission_nothing_is_pulled(aws):
    role = make_role(aws, "NoToken", allow("ecr:BatchGetImage"))
    error = refused(assume(aws, role).client("ecr").get_authorization_token)
    assert message_of(error).endswith("because no identity-based policy allows the ecr:GetAuthorizationToken action")
