"""The Condition element: every IAM condition operator, ...IfExists, Null, and the ForAllValues/ForAnyValue set operators.

The rules, from AWS's pages "IAM JSON policy elements: Condition operators" and "Condition with multiple context keys
or values":

* several operators in one Condition block, and several keys under one operator, must all be true (AND);
* several values for one key are alternatives (OR); for a negated operator (StringNotEquals, NotIpAddress, ...) the
  context value must match none of them (NOR);
* a key missing from the request context makes a condition false, except that a negated operator is then true,
  ``...IfExists`` is then true, and ``Null`` is about exactly that;
* ``ForAnyValue:`` is true when at least one context value satisfies the operator (false when the key is missing or
  empty); ``ForAllValues:`` is true when every context value does (true when the key is missing or empty).

An empty list in the context counts as a missing key. A condition value holding a policy variable that cannot be
resolved makes its condition false, so the statement does not apply (IAM: the statement becomes invalid).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import datetime, timezone

from .matching import Glob
from .variables import Unresolved, has_variables, parse_template, resolve

__all__ = ["Condition", "compile_condition", "OPERATORS", "ConditionValueError", "canonical_operator"]


class ConditionValueError(ValueError):
    """A value in the policy cannot be read the way its operator needs (a bad date, CIDR, number...)."""


# --- value readers: policy values are read once, when the policy is parsed; context values at each request ---------

def _number(text: str):
    text = str(text).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


# IAM's legacy parser reads shortened ISO 8601 dates too: any number of year digits, then optional month, day, "T",
# hours, minutes, seconds with up to nine decimals, and "Z" or "+hh[:mm]" (the rules moto records for IAM).
_LOOSE_DATE = re.compile(r"(-?\d+)(?:-(\d+)(?:-(\d+))?)?(?:t(?:(\d+)(?::(\d+)(?::(\d+)(?:\.(\d{1,9}))?"
                         r"(z|\+(\d\d)(?::(\d\d))?)?)?)?)?)?")
_YEARS = (-292275054, 292278993)
_SECONDS_PER_YEAR = 31556952  # the mean Gregorian year, for years a datetime cannot hold


def _date(text) -> float:
    """Seconds since the epoch for an ISO 8601 date/time (full or shortened) or epoch seconds; naive times are UTC."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        if int(text) > 9223372036854775807:  # IAM reads epoch seconds as a signed 64-bit number
            raise ValueError(f"{text} is too large for a date in seconds")
        return float(text)
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("z", "Z")) else text)
    except ValueError:
        return _loose_date(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _loose_date(text: str) -> float:
    m = _LOOSE_DATE.fullmatch(text.lower())
    if m is None:
        raise ValueError(f"{text!r} is not an ISO 8601 date")
    year, month, day, hour, minute, second, fraction, zone, zone_h, zone_m = m.groups()
    fields = (int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    limits = (_YEARS, (1, 12), (1, 31), (0, 23), (0, 59), (0, 59))
    if zone_h is not None:
        fields += (int(zone_h), int(zone_m or 0))
        limits += ((0, 23), (0, 59))
    if any(not low <= value <= high for value, (low, high) in zip(fields, limits)):
        raise ValueError(f"{text!r} is not a date: a field is out of range")
    offset = (fields[6] * 60 + fields[7]) * 60 if zone_h is not None else 0
    fraction_seconds = float("0." + fraction) if fraction else 0.0
    y, mo, d, h, mi, sec = fields[:6]
    if 1 <= y <= 9999:
        try:
            base = datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc).timestamp()
        except ValueError:  # a day the month does not have: IAM checks only 1-31, so count on from the 1st
            base = datetime(y, mo, 1, h, mi, sec, tzinfo=timezone.utc).timestamp() + (d - 1) * 86400
    else:
        base = (y - 1970) * _SECONDS_PER_YEAR
    return base + fraction_seconds - offset


def _network(text: str):
    return ipaddress.ip_network(str(text).strip(), strict=False)


def _binary(text: str) -> bytes:
    return base64.b64decode(str(text).strip(), validate=True)


def _bool(text) -> str:
    if isinstance(text, bool):
        return "true" if text else "false"
    value = str(text).strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"{text!r} is neither true nor false")
    return value


