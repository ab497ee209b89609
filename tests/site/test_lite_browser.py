"""The book in the browser, end to end: every chapter runs in JupyterLite on the Pyodide kernel, in headless
Chromium, and gives the outputs saved in the chapter; a released exercise is solved, self-checked with its widget
panel, and downloaded with its nbgrader metadata intact.

The site is the one ``make book`` builds (``tools/lite.py``), copied by ``tests/lite_offline.py`` with the declared
stand-ins for the compiled packages the published site loads from Pyodide's CDN. Chromium resolves no host but
127.0.0.1 (``tests/lite_browser.py``), so nothing here can come from the network.

Outputs are compared as nbval compares the chapters' saved outputs in CPython, with the same sanitising
(``tests/nbval_sanitize.cfg``): streams, text results and errors must match; images and widgets must be there.
"""

from __future__ import annotations

import configparser
import json
import re
import time
from pathlib import Path

import pytest

from lite_browser import CHROMEDRIVER, CHROMIUM, chromium, notebook, open_notebook, run_all, serve
from lite_offline import offline_site
from site_build import ROOT, built_site, toc_chapters

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTERS = [Path(chapter).name for chapter in toc_chapters()]
EXERCISE = "04-two-layers-capstone"
SANITIZE = configparser.ConfigParser()
SANITIZE.read(ROOT / "tests" / "nbval_sanitize.cfg")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    published = built_site() / "lite"
    assert (published / "static" / "pyodide" / "pyodide-lock.json").exists(), "make book built no in-browser site"
    return offline_site(published, tmp_path_factory.mktemp("lite") / "site")


@pytest.fixture(scope="module")
def base(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: run `make browser` "
                    "(as root) or `sudo apt-get install -y chromium chromium-driver`")
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium(tmp_path_factory.mktemp("profile")) as browser:
        browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        browser.downloads = downloads
        yield browser


# -- comparing outputs ---------------------------------------------------------------------------------------------------

def sanitize(text: str) -> str:
    text = ANSI.sub("", text)
    for section in SANITIZE.sections():
        text = re.sub(SANITIZE[section]["regex"], SANITIZE[section]["replace"], text)
    return text


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def comparable(outputs: list[dict]) -> list[tuple]:
    """What must come out again: streams (joined per name, as a reader sees them), text results, errors; the
    kinds of rich output (an image, a widget) without their bytes."""
    items: list[tuple] = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            if items and items[-1][0] == "stream" and items[-1][1] == output["name"]:
                items[-1] = ("stream", output["name"], items[-1][2] + _text(output["text"]))
            else:
                items.append(("stream", output["name"], _text(output["text"])))
        elif kind in ("execute_result", "display_data"):
            # A widget's view exists only in a live notebook (the saved chapters keep its text); images by kind.
            data = {k: v for k, v in output.get("data", {}).items()
                    if k != "application/vnd.jupyter.widget-view+json"}
            rich = tuple(sorted(k for k in data if k != "text/plain"))
            plain = "" if rich else _text(data.get("text/plain", ""))
            items.append(("result", rich, plain))
        elif kind == "error":
            items.append(("error", output["ename"], _text(output["evalue"])))
    return [(k, a, sanitize(b)) if isinstance(b, str) else (k, a, b) for k, a, b in items]


def code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


# -- every chapter -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_the_browser_as_it_does_in_the_book(driver, base, chapter):
    saved = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    open_notebook(driver, base, f"{chapter}.ipynb")
    state = run_all(driver)
    ran = notebook(driver)
    assert [c["source"] for c in code_cells(ran)] == [_text(c["source"]) for c in code_cells(saved)]
    for before, after in zip(code_cells(saved), code_cells(ran)):
        expected, got = comparable(before["outputs"]), comparable(after["outputs"])
        where = f"{chapter}, cell {before.get('id')}:\n{_text(before['source'])[:300]}"
        assert got == expected, f"{where}\n--- in the browser:\n{got}\n--- saved in the book:\n{expected}"
    assert state["first_output"] is not None, f"{chapter} showed no output at all"


# -- one exercise: solve, self-check with the widget panel, download -----------------------------------------------------

_SET_SOURCES = """
const sources = arguments[0];
const panel = window.jupyterapp.shell.currentWidget;
for (const cell of panel.content.widgets) {
  const id = ((cell.model.getMetadata('nbgrader') || {}).grade_id) || '';
  if (id in sources) cell.model.sharedModel.setSource(sources[id]);
}
return true;
"""

_PANEL_TEXT = """
const out = [...document.querySelectorAll('.jp-OutputArea-output .widget-output')].map(e => e.innerText);
return out;
"""

_SHOW_PANEL = """
const panel = window.jupyterapp.shell.currentWidget;
const index = panel.content.widgets.findIndex(c => c.model.sharedModel.getSource().includes('panel('));
panel.content.scrollToItem(index);
return [...document.querySelectorAll('button.jupyter-button')].filter(b => b.innerText.trim() === 'Check').length;
"""

