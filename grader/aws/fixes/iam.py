"""Where moto's IAM and STS differ from AWS's, corrected: every correction a patch in the registry.

* the root user's key: AWS answers GetCallerIdentity with the account itself, not moto's ``user/moto``;
* the administrator: the IAM user ``administrator`` with ``AdministratorAccess``, made at its first request;
* AWS's managed policies, read once per process rather than once per account, and read-only for every account;
* IAM's unique ids in AWS's form (AIDA, AGPA, AIPA);
* IAM's policy simulator, which moto lacks: answered by the account's ``simulator`` (the gatehouse's);
* role sessions issued on the sandbox clock, keeping their source identity and session tags (``aws:TokenIssueTime``,
  ``aws:SourceIdentity``, ``aws:PrincipalTag``), and AssumeRole answering the source identity back;
* a user's permissions boundary (CreateUser's, PutUserPermissionsBoundary, DeleteUserPermissionsBoundary, GetUser);
* what moto lacks of IAM's least-privilege tools and of the book's world: GetContextKeysForPrincipalPolicy,
  GetContextKeysForCustomPolicy, ListPoliciesGrantingServiceAccess, ListInstanceProfileTags.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from typing import Any, Callable

from grader import account
from grader.aws import managed_policies, patches
from grader.aws.errors import AwsError
from grader.aws.names import (ACCOUNT_ID, ADMIN_ACCESS_KEY_ID, ADMIN_POLICY_ARN, ADMIN_SECRET_ACCESS_KEY,
                              ADMIN_USER_NAME, REGION, ROOT_ACCESS_KEY_ID)


def _root_caller_identity(original: Callable) -> Callable:
    """moto answers an unknown key as ``user/moto``; AWS answers the root user's key with the account itself.

    AWS, GetCallerIdentity: for the root user, ``UserId`` is the account id and ``Arn`` is
    ``arn:aws:iam::<account>:root``.
    """

    def get_caller_identity(self, access_key_id: str, region: str):
        if access_key_id == ROOT_ACCESS_KEY_ID:
            return self.account_id, f"arn:aws:iam::{self.account_id}:root", self.account_id
        return original(self, access_key_id, region)

    get_caller_identity.__wrapped__ = original
    return get_caller_identity


_administrators_made: set = set()


def ensure_administrator(account_id: str = ACCOUNT_ID) -> Any:
    """The sandbox's administrator: the IAM user ``administrator`` with AWS's ``AdministratorAccess`` attached.

    It is created on the first request signed with its key, not at ``start()``: building moto's IAM backend loads
    every AWS managed policy, a cost a chapter pays once, when it first needs IAM, and never for nothing. The access
    key is the fixed one the sandbox puts in the environment, so the reader's default boto3 session is this user.
    """
    from moto.iam.models import AccessKey, iam_backends

    iam = iam_backends[account_id]["aws"]
    if account_id in _administrators_made:
        # Made once per fresh account: a reader who deletes the user has deleted it, as on AWS.
        return iam.users.get(ADMIN_USER_NAME)
    _administrators_made.add(account_id)
    user = iam.create_user(REGION, ADMIN_USER_NAME, "/")
    iam.attach_user_policy(ADMIN_POLICY_ARN, ADMIN_USER_NAME)
    key = AccessKey(ADMIN_USER_NAME, prefix="AKIA", account_id=account_id)
    key.access_key_id, key.secret_access_key = ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
    user.access_keys.append(key)
    iam.access_keys[key.physical_resource_id] = key
    return user


@functools.lru_cache(maxsize=1)
def _aws_managed_policy_fields() -> tuple:
    """AWS's managed policies as moto's AWSManagedPolicy.from_data reads them: read once per process, not per account.

    moto parses its copy of the managed policies (some 1,500 documents) and writes each document back to JSON every
    time it builds an IAM backend, which is at a fresh account's first IAM request and again after every reset();
    that is nearly all of the pause. The text and dates come out the same each time, so they are kept.
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return tuple((name, data.get("DefaultVersionId"), data.get("Path"), json.dumps(data.get("Document")),
                  _dt.datetime.fromisoformat(data["CreateDate"]), _dt.datetime.fromisoformat(data["UpdateDate"]))
                 for name, data in json.loads(aws_managed_policies_data).items())


