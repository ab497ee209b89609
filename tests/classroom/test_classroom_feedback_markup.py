"""No markup of a learner runs in a reader's browser: ``SanitizeMarkup`` disarms a notebook (the autograded notebook
formgrader shows the instructor), and ``clean_html`` is the filter nbconvert renders feedback and formgrader pages
with. Each payload carries a tag ``XSS-...``; a page is safe when no tag is in anything a browser runs."""

from __future__ import annotations

import copy

import nbformat
import pytest

from grader.classroom.preprocessors import MARKDOWN_NOTE, SCRIPT_NOTE, SanitizeMarkup, clean_html
from support import ROOT, XSS_PAYLOADS, what_runs

A = "01-community-protocol"


def hostile_notebook() -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(XSS_PAYLOADS["markdown"]))
    answer = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    answer.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": XSS_PAYLOADS["html"], "text/plain": "<HTML>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": XSS_PAYLOADS["javascript"],
                                                     "text/plain": "<Javascript>"}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": XSS_PAYLOADS["markdown-output"]},
                               execution_count=1),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": XSS_PAYLOADS["svg"]},
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
    found = " ".join(what_runs(render(hostile_notebook(), sanitize=False)))
    for tag in ("XSS-markdown-1", "XSS-markdown-2", "XSS-markdown-3", "XSS-html-1", "XSS-html-2", "XSS-js-1"):
        assert tag in found


def test_a_disarmed_notebook_runs_nothing_even_where_it_is_rendered_unsanitised():
    nb = disarm(hostile_notebook())
    assert not [f for f in what_runs(render(nb, sanitize=False)) if "XSS" in f]
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    assert "application/javascript" not in text and "widget-state" not in text and "XSS-meta-1" not in text


def test_what_was_disarmed_is_said_and_shown_as_text():
    nb = disarm(hostile_notebook())
    markdown = nb.cells[1].source
    assert markdown.startswith(MARKDOWN_NOTE) and XSS_PAYLOADS["markdown"] in markdown  # inside a fenced block
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
    cleaned = clean_html(XSS_PAYLOADS["html"] + "<img src=\"data:text/html;base64,PHNjcmlwdD4=\">")
    assert not [f for f in what_runs(f"<html><body>{cleaned}</body></html>") if "XSS" in f]
    assert "data:text/html" not in cleaned and "onerror" not in cleaned


def test_feedback_and_formgrader_render_sanitised_with_this_filter():
    """The course's configuration: nbconvert sanitises, with ``clean_html`` (nbgrader's formgrader reads it too)."""
    from grader.classroom import Course

    config = Course(ROOT / "exercises").config()
    assert config.HTMLExporter.sanitize_html is True
    assert config.HTMLExporter.filters == {"clean_html": "grader.classroom.preprocessors.clean_html"}
    page = render(hostile_notebook(), sanitize=True)
    assert not [f for f in what_runs(page) if "XSS" in f]
    assert "<h1" in page  # headings are still headings
