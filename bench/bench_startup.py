"""What a chapter's first cell costs, and the gatehouse's share of a call: this tree against a baseline, in one run.

``import grader`` plus ``sandbox.start()`` (and a first IAM call, which builds the account) is timed in fresh
processes, as a reader's kernel pays it; so is the gate's share of a sandbox call (``bench_gatehouse``). Each is
measured for this tree and for a baseline revision of the engine, taken from git (``BENCH_BASELINE``, by default the
last revision before the engine was rebuilt as one account with two homes), alternating, so that both see the same
machine, and compared by their best rounds (the steadier figure on a shared machine, as in ``bench_gatehouse``).
The ratios compare them: below 1 is faster than the baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = os.environ.get("BENCH_BASELINE", "c507c5d")
ROUNDS = 7

_START = """
import json, time
started = time.perf_counter()
import grader
from grader import sandbox
aws = sandbox.start()
started_at = time.perf_counter() - started
aws.client("iam").list_roles()
first_call = time.perf_counter() - started
print(json.dumps({"start": started_at, "first call": first_call}))
"""

_SHARE = """
import json
from bench.bench_gatehouse import run
print(json.dumps({k: v for k, v in run().items() if "share" in k}))
"""


def _baseline_tree(where: Path) -> Path | None:
    """The baseline's grader/ and bench/, or None where git or the revision is missing (a copy without history)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "grader", "bench"],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    tree = where / "baseline"
    tree.mkdir()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _measure(tree: Path, script: str) -> dict:
    """One fresh process in ``tree`` (its grader/ comes first on the path), as a kernel would start."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ["PYTHONPATH"] = str(tree)
    answer = subprocess.run([sys.executable, "-c", script], cwd=tree, env=environ, capture_output=True, text=True,
                            timeout=600)
    if answer.returncode:
        raise RuntimeError(f"the benchmark failed in {tree}:\n{answer.stderr[-2000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def run() -> dict:
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="gated-bench-") as scratch:
        baseline = _baseline_tree(Path(scratch))
        trees = {"now": ROOT} if baseline is None else {"now": ROOT, "baseline": baseline}
        if baseline is None:
            results["baseline"] = f"not measured: revision {BASELINE} is not in this copy's history"
        starts: dict = {name: [] for name in trees}
        for _ in range(ROUNDS):
            for name, tree in trees.items():
                starts[name].append(_measure(tree, _START))
        for name in trees:
            for key in ("start", "first call"):
                results[f"import grader + sandbox.start(){' + first call' if key == 'first call' else ''}, "
                        f"{name}, best of {ROUNDS} (s)"] = min(m[key] for m in starts[name])
        shares = {name: _measure(tree, _SHARE) for name, tree in trees.items()}
        for key in shares["now"]:
            for name in trees:
                results[f"{key}, {name}"] = shares[name].get(key, float("nan"))
        if baseline is not None:
            now = min(m["start"] for m in starts["now"])
            before = min(m["start"] for m in starts["baseline"])
            results["start: ratio now/baseline (below 1 is faster)"] = now / before
        shutil.rmtree(Path(scratch) / "baseline", ignore_errors=True)
    return results
