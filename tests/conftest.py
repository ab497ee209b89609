"""Shared test set-up: markers for the slow suites, a sandbox fixture, and the one rule of the tests' layout.

``tests/`` mirrors the engine (see tests/README.md). Its folders are not packages: pytest imports each test module
by its file name, with ``tests/`` on the path for ``from support import ...`` (``pythonpath`` in pytest.ini). So
two modules anywhere under ``tests/`` may not share a file name; this file says so before pytest trips over it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# A learner's self-checks keep a record in their data folder (grader.checks.record): the tests', and those of the
# kernels they start, go to a folder of this run's own, never the home folder of whoever runs them.
if not os.environ.get("GATED_COMMUNITY_PRACTICE"):
    _practice = tempfile.mkdtemp(prefix="gated-practice-")
    atexit.register(shutil.rmtree, _practice, True)
    os.environ["GATED_COMMUNITY_PRACTICE"] = os.path.join(_practice, "practice.jsonl")

# Golden files are what the pipeline is compared with, not tests: nbval does not run their notebooks.
collect_ignore_glob = ["*/golden/*"]


def pytest_configure(config):
    modules = defaultdict(list)
    for path in HERE.rglob("*.py"):
        relative = path.relative_to(HERE)
        if path.name != "conftest.py" and relative.parts[0] not in ("fixtures", "data") \
                and "__pycache__" not in relative.parts:
            modules[path.name].append(f"tests/{relative}")
    clashes = {name: sorted(paths) for name, paths in modules.items() if len(paths) > 1}
    if clashes:
        raise pytest.UsageError("two test modules share a file name, which pytest cannot import side by side: "
                                + "; ".join(" and ".join(paths) for paths in clashes.values())
                                + ". Rename one (tests/policy/test_policy_cli.py, not tests/policy/test_cli.py).")


def pytest_collection_modifyitems(config, items):
    for item in items:
        # nbval items execute a whole chapter in a kernel: they belong to the slow suite.
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def aws():
    """A fresh sandbox for one test, stopped afterwards whatever happens."""
    from grader import sandbox

    box = sandbox.start()
    try:
        yield box
    finally:
        box.stop()
