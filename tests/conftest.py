"""Shared test set-up: markers for the slow suites and a sandbox fixture."""

from __future__ import annotations

import pytest


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
