"""Errors the book raises for people: each says what went wrong, where, and how to put it right."""

from __future__ import annotations

import re


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


def show_errors_plainly(shell=None) -> None:
    """In IPython, show errors as a reader needs them (``shell``: the running one unless given).

    * The project's errors are printed as one clear message instead of a traceback.
    * An AWS error that says something already exists (a role, an instance profile...) keeps AWS's words and its
      traceback, with one note added: most likely the cell ran before, and running the notebook again from
      ``sandbox.start()`` gives a fresh account. AWS's message stays exactly AWS's.
    * An error is saved under its class's name (``AssertionError``) even where the kernel would save the class's repr
      (``<class 'AssertionError'>``: JupyterLite's Pyodide kernel does), so a saved notebook's errors read like errors.

    Every other exception keeps IPython's usual display.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # plain Python: tracebacks are all there is
            return
        shell = get_ipython()
    if shell is None:
        return
    from botocore.exceptions import ClientError

    def _shown(shell, etype, value, tb, tb_offset=None):
        if isinstance(value, GatedCommunityError):
            print(f"{etype.__name__}: {value}")
            return None
        note = already_there(value)
        if note and note not in getattr(value, "__notes__", ()):
            value.add_note(note)
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)  # IPython's own display, the note included
        return None

    shell.set_custom_exc((GatedCommunityError, ClientError), _shown)
    _name_errors_by_their_class(shell)


# AWS's codes for "you asked to create something this account already has", in the services the sandbox runs.
ALREADY_THERE = {"EntityAlreadyExists", "BucketAlreadyOwnedByYou", "BucketAlreadyExists", "InvalidGroup.Duplicate",
                 "InvalidKeyPair.Duplicate", "ResourceAlreadyExistsException", "ParameterAlreadyExists",
                 "RepositoryAlreadyExistsException"}


def already_there(error: BaseException) -> str:
    """The book's note for an AWS error that says something already exists, or "" for any other error."""
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code", "")
    if code not in ALREADY_THERE:
        return ""
    operation = getattr(error, "operation_name", "") or ""
    words = re.findall(r"[A-Z][a-z]*", operation)
    thing = " ".join(w.lower() for w in words[1:]) if len(words) > 1 and words[0] == "Create" else ""
    return (f"Your account already has this {thing or 'resource'}, most likely from an earlier run of this cell. To "
            "start over, run the notebook again from the cell with sandbox.start(): it gives you a fresh account.")


def _name_errors_by_their_class(shell) -> None:
    """Where the shell records an error for the kernel as ``{"ename": str(type), ...}`` (JupyterLite's Pyodide kernel
    does, in ``Interpreter._showtraceback``), record the class's name, as every other Jupyter kernel does."""
    if getattr(shell._showtraceback, "names_errors_by_class", False):
        return
    original = shell._showtraceback

    def _showtraceback(etype, evalue, stb):
        original(etype, evalue, stb)
        last = getattr(shell, "_last_traceback", None)
        if isinstance(last, dict) and isinstance(etype, type) and str(last.get("ename", "")).startswith("<class "):
            last["ename"] = etype.__name__

    _showtraceback.names_errors_by_class = True
    shell._showtraceback = _showtraceback
