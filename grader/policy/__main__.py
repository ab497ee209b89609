"""Command line for the policy language: decide requests in bulk, or validate one policy document.

    python -m grader.policy decide CASES.jsonl     (or - for standard input)
    python -m grader.policy validate POLICY.json [--kind trust]

``decide`` reads one case per line and prints one JSON line per case, in order. A line that cannot be decided
(bad JSON, a missing field, a malformed policy) prints an error line instead and the rest are still decided; the
exit status is then 1. Usage errors (such as a missing file) exit with 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import sys

from .document import KINDS, MalformedPolicyDocument, parse, validate
from .evaluation import Request, evaluate

CASE_EXAMPLE = ('{"id": "c1", "principal": "arn:aws:iam::123456789012:user/Ann", "action": "s3:GetObject", '
                '"resource": "arn:aws:s3:::parcels/box-1", "context": {}, "identity_policies": [...], '
                '"resource_policy": null, "permissions_boundary": null, "session_policy": null}')


class CaseError(Exception):
    """A line that cannot be decided; the message says what is wrong and how to fix it."""


def _policy(case: dict, field: str, kind: str):
    document = case.get(field)
    if document is None:
        return None
    try:
        return parse(document, kind)
    except MalformedPolicyDocument as exc:
        raise CaseError(f"{field}: {exc}") from None


def decide_case(case) -> dict:
    """Decide one case (a parsed JSON object); raises CaseError when it cannot be decided."""
    if not isinstance(case, dict):
        raise CaseError(f"a case must be a JSON object such as {CASE_EXAMPLE}")
    if "id" not in case:
        raise CaseError("the case has no \"id\"; give each case an id so its answer can be found")
    missing = [f for f in ("principal", "action", "resource") if not isinstance(case.get(f), str) or not case[f]]
    if missing:
        raise CaseError(f"the case needs {', '.join(repr(f) for f in missing)} as non-empty string"
                        f"{'s' if len(missing) > 1 else ''}, e.g. \"action\": \"s3:GetObject\"")
    context = case.get("context") or {}
    if not isinstance(context, dict):
        raise CaseError("\"context\" must be an object of context keys to a string or a list of strings")
    for key, value in context.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise CaseError(f"context key {key!r} must have a string or a list of strings as its value")
    identity = case.get("identity_policies") or []
    if isinstance(identity, dict):
        identity = [identity]
    if not isinstance(identity, list):
        raise CaseError("\"identity_policies\" must be a list of policy documents")
    trust = case["action"].lower().startswith("sts:assumerole") or case["action"].lower() in (
        "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")
    identity_parsed = []
    for i, document in enumerate(identity):
        try:
            identity_parsed.append(parse(document, "identity"))
        except MalformedPolicyDocument as exc:
            raise CaseError(f"identity_policies[{i}]: {exc}") from None
    resource = _policy(case, "resource_policy", "trust" if trust else "resource")
    boundary = _policy(case, "permissions_boundary", "boundary")
    session = _policy(case, "session_policy", "session")
    request = Request(case["principal"], case["action"], case["resource"], context)
    decision = evaluate(request, identity_parsed, resource, boundary, session)
    return {"id": case["id"], "decision": decision.outcome, "reason": decision.reason}


def decide_lines(lines, out) -> int:
    """Decide every non-blank line, writing one JSON line each; returns the number of error lines."""
    errors = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        case_id = None
        try:
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseError(f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON "
                                "object") from None
            if isinstance(case, dict):
                case_id = case.get("id")
            result = decide_case(case)
        except (CaseError, ValueError, TypeError) as exc:
            errors += 1
            result = {"id": case_id, "line": number, "error": str(exc)}
        out.write(json.dumps(result) + "\n")
    return errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.policy",
        description="Decide IAM requests against policies, or validate a policy document, as AWS would.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    decide = sub.add_parser(
        "decide", help="decide one request per JSON line",
        description="Read one case per line and print one JSON line per case: "
                    "{\"id\", \"decision\": \"allow\"|\"explicit-deny\"|\"implicit-deny\", \"reason\"}. "
                    f"A case looks like: {CASE_EXAMPLE}. Lines that cannot be decided print "
                    "{\"id\", \"line\", \"error\"} and make the exit status 1.")
    decide.add_argument("cases", metavar="CASES.jsonl", help="file of cases, one JSON object per line (- for stdin)")
    validate = sub.add_parser("validate", help="check one policy document; prints ok or what is wrong",
                              description="Validate a policy document as IAM would; prints \"ok\" or the "
                                          "MalformedPolicyDocument message (exit status 1).")
    validate.add_argument("file", metavar="FILE.json", help="the policy document (- for stdin)")
    validate.add_argument("--kind", choices=KINDS, default="identity",
                          help="which kind of policy it is (default: identity)")
    return parser


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "decide":
            text = _read(args.cases)
        else:
            text = _read(args.file)
    except OSError as exc:
        path = args.cases if args.command == "decide" else args.file
        print(f"{parser.prog} {args.command}: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if args.command == "decide":
        errors = decide_lines(text.splitlines(), sys.stdout)
        return 1 if errors else 0
    try:
        validate(text, args.kind)
    except MalformedPolicyDocument as exc:
        print(exc)  # IAM's own words first, as CreatePolicy would answer
        if exc.explanation != exc.message:
            print(f"  {exc.explanation}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
