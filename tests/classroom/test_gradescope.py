"""The Gradescope autograder: the zip in Gradescope's documented layout, and run_autograder run end to end.

The zip is built with the instructor's command and unpacked under a scratch ``AUTOGRADER_ROOT`` as Gradescope unpacks
it (``source/`` holds the zip, ``run_autograder`` sits beside it). ``setup.sh`` is not run here (it needs apt and
Ubuntu 22.04): ``AUTOGRADER_PYTHON`` is this project's interpreter. Then each submission is graded one by one, as
Gradescope grades them, and every ``results.json`` is checked against a JSON schema written from Gradescope's
documented format (``tests/fixtures/classroom/gradescope-results.schema.json``):

* the golden class (``test_golden``): every part's score is the one in the golden gradebook;
* a file that is not a notebook, a kernel that kills itself: a results file all the same, each part zero, the
  reason said;
* a notebook that looks for the solutions in ``$AUTOGRADER_ROOT/source`` and, if it finds a file there, uses the
  solution of part 1 (and solves the other parts honestly): part 1 earns nothing where the kernel is walled, in
  namespaces mode and again in user mode (root without namespaces, as in Gradescope's container);
* the grader itself broken (a course without its gradebook), or no Python at all: still a results file that says so.

No results file holds a line of a hidden test or of the solution.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from support import FIXTURES, PROTOCOL, PROTOCOL_WRONG, ROOT, copy_course, instructor_runs, solved_notebook

SCHEMA = FIXTURES / "classroom" / "gradescope-results.schema.json"
GOLDEN = Path(__file__).resolve().parent / "golden" / PROTOCOL / "gradebook.json"
PARTS = [f"test-protocol-{n}" for n in range(1, 5)]
ENGINE = dict(os.environ, PYTHONPATH=str(ROOT))  # the instructor's command runs this checkout's engine

READS_SOURCE = r'''
import json, os
root = os.path.join(os.environ.get("AUTOGRADER_ROOT", "/autograder"), "source")
found = [os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names]
print("found in the autograder's source:", found)
for path in found:
    if path.endswith(".ipynb"):
        for cell in json.load(open(path))["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "protocol-1-answer":
                exec("".join(cell["source"]).split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0])
'''


def _validate(results: dict) -> None:
    import jsonschema

    jsonschema.validate(results, json.loads(SCHEMA.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The zip, built by the instructor's command from a copy of the course, and that course (released, for the
    class's notebooks)."""
    root = tmp_path_factory.mktemp("gradescope")
    course = copy_course(root / "exercises")
    output = root / "autograder.zip"
    said = instructor_runs(course, "gradescope", PROTOCOL, "--output", str(output), env=ENGINE)
    assert str(output) in said
    return {"root": root, "course": course, "zip": output}


