"""Notebook preprocessors the pipeline adds to nbgrader's own, one job each (nbgrader's style).

* ``LimitOutputSize`` cuts text outputs by characters (nbgrader's LimitOutput counts lines, so one enormous line
  passes it) and drops oversized rich outputs;
* ``Replay`` stands in for ``Execute`` when the parent records a submission a worker already executed: it copies the
  worker's outputs into the notebook, so that nbgrader's own ``SaveAutoGrades`` writes the course's gradebook, one
  submission at a time;
* ``NotGraded`` stands in for ``Execute`` when a submission could not be executed (it ran past the per-notebook
  limit, or its kernel died): every test cell gets an error output that says why, so the score is zero and the
  feedback explains it;
* ``HideHiddenTests`` keeps hidden tests and solutions out of feedback; the regions their markers delimit are found
  by a scanner that is linear in a cell's length (``markers``, ``regions``), whatever a learner puts in it;
* ``SanitizeMarkup`` disarms a learner's markup (scripts, event handlers, ``javascript:`` links, JavaScript
  outputs) before a notebook reaches a reader's browser, and ``clean_html`` is the filter nbconvert sanitises with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

NOTE = "grader-note"


class LimitOutputSize(NbGraderPreprocessor):
    """Cut every text output to ``max_chars`` characters, saying so, and drop rich outputs larger than that."""

    max_chars = Integer(20000, help="The most characters of output one cell keeps.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_chars
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                text = output.get("text", "")
                if len(text) > budget:
                    output.text = text[:max(budget, 0)] + (f"\n... [output cut: the cell printed {len(text):,} "
                                                           f"characters, {self.max_chars:,} are kept]\n")
                budget -= len(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                size = sum(len(str(v)) for v in data.values())
                if size > self.max_chars:
                    output.data = {"text/plain": f"[output dropped: {size:,} characters]"}
                budget -= min(size, self.max_chars)
            elif output.output_type == "error":
                output.evalue = str(output.get("evalue", ""))[:self.max_chars]
            kept.append(output)
        cell.outputs = kept
        return cell, resources


class Replay(NbGraderPreprocessor):
    """Copy the outputs of the worker's executed notebook (in ``executed_dir``) into this one, cell by cell."""

    executed_dir = Unicode("", help="Where the worker wrote its autograded notebooks.").tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        executed = nbformat.read(Path(self.executed_dir) / f"{name}.ipynb", as_version=4)
        if len(executed.cells) != len(nb.cells) or any(
                a.get("metadata", {}).get("nbgrader", {}).get("grade_id") !=
                b.get("metadata", {}).get("nbgrader", {}).get("grade_id") for a, b in zip(executed.cells, nb.cells)):
            raise RuntimeError(f"The executed copy of {name} does not match its sanitized version; grade it again.")
        for target, done in zip(nb.cells, executed.cells):
            if target.cell_type == "code":
                target.outputs = done.get("outputs", [])
                target.execution_count = done.get("execution_count")
        return nb, resources


class NotGraded(NbGraderPreprocessor):
    """Mark a notebook that could not be executed: a note at the top, and an error in every test cell."""

    reason = Unicode("", help="Why the notebook was not executed, for the learner and the instructor.").tag(config=True)

    def preprocess(self, nb, resources):
        note = nbformat.v4.new_markdown_cell(f"**This notebook was not graded.** {self.reason}", id=NOTE)
        nb.cells.insert(0, note)
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                cell.outputs = [nbformat.v4.new_output("error", ename="NotGraded", evalue=self.reason,
                                                       traceback=[f"NotGraded: {self.reason}"])]
        return nb, resources


HIDDEN_NOTE = "# (hidden tests ran here: what they found is in the output below)"
SECRET_NOTE = "[hidden]"

# Solution and hidden-test regions are found by one scan of the text, never by a backtracking pattern: a learner
# controls the text (an answer cell, an output), and a cell of 20,000 unmatched markers must cost 20,000 steps, not
# 20,000 squared. On well-formed cells the results are those of nbgrader's markers as the patterns read them:
#   marker  ``###`` then any whitespace then ``BEGIN`` or ``END``, one space, ``SOLUTION`` or ``HIDDEN TESTS``;
#   region  a BEGIN marker, the rest of its line, then everything up to the first END marker of the same kind.
_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    begin: bool
    kind: str  # "SOLUTION" or "HIDDEN TESTS"


@dataclass(frozen=True)
class Region:
    start: int  # the BEGIN marker
    end: int  # just after the END marker
    kind: str
    body_start: int  # the line after the BEGIN marker's
    body_end: int  # the END marker


