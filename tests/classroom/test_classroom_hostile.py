"""A hostile class: one submission per way of cheating or harming that a learner's kernel can try, graded in one batch
with untouched classmates. Each gets exactly what its code built in its account; the batch completes; no process
outlives it; the course's and the engine's files are unchanged but for the gradebook's rows.

The attacks run as answer cells of 01-community-protocol. Where an attack needs a path (the course, the project), it
is written into its code, as a learner who read the README could.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from grader.classroom import Course, samples
from grader.classroom.autograde import autograde
from grader.classroom.collect import collect
from grader.classroom.isolation import isolation_mode
from grader.classroom.release import release
from support import (PROTOCOL as ASSIGNMENT, PROTOCOL_ANSWERS as ANSWERS, ROOT, copy_course, honest_scores, part_scores,
                     processes_marked)

MARKER = "gated-community-hostile-marker"

# Each attack goes in the first answer cell; the other answer cells are left as released unless said otherwise, so
# the honest score of an attacker is the points of the parts it really solved.
ATTACKS = {
    # IPython's own hooks: rewrite the source of every later cell, and show every result as full marks.
    "hooks": """
        ip = get_ipython()
        ip.input_transformers_post.append(lambda lines: ["2.0\\n"] if any("grader" in l for l in lines) else lines)
        ip.events.register("pre_run_cell", lambda info: print("PEEK", info.raw_cell))
        ip.events.register("post_run_cell", lambda result: print("PEEK", result.info.raw_cell))
        ip.display_formatter.formatters["text/plain"].for_type(float, lambda v, p, c: p.text("2.0"))
        import builtins
        builtins.AssertionError = type("AssertionError", (Exception,), {})
    """,
    # A forged grader.checks: a package earlier on sys.path, an import hook, and a copy in the working folder.
    "forged-checks": """
        import os, sys, types, importlib.abc, importlib.util
        forged = os.path.join(os.getcwd(), "forged", "grader", "checks")
        os.makedirs(forged, exist_ok=True)
        open(os.path.join(forged, "__init__.py"), "w").write("")
        open(os.path.join(forged, "protocol.py"), "w").write(
            "class R:\\n    def assert_full_marks(self): pass\\n    def score(self): return 2.0\\n"
            "def __getattr__(name):\\n    return lambda *a, **k: R()\\n")
        open(os.path.join(os.path.dirname(forged), "__init__.py"), "w").write("")
        sys.path.insert(0, os.path.join(os.getcwd(), "forged"))
        class Hook(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith("grader.checks"):
                    return importlib.util.spec_from_file_location(name, os.path.join(forged, "protocol.py"))
        sys.meta_path.insert(0, Hook())
        for name in [n for n in sys.modules if n.startswith("grader")]:
            del sys.modules[name]
    """,
    # Patching what the checks use: botocore's client, the gatehouse, the badge helpers, the checks' Result.
    "patching": """
        import botocore.client, grader.checks, grader.checks._account as account
        real = botocore.client.BaseClient._make_api_call
        def fake(self, operation, params):
            if operation == "GetRole":
                return {"Role": {"RoleName": params["RoleName"], "Arn": "arn:aws:iam::123456789012:role/x",
                                 "AssumeRolePolicyDocument": {"Statement": []}}}
            return real(self, operation, params)
        botocore.client.BaseClient._make_api_call = fake
        account.verdict = lambda *a, **k: account.Verdict("allow")
        account.may_assume = lambda *a, **k: account.Verdict("explicit-deny")
        grader.checks.Result.passed = property(lambda self: True)
        grader.checks.Result.score = lambda self: 2.0
        import grader.gatehouse
        grader.gatehouse.decide = lambda *a, **k: None
    """,
    # Reading the solutions from the course's source/, the project's exercises and any scratch copy.
    "reading-source": """
        import glob, json, os, re
        found = []
        for pattern in ["{course}/source/*/*.ipynb", "{project}/exercises/source/*/*.ipynb",
                        "{project}/exercises/assignments/*.py", "/tmp/gated-*/**/source/*/*.ipynb"]:
            found += glob.glob(pattern, recursive=True)
        for path in found:
            try:
                text = open(path).read()
            except OSError:
                continue
            for block in re.findall(r"### BEGIN SOLUTION\\\\n(.*?)### END SOLUTION", text, re.S):
                try:
                    exec(json.loads('"' + block + '"'), globals())
                except Exception:
                    pass
        print("solution files read:", len(found))
    """,
    # A classmate's scratch copy: read their answers, and overwrite their notebook and their folder.
    "classmate": """
        import glob, os
        for path in glob.glob("/tmp/gated-*/**/*.ipynb", recursive=True) + glob.glob("/tmp/gated-*/*"):
            try:
                if os.path.isfile(path):
                    open(path, "w").write("{}")
            except OSError:
                pass
        for path in glob.glob("{course}/submitted/victim-*/*/*.ipynb"):
            try:
                open(path, "w").write("{}")
            except OSError:
                pass
    """,
    # Killing every other process it can find: the other worker's kernel, the workers, the batch itself.
    "killer": """
        import os, signal
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (os.getpid(), 1):
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    """,
    # A process in a session of its own that outlives the notebook and rewrites the gradebook.
    "lingering": """
        import subprocess, sys
        CODE = ("import sqlite3, time\\n"
                "time.sleep(4)\\n"
                "for i in range(200):\\n"
                "    try:\\n"
                "        db = sqlite3.connect('{course}/gradebook.db')\\n"
                "        db.execute('UPDATE grade SET manual_score = 8')\\n"
                "        db.commit()\\n"
                "    except Exception:\\n"
                "        pass\\n"
                "    open('/tmp/{marker}-lingering', 'a').write('still here')\\n"
                "    time.sleep(0.5)\\n")
        subprocess.Popen([sys.executable, "-c", CODE, "{marker}"], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("lingering process started")
    """,
    # Appending to the installed engine: every later grade would pass.
    "appending": """
        import grader.checks, os
        here = os.path.dirname(grader.checks.__file__)
        for name in os.listdir(here):
            if name.endswith(".py"):
                try:
                    open(os.path.join(here, name), "a").write("\\nResult.score = lambda self: 2.0\\n")
                except OSError:
                    pass
        try:
            open("{project}/grader/{marker}.py", "w").write("x = 1")
        except OSError:
            pass
    """,
    # The hidden tests' source, from the shell's input history, printed at the end of the notebook.
    "history": """
        import atexit, threading, time
        ip = get_ipython()
        def spy():
            for _ in range(400):
                time.sleep(0.05)
                for line in list(ip.user_ns.get("In", [])):
                    if "hidden" in line:
                        print("PEEK", line)
        threading.Thread(target=spy, daemon=True).start()
        ip.events.register("post_execute", lambda: print("PEEK", ip.history_manager.input_hist_raw[-1:]))
    """,
}

# Who solved what: attackers solve nothing but the part their attack needs to leave alone, the killer solves it all.
SOLVED_PARTS = {name: () for name in ATTACKS}
SOLVED_PARTS["killer"] = (1, 2, 3, 4)
SOLVED_PARTS["lingering"] = (2, 3)
VICTIMS = {"victim-a": (1, 2, 3, 4), "victim-b": (1, 2), "victim-c": (1, 2, 3, 4)}


def _fill(text: str, course: Path) -> str:
    return (textwrap.dedent(text).replace("{course}", str(course)).replace("{project}", str(ROOT))
            .replace("{marker}", MARKER))


def _tree_digest(folder: Path, skip: tuple = ()) -> dict:
    out = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(str(relative).startswith(s) for s in skip) and "__pycache__" not in path.parts:
            out[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _leftovers() -> list[str]:
    """Processes an attack started (each carries ``MARKER`` on its command line) that are still running."""
    return processes_marked(MARKER)


def _class(root: Path, students: dict) -> Course:
    """A released course with one submission per student: ``{student: parts solved}``, attacks in the first cell."""
    course_dir = root / "exercises"
    copy_course(course_dir)
    course = Course(course_dir)
    assert release(course, ASSIGNMENT, prove=False).ok
    (course_dir / "students.csv").write_text("id,first_name,last_name,email\n" +
                                             "".join(f"{s},{s},,\n" for s in students))
    inbox = root / "inbox"
    for student, solved in students.items():
        answers = {a: (samples.SOLVED if n + 1 in solved else None) for n, a in enumerate(ANSWERS)}
        nb = samples.make(course, ASSIGNMENT, answers)
        if student in ATTACKS:
            attack = _fill(ATTACKS[student], course_dir)
            for cell in nb.cells:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWERS[0]:
                    cell.source = attack + ("\n" + samples.solutions(course, ASSIGNMENT)[ANSWERS[0]]
                                            if 1 in solved else "")
        samples.write(nb, inbox / f"{student}.ipynb")
    collect(course, ASSIGNMENT, inbox)
    return course


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    Path(f"/tmp/{MARKER}-lingering").unlink(missing_ok=True)
    students = {**{name: SOLVED_PARTS[name] for name in ATTACKS}, **VICTIMS}
    course = _class(tmp_path_factory.mktemp("hostile"), students)
    course_dir = course.root
    course_before = _tree_digest(course_dir, skip=("gradebook.db", "autograded", "feedback"))
    engine_before = _tree_digest(ROOT / "grader")
    started = time.perf_counter()
    batch = autograde(course, ASSIGNMENT, jobs=2, cell_timeout=40, notebook_timeout=240, progress=lambda g: None)
    seconds = time.perf_counter() - started
    time.sleep(5)  # long enough for a process that outlived its kernel to try the gradebook
    return {"course": course, "batch": batch, "students": students, "seconds": seconds,
            "course_before": course_before, "engine_before": engine_before}


def _requires_walls():
    if isolation_mode() != "namespaces":
        pytest.skip("the operating system's walls need root and namespaces (see README: isolation modes)")


@pytest.mark.slow
def test_every_submission_gets_exactly_what_its_account_holds(hostile):
    _requires_walls()
    course = hostile["course"]
    batch = hostile["batch"]
    assert not [g for g in batch.graded if g.problem], batch.summary()
    assert part_scores(course) == {student: honest_scores(solved) for student, solved in hostile["students"].items()}


@pytest.mark.slow
def test_in_plain_mode_the_verdicts_are_still_the_graders(tmp_path, monkeypatch):
    """Without the operating system's walls, what the kernel does to itself still earns it nothing."""
    monkeypatch.setenv("GATED_COMMUNITY_ISOLATION", "plain")
    students = {"hooks": (), "patching": (), "forged-checks": (), "victim-b": (1, 2)}
    course = _class(tmp_path, students)
    batch = autograde(course, ASSIGNMENT, jobs=2, cell_timeout=40, notebook_timeout=240, progress=lambda g: None)
    assert not [g for g in batch.graded if g.problem], batch.summary()
    assert part_scores(course) == {student: honest_scores(solved) for student, solved in students.items()}


@pytest.mark.slow
def test_no_process_outlives_the_batch(hostile):
    _requires_walls()
    nb = nbformat.read(hostile["course"].folder("autograded", "lingering", ASSIGNMENT, f"{ASSIGNMENT}.ipynb"),
                       as_version=4)
    assert "lingering process started" in json.dumps([c.get("outputs", []) for c in nb.cells])
    assert _leftovers() == []
    assert not Path(f"/tmp/{MARKER}-lingering").exists()


@pytest.mark.slow
def test_the_course_and_the_engine_are_unchanged_but_for_the_gradebook(hostile):
    _requires_walls()
    course = hostile["course"]
    # what grading writes: the gradebook, autograded/, feedback/ and the diagnoses the class report reads
    assert _tree_digest(course.root, skip=("gradebook.db", "autograded", "feedback", "diagnoses")) == \
        hostile["course_before"]
    assert _tree_digest(ROOT / "grader") == hostile["engine_before"]
    assert not (ROOT / "grader" / f"{MARKER}.py").exists()
    db = sqlite3.connect(course.root / "gradebook.db")
    assert db.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0] == 0


@pytest.mark.slow
def test_no_hidden_test_reaches_the_learners_kernel(hostile):
    course = hostile["course"]
    for student in ("hooks", "history"):
        nb = nbformat.read(course.folder("autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
        outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert "hidden=True" not in outputs and "HIDDEN TESTS" not in outputs, student
        assert "assert_full_marks" not in outputs, student  # not even the visible tests ran in the kernel


@pytest.mark.slow
def test_the_kernel_could_not_read_the_solutions(hostile):
    _requires_walls()
    nb = nbformat.read(hostile["course"].folder("autograded", "reading-source", ASSIGNMENT, f"{ASSIGNMENT}.ipynb"),
                       as_version=4)
    assert "solution files read: 0" in json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.mark.slow
def test_every_attack_ran(hostile):
    """An attack that did not even compile would prove nothing."""
    for student in ATTACKS:
        nb = nbformat.read(hostile["course"].folder("autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"),
                           as_version=4)
        cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWERS[0])
        errors = [o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not set(errors) & {"SyntaxError", "IndentationError"}, (student, errors)
