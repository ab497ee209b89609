"""The built site in a real headless Chromium: every page, its navigation, its outputs, its self-checks, its launch
links, its internal links and assets; a screenshot of each page goes to test-artifacts/screenshots/.

The site is served from 127.0.0.1 and every https:// request is blocked, so the pages (and the self-checks above
all) are proven to work with no network. Chromium and its driver come from Debian (``make browser``, which
``make test`` runs first); these tests install nothing.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import pytest
import yaml

from site_build import ROOT, built_site, toc_chapters, toc_files

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = toc_files()
CHAPTERS = toc_chapters()
# The in-browser edition's page that opens one notebook (tools/lite.py builds it into the site's lite/).
LITE_APP = "lite/notebooks/index.html"
QUIZ_PAGES = [c for c in CHAPTERS if (ROOT / "book" / "quizzes" / f"{Path(c).name}.yml").exists()]


# -- fixtures: the site, a local server, a browser ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: run `make browser` "
                    "(as root) or `sudo apt-get install -y chromium chromium-driver`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900", "--hide-scrollbars",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    # No network: only the local server answers. Anything from a CDN would fail here.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "http://*:443/*"]})
    yield driver
    driver.quit()


def _open(browser, server: str, page: str):
    browser.get(urljoin(server, f"{page}.html"))
    browser.execute_script("return document.fonts ? document.fonts.ready : null")
    assert browser.execute_script("return document.readyState") == "complete"


def _screenshot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


# Console errors that come with the theme, not with this book: sphinx-thebe and the book theme both declare
# THEBE_JS_URL; the theme complains once about an unset colour mode; browsers ask for /favicon.ico unprompted.
KNOWN_THEME_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode", "/favicon.ico")


def _local_errors(browser, server: str) -> list[str]:
    """Console errors about the site's own files or scripts (blocked CDN requests are expected, not errors)."""
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and server.rstrip("/") in entry["message"]
            and not any(noise in entry["message"] for noise in KNOWN_THEME_NOISE)]


# -- every page ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_page_opens_with_the_sidebar_in_toc_order(browser, server, page):
    _open(browser, server, page)
    assert browser.title.strip(), f"{page} has no title"
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal')).map(a => a.href)")
    # Resolved hrefs: the current page's own link ("#") resolves to the page itself.
    in_nav = [urlsplit(h).path.lstrip("/").removesuffix(".html") for h in hrefs]
    assert in_nav == PAGES, f"the sidebar of {page} lists {in_nav}, the toc {PAGES}"
    heading = browser.execute_script("const h = document.querySelector('main h1'); return h && h.textContent")
    assert heading and heading.strip(), f"{page} has no heading"
    _screenshot(browser, page.replace("/", "__"))
    assert _local_errors(browser, server) == []


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_shows_its_outputs_and_figures(browser, server, page):
    _open(browser, server, page)
    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output')).filter(o => o.offsetHeight > 0).length")
    assert outputs > 0, f"{page} shows no cell output"
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('main img')).map(i => [i.src, i.complete && i.naturalWidth > 0])")
    broken = [src for src, loaded in images if not loaded]
    assert broken == [], f"{page}: images that did not load: {broken}"
    if browser.execute_script("return document.querySelector('article img') !== null"):
        browser.execute_script("document.querySelector('article img').scrollIntoView({block: 'start'})")
        _screenshot(browser, page.replace("/", "__") + "--figure")


@pytest.mark.parametrize("page", PAGES)
def test_no_internal_link_or_local_asset_is_missing(browser, server, site, page):
    _open(browser, server, page)
    refs = browser.execute_script("""
        const out = [];
        for (const el of document.querySelectorAll('a[href], link[href]')) out.push(el.getAttribute('href'));
        for (const el of document.querySelectorAll('img[src], script[src], source[src], iframe[src]'))
            out.push(el.getAttribute('src'));
        return out;""")
    page_url = urljoin(server, f"{page}.html")
    problems = []
    for ref in refs:
        parts = urlsplit(ref)
        if parts.scheme in ("http", "https", "mailto", "data", "javascript") or ref.startswith("//"):
            continue
        target = urlsplit(urljoin(page_url, ref))
        path = site / unquote(target.path).lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            problems.append(f"{ref}: no such file {path.relative_to(site)}")
        elif target.fragment and path.suffix == ".html":
            anchor = unquote(target.fragment)
            if not re.search(rf'\bid="{re.escape(anchor)}"', _read(path)):
                problems.append(f"{ref}: no element with id {anchor!r} in {path.relative_to(site)}")
    assert problems == [], f"{page}:\n" + "\n".join(problems)