# --- operators ----------------------------------------------------------------------------------------------------
# Each base operator: (value kind, negated, test(context_value, prepared_policy_value) -> bool).
# A negated operator is stored with the test of its positive twin; negation is applied over all policy values.

def _eq(cv, pv):
    return cv == pv


def _eq_ic(cv, pv):
    return cv.casefold() == pv


def _like(cv, pv):
    return pv(cv)


def _num_eq(cv, pv):
    return _number(cv) == pv


def _num_lt(cv, pv):
    return _number(cv) < pv


def _num_le(cv, pv):
    return _number(cv) <= pv


def _num_gt(cv, pv):
    return _number(cv) > pv


def _num_ge(cv, pv):
    return _number(cv) >= pv


def _date_eq(cv, pv):
    return _date(cv) == pv


def _date_lt(cv, pv):
    return _date(cv) < pv


def _date_le(cv, pv):
    return _date(cv) <= pv


def _date_gt(cv, pv):
    return _date(cv) > pv


def _date_ge(cv, pv):
    return _date(cv) >= pv


def _bool_eq(cv, pv):
    return str(cv).strip().lower() == pv


def _binary_eq(cv, pv):
    return _binary(cv) == pv


def _ip_in(cv, pv):
    address = ipaddress.ip_network(str(cv).strip(), strict=False)
    return address.version == pv.version and address.subnet_of(pv)


OPERATORS: dict[str, tuple[str, bool, object]] = {
    "StringEquals": ("string", False, _eq),
    "StringNotEquals": ("string", True, _eq),
    "StringEqualsIgnoreCase": ("string_ic", False, _eq_ic),
    "StringNotEqualsIgnoreCase": ("string_ic", True, _eq_ic),
    "StringLike": ("glob", False, _like),
    "StringNotLike": ("glob", True, _like),
    "NumericEquals": ("number", False, _num_eq),
    "NumericNotEquals": ("number", True, _num_eq),
    "NumericLessThan": ("number", False, _num_lt),
    "NumericLessThanEquals": ("number", False, _num_le),
    "NumericGreaterThan": ("number", False, _num_gt),
    "NumericGreaterThanEquals": ("number", False, _num_ge),
    "DateEquals": ("date", False, _date_eq),
    "DateNotEquals": ("date", True, _date_eq),
    "DateLessThan": ("date", False, _date_lt),
    "DateLessThanEquals": ("date", False, _date_le),
    "DateGreaterThan": ("date", False, _date_gt),
    "DateGreaterThanEquals": ("date", False, _date_ge),
    "Bool": ("bool", False, _bool_eq),
    "BinaryEquals": ("binary", False, _binary_eq),
    "IpAddress": ("ip", False, _ip_in),
    "NotIpAddress": ("ip", True, _ip_in),
    "ArnEquals": ("arn", False, _like),
    "ArnLike": ("arn", False, _like),
    "ArnNotEquals": ("arn", True, _like),
    "ArnNotLike": ("arn", True, _like),
    "Null": ("null", False, None),
}
_BY_LOWER = {name.lower(): name for name in OPERATORS}

# Which kinds of value may hold policy variables (AWS lists variable support per operator family).
_VARIABLE_KINDS = {"string", "string_ic", "glob", "arn", "bool"}


