"""GitHub Classroom: a starter repository graded by its visible checks on the runner, and the class's repositories
collected home for the grade that counts.

The starter's workflow is GitHub Classroom's current form (the command grader per check, then the reporter); its
grading command, run as the workflow runs it, awards the golden class's visible points; ``collect`` reads the
repositories as ``gh classroom clone student-repos`` lays them out.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from support import PROTOCOL, PROTOCOL_WRONG, copy_course, instructor_runs, solved_notebook

NOTEBOOK = f"{PROTOCOL}.ipynb"


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    course = copy_course(tmp_path_factory.mktemp("github") / "course")
    (course / "students.csv").write_text("id,first_name,last_name,email\nalice,,,\nbob,,,\n")
    instructor_runs(course, "release", PROTOCOL)
    return course


@pytest.fixture(scope="module")
def starter(released) -> Path:
    folder = released.parent / "starter"
    said = instructor_runs(released, "github-classroom", PROTOCOL, "--output", str(folder))
    assert "4 visible checks worth 8 points" in said
    return folder


def test_the_starter_is_a_repository_a_learner_can_work_in_and_nothing_hidden_is_in_it(starter, released):
    assert (starter / NOTEBOOK).is_file() and (starter / "README.md").is_file()
    assert (starter / ".engine" / "pyproject.toml").is_file() and (starter / ".engine" / "grader" / "checks").is_dir()
    source = (released / "source" / PROTOCOL / NOTEBOOK).read_text()
    assert "BEGIN HIDDEN TESTS" in source and "BEGIN SOLUTION" in source
    for path in starter.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".md", ".yml", ".json"):
            text = path.read_text(encoding="utf-8")
            assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, path
    assert "hidden tests" in (starter / "README.md").read_text()  # the learner is told what these points are


def test_the_workflow_is_github_classrooms_a_graded_step_per_visible_check(starter):
    workflow = yaml.safe_load((starter / ".github" / "workflows" / "classroom.yml").read_text())
    assert workflow["on"] == ["push", "repository_dispatch"]
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graded = [s for s in steps if s.get("uses") == "classroom-resources/autograding-command-grader@v1"]
    assert [s["with"]["max-score"] for s in graded] == [2, 2, 2, 2]
    assert all(s["with"]["command"].startswith(f"python -m grader.classroom.github {NOTEBOOK} test-protocol-")
               for s in graded)
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graded]
    assert set(reporter["env"]) == {f"{s['id'].upper()}_RESULTS" for s in graded}
    assert all(reporter["env"][f"{s['id'].upper()}_RESULTS"] == f"${{{{steps.{s['id']}.outputs.result}}}}"
               for s in graded)


def _grade_as_the_runner(repository: Path, workflow_steps: list) -> dict:
    points = {}
    for step in workflow_steps:
        command = shlex.split(step["with"]["command"])  # as the runner's shell splits it
        assert command[0] == "python"
        done = subprocess.run([sys.executable, *command[1:]], cwd=repository, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode in (0, 1), done.stderr
        points[step["id"]] = step["with"]["max-score"] if done.returncode == 0 else 0
    return points


@pytest.mark.slow
def test_the_runners_grading_awards_the_visible_points(starter, released, tmp_path):
    steps = [s for s in yaml.safe_load((starter / ".github" / "workflows" / "classroom.yml").read_text())
             ["jobs"]["run-autograding-tests"]["steps"] if "autograding-command-grader" in s.get("uses", "")]
    awarded = {}
    for student, answers in (("correct", {}), ("wrong", PROTOCOL_WRONG)):
        repository = tmp_path / student
        subprocess.run(["cp", "-a", str(starter), str(repository)], check=True)
        nbformat.write(solved_notebook(released, PROTOCOL, answers), str(repository / NOTEBOOK))
        awarded[student] = _grade_as_the_runner(repository, steps)
    assert awarded["correct"] == {s["id"]: 2 for s in steps}
    # The visible checks alone: the unanswered part and the wrong service lose their points; the part that trusts
    # one service too many passes here (only a hidden aspect sees it), and the README says so.
    assert awarded["wrong"] == {"test-protocol-1": 2, "test-protocol-2": 0, "test-protocol-3": 0, "test-protocol-4": 2}


def test_collect_reads_the_class_as_gh_classroom_clone_lays_it_out(released, tmp_path):
    clone = tmp_path / "01-community-protocol-submissions"
    for github_name in ("alice", "bob"):
        repository = clone / f"01-community-protocol-{github_name}"
        (repository / ".git").mkdir(parents=True)
        (repository / ".github" / "workflows").mkdir(parents=True)
        (repository / "README.md").write_text("the learner's own")
        nbformat.write(solved_notebook(released, PROTOCOL, {}), str(repository / NOTEBOOK))
    said = instructor_runs(released, "collect", PROTOCOL, str(clone))
    assert "collected 2 submission(s)" in said
    for student in ("alice", "bob"):
        assert (released / "submitted" / student / PROTOCOL / NOTEBOOK).is_file()


def test_a_repository_of_someone_off_the_roster_is_named(released, tmp_path):
    repository = tmp_path / "clone" / "01-community-protocol-mallory"
    (repository / ".git").mkdir(parents=True)
    nbformat.write(solved_notebook(released, PROTOCOL, {}), str(repository / NOTEBOOK))
    done = subprocess.run([sys.executable, "-m", "grader.classroom", "--course", str(released), "collect", PROTOCOL,
                           str(tmp_path / "clone")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "01-community-protocol-mallory: a repository whose name ends with no roster id" in done.stderr
