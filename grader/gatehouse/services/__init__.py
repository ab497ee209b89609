"""What each AWS operation asks of IAM: its action, the resource ARNs it acts on, and its context keys, per service.

The gatehouse knows nothing about any one service. For every call it looks up the service's table here (by the
SigV4 signing name) and the operation's entry in it; the entry turns the call's parameters into the checks IAM
would make. Most entries come from the Service Authorization Reference as data (``reference.py``); a table writes
by hand only the operations whose authorisation differs from their name or needs more than the data gives, and the
service-wide facts the data leaves out (which parameter fills an ARN variable of another name, a service's resource
policy). Adding a service is adding a module with a ``TABLE``, not a branch in the gatehouse.

An entry (``Rule``) describes, in AWS's terms from the Service Authorization Reference:

* ``action``: the IAM action, ``service:Operation``;
* ``resources``: the ARNs the action is authorised on, a function of the call (``None`` means ``*``, as AWS
  writes it for actions that have no resource type);
* ``context``: service-specific condition keys (``s3:prefix``, ``ecs:cluster``...);
* ``resource_policy``: the resource-based policy that also has a say (a bucket policy; for sts:AssumeRole the
  role's trust policy);
* ``also``: further checks the same request needs (iam:PassRole when an instance profile or a task role is
  handed to a service, sts:TagSession when tags are passed);
* ``documents``: the policy documents the call carries (or names), with the kind of policy each is, so that a
  malformed document is refused the way IAM refuses it before anything is stored;
* ``always_allowed``: calls no IAM policy can refuse (sts:GetCallerIdentity);
* ``validate``: the service's own checks of a parameter that moto lets through: AWS's error
  (``grader.aws.errors``: ``ValidationError``, ``LimitExceeded``) when the call is refused, else None (IAM's range
  for ``MaxSessionDuration``, its quotas);
* ``reference``: for an entry read from the reference, what the data said (``reference.Derivation``): the
  resource types, where each ARN variable is filled from, and which are always ``*``.

A table's ``rules`` are whole hand-written entries (an operation authorised under another action's name); its
``extras`` add ``also``, ``documents`` or ``validate`` to the entry the reference gives an operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from grader.aws.errors import AwsError

__all__ = ["Rule", "Extra", "Check", "Call", "ResourcePolicy", "ServiceTable", "table_for", "services_run", "TABLES",
           "arn_or", "as_list", "document"]


@dataclass
class Call:
    """One request, as the tables see it: the operation, its parsed parameters, and where it was made."""

    service: str               # the signing name: "s3", "iam", "ecs", ...
    operation: str             # the API operation: "GetObject", "AssumeRole", ...
    params: dict
    account: str
    region: str
    state: Any                 # the gatehouse's read-only view of the account (roles, buckets, instance profiles)
    partition: str = "aws"
    caller: str = ""           # the caller's ARN (GetUser with no UserName is about the caller)

    def param(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value in (None, "") else value


@dataclass
class Check:
    """One question for the policy engine: may the caller do ``action`` on ``resource``?"""

    action: str
    resource: str = "*"
    context: dict = field(default_factory=dict)
    resource_policy: Optional["ResourcePolicy"] = None   # a bucket policy, a role's trust policy


@dataclass
class ResourcePolicy:
    """The resource-based policy of a check's resource; ``missing`` names the resource when it does not exist."""

    text: Optional[str]
    name: str
    missing: Optional[str] = None


@dataclass
class Rule:
    action: str
    resources: Optional[Callable[[Call], list]] = None
    context: Optional[Callable[[Call], dict]] = None
    resource_policy: Optional[Callable[[Call], Optional[ResourcePolicy]]] = None
    also: Optional[Callable[[Call], list]] = None
    documents: tuple = ()
    always_allowed: bool = False
    validate: Optional[Callable[[Call], Optional[AwsError]]] = None
    reference: Any = None    # for a rule read from the Service Authorization Reference: what the data said

    def policy_documents(self, call: Call) -> list:
        """``(text, kind, name)`` of every policy document this call would store or apply."""
        found = []
        for source in self.documents:
            found.extend(source(call))
        return found

    def checks(self, call: Call) -> list[Check]:
        """The checks this call needs: the action on each of its resources, then the checks in ``also``."""
        resources = self.resources(call) if self.resources else ["*"]
        context = self.context(call) if self.context else {}
        policy = self.resource_policy(call) if self.resource_policy else None
        out = [Check(self.action, resource or "*", dict(context), policy) for resource in resources or ["*"]]
        if self.also:
            out.extend(self.also(call))
        return out