def canonical_operator(name: str) -> tuple[str | None, str, bool]:
    """Split ``ForAnyValue:StringLikeIfExists`` into (set operator, base operator, if_exists).

    Raises ValueError with a message for people when the name is not an IAM condition operator.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a condition operator must be a non-empty string such as \"StringEquals\"")
    set_op = None
    rest = name
    if ":" in name:
        prefix, _, rest = name.partition(":")
        lowered = prefix.lower()
        if lowered == "forallvalues":
            set_op = "ForAllValues"
        elif lowered == "foranyvalue":
            set_op = "ForAnyValue"
        else:
            raise ValueError(
                f"{prefix!r} is not a set operator; the only prefixes IAM knows are \"ForAllValues:\" and \"ForAnyValue:\"")
    if_exists = False
    base = _BY_LOWER.get(rest.lower())
    if base is None and rest.lower().endswith("ifexists"):
        base = _BY_LOWER.get(rest[: -len("IfExists")].lower())
        if_exists = base is not None
    if base is None:
        raise ValueError(
            f"{rest!r} is not an IAM condition operator; use one of StringEquals, StringLike, NumericLessThan, "
            "DateGreaterThan, Bool, IpAddress, ArnLike, Null (and their Not/IfExists forms)")
    if base == "Null" and if_exists:
        raise ValueError("Null cannot take IfExists: Null already tests whether the key exists")
    if base == "Null" and set_op:
        raise ValueError(f"Null cannot be used with {set_op}: it tests whether the key exists at all")
    return set_op, base, if_exists


def _show(values) -> str:
    if len(values) == 1:
        return repr(values[0])
    return "[" + ", ".join(repr(v) for v in values) + "]"


class _Value:
    """One policy value, prepared for its operator; a template when it holds variables."""

    __slots__ = ("source", "prepared", "template")

    def __init__(self, source, prepared, template=None):
        self.source = source
        self.prepared = prepared
        self.template = template


class Condition:
    """One (operator, key, values) triple of a Condition block, ready to be tested against a request context."""

    __slots__ = ("operator", "set_op", "base", "if_exists", "negated", "kind", "key", "key_lower", "values",
                 "_test", "_dynamic")

    def __init__(self, operator: str, key: str, raw_values: list, variables: bool):
        self.set_op, self.base, self.if_exists = canonical_operator(operator)
        self.operator = operator
        self.kind, self.negated, self._test = OPERATORS[self.base]
        self.key = key
        self.key_lower = key.lower()
        self.values = [self._prepare(v, variables) for v in raw_values]
        self._dynamic = any(v.template is not None for v in self.values)

    # Policy values are read when the policy is parsed, so a bad date or CIDR is a MalformedPolicyDocument.
    def _prepare(self, raw, variables: bool) -> _Value:
        kind = self.kind
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, (int, float)):
            text = repr(raw) if isinstance(raw, float) else str(raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise ConditionValueError(f"{raw!r} is not a string, number or boolean")
        if kind in _VARIABLE_KINDS:
            parts = parse_template(text, variables)
            if has_variables(parts):
                return _Value(text, None, parts)
            return _Value(text, self._from_parts(parts))
        try:
            if kind == "number":
                return _Value(text, _number(text))
            if kind == "date":
                return _Value(text, _date(raw if not isinstance(raw, str) else text))
            if kind == "ip":
                return _Value(text, _network(text))
            if kind == "binary":
                return _Value(text, _binary(text))
            if kind == "null":
                return _Value(text, _bool(text))
        except (ValueError, binascii.Error) as exc:
            need = {"number": "a number such as 10 or 2.5",
                    "date": "an ISO 8601 date such as 2024-06-30T23:59:59Z, or seconds since 1970",
                    "ip": "an IP address or CIDR block such as 203.0.113.0/24 or 2001:db8::/32",
                    "binary": "base64 text such as QmluYXJ5VmFsdWU=",
                    "null": "\"true\" (the key must be absent) or \"false\" (the key must be present)"}[kind]
            raise ConditionValueError(f"{text!r} is not valid for {self.base}: it needs {need}") from exc
        raise AssertionError(kind)

    def _from_parts(self, parts: tuple):
        kind = self.kind
        if kind == "glob":
            return Glob(parts)
        if kind == "arn":
            return Glob(parts, arn=True)
        text = "".join(p[1] for p in parts)
        if kind == "string_ic":
            return text.casefold()
        if kind == "bool":
            try:
                return _bool(text)
            except ValueError as exc:
                raise ConditionValueError(f"{text!r} is not valid for Bool: use \"true\" or \"false\"") from exc
        return text

    def _policy_values(self, context: dict) -> list:
        if not self._dynamic:
            return [v.prepared for v in self.values]
        out = []
        for v in self.values:
            if v.template is None:
                out.append(v.prepared)
            else:
                parts = resolve(v.template, context)  # may raise Unresolved
                out.append(self._from_parts(parts))
        return out

    def _matches(self, cv, pvs) -> bool:
        """Does one context value satisfy the operator (positive or negated) against all policy values?"""
        test = self._test
        hit = False
        for pv in pvs:
            try:
                if test(cv, pv):
                    hit = True
                    break
            except (ValueError, TypeError, binascii.Error):
                continue  # a context value of the wrong shape matches nothing
        return not hit if self.negated else hit

    def evaluate(self, context: dict) -> tuple[bool, str]:
        """(result, explanation) for a context whose keys are lower-cased and whose values are lists of strings."""
        shown_values = _show([v.source for v in self.values])
        values = context.get(self.key_lower)
        present = bool(values)
        if self.base == "Null":
            wanted = {v.prepared for v in self.values}
            result = ("true" in wanted and not present) or ("false" in wanted and present)
            state = f"present with {_show(values)}" if present else "absent"
            return result, f"Null {self.key}: {shown_values} and the key is {state} → {_tf(result)}"
        if not present:
            if self.if_exists:
                result, why = True, "…IfExists is true when the key is absent"
            elif self.set_op == "ForAllValues":
                result, why = True, "ForAllValues is true when the key is absent or empty"
            elif self.set_op == "ForAnyValue":
                result, why = False, "ForAnyValue is false when the key is absent or empty"
            elif self.negated:
                result, why = True, "a negated operator is true when the key is absent"
            else:
                result, why = False, "the key must be present"
            return result, f"{self.operator} {self.key}: key not in the request context ({why}) → {_tf(result)}"
        try:
            pvs = self._policy_values(context)
        except Unresolved as exc:
            return False, (f"{self.operator} {self.key}: the policy value {exc.source} cannot be resolved because its "
                           f"key {exc.why} → false")
        except ConditionValueError as exc:  # a variable resolved to something the operator cannot read
            return False, f"{self.operator} {self.key}: {exc} → false"
        if self.kind == "string_ic":
            values = [str(v).casefold() for v in values]
        if self.set_op == "ForAllValues":
            result = all(self._matches(cv, pvs) for cv in values)
        elif self.set_op == "ForAnyValue" or not self.negated:
            result = any(self._matches(cv, pvs) for cv in values)
        else:
            # A plain negated operator: no context value may match any policy value.
            result = all(self._matches(cv, pvs) for cv in values)
        shown_request = _show(context[self.key_lower])
        resolved = ""
        if self._dynamic:
            resolved = " (after substituting variables: " + _show(
                [_pattern_text(p) for p in pvs]) + ")"
        return result, (f"{self.operator} {self.key}: request has {shown_request}, policy has {shown_values}"
                        f"{resolved} → {_tf(result)}")


def _tf(result: bool) -> str:
    return "true" if result else "false"


def _pattern_text(pv) -> str:
    return pv.pattern if isinstance(pv, Glob) else str(pv)


def compile_condition(block, variables: bool) -> list[Condition]:
    """Compile a whole Condition element. Raises ValueError/ConditionValueError describing the first problem."""
    if not isinstance(block, dict):
        raise ValueError("must be an object of the form {\"Operator\": {\"context-key\": \"value\" or [values]}}")
    out = []
    for operator, pairs in block.items():
        if isinstance(pairs, dict) and not pairs:
            continue  # IAM accepts an empty block, even under a name it does not know: it tests nothing
        canonical_operator(operator)
        if not isinstance(pairs, dict):
            raise ValueError(f"{operator} must map context keys to values, e.g. {{\"{operator}\": "
                             "{\"aws:PrincipalTag/team\": \"blue\"}}")
        for key, value in pairs.items():
            if not isinstance(key, str) or not key.strip():
                raise ValueError(f"{operator} has an empty context key name")
            raw_values = value if isinstance(value, list) else [value]
            # An empty list of values is accepted by IAM: no value can match it.
            try:
                out.append(Condition(operator, key, raw_values, variables))
            except ConditionValueError as exc:
                raise ConditionValueError(f"{operator} {key}: {exc}") from None
    return out
