"""Headless Chromium driving the in-browser site: serve a folder on 127.0.0.1, open a notebook in JupyterLite, run
every cell on the Pyodide kernel, and read the notebook back, outputs and all.

Nothing but 127.0.0.1 answers: every other address is resolved to nowhere by Chromium itself, so a page that
reached for a CDN would fail here. Used by ``tests/site/test_lite_browser.py`` and by ``make bench`` (``bench_lite``).
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                      ".json": "application/json", ".whl": "application/octet-stream"}

    def log_message(self, *args):
        pass


@dataclass(frozen=True)
class Served:
    """One response: the request, its status, the file it came from (None for a listing or an error) and every
    byte written to the socket for it, status line and headers included."""
    method: str
    path: str
    status: int
    file: Path | None
    bytes: int


class _Tally:
    """The connection's output stream, counting what goes through it."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def write(self, data):
        self.count += len(data)
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


class Counting(_Handler):
    """Records every response it sends (the bench's 'bytes downloaded'), in ``log``, a list of ``Served``.

    It counts at the socket, so headers, 304s and error pages count too, as they would on the wire. ``Counting.new()``
    gives a handler class with a log of its own, so two servers (or two page loads) never share one.
    """
    log: list[Served] = []
    lock = threading.Lock()

    @classmethod
    def new(cls) -> type[Counting]:
        return type(cls.__name__, (cls,), {"log": [], "lock": threading.Lock()})

    def setup(self):
        super().setup()
        self.wfile = _Tally(self.wfile)

    def handle_one_request(self):
        self.status, self.file = None, None
        before = self.wfile.count
        super().handle_one_request()
        if self.status is not None:
            with self.lock:
                sent = self.wfile.count - before
                self.log.append(Served(self.command, self.path, int(self.status), self.file, sent))

    def send_response(self, code, message=None):
        self.status = code
        super().send_response(code, message)

    def send_head(self):
        head = super().send_head()
        if head is not None and self.status == 200:
            served = Path(self.translate_path(self.path))
            self.file = served / "index.html" if served.is_dir() else served
            if not self.file.is_file():
                self.file = None  # a directory listing
        return head


@contextmanager
def serve(folder: Path, handler=_Handler):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def chromium(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900",
                # Only the local server exists: every other host name resolves to nothing.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(900)
    try:
        yield driver
    finally:
        driver.quit()


# The notebook panel of the page, its kernel's state, and its model as JSON.
_PANEL = "const app = window.jupyterapp; const panel = app && app.shell.currentWidget;"

_WAIT_READY = _PANEL + """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    const started = Date.now();
    while (!(window.jupyterapp && window.jupyterapp.shell.currentWidget
             && window.jupyterapp.shell.currentWidget.sessionContext)) {
      if (Date.now() - started > 120000) { done({error: 'the notebook did not open'}); return; }
      await new Promise(r => setTimeout(r, 100));
    }
    const panel = window.jupyterapp.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    done({ok: true});
  } catch (e) { done({error: String(e)}); }
})();
"""

_RUN_ALL = """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    const cells = panel.content.widgets;
    const started = Date.now();
    let first = null;
    for (let i = 0; i < cells.length; i++) {
      panel.content.activeCellIndex = i;
      const cell = cells[i];
      if (cell.model.type !== 'code') continue;
      await app.commands.execute('notebook:run-cell');
      if (first === null && cell.model.outputs.length > 0) first = Date.now() - started;
    }
    done({ok: true, seconds: (Date.now() - started) / 1000, first_output: first});
  } catch (e) { done({error: String(e)}); }
})();
"""

_MODEL = _PANEL + "return JSON.stringify(panel.context.model.toJSON());"


def open_notebook(driver, base: str, path: str, app: str = "notebooks") -> None:
    driver.get(f"{base}{app}/index.html?path={path}")
    wait_until_open(driver, path)


def wait_until_open(driver, what: str = "the notebook") -> str:
    """Wait until the page's notebook is open with its kernel session; the notebook's path in the site."""
    state = driver.execute_async_script(_WAIT_READY)
    if "error" in state:
        raise AssertionError(f"{what}: {state['error']}")
    return driver.execute_script(_PANEL + "return panel.context.path;")


def run_all(driver) -> dict:
    state = driver.execute_async_script(_RUN_ALL)
    if "error" in state:
        raise AssertionError(state["error"])
    return state


def notebook(driver) -> dict:
    return json.loads(driver.execute_script(_MODEL))


def console(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")]
