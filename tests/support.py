"""What many test modules share: where things are, the account's constants, the documents and sessions every role
needs, the policy engine's documented cases, and the class of the first assignment.

Every folder of ``tests/`` imports from here (``from support import ...``); pytest puts ``tests/`` on the path
(``pythonpath`` in pytest.ini), for one file as for the whole suite. A test module never imports another test module:
what two of them share belongs here. The site's and the browser's helpers are big enough to stand beside this one:
``site_build.py`` (one build of the site per run), ``lite_browser.py`` and ``lite_offline.py`` (the in-browser edition
in Chromium, offline).
"""

from __future__ import annotations

import json
import os
import shutil
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

# -- where things are --------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]  # the repository
TESTS = ROOT / "tests"
COURSE = ROOT / "exercises"  # the nbgrader course
FIXTURES = TESTS / "fixtures"
POLICY_DATA = TESTS / "data" / "policy"


def copy_course(where: Path, *, roster: bool = False) -> Path:
    """A copy of the course at ``where`` as an instructor starts one: nothing released, collected or graded yet, and
    no roster unless ``roster``."""
    generated = ["release", "submitted", "autograded", "feedback", "gradebook.db", "__pycache__"]
    shutil.copytree(COURSE, where, ignore=shutil.ignore_patterns(*generated, *([] if roster else ["students.csv"])))
    return where


# -- the account -------------------------------------------------------------------------------------------------------

ACCOUNT = "123456789012"
ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT}:root"  # the principal "any identity of this account"
AMI = "ami-12c6146b"
ECS_FOR_EC2 = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
EC2_PRINCIPAL = {"Service": "ec2.amazonaws.com"}


def trust(service: str, **statement) -> str:
    """A trust policy, as a JSON string, that lets ``service`` assume the role (extra statement keys merge in)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", **statement}]})


TRUST_EC2 = trust("ec2.amazonaws.com")


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session_arn(role, session="reader"):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


# -- policy documents --------------------------------------------------------------------------------------------------

def statement(effect, actions, resources="*", sid=None, condition=None, **extra):
    st = {"Effect": effect, "Action": actions, "Resource": resources, **extra}
    if sid:
        st["Sid"] = sid
    if condition:
        st["Condition"] = condition
    return st


def allow(actions, resources="*", **kw):
    return statement("Allow", actions, resources, **kw)


def deny(actions, resources="*", **kw):
    return statement("Deny", actions, resources, **kw)


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust_policy(principal=None, action="sts:AssumeRole"):
    """A trust policy for ``principal`` (the whole account unless given)."""
    return document({"Effect": "Allow", "Principal": principal or {"AWS": ACCOUNT_ROOT}, "Action": action})


# -- roles, users and the sessions a reader's code holds ---------------------------------------------------------------
# Built with the administrator's client; each hands back a boto3 session holding the credentials a reader's code
# would hold.

def make_role(box, name, *statements, principal=None, tags=None, boundary=None):
    """A role trusted by the account (or ``principal``) with one inline policy of ``statements``."""
    iam = box.client("iam")
    kwargs = {"Tags": tags} if tags else {}
    if boundary:
        kwargs["PermissionsBoundary"] = boundary
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(principal), **kwargs)["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=document(*statements))
    return arn


def credentials_session(credentials, region="us-east-1"):
    import boto3

    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials.get("SessionToken"), region_name=region)


def assume(box, role_arn, session_name="reader", policy=None, via=None, region="us-east-1"):
    """A boto3 session for a new session of ``role_arn`` (assumed by the administrator unless ``via``)."""
    sts = (via or box.admin_session()).client("sts")
    kwargs = {"Policy": policy} if policy else {}
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **kwargs)["Credentials"]
    return credentials_session(credentials, region)


def make_user(box, name, *statements, groups=(), tags=None):
    import boto3

    iam = box.client("iam")
    iam.create_user(UserName=name, **({"Tags": tags} if tags else {}))
    if statements:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=document(*statements))
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         region_name="us-east-1")


# -- refusals ----------------------------------------------------------------------------------------------------------

def refused(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


def code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def message_of(error: ClientError) -> str:
    return error.response["Error"]["Message"]


ENCODED = "You are not authorized to perform this operation. Encoded authorization failure message: "


def decoded(aws, error, via=None):
    """The decoded authorization status behind an EC2 refusal (decoded by the administrator unless ``via``)."""
    message = message_of(error)
    assert code_of(error) == "UnauthorizedOperation"
    assert message.startswith(ENCODED)
    sts = (via or aws.admin_session()).client("sts")
    return json.loads(sts.decode_authorization_message(EncodedMessage=message[len(ENCODED):])["DecodedMessage"])


# -- the policy engine's documented cases ------------------------------------------------------------------------------
# Each line of ``tests/data/policy/*.jsonl`` is a case in the command line's format plus ``expect`` (AWS's decision),
# ``denied_by``, ``message`` (AWS's AccessDenied wording), ``reason_contains`` and ``source`` (the AWS page it encodes).

def policy_cases(name: str) -> list[dict]:
    """The cases of ``tests/data/policy/<name>``, each checked to name the AWS page it encodes."""
    cases = []
    for number, line in enumerate((POLICY_DATA / name).read_text().splitlines(), start=1):
        if line.strip():
            case = json.loads(line)
            assert case["source"].startswith("https://docs.aws.amazon.com/"), f"{name}:{number} needs a source"
            cases.append(case)
    return cases


def check_case(case: dict):
    """Assert the engine gives AWS's decision, names what decided it, and words a refusal as AWS does."""
    from grader.policy import Request, evaluate

    request = Request(case["principal"], case["action"], case["resource"], case.get("context") or {})
    decision = evaluate(request, identity_policies=case.get("identity_policies") or [],
                        resource_policy=case.get("resource_policy"),
                        permissions_boundary=case.get("permissions_boundary"),
                        session_policy=case.get("session_policy"))
    assert decision.outcome == case["expect"], decision.reason
    assert decision.allowed is (case["expect"] == "allow")
    assert decision.denied_by == case["denied_by"], decision.reason
    if case["expect"] == "allow":
        assert decision.access_denied_message() is None
        if not case["principal"].endswith(":root"):  # the root user needs no statement
            assert decision.statements, "an allow names what allowed it"
    else:
        assert decision.access_denied_message() == case["message"]
    if case["expect"] == "explicit-deny":
        assert decision.statements and decision.statements[0].effect == "Deny"
    for words in case.get("reason_contains", []):
        assert words in decision.reason, f"{words!r} missing from: {decision.reason}"
    assert decision.reason.startswith(case["expect"].replace("-", " ") + ":")
    return decision