def markers(text: str) -> list[Marker]:
    """Every marker in ``text``, in order; they never overlap. Linear: each ``###`` is looked at once, and each run
    of whitespace only by the ``###`` just before it."""
    found = []
    at = text.find("###")
    while at != -1:
        after = _SPACE.match(text, at + 3).end()
        for word in _WORDS:
            if text.startswith(word, after):
                begin, kind = word.split(" ", 1)
                found.append(Marker(at, after + len(word), begin == "BEGIN", kind))
                break
        at = text.find("###", at + 1)
    return found


def _pair(text: str, found: list[Marker], kinds=("SOLUTION", "HIDDEN TESTS"), whole_line: bool = True):
    """(BEGIN, END) pairs as a leftmost, non-overlapping, first-END-wins search finds them.

    With ``whole_line``, a region's body starts on the line after its BEGIN marker (a BEGIN with no line after it
    opens nothing); otherwise right after the marker. Every pointer only moves forward: linear in ``found``.
    """
    ends = {kind: [m for m in found if not m.begin and m.kind == kind] for kind in kinds}
    next_end = dict.fromkeys(kinds, 0)
    newline = -2  # the first newline at or after the last position asked about; -1: there is none
    resume = 0
    for marker in found:
        if not marker.begin or marker.kind not in kinds or marker.start < resume:
            continue
        body = marker.end
        if whole_line:
            if newline == -1:
                continue
            if newline < marker.end:
                newline = text.find("\n", marker.end)
                if newline == -1:
                    continue
            body = newline + 1
        candidates, i = ends[marker.kind], next_end[marker.kind]
        while i < len(candidates) and candidates[i].start < body:
            i += 1
        next_end[marker.kind] = i
        if i == len(candidates):
            continue  # unmatched: so is every later BEGIN of this kind, but each costs one step
        end = candidates[i]
        resume = end.end
        yield marker, end, body


def regions(text: str) -> list[Region]:
    """The solution and hidden-test regions of a cell (see ``markers`` for the rules)."""
    return [Region(begin.start, end.end, begin.kind, body, end.start)
            for begin, end, body in _pair(text, markers(text))]


def _replace(text: str, spans, replacement: str) -> str:
    """``text`` with each of the (start, end) spans, in order and disjoint, replaced."""
    parts, at = [], 0
    for start, end in spans:
        parts.append(text[at:start])
        parts.append(replacement)
        at = end
    parts.append(text[at:])
    return "".join(parts)


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """Each hidden-test region of a test cell, from the spaces before its BEGIN marker to the spaces after its END."""
    spans, floor = [], 0
    for begin, end, _ in _pair(text, markers(text), kinds=("HIDDEN TESTS",), whole_line=False):
        start = begin.start
        while start > floor and text[start - 1] in " \t":
            start -= 1
        stop = end.end
        while stop < len(text) and text[stop] in " \t":
            stop += 1
        spans.append((start, stop))
        floor = stop
    return spans


def without_secrets(text: str) -> str:
    """Every region, and then every marker left outside one, replaced by ``[hidden]``."""
    found = markers(text)
    spans = [(begin.start, end.end) for begin, end, _ in _pair(text, found)]
    inside, keep = iter(spans), []
    current = next(inside, None)
    for marker in found:  # both lists are in order: one pass
        while current is not None and current[1] <= marker.start:
            keep.append(current)
            current = next(inside, None)
        if current is not None and current[0] <= marker.start < current[1]:
            continue
        keep.append((marker.start, marker.end))
    if current is not None:
        keep.append(current)
    keep.extend(inside)
    return _replace(text, keep, SECRET_NOTE)


def secrets(source: nbformat.NotebookNode) -> tuple[set, set]:
    """(hidden-test lines, solution lines) of a source notebook: long enough to tell, and found nowhere else in it."""
    found = {"HIDDEN TESTS": set(), "SOLUTION": set()}
    outside = set()
    for cell in source.cells:
        text = cell.source
        spans = regions(text)
        for region in spans:
            found[region.kind].update(line.strip() for line in text[region.body_start:region.body_end].splitlines())
        outside.update(line.strip() for line in _replace(text, [(r.start, r.end) for r in spans], "").splitlines())
    telling = lambda lines: {line for line in lines - outside if len(line) >= 12 and not line.startswith("#")}
    return telling(found["HIDDEN TESTS"]), telling(found["SOLUTION"])


def _forms(line: str) -> list[str]:
    """A line as it can appear in an output: printed, inside a repr, inside JSON."""
    return sorted({line, repr(line)[1:-1], json.dumps(line)[1:-1]}, key=len, reverse=True)


