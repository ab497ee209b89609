"""One submission graded as Gradescope grades it: the autograder zip's ``run_autograder``, against Gradescope's
defaults (768 MB of memory for the whole container, a 10-minute limit, half a CPU).

The zip of 01-community-protocol is built and unpacked under a scratch ``AUTOGRADER_ROOT``; a correct notebook is
graded once by ``run_autograder`` with this project's interpreter. Where the machine gives cgroups (v1 or v2, as
root), the run is held in a memory cgroup of 768 MB and a CPU quota of half a CPU, as Gradescope holds a container,
and the cgroup's peak is read; in every case the peak of the summed resident memory of the whole process tree
(grader, worker, kernel) is sampled from /proc every 50 ms. The summed RSS counts pages that processes share once per
process, so it errs high.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01-community-protocol"
LIMIT = 768 * 1000 * 1000  # Gradescope's "768 MB"
MB = 1000 * 1000


def _tree_rss(pid: int) -> int:
    """The resident memory of ``pid`` and every process descended from it, in bytes."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rfind(")") + 2:].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        total += rss.get(current, 0)
        stack.extend(child for child, parent in parents.items() if parent == current)
    return total


def _cgroups(name: str) -> dict:
    """A memory cgroup of ``LIMIT`` and a CPU cgroup of half a CPU under this process's own, where allowed."""
    made = {}
    own = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                own[controller] = path
    except OSError:
        return made
    if "memory" in own:  # cgroup v1
        memory = Path("/sys/fs/cgroup/memory") / own["memory"].lstrip("/") / name
        cpu = Path("/sys/fs/cgroup/cpu") / own.get("cpu", "/").lstrip("/") / name
        try:
            memory.mkdir()
            (memory / "memory.limit_in_bytes").write_text(str(LIMIT))
            made["memory"] = (memory, "memory.max_usage_in_bytes")
        except OSError:
            pass
        try:
            cpu.mkdir()
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text("50000")
            made["cpu"] = (cpu, None)
        except OSError:
            pass
    elif "" in own:  # cgroup v2, where the controllers are delegated to this process's cgroup
        group = Path("/sys/fs/cgroup") / own[""].lstrip("/") / name
        try:
            group.mkdir()
            (group / "memory.max").write_text(str(LIMIT))
            (group / "cpu.max").write_text("50000 100000")
            made["memory"] = (group, "memory.peak")
        except OSError:
            pass
    return made


def _grade_once(root: Path, groups: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GATED_COMMUNITY_COURSE")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    enter = "".join(f'echo $$ > "{folder}/cgroup.procs"; ' for folder, _ in groups.values())
    process = subprocess.Popen(["/bin/sh", "-c", enter + 'exec "$0"', str(root / "run_autograder")], env=env,
                               cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    _, stderr = process.communicate(timeout=900)
    seconds = time.perf_counter() - started
    sampler.join()
    import json

    results = json.loads((root / "results" / "results.json").read_text())
    out = {"seconds": seconds, "score": results["score"], "rss_peak_mb": peak[0] / MB}
    memory = groups.get("memory")
    if memory and memory[1]:
        try:
            out["cgroup_peak_mb"] = int((memory[0] / memory[1]).read_text()) / MB
        except (OSError, ValueError):
            pass
    if results["score"] != 8:
        out["problem"] = (results.get("output") or stderr[-300:]).strip()[:300]
    return out


def run() -> dict:
    from grader.classroom import Course, samples
    from grader.classroom.gradescope import build
    from grader.classroom.release import generate

    scratch = Path(tempfile.mkdtemp(prefix="bench-gradescope-"))
    groups: dict = {}
    try:
        course = Course(shutil.copytree(ROOT / "exercises", scratch / "exercises", ignore=shutil.ignore_patterns(
            "release", "submitted", "autograded", "feedback", "gradebook.db", "students.csv", "__pycache__")))
        archive = build(course, ASSIGNMENT, scratch / "autograder.zip")
        root = scratch / "autograder"
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(root / "source")
            for info in opened.infolist():
                (root / "source" / info.filename).chmod((info.external_attr >> 16) & 0o777 or 0o644)
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        generate(course, ASSIGNMENT)
        (root / "submission").mkdir()
        samples.write(samples.make(course, ASSIGNMENT, {}), root / "submission" / f"{ASSIGNMENT}.ipynb")
        groups = _cgroups(f"gated-bench-gradescope-{os.getpid()}")
        measured = _grade_once(root, groups)
        peak = max(measured["rss_peak_mb"], measured.get("cgroup_peak_mb", 0))
        return {
            "peak memory, MB (summed RSS of the process tree)": round(measured["rss_peak_mb"]),
            "peak memory, MB (the run's cgroup, page cache included)": round(measured["cgroup_peak_mb"])
            if "cgroup_peak_mb" in measured else "no cgroup here",
            "Gradescope's limit, MB": LIMIT // MB,
            "headroom, MB": round(LIMIT / MB - peak),
            "held to 768 MB and half a CPU": "yes" if {"memory", "cpu"} <= set(groups) or
            (groups.get("memory") and groups["memory"][1] == "memory.peak") else "no (no cgroups to make here)",
            "seconds for one submission (limit 600)": measured["seconds"],
            "score (8 expected)": measured["score"],
            **({"problem": measured["problem"]} if "problem" in measured else {}),
        }
    finally:
        for folder, _ in groups.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(scratch, ignore_errors=True)
