"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}`` and the escapes ``${*}``, ``${?}``, ``${$}``.

IAM replaces a variable with the value of the context key it names, looked up case-insensitively. Variables are only
recognised when the policy says ``"Version": "2012-10-17"``; under the older version, or with no Version at all,
``${aws:username}`` is the literal text it appears to be.

A template is a tuple of parts: ("lit", text) with live wildcards, ("raw", text) with none (the escapes), and
("var", key, default, source). Resolving a template against a request's context turns every variable into raw
text, or fails when a key has no single value and no default: IAM then treats the value as matching nothing.
"""

from __future__ import annotations

import re

__all__ = ["parse_template", "resolve", "has_variables", "template_text", "Unresolved"]

# ${ key } or ${ key, 'default' }; inside the default a doubled quote '' stands for one quote.
_VARIABLE = re.compile(r"\$\{\s*([^}',\s][^}',]*?)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


class Unresolved(Exception):
    """A variable's key has no value in the request context (and the variable has no default)."""

    def __init__(self, source: str, key: str, why: str = "is not in the request context"):
        super().__init__(f"{source} {why}")
        self.source = source
        self.key = key
        self.why = why


def parse_template(text: str, variables: bool = True) -> tuple:
    """Split a Resource or condition value into parts. With ``variables=False`` the whole text is literal."""
    if not variables or "${" not in text:
        return (("lit", text),)
    parts: list[tuple] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append(("lit", text[pos:m.start()]))
        key, default = m.group(1), m.group(2)
        if key in _ESCAPES and default is None:
            parts.append(("raw", _ESCAPES[key]))
        else:
            if default is not None:
                default = default.replace("''", "'")
            parts.append(("var", key.lower(), default, m.group(0)))
        pos = m.end()
    if pos < len(text):
        parts.append(("lit", text[pos:]))
    return tuple(parts)


def has_variables(parts: tuple) -> bool:
    return any(p[0] != "lit" for p in parts)


def template_text(parts: tuple) -> str:
    """The template as written in the policy."""
    return "".join(p[3] if p[0] == "var" else ("${%s}" % p[1] if p[0] == "raw" else p[1]) for p in parts)


def resolve(parts: tuple, context: dict) -> tuple:
    """Replace every variable by its value from ``context`` (lower-cased keys → list of strings).

    Returns parts with only "lit" and "raw" kinds. A substituted value is raw: a ``*`` in a user name does not
    become a wildcard. Raises Unresolved when a key is absent or multivalued and the variable has no default
    (IAM cannot substitute a multivalued key).
    """
    out = []
    for part in parts:
        if part[0] != "var":
            out.append(part)
            continue
        _, key, default, source = part
        values = context.get(key)
        if values is not None and len(values) == 1:
            out.append(("raw", values[0]))
        elif default is not None:
            out.append(("raw", default))
        elif values:
            raise Unresolved(source, key, "has several values in the request context, so it cannot be substituted")
        else:
            raise Unresolved(source, key)
    return tuple(out)
