"""The site, built once per test run as ``make book`` builds it, and shared by every test that reads it.

``make test`` runs the test files in parallel (``pytest -n auto --dist loadfile``), so the site tests and the browser
tests may sit in different worker processes. They share one build through a folder in the system's temp directory,
guarded by a file lock: the first worker to ask builds (releasing the exercises first, as ``make book`` does), the
others wait and reuse it. The exercises are released without proving their solutions (the classroom's tests do
that). A build belongs to one test run (xdist's run id, or this process's own when run without xdist), so every run
starts from a clean folder, with every chapter executed afresh. If the build fails, the others fail at once with the
same message instead of building again.

``GATED_COMMUNITY_SITE=/path/to/_build/html`` skips the build and tests that site instead (for working on the tests).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.gettempdir()) / f"gated-community-site-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"local-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def toc_files() -> list[str]:
    """Every page of the book, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
            files.extend(section["file"] for section in chapter.get("sections", []))
    return files


def toc_chapters() -> list[str]:
    """The toc's pages that are notebooks (the chapters)."""
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]


@contextmanager
def _locked():
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _release_module():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import release_exercises
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    return release_exercises


def release_exercises() -> list[Path]:
    """Release the exercises as make book does (idempotent, and once per run); the released notebooks."""
    with _locked():
        state_file = WORK / "released.json"
        if state_file.exists() and json.loads(state_file.read_text()).get("run") == _RUN_ID:
            return _release_module().released_notebooks()
        released = _release_module().release(prove=False)
        state_file.write_text(json.dumps({"run": _RUN_ID}))
        return released


def built_site() -> Path:
    """The built site's html folder, building it if this test run has not yet."""
    if os.environ.get("GATED_COMMUNITY_SITE"):
        return Path(os.environ["GATED_COMMUNITY_SITE"])
    with _locked():
        state_file = WORK / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        html = WORK / "out" / "_build" / "html"
        if state.get("run") == _RUN_ID:
            if not state["ok"]:
                raise AssertionError(state["message"])
            return html
        shutil.rmtree(WORK / "out", ignore_errors=True)
        ok, message = _build(WORK / "out")
        state_file.write_text(json.dumps({"run": _RUN_ID, "ok": ok, "message": message}))
        if not ok:
            raise AssertionError(message)
        return html


def _build(out: Path) -> tuple[bool, str]:
    try:
        _release_module().release(prove=False)
    except RuntimeError as error:
        return False, f"the exercises could not be released for the site:\n{error}"
    (WORK / "released.json").write_text(json.dumps({"run": _RUN_ID}))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, timeout=1500,
    )
    if result.returncode != 0:
        return False, f"the site did not build:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    # make book's second step: the in-browser edition beside the book.
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lite.py"), "--output", str(out / "_build" / "html" / "lite"),
         "--work", str(out / "_build" / "lite")],
        capture_output=True, text=True, timeout=900,
    )
    if result.returncode != 0:
        return False, f"the in-browser site did not build:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return True, ""