@functools.lru_cache(maxsize=None)
def _read(path: Path) -> str:
    return path.read_text(errors="replace")


# -- launch buttons ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", CHAPTERS)
def test_launch_links_open_this_chapter_from_the_configured_repository(browser, server, page):
    _open(browser, server, page)
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.dropdown-launch-buttons a')).map(a => a.getAttribute('href'))")
    repo = urlsplit(CONFIG["repository"]["url"])
    owner_repo = repo.path.strip("/")
    branch = CONFIG["repository"]["branch"]
    notebook = f"{page}.ipynb"

    binder_base = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
    binder = [h for h in hrefs if h.startswith(binder_base)]
    assert len(binder) == 1, f"{page}: no Binder link among {hrefs}"
    parts = urlsplit(binder[0])
    assert parts.path == f"/v2/gh/{owner_repo}/{branch}", binder[0]
    assert parse_qs(parts.query)["urlpath"] == [f"lab/tree/{notebook}"], binder[0]

    hub_base = CONFIG["launch_buttons"]["jupyterhub_url"].rstrip("/")
    hub = [h for h in hrefs if h.startswith(hub_base)]
    assert len(hub) == 1, f"{page}: no JupyterHub link among {hrefs}"
    parts = urlsplit(hub[0])
    query = parse_qs(parts.query)
    assert parts.path == "/hub/user-redirect/git-pull", hub[0]
    assert query["repo"] == [CONFIG["repository"]["url"]], hub[0]
    assert query["branch"] == [branch], hub[0]
    assert query["urlpath"] == [f"lab/tree/{owner_repo.split('/')[-1]}/{notebook}"], hub[0]
    assert (ROOT / notebook).exists()

    # The in-browser edition, beside the book: the chapter at the root of its files.
    lite = [h for h in hrefs if urlsplit(h).path.endswith(LITE_APP)]
    assert len(lite) == 1, f"{page}: no in-browser link among {hrefs}"
    assert urljoin(urljoin(server, f"{page}.html"), lite[0]) == \
        urljoin(server, f"{LITE_APP}?path={Path(page).name}.ipynb"), lite[0]


def test_the_jupyterlite_button_opens_its_chapter_in_the_browser(browser, site, tmp_path_factory):
    # The book and its in-browser edition served together, as published; lite/ is the offline tests' copy (with
    # stand-ins for Pyodide's CDN packages, see tests/lite_offline.py), so the kernel starts with no network.
    from selenium.webdriver.common.by import By

    from lite_browser import serve, wait_until_open
    from lite_offline import offline_site

    published = tmp_path_factory.mktemp("published")
    for entry in site.iterdir():
        if entry.name != "lite":
            (published / entry.name).symlink_to(entry)
    offline_site(site / "lite", published / "lite")
    page = CHAPTERS[0]
    with serve(published) as base:
        _open(browser, base, page)
        browser.find_element(By.CSS_SELECTOR, ".dropdown-launch-buttons button.dropdown-toggle").click()
        button = browser.find_element(By.CSS_SELECTOR, ".dropdown-launch-buttons a.btn-launch-jupyterlite")
        assert button.is_displayed() and button.text.strip() == "JupyterLite"
        assert "in your browser" in (button.get_attribute("title") or button.get_attribute("data-bs-original-title"))
        _screenshot(browser, page.replace("/", "__") + "--launch-menu")
        browser.get(button.get_attribute("href"))  # the same tab: the link itself opens a new one
        browser.set_script_timeout(180)
        assert wait_until_open(browser, page) == f"{Path(page).name}.ipynb"
        _screenshot(browser, page.replace("/", "__") + "--in-the-browser")


# -- the self-checks -------------------------------------------------------------------------------------------------

def _quiz(page: str) -> dict:
    return yaml.safe_load((ROOT / "book" / "quizzes" / f"{Path(page).name}.yml").read_text())