def _scrub(text: str, lines, regions: bool = False) -> str:
    if regions:  # a whole region printed as it stands, then any marker left of one printed otherwise
        text = without_secrets(text)
    for line in lines:
        for form in _forms(line):
            if form in text:
                text = text.replace(form, SECRET_NOTE)
    return text


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback never shows a hidden test's source, nor the solution, whatever the notebook printed.

    In a test cell that held hidden tests, the hidden region is replaced by a note, and every error keeps only its
    name and message (the check's feedback), never the traceback, whose frames quote the cell's lines. Then every
    line of a hidden test (``hidden``) is cut out of every cell and output, and every line of the solution
    (``solutions``) out of every output, unless the learner wrote that very line in an answer cell: a notebook that
    echoes its own input history or the files it can read shows ``[hidden]`` where a secret stood. This catches
    plain echoes; that hidden tests never reach the learner's kernel is what keeps them from a determined one.
    """

    hidden = List(Unicode(), help="Lines of the hidden tests, never shown.").tag(config=True)
    solutions = List(Unicode(), help="Lines of the solutions, never shown unless the learner wrote them.").tag(
        config=True)

    def preprocess(self, nb, resources):
        own = {line.strip() for cell in nb.cells if utils.is_solution(cell) for line in cell.source.splitlines()}
        self._in_outputs = sorted(set(self.hidden) | (set(self.solutions) - own), key=len, reverse=True)
        self._in_sources = sorted(self.hidden, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        spans = hidden_spans(cell.source)
        if spans:
            cell.source = _replace(cell.source, spans, HIDDEN_NOTE)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        cell.source = _scrub(cell.source, self._in_sources)
        for output in cell.get("outputs", []):
            for key in ("text", "evalue"):
                if isinstance(output.get(key), str):
                    output[key] = _scrub(output[key], self._in_outputs, regions=True)
            if isinstance(output.get("traceback"), list):
                output.traceback = [_scrub(str(line), self._in_outputs, regions=True) for line in output.traceback]
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output.data[mime] = _scrub(value, self._in_outputs, regions=True)
                elif isinstance(value, list):
                    output.data[mime] = [_scrub(str(v), self._in_outputs, regions=True) for v in value]
        return cell, resources


# -- no script in a reader's browser --------------------------------------------------------------------------------
#
# A learner's notebook reaches browsers that are not the learner's: the instructor's, in nbgrader's formgrader (which
# renders the autograded notebook), and whoever opens a feedback page. Markup in it must not run there. Two layers:
# ``SanitizeMarkup`` disarms the notebook itself, and ``clean_html`` is the filter nbconvert applies when it renders
# with ``HTMLExporter.sanitize_html`` (nbconvert's own filter escapes even headings and paragraphs; this one keeps the
# markup a notebook needs and drops what can run: scripts, event handlers, ``javascript:`` links, frames, forms).

SAFE_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"})
_SAFE_ATTRIBUTES = {"*": {"class", "id", "title"}, "a": {"href"}, "img": {"src", "alt", "width", "height"},
                    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
                    "ol": {"start"}, "col": {"span"}, "colgroup": {"span"}}
_IMAGES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
SAFE_MIMETYPES = frozenset({"text/plain", "text/latex", "application/json", "image/png", "image/jpeg", "image/gif"})
SCRIPT_NOTE = "[removed: this output could have run a script in a reader's browser]"
MARKDOWN_NOTE = ("**[Shown as text: this cell held markup that could run a script in a reader's browser.]** "
                 "Its source, as the learner wrote it:")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _SAFE_ATTRIBUTES.get(tag, set()) | _SAFE_ATTRIBUTES["*"]:
        return False
    if name in ("href", "src"):
        scheme = _scheme(value)
        if name == "src" and scheme == "data":
            return _normalised(value).startswith(_IMAGES)
        return scheme in (None, "http", "https", "mailto")
    return True


def _normalised(value: str) -> str:
    """A URL as a browser reads its scheme: entities decoded, backslashes, blanks and controls gone, lower case."""
    import html

    text = html.unescape(value).replace("\\", "")
    return "".join(ch for ch in text if ch > " " and not ch.isspace() and not "\x7f" <= ch <= "\xa0").lower()


def _scheme(value: str):
    text = _normalised(value)
    head = text.split(":", 1)
    if len(head) == 1 or any(ch in head[0] for ch in "/?#"):
        return None  # relative, or an anchor
    return head[0]


def clean_html(html) -> str:
    """nbconvert's ``clean_html`` filter, with the markup a notebook needs kept (headings, paragraphs, tables,
    images) and everything that can run removed: the filter ``HTMLExporter.filters`` puts in nbconvert's place."""
    import bleach

    text = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(text, tags=SAFE_TAGS, attributes=_allowed_attribute,
                        protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)