# -- the course's assignments, solved in this process ------------------------------------------------------------------

_NBGRADER_MARKERS = r"###\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)[^\n]*\n?"


def solve(assignment: str) -> dict:
    """Run an assignment's cells as its solution notebook has them (setup, answers with their solutions), in this
    process and on the running sandbox, skipping the test cells; return the namespace the cells made."""
    import contextlib
    import io
    import re

    import nbformat

    notebook = nbformat.read(COURSE / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in notebook.cells:
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                exec(compile(re.sub(_NBGRADER_MARKERS, "", cell.source), f"<{assignment}>", "exec"), namespace)
    return namespace


# -- the class of the first assignment (the hostile class and the red team grade it) -----------------------------------

# -- the instructor's pipeline, run as an instructor runs it -----------------------------------------------------------

def instructor_runs(course: Path, *args: str, env: dict | None = None) -> str:
    """One command of ``python -m grader.classroom`` on ``course``, in a process of its own; it must succeed."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "grader.classroom", "--course", str(course), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=course.parent, env=env)
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


_SOLUTION = re.compile(r"###\s*BEGIN SOLUTION\s*\n(.*?)###\s*END SOLUTION[^\n]*\n?", re.S)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solved_notebook(course: Path, assignment: str, answers: dict):
    """The released notebook with each answer cell filled in: ``answers`` where given (None: left as released),
    the source's own solution elsewhere."""
    import nbformat

    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {_grade_id(c): _SOLUTION.sub(lambda m: m.group(1), c.source) for c in source.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    notebook = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = _grade_id(cell)
        if grade_id in solutions:
            answer = answers.get(grade_id, solutions[grade_id])
            if answer is not None:
                cell.source = answer
    return notebook


def gradebook_scores(course: Path, assignment: str, students) -> dict:
    """Each student's score per graded cell, as nbgrader's gradebook holds them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gated-community") as gradebook:
        return {student: {grade.name: grade.score for notebook in gradebook.find_submission(assignment, student).notebooks
                          for grade in notebook.grades}
                for student in students}


def golden_scores(kind: str) -> dict:
    """The golden class's scores per graded cell for its ``correct`` or ``wrong`` submission (tests/classroom/golden)."""
    golden = json.loads((TESTS / "classroom" / "golden" / PROTOCOL / "gradebook.json").read_text(encoding="utf-8"))
    return {name: grade["auto_score"] if grade["manual_score"] is None else grade["manual_score"]
            for notebook in golden[kind]["notebooks"].values() for name, grade in notebook["grades"].items()}


PROTOCOL = "01-community-protocol"
PROTOCOL_ANSWERS = [f"protocol-{n}-answer" for n in range(1, 5)]
# The golden class's wrong submission, per answer cell: None leaves the cell as released (it raises NotImplementedError).
PROTOCOL_WRONG = {
    "protocol-1-answer": 'iam.create_role(RoleName="DeliveryRole", AssumeRolePolicyDocument=json.dumps({"Version": '
                         '"2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
                         '["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}))',
    "protocol-2-answer": None,
    "protocol-3-answer": 'iam.create_role(RoleName="SharedCourierRole", AssumeRolePolicyDocument=json.dumps({'
                         '"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
                         '"ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))',
}


def part_scores(course) -> dict:
    """student -> the score of each of the four parts of 01-community-protocol, as the pipeline exports them."""
    import csv
    import io

    from grader.classroom.export import export

    rows = csv.DictReader(io.StringIO(export(course, [PROTOCOL])))
    return {row["student"]: tuple(float(row[f"test-protocol-{n}"]) for n in range(1, 5)) for row in rows}


def honest_scores(solved: tuple) -> tuple:
    """The four parts' scores of a submission that solved the parts numbered in ``solved`` and nothing else."""
    return tuple(2.0 if n in solved else 0.0 for n in range(1, 5))


def processes_marked(marker: str) -> list[str]:
    """Processes still running that carry ``marker`` on their command line (an attack's, say)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(entry)
            except OSError:
                pass
    return found


# -- markup that would run in a reader's browser -----------------------------------------------------------------------
# Each payload carries a tag ``XSS-...``; a page is safe when no tag is in anything a browser runs.

XSS_PAYLOADS = {
    "markdown": "\n\n".join([
        "# Part 1, as I understood it",
        "<script>alert('XSS-markdown-1')</script>",
        "<img src=x onerror=\"alert('XSS-markdown-2')\">",
        "[a link](javascript:alert('XSS-markdown-3'))",
        "[spelt otherwise](&#106;avascript:alert('XSS-markdown-4'))",
        "<a href=\"JaVaScRiPt:alert('XSS-markdown-5')\">x</a>",
        "<iframe src=\"javascript:alert('XSS-markdown-6')\"></iframe>",
        "<svg onload=\"alert('XSS-markdown-7')\"></svg>",
    ]),
    "html": ("<b>mine</b><img src=x onerror=\"alert('XSS-html-1')\"><script>alert('XSS-html-2')</script>"
             "<a href=\"javascript:alert('XSS-html-3')\">x</a><form action=\"javascript:alert('XSS-html-4')\">"
             "<button>go</button></form><style>body{background:url('javascript:alert(\"XSS-html-5\")')}</style>"),
    "javascript": "alert('XSS-js-1')",
    "markdown-output": "[m](javascript:alert('XSS-md-1')) <img src=y onerror=\"alert('XSS-md-2')\">",
    "svg": ("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert('XSS-svg-1')\">"
            "<script>alert('XSS-svg-2')</script></svg>"),
}
_URLS = ("href", "src", "action", "formaction", "data", "xlink:href")


def what_runs(html: str) -> list[str]:
    """What a browser would run in ``html``: script bodies, event handlers, and script URLs (parsed as a browser
    parses it, with html5lib)."""
    from bleach import html5lib_shim

    found = []
    tree = html5lib_shim.HTMLParser(namespaceHTMLElements=False).parse(html)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in ("script", "iframe", "object", "embed", "style") or tag == "svg" and element.text:
            found.append("".join(element.itertext()))
        for name, value in element.attrib.items():
            local = str(name).rsplit("}", 1)[-1].lower()
            flat = "".join(str(value).split()).lower().replace("&#106;", "j")
            if local.startswith("on") or local in _URLS and flat.startswith(("javascript:", "vbscript:")):
                found.append(f"{local}={value}")
    return found


# -- requirement pins --------------------------------------------------------------------------------------------------

def pins(path: Path) -> dict[str, str]:
    """The pins of a requirements file, by normalised name: the build's own reader (tools/lite.py)."""
    import sys

    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    import lite

    return lite.pins(path)
