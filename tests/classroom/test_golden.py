"""Golden files for 01-community-protocol: the instructor's commands give the same released notebook, the same grades
and the same feedback as the files in ``golden/01-community-protocol/``, whatever changes inside the engine.

A copy of the course goes through ``python -m grader.classroom`` as an instructor runs it: release (with its proof),
collect two submissions made from the released notebook (``correct``: the source's own solutions; ``wrong``: one
part trusted too widely, one left unanswered, one trusted to the wrong service, one right), autograde, feedback and
export. What they wrote is normalised (nothing that changes from run to run: times, ids, request ids, the course's
temporary folder, execution counts, nbconvert's stylesheet) and compared with the golden files:

    release/01-community-protocol.ipynb   the student version, as nbgrader released it
    gradebook.json                        nbgrader's gradebook: each graded cell's score and each answer's comment
    export.csv                            the grades as the pipeline exports them
    feedback/correct.html, wrong.html     each student's feedback page

A difference fails with a diff per file. When a change is meant to change them, regenerate and review:

    GATED_COMMUNITY_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -n 0 tests/classroom/test_golden.py
    git diff tests/classroom/golden
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from support import PROTOCOL, PROTOCOL_WRONG, ROOT, copy_course, instructor_runs, solved_notebook

ASSIGNMENT = PROTOCOL
GOLDEN = Path(__file__).resolve().parent / "golden" / ASSIGNMENT
REGENERATE = "GATED_COMMUNITY_REGENERATE_GOLDEN"
COURSE_ID = "gated-community"  # exercises/nbgrader_config.py
DIFF_LINES = 60  # per file, in the failure message

STUDENTS = {"correct": {}, "wrong": PROTOCOL_WRONG}

# -- the pipeline, as an instructor runs it ---------------------------------------------------------------------------

def _gradebook(course: Path) -> dict:
    """nbgrader's record of each submission: every graded cell's scores, every answer's comment, the totals."""
    from nbgrader.api import Gradebook

    record = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        for student in sorted(STUDENTS):
            submission = gradebook.find_submission(ASSIGNMENT, student)
            notebooks = {}
            for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                notebooks[notebook.name] = {
                    "grades": {g.name: {key: g.to_dict()[key] for key in ("auto_score", "manual_score", "extra_credit",
                                                                           "max_score", "needs_manual_grade",
                                                                           "failed_tests")}
                               for g in sorted(notebook.grades, key=lambda g: g.name)},
                    "comments": {c.name: c.auto_comment for c in sorted(notebook.comments, key=lambda c: c.name)},
                    "score": notebook.score, "max_score": notebook.max_score}
            record[student] = {"notebooks": notebooks, "score": submission.score, "max_score": submission.max_score,
                               "needs_manual_grade": submission.needs_manual_grade}
    return record


# -- what varies from run to run --------------------------------------------------------------------------------------

_Q = r"(?:&#39;|&quot;|['\"])"  # a quote, as a page escapes it or not
_VARYING = [
    # AWS's ids: roles, users, keys, instance profiles... (moto draws them at random)
    (re.compile(r"\b(AROA|AIDA|AKIA|ASIA|ANPA|AGPA|AIPA)[0-9A-Z]{12,20}\b"), r"\1<id>"),
    (re.compile(r"((?:RequestId|x-amzn-requestid)" + _Q + r":\s*" + _Q + r")[A-Za-z0-9/+=-]+"), r"\1<request-id>"),
    (re.compile(r"datetime\.datetime\([\d, ]+(?:, tzinfo=[\w.]+\([^()]*\))?\)"), "datetime.datetime(<time>)"),
    (re.compile(r"\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b"), "<http-date>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}| UTC)?"), "<timestamp>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    # execution counts: In [3], Out[3], "Cell In[3], line 2" in a traceback
    (re.compile(r"\b(In|Out)((?:\s|&nbsp;)*)\[\d+\]"), r"\1\2[ ]"),
    # nbconvert's stylesheet is nbconvert's, not the pipeline's
    (re.compile(r"(<style[^>]*>).*?(</style>)", re.S), r"\1\2"),
]