# In an SVG image these run or load something whatever their attributes say.
_SVG_ACTIVE = frozenset({"script", "foreignobject", "iframe", "frame", "object", "embed", "handler", "listener",
                         "animate", "animatemotion", "animatetransform", "set", "discard"})
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "poster", "background", "values", "from",
                             "to", "by"})


def _active(markup: str, svg: bool = False) -> bool:
    """Whether a browser could run something in this markup: parsed as browsers parse it (html5lib), then, in HTML,
    any element or attribute that ``clean_html`` would not keep; in SVG, any element that runs or loads something;
    in both, any event handler (``on...``) and any URL that is not http, https, mailto or an inline image."""
    from bleach import html5lib_shim

    if "<" not in markup:
        return False
    tree = html5lib_shim.HTMLParser(namespaceHTMLElements=False).parseFragment(markup)
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue  # a comment, or the fragment itself: inert
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in _SVG_ACTIVE or not svg and tag not in SAFE_TAGS:
            return True
        for name, value in element.attrib.items():
            local = str(name).rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return True
            if local in _URL_ATTRIBUTES and _scheme(str(value)) not in (None, "http", "https", "mailto") and not (
                    _normalised(str(value)).startswith(_IMAGES)):
                return True
            if not svg and not _allowed_attribute(tag, local, str(value)):
                return True
    return False


def _markdown_active(source: str) -> bool:
    """Markdown that could run something once rendered: rendered as nbconvert renders it (so that code blocks are
    code, and a link is a link however its address is spelt), then checked as HTML (``_active``). Markdown with no
    ``<`` and no ``...script:`` anywhere cannot, and is not rendered."""
    if "<" not in source and (":" not in source or "script:" not in _normalised(source)):
        return False
    from nbconvert.filters import markdown2html

    return _active(markdown2html(source))


def _fenced(text: str) -> str:
    """``text`` as a fenced code block no line of it can close: a renderer shows it literally, every character."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


class SanitizeMarkup(NbGraderPreprocessor):
    """No markup of a learner's runs in a reader's browser (the instructor's formgrader, a feedback page).

    * markdown cells: one whose markup could run something (``<script>``, an ``onerror=``, a ``javascript:`` link)
      is shown as text, in a fenced block under a note that says why; any other is left exactly as it is;
      attachments other than plain images are dropped;
    * raw cells: their HTML is cleaned;
    * outputs of code cells: only inert types are kept (text, LaTeX, JSON, PNG, JPEG, GIF); ``text/html`` is cleaned
      (``clean_html``); ``text/markdown`` and ``image/svg+xml`` that could run something are dropped;
      ``application/javascript`` and every other type are dropped. An output left with nothing to show says so.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            if _markdown_active(cell.source):
                cell.source = MARKDOWN_NOTE + "\n\n" + _fenced(cell.source)
            attachments = cell.get("attachments")
            if isinstance(attachments, dict):
                for name, bundle in list(attachments.items()):
                    kept = {k: v for k, v in (bundle or {}).items() if k in ("image/png", "image/jpeg", "image/gif")}
                    if kept:
                        attachments[name] = kept
                    else:
                        del attachments[name]
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result"):
                    self._disarm(output)
        return cell, resources

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)  # widget state: a page renders it with scripts
        return super().preprocess(nb, resources)

    @staticmethod
    def _disarm(output) -> None:
        data = output.get("data") or {}
        kept = {}
        for mime, value in data.items():
            text = "".join(value) if isinstance(value, list) else value
            if mime in SAFE_MIMETYPES:
                kept[mime] = value
            elif mime == "text/html" and isinstance(text, str):
                kept[mime] = clean_html(text)
            elif mime == "text/markdown" and isinstance(text, str) and not _markdown_active(text):
                kept[mime] = value
            elif mime == "image/svg+xml" and isinstance(text, str) and not _active(text, svg=True):
                kept[mime] = value
        if len(kept) < len(data):  # say so where every page shows it: in the plain text
            plain = kept.get("text/plain", "")
            plain = "".join(plain) if isinstance(plain, list) else str(plain)
            kept["text/plain"] = SCRIPT_NOTE + ("\n" + plain if plain else "")
        output["data"] = kept
        metadata = output.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("filenames", None)  # a path nbconvert would put in an <img src>
