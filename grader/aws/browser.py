"""The book in a browser: what differs when the kernel is Pyodide, in the page itself (the JupyterLite edition).

Almost nothing does. The sandbox, the gatehouse and the badges run in the page as they run anywhere (the badge
addresses are answered inside the process: see ``grader.aws.endpoints``). Two things are the browser's own:

* urllib3 sends through the page's ``fetch``, so the sandbox guards and answers that path too;
* a package Pyodide builds for the browser (matplotlib, for the two diagrams) is loaded when it is first needed,
  not with the page, so that chapters without a diagram do not wait for it;
* the page carries botocore's models of the services the sandbox runs only, so a client for any other service
  cannot be made there: the sandbox says so in its own words, where botocore would call an AWS service unknown.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

from botocore.exceptions import UnknownServiceError

from grader.errors import NotInThisBrowser


def in_browser() -> bool:
    """True when this Python runs in a web page (Pyodide)."""
    return sys.platform == "emscripten"


def load(package: str, needed_for: str) -> None:
    """Load one of Pyodide's own packages now, from synchronous code; outside a browser, do nothing.

    Pyodide loads packages asynchronously; inside a running cell the kernel can wait for it only where the browser
    supports WebAssembly stack switching (JSPI: Chrome, Edge and Firefox today). Elsewhere the reader is told, in one
    sentence, how to load it themselves.
    """
    if not in_browser():
        return
    import pyodide_js  # the page's Pyodide object, importable only inside Pyodide

    try:
        from pyodide.ffi import can_run_sync, run_sync
    except ImportError:  # an older Pyodide
        can_run_sync = None
    if can_run_sync is None or not can_run_sync():
        raise NotInThisBrowser(
            f"{needed_for} needs {package}, which this browser cannot load in the middle of a cell: run "
            f"`import {package}` in a cell of its own, then run this cell again.")
    try:
        run_sync(pyodide_js.loadPackage(package))
    except Exception as error:  # the page could not fetch it (offline, or blocked)
        raise NotInThisBrowser(
            f"{needed_for} needs {package}, which the page could not load ({error}): check the connection and "
            "run this cell again.") from None


class ServiceNotCarried(UnknownServiceError, NotInThisBrowser):
    """A client for a service whose model the in-browser edition does not carry (still botocore's error type)."""

    fmt = "{message}"


describe_missing_service: Optional[Callable[[str, str], Optional[str]]] = None
"""The sandbox's sentence for a service AWS has and the page does not carry, or None for a name AWS does not know
either; set by the local home (``grader.gatehouse.answers.not_run_message``), which knows the services it runs."""


def missing_model(original):
    """``botocore.loaders.Loader.load_service_model``, in a browser: a service AWS has but the page carries no model
    of is named as the sandbox names a service it does not run, not as a service that does not exist."""

    def load_service_model(self, service_name, type_name, api_version=None):
        try:
            return original(self, service_name, type_name, api_version)
        except UnknownServiceError as error:
            describe = describe_missing_service
            said = describe(service_name, "this page carries no botocore model of it, so no client for it can be "
                                          "made in the browser") if describe else None
            if said is None:  # not a service of AWS's either, or nobody to say what the sandbox runs
                raise
            raise ServiceNotCarried(
                message=said,
                service_name=service_name, known_service_names=error.kwargs.get("known_service_names", "")) from None

    return load_service_model