def _normalise(text: str, course: Path) -> str:
    for path, name in ((course, "<course>"), (course.parent, "<tmp>"), (ROOT, "<repository>")):
        text = text.replace(str(path), name)
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _notebook_text(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False)


def _produced(course: Path) -> dict[str, str]:
    """Every golden file's content, as this run of the pipeline makes it."""
    files = {f"release/{ASSIGNMENT}.ipynb": _notebook_text(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
             "gradebook.json": json.dumps(_gradebook(course), indent=1, sort_keys=True),
             "export.csv": (course.parent / "grades.csv").read_text(encoding="utf-8")}
    for student in STUDENTS:
        page = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        files[f"feedback/{student}.html"] = page.read_text(encoding="utf-8")
    return {name: _normalise(text, course) for name, text in files.items()}


# -- the test ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("golden")
    course = copy_course(root / "exercises")
    (course / "students.csv").write_text("id,first_name,last_name,email\n" +
                                         "".join(f"{s},{s.title()},,\n" for s in STUDENTS))
    instructor_runs(course, "release", ASSIGNMENT)
    for student, answers in STUDENTS.items():
        inbox = root / "inbox" / f"{student}.ipynb"
        inbox.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(solved_notebook(course, ASSIGNMENT, answers), str(inbox))
    instructor_runs(course, "collect", ASSIGNMENT, str(root / "inbox"))
    instructor_runs(course, "autograde", ASSIGNMENT, "--jobs", "1")
    instructor_runs(course, "feedback", ASSIGNMENT)
    instructor_runs(course, "export", ASSIGNMENT, "--output", str(root / "grades.csv"))
    return _produced(course)


def _golden() -> dict[str, str]:
    return {str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8") for p in sorted(GOLDEN.rglob("*")) if p.is_file()}


def _regenerate(produced: dict[str, str]) -> None:
    shutil.rmtree(GOLDEN, ignore_errors=True)
    for name, text in produced.items():
        (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
        (GOLDEN / name).write_text(text, encoding="utf-8")


def _differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    out = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"{name}: in the golden files, not made by the pipeline")
        elif name not in expected:
            out.append(f"{name}: made by the pipeline, not in the golden files")
        elif expected[name] != actual[name]:
            diff = list(difflib.unified_diff(expected[name].splitlines(), actual[name].splitlines(),
                                             f"golden/{ASSIGNMENT}/{name}", "this run", lineterm="", n=2))
            cut = f"\n... ({len(diff) - DIFF_LINES} more lines)" if len(diff) > DIFF_LINES else ""
            out.append("\n".join(diff[:DIFF_LINES]) + cut)
    return out


@pytest.mark.slow
def test_release_grades_and_feedback_are_the_golden_ones(produced):
    if os.environ.get(REGENERATE) == "1":
        _regenerate(produced)
        pytest.skip(f"{REGENERATE}=1: rewrote {len(produced)} golden files in {GOLDEN.relative_to(ROOT)}; "
                    "review them with git diff before committing")
    differences = _differences(_golden(), produced)
    if differences:
        pytest.fail(f"{len(differences)} golden file(s) of {ASSIGNMENT} differ from what the pipeline made now:\n\n"
                    + "\n\n".join(differences)
                    + f"\n\nIf the change is intended, regenerate them ({REGENERATE}=1, see this module's docstring) "
                      "and review the diff.", pytrace=False)


@pytest.mark.slow
def test_the_golden_class_gets_full_marks_and_partial_marks(produced):
    """The golden files hold what they claim to: the correct submission earns every point, the wrong one fewer."""
    gradebook = json.loads(produced["gradebook.json"])
    assert gradebook["correct"]["score"] == gradebook["correct"]["max_score"] == 8.0
    assert 0 < gradebook["wrong"]["score"] < 8.0
    wrong = produced["feedback/wrong.html"]
    assert "hidden tests ran here" in wrong and "HIDDEN TESTS" not in wrong
