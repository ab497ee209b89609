"""The wall around a kernel, tried with plain processes: its own user, nothing private to read, nothing of the project
to write, no network, no process outside to see or signal, and nothing left once it is swept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.classroom.isolation import MAX_PROCESSES, Wall, isolation_mode, private_folders

from support import ROOT


PROBE = r'''
import glob, json, os, socket, subprocess, sys
out = {"uid": os.getuid(), "pid": os.getpid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
secret, project = sys.argv[1], sys.argv[2]
try:
    out["secret"] = open(secret).read()
except OSError as error:
    out["secret"] = type(error).__name__
out["solutions"] = glob.glob(project + "/exercises/**/*.py", recursive=True)
try:
    open(project + "/grader/checks/__init__.py", "a").write("# changed")
    out["engine"] = "written"
except OSError as error:
    out["engine"] = type(error).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    out["network"] = "connected"
except OSError as error:
    out["network"] = type(error).__name__
try:
    os.kill(int(sys.argv[3]), 0)
    out["signal"] = "delivered"
except OSError as error:
    out["signal"] = type(error).__name__
out["home"] = os.environ["HOME"]
import resource
out["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[1]
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "wall-probe-leftover"],
                 start_new_session=True)
print(json.dumps(out))
'''


@pytest.fixture
def wall(tmp_path):
    if isolation_mode() != "namespaces":
        pytest.skip("the walls need root and namespaces (see README: the judge and the walls)")
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("the instructor's")
    walls = tmp_path / "walls"
    built = Wall.build(walls, 1_999_000_000 + os.getpid() % 1000, private=private_folders(course, tmp_path))
    yield built, course
    built.sweep()
    built.remove()


def test_a_walled_process_sees_only_its_own_folder_and_leaves_nothing_behind(wall):
    built, course = wall
    command = built.command([sys.executable, "-c", PROBE, str(course / "gradebook.db"), str(ROOT), str(os.getpid())])
    result = subprocess.run(command, capture_output=True, text=True, cwd=built.folder,
                            env=built.environment(dict(os.environ)), timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["uid"] == built.uid
    assert out["pid"] == 1 and out["pids"] == [1]  # alone in its pid namespace (its child has not started yet)
    assert out["secret"] in ("PermissionError", "FileNotFoundError", "IsADirectoryError")
    assert out["solutions"] == []
    assert out["engine"] in ("PermissionError", "OSError")
    assert out["network"] != "connected"
    assert out["signal"] == "ProcessLookupError"  # the grader's process is not even visible
    assert out["home"] == str(built.folder)
    assert out["nproc"] == MAX_PROCESSES  # a fork bomb stops at its own user's limit
    assert (course / "gradebook.db").read_text() == "the instructor's"
    # The process it left in a session of its own dies with the sweep.
    built.sweep()
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline_has(p, b"wall-probe-leftover")]
    assert leftovers == []


def _cmdline_has(pid: str, text: bytes) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_plain_mode_is_chosen_when_asked(monkeypatch):
    monkeypatch.setenv("GATED_COMMUNITY_ISOLATION", "plain")
    assert isolation_mode() == "plain"


WALK = r'''
import json, os, sys
home = os.environ["HOME"]
writable, seen = [], {}
for top in ("/",):
    for folder, dirs, files in os.walk(top):
        if folder in ("/proc", "/sys") or folder.startswith(("/proc/", "/sys/")) or folder.startswith(home):
            dirs[:] = []
            continue
        if os.access(folder, os.W_OK):
            writable.append(folder)
for covered in sys.argv[1:]:
    found = []
    for folder, dirs, files in os.walk(covered):
        if folder.startswith(home):
            dirs[:] = []
            continue
        found += [os.path.join(folder, name) for name in files]
        found += [os.path.join(folder, name) for name in dirs if not os.path.join(folder, name).startswith(home)]
    seen[covered] = found
print(json.dumps({"writable": writable, "seen": seen}))
'''


def test_every_path_a_walled_kernel_can_write_or_see_in_the_covered_folders(wall):
    """The whole machine, walked as the kernel's user: it may write its own folder and its own /dev/shm, nothing
    else; and in the folders it must not read (the temporary folders, everyone's homes) it sees only the way to its
    own folder."""
    built, course = wall
    covered = [p for p in ("/tmp", "/var/tmp", "/home", "/root", str(course)) if os.path.isdir(p)]
    command = built.command([sys.executable, "-c", WALK, *covered])
    result = subprocess.run(command, capture_output=True, text=True, cwd=built.folder,
                            env=built.environment(dict(os.environ)), timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(out["writable"]) == ["/dev/shm"]
    from grader.classroom.isolation import _needed_to_run

    needed = [Path(os.path.realpath(p)) for p in _needed_to_run()]  # the interpreter and the engine, to run at all
    on_the_way = {str(p) for p in built.folder.parents} | {str(p) for n in needed for p in n.parents}

    def allowed(path: str) -> bool:
        return path in on_the_way or any(Path(path) == n or n in Path(path).parents for n in needed)

    for folder, found in out["seen"].items():
        assert [p for p in found if not allowed(p)] == [], folder


USER_PROBE = r'''
import json, os, resource, sys
out = {"uid": os.getuid(), "groups": os.getgroups()}
try:
    out["secret"] = os.listdir(sys.argv[1])
except OSError as error:
    out["secret"] = type(error).__name__
with open(os.path.join(os.environ["HOME"], "mine.txt"), "w") as mine:
    mine.write("mine")
out["own folder"] = "written"
out["no_new_privs"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs:")][0]
out["nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[1]
try:
    os.kill(int(sys.argv[2]), 0)
    out["signal"] = "delivered"
except OSError as error:
    out["signal"] = type(error).__name__
print(json.dumps(out))
'''


def test_user_mode_runs_the_kernel_as_its_own_user_closed_out_of_private_folders(monkeypatch):
    """Where a container gives root but no namespaces (Gradescope's), the kernel still runs as a user of its own:
    a folder of mode 0700 (an autograder's source, the batch's scratch) is closed to it, its own folder is its own."""
    import shutil
    import tempfile

    from grader.classroom import isolation

    python = "/usr/bin/python3"  # readable by any user, as the interpreter an autograder installs is
    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists(python):
        pytest.skip("user mode needs root, util-linux's setpriv and a Python any user may run")
    monkeypatch.setenv("GATED_COMMUNITY_ISOLATION", "user")
    monkeypatch.setattr(isolation, "_user", True)  # this project's own interpreter may sit in a 0700 home
    walls = Path(tempfile.mkdtemp(prefix="gated-walls-user-"))
    secret = Path(tempfile.mkdtemp(prefix="gated-source-"))
    built = None
    try:
        (secret / "solution.py").write_text("the instructor's")
        os.chmod(walls, 0o711)
        os.chmod(secret, 0o700)
        built = Wall.build(walls, 1_999_500_000 + os.getpid() % 1000)
        assert built.mode == "user" and built.uid is not None
        command = built.command([python, "-c", USER_PROBE, str(secret), str(os.getpid())])
        assert not any("unshare" in part for part in command)
        result = subprocess.run(command, capture_output=True, text=True, cwd=built.folder,
                                env=built.environment(dict(os.environ)), timeout=120)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert out["uid"] == built.uid and out["groups"] == []
        assert out["secret"] == "PermissionError"
        assert out["own folder"] == "written" and (built.folder / "mine.txt").read_text() == "mine"
        assert out["no_new_privs"] == "1"
        assert out["nproc"] == MAX_PROCESSES
        assert out["signal"] == "PermissionError"  # it sees the grader, but cannot signal it
    finally:
        if built is not None:
            built.sweep()
            built.remove()
        shutil.rmtree(walls, ignore_errors=True)
        shutil.rmtree(secret, ignore_errors=True)
