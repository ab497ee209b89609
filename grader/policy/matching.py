"""Wildcard matching as IAM does it: actions (case-insensitive), resource ARNs and ArnLike (segment by segment).

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

__all__ = ["matches_action", "matches_arn", "matches_arn_like", "glob_regex", "arn_regex", "compiled"]

# Regular expressions are built from these parts: ("lit", text) has live wildcards, ("raw", text) has none.
Parts = tuple


@lru_cache(maxsize=8192)
def compiled(regex: str, ignore_case: bool = False) -> re.Pattern:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_regex(parts: Parts) -> str:
    """Regex for a whole-string glob: ``*`` spans anything, including ``:`` and ``/`` (as in a Resource element)."""
    out = []
    for kind, text in parts:
        if kind == "raw":
            out.append(re.escape(text))
            continue
        for ch in text:
            if ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


def arn_regex(parts: Parts) -> str:
    """Regex for ArnEquals/ArnLike: the six colon-separated parts of an ARN are matched separately.

    A wildcard in the first five parts (arn, partition, service, region, account) stays inside its part; in the
    sixth (the resource, which may itself contain colons) it spans the rest of the string.
    """
    out = []
    colons = 0
    for kind, text in parts:
        for ch in text:
            if kind == "lit" and ch == "*":
                out.append("[^:]*" if colons < 5 else ".*")
            elif kind == "lit" and ch == "?":
                out.append("[^:]" if colons < 5 else ".")
            else:
                if ch == ":":
                    colons += 1
                out.append(re.escape(ch))
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

    def __init__(self, parts: Parts, ignore_case: bool = False, arn: bool = False):
        self.pattern = "".join(text for _, text in parts)
        lit = _literal(parts)
        self.everything = not arn and len(parts) == 1 and parts[0] == ("lit", "*")
        if lit is not None:
            self.literal = lit.lower() if ignore_case else lit
            self.regex = None
        else:
            self.literal = None
            regex = arn_regex(parts) if arn else glob_regex(parts)
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
    return Glob((("lit", pattern),))


@lru_cache(maxsize=8192)
def _arn_like_glob(pattern: str) -> Glob:
    return Glob((("lit", pattern),), arn=True)


def matches_action(pattern: str, action: str) -> bool:
    """Does an Action pattern such as ``s3:Get*`` match ``s3:GetObject``? Actions are case-insensitive."""
    return _action_glob(pattern)(action.lower())


def matches_arn(pattern: str, arn: str) -> bool:
    """Does a Resource pattern match an ARN? Case-sensitive; ``*`` spans any characters, ``:`` and ``/`` included."""
    return _arn_glob(pattern)(arn)


def matches_arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own."""
    return _arn_like_glob(pattern)(arn)
