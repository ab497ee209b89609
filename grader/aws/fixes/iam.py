"""Where moto's IAM and STS differ from AWS's, corrected: every correction a patch in the registry.

* the root user's key: AWS answers GetCallerIdentity with the account itself, not moto's ``user/moto``;
* the administrator: the IAM user ``administrator`` with ``AdministratorAccess``, made at its first request;
* AWS's managed policies, read once per process rather than once per account, and read-only for every account;
* IAM's unique ids in AWS's form (AIDA, AGPA, AIPA);
* IAM's policy simulator, which moto lacks: answered by the account's ``simulator`` (the gatehouse's).
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