def _aws_policies_read_once(original: Callable) -> Callable:
    def _init_aws_policies(self) -> list:
        from moto.iam.models import AWSManagedPolicy
        from moto.settings import load_iam_aws_managed_policies

        if not load_iam_aws_managed_policies():
            return original(self)
        # Each account still gets policy objects of its own, made by moto's constructor in moto's order.
        return [AWSManagedPolicy(name, account_id=self.account_id, region=self.region_name,
                                 default_version_id=version, path=path, document=document, create_date=created,
                                 update_date=updated)
                for name, version, path, document, created, updated in _aws_managed_policy_fields()]

    _init_aws_policies.__wrapped__ = original
    return _init_aws_policies


# IAM's unique ids begin with a prefix that says what they name (AWS: "IAM identifiers", unique ids): AIDA a user,
# AGPA a group, AIPA an instance profile, AROA a role. moto gives users, groups and instance profiles lowercase
# strings; these patches give them AWS's form, drawn from moto's seeded random so that they stay the same each run.
_UNIQUE_ID_PREFIXES = {"User": "AIDA", "Group": "AGPA", "InstanceProfile": "AIPA"}


def _unique_id(account_id: str, prefix: str) -> str:
    from moto.iam.utils import generate_access_key_id_from_account_id

    return generate_access_key_id_from_account_id(account_id, prefix=prefix, total_length=21)


def _with_unique_id(prefix: str) -> Callable:
    def wrap(original: Callable) -> Callable:
        def __init__(self, account_id: str, *args: Any, **kwargs: Any) -> None:
            original(self, account_id, *args, **kwargs)
            self.id = _unique_id(account_id, prefix)

        return __init__

    return wrap


# boto3's default session is made once and keeps the credentials it found: a session made before start() would

patches.register("moto.sts.models:STSBackend", "get_caller_identity", _root_caller_identity,
                 "AWS answers GetCallerIdentity for the root user's key with the account itself")
patches.register("moto.iam.models:IAMBackend", "_init_aws_policies", _aws_policies_read_once,
                 "AWS's managed policies are the same in every account: moto's copy is read once per process")
for _name, _prefix in _UNIQUE_ID_PREFIXES.items():
    patches.register(f"moto.iam.models:{_name}", "__init__", _with_unique_id(_prefix),
                     f"IAM's unique id of a {_name} begins with {_prefix}")



def _simulator(operation: str) -> Callable:
    """moto's IAM response for a simulator operation, answered by the running account's ``simulator``.

    The simulator evaluates policies, which is the gatehouse's work; this layer only hands it the request and turns
    its refusals into moto's IAM errors, so they are rendered as every other IAM error is.
    """

    def make(_original: Any) -> Callable:
        def simulate(self):
            from moto.iam import exceptions

            box = account.running()
            simulator = getattr(box, "simulator", None)
            if simulator is None:
                raise exceptions.InvalidInput(f"{operation} is not answered in this sandbox.")
            try:
                return simulator(operation, self.querystring, getattr(box, "account_id", None) or
                                 self.current_account)
            except AwsError as error:
                kind = {"NoSuchEntity": exceptions.NoSuchEntity, "InvalidInput": exceptions.InvalidInput,
                        "MalformedPolicyDocument": exceptions.MalformedPolicyDocument}[error.code]
                raise kind(error.message) from None

        return simulate

    return make


patches.register_all((
    ("moto.iam.responses:IamResponse", "simulate_principal_policy", _simulator("SimulatePrincipalPolicy"),
     "IAM answers SimulatePrincipalPolicy from the principal's policies; moto has no such operation"),
    ("moto.iam.responses:IamResponse", "simulate_custom_policy", _simulator("SimulateCustomPolicy"),
     "IAM answers SimulateCustomPolicy from the policies passed in; moto has no such operation"),
))
# AWS managed policies are AWS's: moto's IAM refuses to change them too, whoever reaches it.
patches.register_all(managed_policies.PATCHES)


def forget_administrators() -> None:
    """A fresh account (a start or a reset) makes its administrator again at its first request."""
    _administrators_made.clear()


# --------------------------------------------------------------------------------------------------------------
# STS sessions on the sandbox clock, with what AWS remembers of them


