"""The site builds from a clean checkout, with warnings as errors, and has an executed page for every chapter."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from site_build import ROOT, built_site as build_site_once, toc_files

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# The in-browser edition's page that opens one notebook, ?path=<the notebook's path in lite/files/>.
OPEN_NOTEBOOK = "lite/notebooks/index.html"


@pytest.fixture(scope="module")
def built_site() -> Path:
    """The site as `make book` builds it, built once per test run (shared with the browser tests; see site_build)."""
    return build_site_once()


@pytest.mark.slow
def test_every_toc_entry_has_a_page(built_site):
    missing = [f for f in toc_files() if not (built_site / f"{f}.html").exists()]
    assert missing == [], f"no page for {missing}"
    assert (built_site / "index.html").exists()


@pytest.mark.slow
def test_chapters_show_their_executed_outputs(built_site):
    for name in toc_files():
        source = ROOT / f"{name}.ipynb"
        if not source.exists():
            continue
        html = (built_site / f"{name}.html").read_text()
        assert "cell_output" in html, f"{name} has no executed output on its page"
        assert "Traceback (most recent call last)" not in html, f"{name} shows a traceback"


@pytest.mark.slow
def test_no_solution_or_hidden_test_reaches_the_site(built_site):
    for page in built_site.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, page


@pytest.mark.slow
def test_no_solution_or_hidden_test_reaches_any_file_of_the_site(built_site):
    # The released exercises are published as downloads: they, too, must hold no solution and no hidden test.
    downloads = list((built_site / "_downloads").rglob("*.ipynb"))
    assert downloads, "the site offers no released exercise for download"
    for path in downloads:
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{path.relative_to(built_site)} contains {marker}"


# -- the in-browser edition (lite/, beside the book) -------------------------------------------------------------------



def _links(page: Path) -> list[tuple[str, str]]:
    """Every link of a built page, as (href, class)."""
    import html.parser

    found = []

    class Links(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "a" and attrs.get("href"):
                found.append((attrs["href"], attrs.get("class") or ""))

    Links().feed(page.read_text())
    return found


def _opened_in_lite(site: Path, page: Path, href: str) -> str:
    """The notebook a link opens in the in-browser site (its ?path=), after checking the link reaches the site's
    notebook page from where the page stands."""
    parts = urlsplit(href)
    assert not parts.scheme and not parts.netloc, f"{href} on {page.name} is not relative to the site"
    target = (page.parent / parts.path).resolve()
    assert target == (site / OPEN_NOTEBOOK).resolve(), f"{href} on {page.name} opens {target}, not {OPEN_NOTEBOOK}"
    assert target.is_file(), f"{target} is missing: the in-browser site was not built"
    (notebook,) = parse_qs(parts.query)["path"]
    return notebook


@pytest.mark.slow
def test_every_chapter_page_opens_itself_in_the_browser_edition(built_site):
    for name in toc_files():
        page = built_site / f"{name}.html"
        buttons = [href for href, classes in _links(page) if "btn-launch-jupyterlite" in classes.split()]
        source = ROOT / f"{name}.ipynb"
        if not source.exists():
            assert buttons == [], f"{name} is not a notebook, yet offers to run in the browser"
            continue
        assert len(buttons) == 1, f"{name} has {len(buttons)} in-browser launch buttons"
        notebook = _opened_in_lite(built_site, page, buttons[0])
        served = built_site / "lite" / "files" / notebook
        assert served.is_file(), f"{name}'s button opens {notebook}, which the in-browser site does not serve"
        assert served.read_bytes() == source.read_bytes(), f"{name}'s button opens {notebook}, not this chapter"
        # The button sits in the theme's launch menu, beside Binder and JupyterHub.
        menu = page.read_text().split('dropdown-launch-buttons', 1)
        assert len(menu) == 2 and "btn-launch-jupyterlite" in menu[1].split("</ul>", 1)[0], \
            f"{name}'s in-browser button is not in the launch menu"


@pytest.mark.slow
def test_the_exercises_page_opens_every_released_exercise_in_the_browser_edition(built_site):
    page = built_site / "book" / "exercises.html"
    opened = sorted(_opened_in_lite(built_site, page, href) for href, _ in _links(page)
                    if urlsplit(href).path.endswith(OPEN_NOTEBOOK))
    released = sorted(p.name for p in (ROOT / "exercises" / "release").glob("*/*.ipynb"))
    # At the site's root, so that the browser downloads each under the name nbgrader collects.
    served = sorted(p.name for p in (built_site / "lite" / "files").glob("*.ipynb") if p.name in released)
    assert released and opened == released == served, f"opened {opened}, released {released}, served {served}"
    for notebook in opened:
        text = (built_site / "lite" / "files" / notebook).read_text()
        assert "raise NotImplementedError()" in text, f"{notebook} in the in-browser site is not a student version"
    assert "File → Download" in page.read_text(), "the exercises page does not say how to hand in from the browser"


@pytest.mark.slow
def test_no_solution_or_hidden_test_reaches_the_browser_edition(built_site):
    # Every notebook the in-browser site serves, and its contents listing, is published as it is.
    served = [p for folder in ("files", "api") for p in (built_site / "lite" / folder).rglob("*") if p.is_file()]
    released = {p.name for p in (ROOT / "exercises" / "release").glob("*/*.ipynb")}
    assert released and released <= {p.name for p in served}, "the in-browser site serves no released exercise"
    for path in served:
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{path.relative_to(built_site)} contains {marker}"