_CLICK_CHECKS = """
const buttons = [...document.querySelectorAll('button.jupyter-button')].filter(b => b.innerText.trim() === 'Check');
buttons.forEach(b => b.click());
return buttons.length;
"""


def test_an_exercise_is_solved_self_checked_and_handed_in_from_the_browser(driver, base):
    released = json.loads((ROOT / "exercises" / "release" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    source = json.loads((ROOT / "exercises" / "source" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: _text(c["source"]) for c in source["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    assert answers, "the exercise's source has no solution cell"

    open_notebook(driver, base, f"{EXERCISE}.ipynb")
    driver.execute_script(_SET_SOURCES, answers)
    run_all(driver)
    ran = notebook(driver)
    for cell in code_cells(ran):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{cell['metadata'].get('nbgrader', {}).get('grade_id')}: {errors[0]['ename']}: " \
                           f"{errors[0]['evalue']}"

    # The self-check panel is a live ipywidgets panel: every Check button answers in its own output area. (The
    # notebook draws only the cells in view, so the panel's cell is brought into view first.)
    deadline = time.time() + 30
    while driver.execute_script(_SHOW_PANEL) == 0 and time.time() < deadline:
        time.sleep(0.5)
    clicked = driver.execute_script(_CLICK_CHECKS)
    parts = [c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert clicked == len(parts), f"the panel shows {clicked} Check buttons for {len(parts)} graded parts"
    deadline = time.time() + 120
    while time.time() < deadline:
        answers_shown = [t for t in driver.execute_script(_PANEL_TEXT) if t.strip()]
        if len(answers_shown) == len(parts):
            break
        time.sleep(0.5)
    assert len(answers_shown) == len(parts), f"the panel answered {answers_shown}"
    # A solved part passes everything the browser checks; a part with aspects left for grading says so.
    assert all(text.strip().startswith(("PASS", "NOT YET CONFIRMED")) for text in answers_shown), answers_shown

    # Hand in: File > Download, as a learner would; the notebook keeps every cell's nbgrader metadata.
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save')")
    time.sleep(1)
    driver.execute_script("window.jupyterapp.commands.execute('docmanager:download')")
    target = driver.downloads / f"{EXERCISE}.ipynb"
    deadline = time.time() + 60
    while not target.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert target.exists(), f"nothing was downloaded: {list(driver.downloads.iterdir())}"
    handed_in = json.loads(target.read_text())
    import nbformat
    nbformat.validate(nbformat.from_dict(handed_in))
    by_id = {c["metadata"]["nbgrader"]["grade_id"]: c for c in handed_in["cells"]
             if "nbgrader" in c["metadata"] and c["metadata"]["nbgrader"].get("grade_id")}
    for cell in released["cells"]:
        grading = cell["metadata"].get("nbgrader")
        if not grading or not grading.get("grade_id"):
            continue
        kept = by_id.get(grading["grade_id"])
        assert kept is not None, f"{grading['grade_id']} is missing from the downloaded notebook"
        assert kept["metadata"]["nbgrader"] == grading, grading["grade_id"]
        if grading.get("solution"):
            assert _text(kept["source"]) == answers[grading["grade_id"]]
        else:
            assert _text(kept["source"]) == _text(cell["source"])
    assert handed_in["metadata"].get("kernelspec", {}).get("name"), "the downloaded notebook names no kernel"


_COMPLETE = """
const done = arguments[arguments.length - 1];
const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
const code = arguments[0];
kernel.requestComplete({code: code, cursor_pos: code.length})
  .then(reply => done(reply.content.matches), error => done(['error: ' + error]));
"""


def test_tab_completion_answers_in_the_browser(driver, base):
    """The kernel completes with jedi, whose wheel the site serves without third-party stubs: the standard library's
    names and the live objects of the book's packages still complete."""
    open_notebook(driver, base, "01_gated_community.ipynb")
    run_all(driver)
    assert "loads" in driver.execute_async_script(_COMPLETE, "import json; json.lo")
    assert "get_caller_identity" in driver.execute_async_script(_COMPLETE, "sts.get_caller_id")


_EXECUTE = """
const done = arguments[arguments.length - 1];
const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
const said = [];
const future = kernel.requestExecute({code: arguments[0]});
future.onIOPub = msg => {
  const c = msg.content;
  if (c.text) said.push(c.text);
  if (c.ename) said.push(c.ename + ': ' + c.evalue);
};
future.done.then(() => done(said.join('')), error => done('error: ' + error));
"""


def test_a_client_for_a_service_the_page_does_not_carry_is_refused_in_the_sandboxs_words(driver, base):
    """The page carries botocore's models of the services the sandbox runs only: asking for another is answered as
    the sandbox answers a service it does not run, never as if AWS had no such service."""
    open_notebook(driver, base, "01_gated_community.ipynb")
    run_all(driver)
    said = driver.execute_async_script(_EXECUTE, 'import boto3\nboto3.client("dynamodb")')
    assert said.startswith("ServiceNotCarried: The sandbox does not run Amazon DynamoDB (dynamodb)"), said
    assert "Unknown service" not in said and "Traceback" not in said