def _unpack(built: dict, name: str, root: Path | None = None) -> Path:
    """A scratch AUTOGRADER_ROOT as Gradescope lays it out: source/ (the zip) and run_autograder."""
    root = root or built["root"] / name
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(built["zip"]) as archive:
        for info in archive.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def run_autograder(root: Path, submission: dict, python: str = sys.executable, timeout: int = 600,
                   **variables: str) -> dict:
    """Grade one submission ({file name: bytes}) as Gradescope does; the results it left."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    for name, data in submission.items():
        (root / "submission" / name).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GATED_COMMUNITY_COURSE")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=python, **variables)
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    results_file = root / "results" / "results.json"
    assert results_file.is_file(), f"no results.json\n{done.stderr[-3000:]}"
    results = json.loads(results_file.read_text(encoding="utf-8"))
    _validate(results)
    return results


def _secrets(course: Path) -> set[str]:
    from grader.classroom.release import secret_lines

    return secret_lines(nbformat.read(course / "source" / PROTOCOL / f"{PROTOCOL}.ipynb", as_version=4))


def _scores(results: dict) -> dict:
    return {test["name"]: test["score"] for test in results["tests"]}


# -- the zip ------------------------------------------------------------------------------------------------------

def test_the_zip_is_in_gradescopes_layout_and_holds_one_assignment(built):
    with zipfile.ZipFile(built["zip"]) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in infos, f"{script} is not at the zip's root"
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, f"{script} is not executable"
    assert {"README.md", "gradescope.json", "engine/requirements.txt", "engine/pyproject.toml",
            "engine/grader/classroom/gradescope.py", "course/nbgrader_config.py", "course/gradebook.db",
            f"course/source/{PROTOCOL}/{PROTOCOL}.ipynb"} <= set(infos)
    names = list(infos)
    assert not any(n.startswith("tests/") or "/tests/" in n for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    others = [a for a in ("02-delivery-rules", "03-badges", "04-two-layers-capstone") if any(a in n for n in names)]
    assert not others, f"the zip holds other assignments: {others}"
    assert not any(n.startswith(("course/release/", "course/submitted/", "course/autograded/")) for n in names)
    pins = (ROOT / "requirements.txt").read_text()
    with zipfile.ZipFile(built["zip"]) as archive:
        assert archive.read("engine/requirements.txt").decode() == pins
        manifest = json.loads(archive.read("gradescope.json"))
        setup = archive.read("setup.sh").decode()
    assert "python3.11" in setup and "-r engine/requirements.txt" in setup and "--no-deps ./engine" in setup
    with zipfile.ZipFile(built["zip"]) as archive:
        for script in ("setup.sh", "run_autograder"):
            checked = subprocess.run(["bash", "-n"], input=archive.read(script), capture_output=True, timeout=30)
            assert checked.returncode == 0, (script, checked.stderr)
    assert [p["grade_id"] for p in manifest["parts"]] == PARTS
    assert {p["visibility"] for p in manifest["parts"]} == {"after_published"}  # every part has hidden tests
    assert [p["points"] for p in manifest["parts"]] == [2.0] * 4


def test_the_command_refuses_an_unknown_assignment_and_an_unwritable_output(built, tmp_path):
    command = [sys.executable, "-m", "grader.classroom", "--course", str(built["course"]), "gradescope"]
    unknown = subprocess.run(command + ["99-nope", "--output", str(tmp_path / "a.zip")], capture_output=True,
                             text=True, timeout=120, env=ENGINE)
    assert unknown.returncode == 2 and "There is no assignment '99-nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    nowhere = subprocess.run(command + [PROTOCOL, "--output", str(tmp_path / "missing" / "a.zip")],
                             capture_output=True, text=True, timeout=120, env=ENGINE)
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr and "Traceback" not in nowhere.stderr


def test_a_grader_that_fails_still_leaves_a_results_file_that_says_so(built):
    root = _unpack(built, "broken")
    (root / "source" / "course" / "gradebook.db").unlink()  # a course nbgrader knows nothing of
    results = run_autograder(root, {f"{PROTOCOL}.ipynb": b"{}"})
    assert results["score"] == 0 and "autograder itself failed" in results["output"]
    assert [t["score"] for t in results["tests"]] == [0.0] * 4
    no_python = run_autograder(root, {f"{PROTOCOL}.ipynb": b"{}"}, python=str(root / "no-such-python"))
    assert no_python["score"] == 0 and "autograder itself failed" in no_python["output"]


# -- one submission at a time, end to end ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def submissions(built) -> dict:
    """The class: the golden pair and the hostile notebooks, each as the files handed in."""
    from grader.classroom.course import Course
    from grader.classroom.release import generate

    course = built["course"]
    generate(Course(course), PROTOCOL)  # the released notebook, which the class starts from

    def notebook(answers: dict, without: str = "") -> bytes:
        solved = solved_notebook(course, PROTOCOL, answers)
        solved.cells = [c for c in solved.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != without]
        return nbformat.writes(solved).encode()

    submissions = {
        "correct": {f"{PROTOCOL}.ipynb": notebook({})},
        "wrong": {"my work (final).ipynb": notebook(PROTOCOL_WRONG)},
        "not a notebook": {f"{PROTOCOL}.ipynb": b"this is not JSON {"},
        "kills its kernel": {f"{PROTOCOL}.ipynb": notebook({"protocol-2-answer": "import os\nos._exit(0)"})},
        # ... and deletes part 4's test cell, which is put back before grading (a repair, said in the output)
        "reads the source": {f"{PROTOCOL}.ipynb": notebook({"protocol-1-answer": READS_SOURCE}, "test-protocol-4")},
    }
    return submissions


@pytest.fixture(scope="module")
def graded(built, submissions) -> dict:
    """Each submission graded by run_autograder in one scratch AUTOGRADER_ROOT, one after the other."""
    root = _unpack(built, "autograder")
    return {name: run_autograder(root, files) for name, files in submissions.items()}


@pytest.mark.slow
def test_the_golden_class_scores_as_the_local_pipeline_does(graded):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for student in ("correct", "wrong"):
        results = graded[student]
        expected = [golden[student]["notebooks"][PROTOCOL]["grades"][p]["auto_score"] for p in PARTS]
        assert [t["score"] for t in results["tests"]] == expected, student
        assert [t["max_score"] for t in results["tests"]] == [2.0] * 4
        assert results["score"] == golden[student]["score"]
        assert [t["status"] for t in results["tests"]] == ["passed" if s == 2.0 else "failed" for s in expected]
        assert {t["visibility"] for t in results["tests"]} == {"after_published"}
    wrong = graded["wrong"]["tests"]
    assert "ecs-tasks.amazonaws.com may assume DeliveryRole too" in wrong[0]["output"]  # the feedback's words
    assert "No response." in wrong[1]["output"]  # nbgrader's comment on the unanswered part


@pytest.mark.slow
def test_hostile_submissions_get_a_results_file_that_says_why(graded):
    for name in ("not a notebook", "kills its kernel"):
        results = graded[name]
        assert results["score"] == 0 and [t["score"] for t in results["tests"]] == [0.0] * 4, name
        assert "Not graded" in results["output"], name
        assert all("Not graded" in t["output"] for t in results["tests"]), name
    assert "not a notebook Jupyter can open" in graded["not a notebook"]["output"]
    assert "kernel stopped" in graded["kills its kernel"]["output"]


@pytest.mark.slow
def test_a_kernel_that_reads_the_autograders_source_finds_nothing(graded):
    from grader.classroom.isolation import isolation_mode

    if isolation_mode() != "namespaces":
        pytest.skip("plain mode: the kernel runs as the grader's user, which reads the source (README: Gradescope)")
    assert [t["score"] for t in graded["reads the source"]["tests"]] == [0.0, 2.0, 2.0, 2.0]


@pytest.mark.slow
def test_repairs_are_said_in_the_output(graded):
    output = graded["reads the source"]["output"]
    assert "put back in the shape it was released in" in output and "test-protocol-4" in output, output


@pytest.mark.slow
def test_without_namespaces_the_kernel_runs_as_its_own_user_and_still_finds_nothing(built, submissions):
    """Gradescope's container is likely root without the right to make namespaces: the kernel then runs as a user of
    its own (user mode), and the source, which run_autograder leaves to root alone, is closed to it."""
    import tempfile

    from grader.classroom import isolation

    if os.geteuid() != 0 or not isolation._user_works():
        pytest.skip("user mode needs root, setpriv and this Python runnable by another user")
    root = Path(tempfile.mkdtemp(prefix="gated-gradescope-"))  # a root any user may pass through, as /autograder
    try:
        root.chmod(0o755)
        _unpack(built, "", root)
        results = run_autograder(root, submissions["reads the source"], GATED_COMMUNITY_ISOLATION="user")
        assert [t["score"] for t in results["tests"]] == [0.0, 2.0, 2.0, 2.0], results["output"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_no_results_file_holds_a_hidden_test_or_the_solution(graded, built):
    secrets = _secrets(built["course"])
    assert secrets
    for name, results in graded.items():
        text = json.dumps(results, ensure_ascii=False)
        plain = "\n".join([results["output"]] + [t["output"] + t["name"] for t in results["tests"]])
        for line in secrets:
            assert line not in plain and json.dumps(line)[1:-1] not in text, (name, line)
        assert "HIDDEN TESTS" not in plain and "hidden=True" not in plain and "BEGIN SOLUTION" not in plain, name
