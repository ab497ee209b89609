"""Wildcard matching as IAM does it: actions (case-insensitive), Resource ARNs and ArnLike (segment by segment).

IAM has two wildcards, ``*`` (any run of characters, possibly empty) and ``?`` (exactly one character), and no
escape character inside a pattern: a literal ``*`` can only be written with the policy variable ``${*}``. So a
pattern here is a sequence of *parts*: text in which the wildcards are live, and raw text (what a variable or an
escape produced) in which every character stands for itself.

Patterns are compiled to regular expressions once and cached, because the same few patterns are matched over and
over while a notebook runs.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["matches_action", "matches_arn", "matches_arn_like", "glob_regex", "resource_regex", "arn_regex",
           "compiled"]

# Regular expressions are built from these parts: ("lit", text) has live wildcards, ("raw", text) has none.
Parts = tuple


@lru_cache(maxsize=8192)
def compiled(regex: str, ignore_case: bool = False) -> re.Pattern:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _chars(parts: Parts):
    """The pattern as (character, live) pairs: a wildcard is live only where the policy author typed it."""
    return [(ch, kind == "lit") for kind, text in parts for ch in text]


def glob_regex(parts: Parts) -> str:
    """Regex for a whole-string glob (Action, StringLike): ``*`` spans anything, ``?`` is any one character."""
    out = []
    for ch, live in _chars(parts):
        if live and ch == "*":
            out.append(".*")
        elif live and ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def resource_regex(parts: Parts) -> str:
    """Regex for a Resource or NotResource ARN, segment by segment as AWS documents it.

    A wildcard works inside one colon-separated segment (``/`` is an ordinary character there), except that a ``*``
    that is the last character of a segment "can expand to match beyond the colon boundaries": ``arn:aws:ec2:*``
    covers every EC2 ARN, while ``arn:aws:logs:*:*:log-*:x`` cannot stretch ``log-*`` over a colon.
    """
    chars = _chars(parts)
    out = []
    for i, (ch, live) in enumerate(chars):
        if live and ch == "*":
            last_of_segment = i + 1 == len(chars) or chars[i + 1][0] == ":"
            out.append(".*" if last_of_segment else "[^:]*")
        elif live and ch == "?":
            out.append("[^:]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def arn_components(chars: list) -> list:
    """Split (character, live) pairs into an ARN's six components: the sixth keeps any further colons."""
    components, current = [], []
    for ch, live in chars:
        if ch == ":" and len(components) < 5:
            components.append(current)
            current = []
        else:
            current.append((ch, live))
    components.append(current)
    return components


def arn_regex(parts: Parts) -> str:
    """Regex for ArnEquals/ArnLike: "each of the six colon-delimited components of the ARN is checked separately".

    A wildcard never leaves its component, so ``arn:aws:s3:*`` (four components) matches no six-part ARN; in the
    sixth component, which may itself contain colons, ``*`` spans the rest of the resource.
    """
    components = arn_components(_chars(parts))
    if len(components) != 6:
        return r"(?!)"  # fewer than six components: no ARN can match it component by component
    out = []
    for n, component in enumerate(components):
        one = "." if n == 5 else "[^:]"
        for ch, live in component:
            if live and ch == "*":
                out.append(one + "*")
            elif live and ch == "?":
                out.append(one)
            else:
                out.append(re.escape(ch))
        out.append(":" if n < 5 else "")
    return "".join(out)


def _literal(parts: Parts) -> str | None:
    """The plain string a pattern stands for, or None when it contains a live wildcard."""
    text = []
    for kind, chunk in parts:
        if kind == "lit" and ("*" in chunk or "?" in chunk):
            return None
        text.append(chunk)
    return "".join(text)


class Glob:
    """A compiled whole-string glob; equality is checked directly when the pattern has no wildcard (the usual case)."""

    __slots__ = ("pattern", "literal", "regex", "everything")

    def __init__(self, parts: Parts, ignore_case: bool = False, arn: bool = False, resource: bool = False):
        self.pattern = "".join(text for _, text in parts)
        lit = _literal(parts)
        self.everything = not arn and len(parts) == 1 and parts[0] == ("lit", "*")
        if lit is not None:
            self.literal = lit.lower() if ignore_case else lit
            self.regex = None
        else:
            self.literal = None
            regex = arn_regex(parts) if arn else resource_regex(parts) if resource else glob_regex(parts)
            self.regex = compiled(regex, ignore_case)

    def __call__(self, value: str) -> bool:
        if self.everything:
            return True
        if self.literal is not None:
            return value == self.literal
        return self.regex.fullmatch(value) is not None


@lru_cache(maxsize=8192)
def _action_glob(pattern: str) -> Glob:
    return Glob((("lit", pattern.lower()),))


@lru_cache(maxsize=8192)
def _arn_glob(pattern: str) -> Glob:
    return Glob((("lit", pattern),), resource=True)


@lru_cache(maxsize=8192)
def _arn_like_glob(pattern: str) -> Glob:
    return Glob((("lit", pattern),), arn=True)


def matches_action(pattern: str, action: str) -> bool:
    """Does an Action pattern such as ``s3:Get*`` match ``s3:GetObject``? Actions are case-insensitive."""
    return _action_glob(pattern)(action.lower())


def matches_arn(pattern: str, arn: str) -> bool:
    """Does a Resource pattern match an ARN? Case-sensitive; see ``resource_regex`` for how far a wildcard reaches."""
    return _arn_glob(pattern)(arn)


def matches_arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own."""
    return _arn_like_glob(pattern)(arn)