def _session_on_sandbox_clock(original: Callable) -> Callable:
    """moto stamps a role session with the machine's time; AWS issues it now, on the account's clock.

    The session's issue time is what AWS puts in every request it signs as ``aws:TokenIssueTime`` (IAM User Guide,
    AWS global condition context keys), and its expiry is that time plus the duration asked for (AWS: AssumeRole,
    DurationSeconds). With the machine's time, a session taken after the book moved the sandbox clock forward
    would be born expired, and no issue time could be compared with the clock the policies read.
    """

    def __init__(self, account_id: str, region_name: str, access_key: Any, role_session_name: str, role_arn: str,
                 policy: Any, duration: int, external_id: Any) -> None:
        original(self, account_id, region_name, access_key, role_session_name, role_arn, policy, duration,
                 external_id)
        box = account.running()
        clock = getattr(box, "clock", None)
        now = clock.now() if clock is not None else _dt.datetime.now(_dt.timezone.utc)
        self.issued = now.astimezone(_dt.timezone.utc).replace(microsecond=0)
        self.expiration = (self.issued + _dt.timedelta(seconds=int(duration))).replace(tzinfo=None)
        self.source_identity = None
        self.session_tags = {}

    __init__.__wrapped__ = original
    return __init__


def _session_remembers_request(original: Callable) -> Callable:
    """moto drops AssumeRole's SourceIdentity and Tags; AWS keeps both with the session.

    AWS: the source identity set when a role is assumed is in the context of every request the session makes
    (``aws:SourceIdentity``) and in AssumeRole's response; session tags are principal tags of the session
    (``aws:PrincipalTag/<key>``, over the role's tag of the same key) (IAM User Guide, AWS global condition context
    keys; Passing session tags in AWS STS).
    """

    def assume_role(self):
        answer = original(self)
        session = answer.result["Credentials"] if isinstance(getattr(answer, "result", None), dict) else None
        if session is None:
            return answer
        source_identity = self._get_param("SourceIdentity")
        if source_identity:
            session.source_identity = source_identity
            answer.result["SourceIdentity"] = source_identity
        tags = self._get_params().get("Tags") or []
        session.session_tags = {tag["Key"]: tag.get("Value", "") for tag in tags if isinstance(tag, dict)
                                and "Key" in tag}
        return answer

    assume_role.__wrapped__ = original
    return assume_role


patches.register_all((
    ("moto.sts.models:AssumedRole", "__init__", _session_on_sandbox_clock,
     "AWS issues a role session at the account's present time, which the sandbox clock is: aws:TokenIssueTime"),
    ("moto.sts.responses:TokenResponse", "assume_role", _session_remembers_request,
     "AWS keeps a session's source identity and session tags; moto drops them"),
))


# --------------------------------------------------------------------------------------------------------------
# A user's permissions boundary, which moto ignores


def _boundary_of(user: Any) -> Any:
    arn = getattr(user, "permissions_boundary_arn", None)
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn} if arn else None


def _set_user_boundary(response: Any, user_name: str, boundary_arn: Any) -> None:
    from moto.iam.exceptions import IAMException as RESTError

    backend = response.backend
    if boundary_arn is not None and not backend.policy_arn_regex.match(boundary_arn):
        raise RESTError("InvalidParameterValue",
                        f"Value ({boundary_arn}) for parameter PermissionsBoundary is invalid.")
    user = backend.get_user(user_name)   # NoSuchEntity, in IAM's words, for a user that does not exist
    user.permissions_boundary_arn = boundary_arn


def _create_user_with_boundary(original: Callable) -> Callable:
    """moto's CreateUser drops PermissionsBoundary; IAM sets it (IAM API reference, CreateUser)."""

    def create_user(self):
        boundary = self._get_param("PermissionsBoundary")
        answer = original(self)
        if boundary:
            _set_user_boundary(self, self._get_param("UserName"), boundary)
        return answer

    create_user.__wrapped__ = original
    return create_user


def _put_user_boundary(_original: Any) -> Callable:
    """IAM's PutUserPermissionsBoundary, which moto lacks (IAM API reference, PutUserPermissionsBoundary)."""

    def put_user_permissions_boundary(self):
        from moto.core.responses import ActionResult

        _set_user_boundary(self, self._get_param("UserName"), self._get_param("PermissionsBoundary"))
        return ActionResult({})

    return put_user_permissions_boundary


def _delete_user_boundary(_original: Any) -> Callable:
    """IAM's DeleteUserPermissionsBoundary, which moto lacks (IAM API reference, DeleteUserPermissionsBoundary)."""

    def delete_user_permissions_boundary(self):
        from moto.core.responses import ActionResult

        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = None
        return ActionResult({})

    return delete_user_permissions_boundary


