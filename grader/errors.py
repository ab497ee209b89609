"""Errors the book raises for people: each says what went wrong, where, and how to put it right."""

from __future__ import annotations


class GatedCommunityError(Exception):
    """Base of every error the project raises on purpose.

    In a notebook these are shown as their message alone (see ``show_errors_plainly``): a reader who made a
    mistake needs the sentence that explains it, not a page of stack frames from inside the sandbox.
    """


class SandboxNotRunning(GatedCommunityError):
    pass


class SandboxNetworkBlocked(GatedCommunityError, ConnectionRefusedError):
    """Raised instead of opening a connection that would leave the machine.

    It is also a ``ConnectionRefusedError`` so that libraries which expect an ``OSError`` from a failed connect
    fail the way they would on a closed network, rather than with an error type they have never seen.
    """


class NotInThisBrowser(GatedCommunityError):
    """Raised where the book runs in a browser (Pyodide) and something it needs cannot run or load there."""


def show_errors_plainly() -> None:
    """In IPython, print the project's errors as one clear message instead of a traceback.

    Only our own error types are affected; every other exception keeps IPython's usual display.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: tracebacks are all there is
        return
    shell = get_ipython()
    if shell is None:
        return

    def _plain(shell, etype, value, tb, tb_offset=None):
        print(f"{etype.__name__}: {value}")
        return None

    shell.set_custom_exc((GatedCommunityError,), _plain)
