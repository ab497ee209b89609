"""How lean Binder's environment is: installing binder/ against installing the full development environment.

Both are new venvs created in the same run, one after the other, from a pip cache warmed for both beforehand (so
the comparison is of what gets installed, not of the network): the Binder one from binder/requirements.txt plus
binder/postBuild, the development one from requirements.txt plus the editable engine, as ``make setup`` does.
Sizes come from ``du``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _venv(where: Path, steps: list[list[str]]) -> tuple[float, float, int]:
    """Create a venv and run the install steps in it; (seconds, megabytes, packages)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{where / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for step in steps:
        result = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(step)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    kilobytes = int(subprocess.run(["du", "-sk", str(where)], capture_output=True, text=True, check=True)
                    .stdout.split()[0])
    freeze = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    return seconds, kilobytes / 1024, sum(1 for line in freeze.splitlines() if "==" in line)


def run() -> dict:
    base = Path(tempfile.mkdtemp(prefix="bench-binder-"))
    pip = ["python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Both requirement sets are resolved once first, filling pip's cache, so neither install pays for downloads
    # that the other one then reuses.
    for requirements in ("binder/requirements.txt", "requirements.txt"):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                        "-r", requirements], cwd=ROOT, check=True, capture_output=True, timeout=1800)
    try:
        binder = _venv(base / "binder", [pip + ["-r", "binder/requirements.txt"], ["binder/postBuild"]])
        full = _venv(base / "dev", [pip + ["-r", "requirements.txt"],
                                    pip + ["--no-deps", "--no-build-isolation", "-e", "."]])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "binder install, s": binder[0],
        "dev install, s": full[0],
        "binder size, MB": binder[1],
        "dev size, MB": full[1],
        "binder packages": binder[2],
        "dev packages": full[2],
        "binder / dev install time": binder[0] / full[0],
        "binder / dev size": binder[1] / full[1],
    }