def _list_instance_profile_tags(_original: Any) -> Callable:
    """IAM's ListInstanceProfileTags, which moto lacks though it keeps the tags (IAM API reference)."""

    def list_instance_profile_tags(self):
        from moto.core.responses import ActionResult

        profile = self.backend.get_instance_profile(self._get_param("InstanceProfileName"))
        return ActionResult({"Tags": list(profile.tags or []), "IsTruncated": False})

    return list_instance_profile_tags


patches.register_all((
    ("moto.iam.responses:IamResponse", "create_user", _create_user_with_boundary,
     "IAM sets the permissions boundary CreateUser names; moto drops it"),
    ("moto.iam.responses:IamResponse", "put_user_permissions_boundary", _put_user_boundary,
     "IAM sets a user's permissions boundary; moto has no such operation"),
    ("moto.iam.responses:IamResponse", "delete_user_permissions_boundary", _delete_user_boundary,
     "IAM removes a user's permissions boundary; moto has no such operation"),
    ("moto.iam.models:User", "permissions_boundary", lambda _original: property(_boundary_of),
     "GetUser shows the user's permissions boundary, as IAM does"),
    ("moto.iam.responses:IamResponse", "list_instance_profile_tags", _list_instance_profile_tags,
     "IAM lists an instance profile's tags; moto keeps them but has no such operation"),
))


# --------------------------------------------------------------------------------------------------------------
# IAM's least-privilege tools that moto lacks


def _condition_keys(document: Any, into: dict) -> None:
    """The condition keys a policy document names, in order, once each (IAM compares keys without case)."""
    from grader.policy import read_stored

    policy = read_stored(document, "identity", None)
    for statement in policy.statements:
        for keys in (statement.condition or {}).values():
            for key in (keys or {}) if isinstance(keys, dict) else ():
                into.setdefault(str(key).lower(), str(key))


def documents_of(backend: Any, arn: str) -> list:
    """The policy documents IAM reads for a user (with its groups'), a group or a role, named by ARN."""
    from moto.iam.exceptions import NotFoundException

    owners = []
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind == "user":
        user = backend.get_user(name)
        owners = [user] + [group for group in backend.groups.values()
                           if any(member.name == user.name for member in group.users)]
    elif kind == "group":
        owners = [backend.get_group(name)]
    elif kind == "role":
        owners = [backend.get_role(name)]
    else:
        raise NotFoundException(f"Entity {arn} does not exist.")
    documents = []
    for owner in owners:
        documents.extend(owner.policies.values())
        documents.extend(_default_document(policy) for policy in owner.managed_policies.values())
    return [d for d in documents if d]


def _default_document(policy: Any) -> Any:
    for version in getattr(policy, "versions", []):
        if version.is_default:
            return version.document
    return None


def _context_keys(principal: bool) -> Callable:
    """IAM's GetContextKeysForPrincipalPolicy / GetContextKeysForCustomPolicy, which moto lacks.

    IAM API reference: the condition keys named in the entity's policies (a user's include its groups'), and in the
    policies passed in ``PolicyInputList``.
    """

    def make(_original: Any) -> Callable:
        def get_context_keys(self):
            from moto.core.responses import ActionResult

            found: dict = {}
            documents = documents_of(self.backend, self._get_param("PolicySourceArn")) if principal else []
            documents += list(self._get_param("PolicyInputList") or [])
            for document in documents:
                _condition_keys(document, found)
            return ActionResult({"ContextKeyNames": list(found.values())})

        return get_context_keys

    return make


patches.register_all((
    ("moto.iam.responses:IamResponse", "get_context_keys_for_principal_policy", _context_keys(True),
     "IAM lists the condition keys of a principal's policies; moto has no such operation"),
    ("moto.iam.responses:IamResponse", "get_context_keys_for_custom_policy", _context_keys(False),
     "IAM lists the condition keys of the policies passed in; moto has no such operation"),
))


def grants_service(document: Any, namespace: str) -> bool:
    """Whether a policy has an Allow statement whose actions reach ``namespace`` (``s3``: ``s3:*``, ``*``, ``s3:Get*``)."""
    from grader.policy import read_stored

    prefix = namespace.lower() + ":"
    for statement in read_stored(document, "identity", None).statements:
        if statement.effect != "Allow":
            continue
        if statement.actions and any(a == "*" or a.lower().startswith(prefix) for a in statement.actions):
            return True
        if statement.not_actions and not any(a in ("*", f"{namespace}:*") or a.lower() == prefix + "*"
                                             for a in statement.not_actions):
            return True
    return False


