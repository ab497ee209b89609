"""The site builds from a clean checkout, with warnings as errors, and has an executed page for every chapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_build import ROOT, built_site as build_site_once, toc_files


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
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path.relative_to(built_site)} contains {marker}"
