"""How much the execution cache saves: a cold build of the site against a cached rebuild of the same folder.

The cold build starts from an empty folder, so every chapter is executed (as on a fresh CI runner without its
cache); the rebuild runs ``jupyter-book build`` again into the same folder, where unchanged chapters come from
jupyter-cache and Sphinx rereads nothing. The exercises are released once beforehand (as ``make book`` does), outside
the timings. The ratio is what matters: absolute seconds on a shared machine say little.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _build(out: Path) -> float:
    started = time.perf_counter()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "--warningiserror",
                             "--keep-going"], capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"the site did not build:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def run() -> dict:
    release = [sys.executable, str(ROOT / "book" / "_ext" / "release_exercises.py"), "--no-prove"]
    subprocess.run(release, cwd=ROOT, check=True, capture_output=True, timeout=900)
    out = Path(tempfile.mkdtemp(prefix="bench-site-"))
    try:
        cold = _build(out)
        chapters = len(list((out / "_build" / "html" / "book").glob("0*.html")))
        cached = _build(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "chapters": chapters,
        "cold build, s": cold,
        "cached rebuild, s": cached,
        "cold / cached": cold / cached,
    }