def _list_policies_granting_service_access(_original: Any) -> Callable:
    """IAM's ListPoliciesGrantingServiceAccess, which moto lacks (IAM API reference): for each service namespace, the
    identity's policies (a user's with its groups') that allow some action of it; inline ones name their owner."""

    def list_policies_granting_service_access(self):
        from moto.core.responses import ActionResult
        from moto.iam.exceptions import NotFoundException

        arn = self._get_param("Arn")
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        name = name.rsplit("/", 1)[-1]
        backend = self.backend
        if kind == "user":
            user = backend.get_user(name)
            owners = [("USER", user)] + [("GROUP", group) for group in backend.groups.values()
                                         if any(member.name == user.name for member in group.users)]
        elif kind == "group":
            owners = [("GROUP", backend.get_group(name))]
        elif kind == "role":
            owners = [("ROLE", backend.get_role(name))]
        else:
            raise NotFoundException(f"Entity {arn} does not exist.")
        answer = []
        for namespace in self._get_param("ServiceNamespaces") or []:
            policies = []
            for entity_type, owner in owners:
                for policy_name, document in owner.policies.items():
                    if grants_service(document, namespace):
                        policies.append({"PolicyName": policy_name, "PolicyType": "INLINE",
                                         "EntityType": entity_type, "EntityName": owner.name})
                for policy_arn, policy in owner.managed_policies.items():
                    document = _default_document(policy)
                    if document and grants_service(document, namespace) and all(
                            p.get("PolicyArn") != policy_arn for p in policies):
                        policies.append({"PolicyName": policy.name, "PolicyType": "MANAGED", "PolicyArn": policy_arn})
            answer.append({"ServiceNamespace": namespace, "Policies": policies})
        return ActionResult({"PoliciesGrantingServiceAccess": answer, "IsTruncated": False})

    return list_policies_granting_service_access


patches.register("moto.iam.responses:IamResponse", "list_policies_granting_service_access",
                 _list_policies_granting_service_access,
                 "IAM lists the policies that let an identity use a service; moto has no such operation")


def _generate_last_accessed(_original: Any) -> Callable:
    """IAM's GenerateServiceLastAccessedDetails, which moto lacks: a report job, complete at once, of the services
    the entity's policies allow and when the entity last tried each (IAM API reference; IAM User Guide, Refining
    permissions using last accessed information). The account's ``service_last_accessed`` hook (the gatehouse,
    which saw every attempt, allowed or refused) writes the report."""

    def generate_service_last_accessed_details(self):
        import uuid

        from moto.core.responses import ActionResult

        arn = self._get_param("Arn")
        documents_of(self.backend, arn)   # NoSuchEntity, in IAM's words, for an entity that does not exist
        box = account.running()
        hook = getattr(box, "service_last_accessed", None)
        now = box.clock.now() if box is not None else _dt.datetime.now(_dt.timezone.utc)
        job = {"JobStatus": "COMPLETED", "JobType": self._get_param("Granularity") or "SERVICE_LEVEL",
               "JobCreationDate": now, "JobCompletionDate": now,
               "ServicesLastAccessed": hook(arn) if hook is not None else [], "IsTruncated": False}
        job_id = str(uuid.UUID(int=random_bits()))
        self.backend.__dict__.setdefault("_last_accessed_jobs", {})[job_id] = job
        return ActionResult({"JobId": job_id})

    return generate_service_last_accessed_details


def random_bits() -> int:
    from moto.moto_api._internal import mock_random

    return mock_random.getrandbits(128)


def _get_last_accessed(_original: Any) -> Callable:
    """IAM's GetServiceLastAccessedDetails, which moto lacks: the report of a job GenerateServiceLastAccessedDetails
    started (IAM API reference)."""

    def get_service_last_accessed_details(self):
        from moto.core.responses import ActionResult
        from moto.iam.exceptions import NotFoundException

        job = self.backend.__dict__.get("_last_accessed_jobs", {}).get(self._get_param("JobId"))
        if job is None:
            raise NotFoundException(f"No job found with ID {self._get_param('JobId')}.")
        return ActionResult(job)

    return get_service_last_accessed_details


patches.register_all((
    ("moto.iam.responses:IamResponse", "generate_service_last_accessed_details", _generate_last_accessed,
     "IAM reports when an entity last used each service its policies allow; moto has no such operation"),
    ("moto.iam.responses:IamResponse", "get_service_last_accessed_details", _get_last_accessed,
     "IAM answers the last accessed report it generated; moto has no such operation"),
))
