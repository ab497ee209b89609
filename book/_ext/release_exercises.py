"""Release the exercises for the site: the student versions that book/exercises.md offers for download.

``make book`` runs this before building, and so does the tests' site build. It hands over to the instructor's
pipeline, ``python -m grader.classroom release --all`` (``--no-prove`` when asked), when that exists; otherwise it
runs nbgrader's own ``generate_assignment`` for every assignment in ``exercises/source/``. Either way the released
notebooks land in ``exercises/release/<assignment>/`` (git-ignored), and this script then proves that no solution
and no hidden test is in them, since the site publishes them as they are.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "exercises"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def assignments() -> list[str]:
    return sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def released_notebooks() -> list[Path]:
    return sorted((COURSE / "release").glob("*/*.ipynb"))


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def release(prove: bool = True) -> list[Path]:
    """Release every assignment; return the released notebooks. Raises RuntimeError with the tool's output.

    ``prove`` lets the pipeline first run each solution and check that it earns every point (about a minute);
    the tests skip it, since the classroom's own tests prove the assignments.
    """
    env = dict(os.environ)
    # nbgrader calls helper programs (alembic) by name: they live beside this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if _has_module("grader.classroom.__main__"):
        commands = [[sys.executable, "-m", "grader.classroom", "release", "--all", *([] if prove else ["--no-prove"])]]
    else:
        commands = [[sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"]
                    for name in assignments()]
    for command in commands:
        result = subprocess.run(command, cwd=COURSE, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"releasing the exercises failed: {' '.join(command[1:])}\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    released = released_notebooks()
    missing = [name for name in assignments() if not (COURSE / "release" / name).is_dir()]
    if missing:
        raise RuntimeError(f"no released notebook for {', '.join(missing)}")
    for path in released:
        text = path.read_text(encoding="utf-8")
        leaked = [m for m in MARKERS if m in text]
        if leaked:
            raise RuntimeError(f"{path.relative_to(ROOT)} still contains {', '.join(leaked)}: it must not be published")
    return released


if __name__ == "__main__":
    try:
        for notebook in release(prove="--no-prove" not in sys.argv[1:]):
            print(f"released {notebook.relative_to(ROOT)}")
    except RuntimeError as error:
        raise SystemExit(f"release_exercises: {error}")
