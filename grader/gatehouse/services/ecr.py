"""ECR's operations as ECR authorises them: image and layer actions on the repository ARN, the login token on ``*``.

``GetAuthorizationToken`` has no resource (it opens the registry, not a repository); pulling an image is
``BatchGetImage`` plus ``GetDownloadUrlForLayer`` (and ``BatchCheckLayerAvailability``) on the repository,
``arn:aws:ecr:<region>:<registry>:repository/<name>``. A repository policy, where one is set, is the
resource-based policy.
"""

from __future__ import annotations

from . import Call, Extra, ResourcePolicy, ServiceTable


def _repository_policy(call: Call) -> ResourcePolicy:
    name = call.param("repositoryName")
    return ResourcePolicy(call.state.repository_policy(name, call) if name else None,
                          f"repository policy of {name}")


def _policy_text(call: Call) -> list:
    text = call.params.get("policyText")
    return [(text, "resource", "repository policy")] if text is not None else []


TABLE = ServiceTable(signing_name="ecr", model_name="ecr", prefix="ecr", rules={},
                     # A repository policy is validated before it is stored.
                     extras={"SetRepositoryPolicy": Extra(documents=(_policy_text,))},
                     denied_code="AccessDeniedException", malformed_code="InvalidParameterException",
                     # A repository's ARN names its registry, which a call may name (registryId).
                     variables={"Account": lambda call: call.param("registryId", call.account)},
                     resource_policy=_repository_policy)