@dataclass(frozen=True)
class Extra:
    """What an operation needs beyond the authorisation the reference gives it: more checks (``iam:PassRole``), the
    policy documents it carries, the service's own validation of a parameter. See ``Rule`` for each field."""

    also: Optional[Callable[[Call], list]] = None
    documents: tuple = ()
    validate: Optional[Callable[[Call], Optional[AwsError]]] = None


@dataclass
class ServiceTable:
    """A service's rules and how it answers: its protocol's error shapes and its words for a refusal."""

    signing_name: str
    model_name: str                       # botocore's name for the service model
    prefix: str                           # the IAM action prefix
    rules: dict
    denied_code: str = "AccessDenied"
    malformed_code: str = "MalformedPolicyDocument"
    # Whether the service's AccessDenied names the kind of policy that decided ("because no identity-based policy
    # allows ..."); STS's does not.
    states_reason: bool = True
    # For the rules read from the reference: ARN variables filled by a rule rather than by the parameter of the
    # same name, condition keys whose value needs more than a parameter, each resource type's aws:ResourceTag keys,
    # and the resource-based policy that has a say on every call (S3's bucket policy).
    variables: dict = field(default_factory=dict)
    condition_keys: dict = field(default_factory=dict)
    resource_tags: dict = field(default_factory=dict)
    resource_policy: Optional[Callable[[Call], Optional[ResourcePolicy]]] = None
    extras: dict = field(default_factory=dict)    # operation -> Extra, added to the reference's rule
    # The service's checks of every call's parameters (their lengths), made before an operation's own ``validate``.
    validate: Optional[Callable[[Call], Optional[AwsError]]] = None
    _derived: dict = field(default_factory=dict, repr=False, compare=False)

    def rule(self, operation: str) -> Optional[Rule]:
        """The hand-written entry for ``operation``, else the one the Service Authorization Reference gives."""
        found = self.rules.get(operation)
        if found is not None:
            return found
        if operation not in self._derived:
            from .reference import derive

            derived = derive(self, operation)
            extra = self.extras.get(operation)
            if derived is not None and extra is not None:
                derived = replace(derived, also=extra.also, documents=extra.documents, validate=extra.validate)
            self._derived[operation] = derived
        return self._derived[operation]

    @property
    def name(self) -> str:
        """AWS's name for the service, as the Service Authorization Reference spells it."""
        from .reference import service_name

        return service_name(self.prefix)


def document(param: str, kind: str, name: str = "") -> Callable[[Call], list]:
    """A policy document carried in parameter ``param``, to be validated as a policy of ``kind``."""

    def documents(call: Call) -> list:
        text = call.params.get(param)
        if text is None:
            return []
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return [(text, kind, name or param)]

    return documents


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def arn_or(value: str, template: str, call: Call, **extra: str) -> str:
    """``value`` when it already is an ARN, else ``template`` filled in with it (ECS and ECR take either)."""
    if isinstance(value, str) and value.startswith("arn:"):
        return value
    return template.format(partition=call.partition, region=call.region, account=call.account, name=value, **extra)


def _load() -> dict:
    from . import ec2, ecr, ecs, iam, logs, s3, ssm, sts

    tables = {}
    for module in (iam, sts, s3, ec2, ecs, ecr, logs, ssm):
        tables[module.TABLE.signing_name] = module.TABLE
    return tables


TABLES: dict = {}


def table_for(signing_name: str) -> Optional[ServiceTable]:
    if not TABLES:
        TABLES.update(_load())
    return TABLES.get(signing_name)


def services_run() -> list:
    """The services the sandbox runs, as ``(signing name, AWS's name)``."""
    if not TABLES:
        TABLES.update(_load())
    return [(name, table.name) for name, table in TABLES.items()]


def service_models() -> dict:
    """The services the sandbox runs, as ``{signing name: botocore model name}``: what ``grader.aws.routing`` needs
    to tell which service a request is for."""
    if not TABLES:
        TABLES.update(_load())
    return {name: table.model_name for name, table in TABLES.items()}
