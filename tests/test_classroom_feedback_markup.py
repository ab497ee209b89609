"""No markup of a learner runs in a reader's browser: ``SanitizeMarkup`` disarms a notebook (the autograded notebook
formgrader shows the instructor), and ``clean_html`` is the filter nbconvert renders feedback and formgrader pages
with. Each payload carries a tag ``XSS-...``; a page is safe when no tag is in anything a browser runs."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from bleach import html5lib_shim

from grader.classroom.preprocessors import MARKDOWN_NOTE, SCRIPT_NOTE, SanitizeMarkup, clean_html

ROOT = Path(__file__).resolve().parents[1]
A = "01-community-protocol"

PAYLOADS = {
    "markdown": "\n\n".join([
        "# Part 1, as I understood it",
        "<script>alert('XSS-markdown-1')</script>",
        "<img src=x onerror=\"alert('XSS-markdown-2')\">",
        "[a link](javascript:alert('XSS-markdown-3'))",
        "[spelt otherwise](&#106;avascript:alert('XSS-markdown-4'))",
        "<a href=\"JaVaScRiPt:alert('XSS-markdown-5')\">x</a>",
        "<iframe src=\"javascript:alert('XSS-markdown-6')\"></iframe>",
        "<svg onload=\"alert('XSS-markdown-7')\"></svg>",
    ]),
    "html": ("<b>mine</b><img src=x onerror=\"alert('XSS-html-1')\"><script>alert('XSS-html-2')</script>"
             "<a href=\"javascript:alert('XSS-html-3')\">x</a><form action=\"javascript:alert('XSS-html-4')\">"
             "<button>go</button></form><style>body{background:url('javascript:alert(\"XSS-html-5\")')}</style>"),
    "javascript": "alert('XSS-js-1')",
    "markdown-output": "[m](javascript:alert('XSS-md-1')) <img src=y onerror=\"alert('XSS-md-2')\">",
    "svg": ("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert('XSS-svg-1')\">"
            "<script>alert('XSS-svg-2')</script></svg>"),
}
_URLS = ("href", "src", "action", "formaction", "data", "xlink:href")


def active(html: str) -> list[str]:
    """What a browser would run in ``html``: script bodies, event handlers, and script URLs (parsed as a browser
    parses it, with html5lib)."""
    found = []
    tree = html5lib_shim.HTMLParser(namespaceHTMLElements=False).parse(html)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in ("script", "iframe", "object", "embed", "style") or tag == "svg" and element.text:
            found.append("".join(element.itertext()))
        for name, value in element.attrib.items():
            local = str(name).rsplit("}", 1)[-1].lower()
            flat = "".join(str(value).split()).lower().replace("&#106;", "j")
            if local.startswith("on") or local in _URLS and flat.startswith(("javascript:", "vbscript:")):
                found.append(f"{local}={value}")
    return found


def hostile_notebook() -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(PAYLOADS["markdown"]))
    answer = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    answer.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": PAYLOADS["html"], "text/plain": "<HTML>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": PAYLOADS["javascript"],
                                                     "text/plain": "<Javascript>"}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": PAYLOADS["markdown-output"]},
                               execution_count=1),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": PAYLOADS["svg"]},
                               metadata={"filenames": {"image/png": "javascript:alert('XSS-meta-1')"}}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>plain text is shown as text</script>\n"),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nb


def render(nb, sanitize: bool) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="classic", sanitize_html=sanitize,
                            filters={"clean_html": "grader.classroom.preprocessors.clean_html"})
    return exporter.from_notebook_node(nb)[0]


def disarm(nb):
    return SanitizeMarkup().preprocess(nb, {})[0]


def test_the_payloads_would_run_if_nothing_disarmed_them():
    found = " ".join(active(render(hostile_notebook(), sanitize=False)))
    for tag in ("XSS-markdown-1", "XSS-markdown-2", "XSS-markdown-3", "XSS-html-1", "XSS-html-2", "XSS-js-1"):
        assert tag in found


def test_a_disarmed_notebook_runs_nothing_even_where_it_is_rendered_unsanitised():
    nb = disarm(hostile_notebook())
    assert not [f for f in active(render(nb, sanitize=False)) if "XSS" in f]
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    assert "application/javascript" not in text and "widget-state" not in text and "XSS-meta-1" not in text


def test_what_was_disarmed_is_said_and_shown_as_text():
    nb = disarm(hostile_notebook())
    markdown = nb.cells[1].source
    assert markdown.startswith(MARKDOWN_NOTE) and PAYLOADS["markdown"] in markdown  # inside a fenced block
    outputs = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")).outputs
    assert outputs[0].data["text/html"].startswith("<b>mine</b>")  # what cannot run is kept
    assert "&lt;script&gt;" in outputs[0].data["text/html"]
    assert SCRIPT_NOTE in outputs[1].data["text/plain"] and "<Javascript>" in outputs[1].data["text/plain"]
    assert list(outputs[2].data) == ["text/plain"] and list(outputs[3].data) == ["text/plain"]
    assert outputs[4].text == "<script>plain text is shown as text</script>\n"


def test_an_ordinary_notebook_is_left_exactly_as_it_is():
    for name in ("01-community-protocol", "02-delivery-rules", "03-badges", "04-two-layers-capstone"):
        nb = nbformat.read(ROOT / "exercises/source" / name / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [nbformat.v4.new_output("display_data", data={
                    "text/plain": "x", "text/markdown": "**bold**, a [link](https://aws.amazon.com), `a < b`",
                    "image/png": "iVBORw0KGgo="})]
        assert disarm(copy.deepcopy(nb)) == nb, name


@pytest.mark.parametrize("html, kept", [
    ("<h2>Title</h2><p>text <em>and</em> <a href=\"https://aws.amazon.com\">a link</a></p>",
     "<h2>Title</h2><p>text <em>and</em> <a href=\"https://aws.amazon.com\">a link</a></p>"),
    ("<table><tr><th>a</th></tr><tr><td>1</td></tr></table>", "<td>1</td>"),
    ("<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"chart\">", "src=\"data:image/png;base64,iVBORw0KGgo=\""),
])
def test_clean_html_keeps_what_a_notebook_needs(html, kept):
    assert kept in clean_html(html)


def test_clean_html_drops_what_can_run():
    cleaned = clean_html(PAYLOADS["html"] + "<img src=\"data:text/html;base64,PHNjcmlwdD4=\">")
    assert not [f for f in active(f"<html><body>{cleaned}</body></html>") if "XSS" in f]
    assert "data:text/html" not in cleaned and "onerror" not in cleaned


def test_feedback_and_formgrader_render_sanitised_with_this_filter():
    """The course's configuration: nbconvert sanitises, with ``clean_html`` (nbgrader's formgrader reads it too)."""
    from grader.classroom import Course

    config = Course(ROOT / "exercises").config()
    assert config.HTMLExporter.sanitize_html is True
    assert config.HTMLExporter.filters == {"clean_html": "grader.classroom.preprocessors.clean_html"}
    page = render(hostile_notebook(), sanitize=True)
    assert not [f for f in active(page) if "XSS" in f]
    assert "<h1" in page  # headings are still headings