@pytest.mark.parametrize("page", QUIZ_PAGES)
def test_self_check_answers_each_choice_with_its_explanation(browser, server, page):
    from selenium.webdriver.common.by import By

    _open(browser, server, page)
    questions = _quiz(page)["questions"]
    fieldsets = browser.find_elements(By.CSS_SELECTOR, "#check-your-understanding fieldset.quiz-question")
    assert len(fieldsets) == len(questions), f"{page}: {len(fieldsets)} questions shown, {len(questions)} written"
    for question, fieldset in zip(questions, fieldsets):
        qid = question["id"]
        assert fieldset.get_attribute("id") == f"quiz-{qid}"
        feedback = fieldset.find_element(By.CSS_SELECTOR, ".quiz-feedback")
        assert feedback.get_attribute("aria-live") == "polite"
        inputs = fieldset.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        right = [i for i in inputs if i.get_attribute("data-correct") == "true"]
        wrong = [i for i in inputs if i.get_attribute("data-correct") == "false"]
        assert len(right) == 1 and wrong, f"{page} {qid}: one right answer and at least one wrong one"
        for choice in wrong + right:  # the right answer last, so the page ends in the answered state
            label = fieldset.find_element(By.CSS_SELECTOR, f'label[for="{choice.get_attribute("id")}"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
            label.click()
            assert choice.is_selected()
            why = browser.execute_script(
                "return document.querySelector(`.quiz-why[data-for='${arguments[0]}']`).textContent",
                choice.get_attribute("id")).strip()
            shown = feedback.text
            if choice in right:
                assert shown.startswith("Correct."), f"{page} {qid}: the right answer got {shown!r}"
            else:
                assert shown.startswith("Not quite."), f"{page} {qid}: a wrong answer got {shown!r}"
            assert " ".join(why.split()) in " ".join(shown.split()), f"{page} {qid}: the explanation is missing"
    score = browser.find_element(By.CSS_SELECTOR, ".quiz-score").text
    assert score == f"You answered 0 of {len(questions)} right on the first try.", score
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", fieldsets[0])
    _screenshot(browser, page.replace("/", "__") + "--self-check")
    assert _local_errors(browser, server) == []


CONTRAST = """
function rgb(text) {
  const m = text.match(/rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/);
  return m ? {rgb: [m[1], m[2], m[3]].map(Number), alpha: m[4] === undefined ? 1 : Number(m[4])} : null;
}
function background(el) {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c && c.alpha > 0.5) return c.rgb;
  }
  return [255, 255, 255];
}
function luminance([r, g, b]) {
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
return Array.from(document.querySelectorAll(arguments[0])).map(el => {
  const fg = rgb(getComputedStyle(el).color), bg = background(el);
  if (!fg) return null;
  const [a, b] = [luminance(fg.rgb), luminance(bg)].sort((x, y) => y - x);
  return [el.textContent.trim().slice(0, 40), (a + 0.05) / (b + 0.05)];
}).filter(Boolean);
"""


@pytest.mark.parametrize("page", QUIZ_PAGES)
def test_self_check_text_is_readable(browser, server, page):
    # Text against its own background, at WCAG's AA ratio for normal text (4.5:1): code blocks in a prompt and the
    # choices' labels, as the theme's colours and quiz.css combine them.
    _open(browser, server, page)
    for mode in ("light", "dark"):
        browser.execute_script("document.documentElement.dataset.theme = arguments[0]", mode)
        ratios = browser.execute_script(CONTRAST, ".quiz-prompt, .quiz-prompt pre, .quiz-prompt pre code, "
                                                  ".quiz-choice label")
        low = [(text, round(ratio, 2)) for text, ratio in ratios if ratio < 4.5]
        assert ratios and low == [], f"{page}, {mode} mode: text too faint to read: {low}"
    browser.execute_script("document.getElementById('check-your-understanding').scrollIntoView({block: 'start'})")
    _screenshot(browser, page.replace("/", "__") + "--self-check-dark")
    browser.execute_script("document.documentElement.dataset.theme = 'light'")


@pytest.mark.parametrize("page", QUIZ_PAGES[:1])
def test_self_check_works_from_the_keyboard(browser, server, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, server, page)
    first = browser.find_element(By.CSS_SELECTOR, "fieldset.quiz-question input[type=radio]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", first)
    first.send_keys(Keys.SPACE)
    fieldset = browser.find_element(By.CSS_SELECTOR, "fieldset.quiz-question")
    feedback = fieldset.find_element(By.CSS_SELECTOR, ".quiz-feedback").text
    assert feedback.startswith(("Correct.", "Not quite.")), feedback
    # Arrow keys move to the next choice of the same question, and answer with it.
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    second = fieldset.find_elements(By.CSS_SELECTOR, "input[type=radio]")[1]
    assert second.is_selected()
    assert fieldset.find_element(By.CSS_SELECTOR, ".quiz-feedback").text != ""
    _screenshot(browser, page.replace("/", "__") + "--keyboard")


def test_the_released_exercises_are_all_offered_for_download(browser, server, site):
    _open(browser, server, "book/exercises")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a.download, a.reference.download')).map(a => a.href)")
    offered = sorted(Path(unquote(urlsplit(h).path)).name for h in links)
    released = sorted(p.name for p in (ROOT / "exercises" / "release").glob("*/*.ipynb"))
    assert released and offered == released, f"offered {offered}, released {released}"
    for href in links:
        path = site / unquote(urlsplit(href).path).lstrip("/")
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text, f"{path.name} is not a student version"
