"""The in-browser edition on the book's pages: a launch button on every chapter, and links for the exercises page.

``make book`` builds the in-browser edition (``tools/lite.py``, JupyterLite) beside the book, in ``lite/``: every
chapter and every released exercise, each opened by ``lite/notebooks/index.html?path=<its path in the site>``.

- Every chapter page gets a "JupyterLite" item in the theme's launch menu (the rocket), next to Binder and
  JupyterHub, that opens this chapter in the reader's browser. sphinx-book-theme builds that menu on
  ``html-page-context`` at priority 501; this runs after it and appends to the same group (and makes the group
  when no other launch service is configured).
- The role ``{lite}`text <01-community-protocol.ipynb>``` links to a notebook of
  the in-browser site, relative to the page. A path the site will not serve is a warning, so ``-W`` fails the build.

What the site serves comes from ``tools/lite.py``'s ``contents()``, so the links and the site cannot disagree.
"""

from __future__ import annotations

import importlib.util
import posixpath
from pathlib import Path
from urllib.parse import quote

from docutils import nodes

LAUNCH_GROUP = "launch-buttons"
BUTTON_LABEL = "launch-jupyterlite"  # the theme renders it as the class btn-launch-jupyterlite
BUTTON = {
    "type": "link",
    "text": "JupyterLite",
    "tooltip": "Run this chapter in your browser",
    "icon": "_static/images/logo_jupyterlite.svg",  # shipped by sphinx-book-theme for its own JupyterLite button
    "label": BUTTON_LABEL,
}


def _lite_tool(srcdir: str):
    path = Path(srcdir) / "tools" / "lite.py"
    spec = importlib.util.spec_from_file_location("gated_community_lite_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lite_url(page_depth: int, notebook: str, tool) -> str:
    """The link from a page ``page_depth`` folders below the site's root to ``notebook`` in the in-browser site."""
    app = posixpath.join(tool.SITE_FOLDER, tool.OPEN_NOTEBOOK)
    return "../" * page_depth + app + "?path=" + quote(notebook, safe="/")


def _served_as(app, source: Path) -> str | None:
    """The path under which the in-browser site serves this source notebook, if it does."""
    source = source.resolve()
    for path, served in app.lite_contents.items():
        if served.resolve() == source:
            return path
    return None


def add_launch_button(app, pagename, templatename, context, doctree):
    if doctree is None or "header_buttons" not in context:
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return
    notebook = _served_as(app, source)
    if notebook is None:
        return
    site_app = posixpath.join(app.lite_tool.SITE_FOLDER, app.lite_tool.OPEN_NOTEBOOK)
    button = {**BUTTON, "url": f"{context['pathto'](site_app, 1)}?path={quote(notebook, safe='/')}"}
    header_buttons = context["header_buttons"]
    group = next((b for b in header_buttons if b.get("label") == LAUNCH_GROUP), None)
    if group is None:
        group = {"type": "group", "tooltip": "Launch interactive content", "icon": "fas fa-rocket",
                 "buttons": [], "label": LAUNCH_GROUP}
        header_buttons.insert(0, group)
    group["buttons"].append(button)


def lite_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """{lite}`Open it in your browser <a.ipynb>`, or {lite}`a.ipynb`."""
    from sphinx.util.nodes import split_explicit_title

    env = inliner.document.settings.env
    has_title, title, target = split_explicit_title(text)
    target = target.strip()
    if target not in env.app.lite_contents:
        served = ", ".join(sorted(env.app.lite_contents))
        message = inliner.reporter.warning(
            f"the in-browser site serves no notebook {target!r} (it serves: {served})", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    url = lite_url(env.docname.count("/"), target, env.app.lite_tool)
    node = nodes.reference(rawtext, title if has_title else target, refuri=url, classes=["lite-link"])
    return [node], []


def _load(app):
    # Kept on the application, not the environment: Sphinx pickles the environment, and a module does not pickle.
    app.lite_tool = _lite_tool(app.srcdir)
    app.lite_contents = app.lite_tool.contents()


def setup(app):
    app.connect("builder-inited", _load)
    app.connect("html-page-context", add_launch_button, priority=600)  # after the theme's launch buttons (501)
    app.add_role("lite", lite_role)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
