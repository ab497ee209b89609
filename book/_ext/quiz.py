"""Kernel-free self-checks: a Sphinx extension that adds a "Check your understanding" section to each chapter page.

The questions live in data files, ``book/quizzes/<chapter-file-stem>.yml``, so the chapter notebooks need no edits.
Each file is validated when the book is read; the page gets real radio inputs with labels and a live feedback region,
and ``_static/quiz.js`` checks the answers in the reader's browser: no kernel, no network.

A quiz file looks like this (prompts and explanations are Markdown; choices are one line of inline Markdown)::

    questions:
      - id: deny-beats-allow              # unique in the file; becomes part of the HTML ids
        prompt: |
          The role policy allows `s3:*` and explicitly denies `s3:DeleteObject`. May the role delete?
        choices:                          # shown in a fixed shuffled order; 'shuffle: false' keeps this one
          - text: "Yes: `s3:*` covers it"
            why: An explicit Deny wins over any Allow, however broad.
          - text: "No"
            correct: true
            why: Explicit Deny beats Allow.
      - id: roles-have-passwords
        kind: true-false
        prompt: A role has a long-term password, like a user.
        answer: false
        why_true: ...
        why_false: ...

Quiz files whose page is not in the table of contents are skipped (a chapter still being written); a chapter in the
table of contents without a quiz file is a warning, so ``--warningiserror`` fails the build.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from docutils import nodes

__all__ = ["QuizError", "Quiz", "Question", "Choice", "load_quiz", "parse_quiz", "render_quiz", "setup"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "_static"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_QUESTION_KEYS = {"id", "kind", "prompt", "choices", "answer", "why_true", "why_false", "shuffle"}
_CHOICE_KEYS = {"text", "correct", "why"}


class QuizError(ValueError):
    """A quiz file that cannot be used, with the file and the question named in the message."""


@dataclass(frozen=True)
class Choice:
    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    choices: tuple[Choice, ...]
    shuffle: bool = True

    @property
    def answer(self) -> Choice:
        return next(c for c in self.choices if c.correct)


@dataclass(frozen=True)
class Quiz:
    source: str
    questions: tuple[Question, ...] = field(default_factory=tuple)


# -- reading and validating ---------------------------------------------------------------------------------------

def load_quiz(path: str | Path) -> Quiz:
    """Read and validate one quiz file; raise QuizError naming the file (and question) on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuizError(f"{path}: cannot read the quiz file ({exc.strerror})") from exc
    return parse_quiz(text, source=str(path))


def parse_quiz(text: str, source: str = "<quiz>") -> Quiz:
    """Validate a quiz file's text and return the quiz."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QuizError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "questions" not in data:
        raise QuizError(f"{source}: a quiz file is a mapping with a 'questions' list")
    unknown = set(data) - {"questions"}
    if unknown:
        raise QuizError(f"{source}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}; "
                        "only 'questions' is allowed")
    raw_questions = data["questions"]
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuizError(f"{source}: 'questions' must be a non-empty list")
    questions: list[Question] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_questions, start=1):
        question = _parse_question(raw, source, number)
        if question.id in seen:
            raise QuizError(f"{source}: question {number} ({question.id}): the id '{question.id}' is used twice")
        seen.add(question.id)
        questions.append(question)
    return Quiz(source=source, questions=tuple(questions))


def _parse_question(raw: object, source: str, number: int) -> Question:
    where = f"{source}: question {number}"
    if not isinstance(raw, dict):
        raise QuizError(f"{where}: a question is a mapping with 'id', 'prompt' and 'choices'")
    qid = raw.get("id")
    if isinstance(qid, str):
        where = f"{where} ({qid})"
    if not isinstance(qid, str) or not _ID.match(qid):
        raise QuizError(f"{where}: 'id' must be lowercase letters, digits and dashes, e.g. 'deny-beats-allow'")
    unknown = set(raw) - _QUESTION_KEYS
    if unknown:
        raise QuizError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    prompt = _text(raw.get("prompt"), f"{where}: 'prompt'")
    kind = raw.get("kind", "choice")
    if kind == "true-false":
        return _parse_true_false(raw, where, qid, prompt)
    if kind != "choice":
        raise QuizError(f"{where}: 'kind' must be 'choice' or 'true-false', not {kind!r}")
    for key in ("answer", "why_true", "why_false"):
        if key in raw:
            raise QuizError(f"{where}: '{key}' belongs to kind: true-false; a choice question marks "
                            "its right choice with 'correct: true'")
    raw_choices = raw.get("choices")
    if not isinstance(raw_choices, list) or len(raw_choices) < 2:
        raise QuizError(f"{where}: 'choices' must be a list of at least two choices")
    choices = tuple(_parse_choice(c, f"{where}, choice {i}") for i, c in enumerate(raw_choices, start=1))
    right = [c for c in choices if c.correct]
    if len(right) != 1:
        raise QuizError(f"{where}: exactly one choice must have 'correct: true' (found {len(right)})")
    texts = [c.text for c in choices]
    if len(set(texts)) != len(texts):
        raise QuizError(f"{where}: two choices have the same text")
    shuffle = raw.get("shuffle", True)
    if not isinstance(shuffle, bool):
        raise QuizError(f"{where}: 'shuffle' must be true or false")
    return Question(id=qid, prompt=prompt, choices=choices, shuffle=shuffle)


def _parse_true_false(raw: dict, where: str, qid: str, prompt: str) -> Question:
    if "choices" in raw:
        raise QuizError(f"{where}: a true-false question has 'answer', 'why_true' and 'why_false', not 'choices'")
    answer = raw.get("answer")
    if not isinstance(answer, bool):
        raise QuizError(f"{where}: 'answer' must be true or false")
    why_true = _text(raw.get("why_true"), f"{where}: 'why_true'")
    why_false = _text(raw.get("why_false"), f"{where}: 'why_false'")
    return Question(id=qid, prompt=prompt, shuffle=False, choices=(
        Choice("True", answer is True, why_true),
        Choice("False", answer is False, why_false),
    ))


def _parse_choice(raw: object, where: str) -> Choice:
    if not isinstance(raw, dict):
        raise QuizError(f"{where}: a choice is a mapping with 'text' and 'why' (and 'correct: true' on the right one)")
    unknown = set(raw) - _CHOICE_KEYS
    if unknown:
        raise QuizError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    text = _text(raw.get("text"), f"{where}: 'text'")
    if "\n" in text.strip():
        raise QuizError(f"{where}: 'text' must be one line (put code blocks in the prompt)")
    correct = raw.get("correct", False)
    if not isinstance(correct, bool):
        raise QuizError(f"{where}: 'correct' must be true or false")
    return Choice(text=text.strip(), correct=correct, why=_text(raw.get("why"), f"{where}: 'why'"))


def _text(value: object, what: str) -> str:
    if isinstance(value, bool):
        raise QuizError(f"{what} was read as the boolean {str(value).lower()}: quote it")
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise QuizError(f"{what} is missing or empty (every answer needs its explanation)")
    return value


# -- HTML ------------------------------------------------------------------------------------------------------------

def _markdown():
    from markdown_it import MarkdownIt

    # Raw HTML in a quiz file is shown as text, never injected into the page.
    return MarkdownIt("commonmark", {"html": False})


def render_quiz(quiz: Quiz, page: str) -> str:
    """The quiz as HTML: a fieldset of labelled radio inputs per question, with a live feedback region.

    Without JavaScript each question still offers its answer in a <details> element.
    """
    md = _markdown()
    slug = re.sub(r"[^a-z0-9-]+", "-", page.lower()).strip("-")
    out = [f'<div class="quiz" data-quiz="{html.escape(slug)}">']
    out.append('<p class="quiz-instructions">Pick an answer: the page tells you at once whether it is right and why. '
               'Nothing is sent anywhere.</p>')
    total = len(quiz.questions)
    for number, question in enumerate(quiz.questions, start=1):
        qid = f"quiz-{question.id}"
        out.append(f'<fieldset class="quiz-question" id="{qid}" data-question="{question.id}" '
                   f'aria-describedby="{qid}-prompt">')
        out.append(f'<legend class="quiz-legend">Question {number} of {total}</legend>')
        out.append(f'<div class="quiz-prompt" id="{qid}-prompt">{md.render(question.prompt)}</div>')
        out.append('<ul class="quiz-choices">')
        choices = list(question.choices)
        if question.shuffle:
            # The right answer should not always sit where the author wrote it; the order is fixed per question,
            # so that the page is the same on every build.
            random.Random(f"{slug}/{question.id}").shuffle(choices)
        for index, choice in enumerate(choices):
            cid = f"{qid}-{index}"
            out.append(
                f'<li class="quiz-choice"><input type="radio" name="{qid}" id="{cid}" value="{index}" '
                f'data-correct="{"true" if choice.correct else "false"}">'
                f'<label for="{cid}">{md.renderInline(choice.text)}</label></li>')
        out.append('</ul>')
        for index, choice in enumerate(choices):
            out.append(f'<div class="quiz-why" data-for="{qid}-{index}" hidden>{md.render(choice.why)}</div>')
        out.append(f'<div class="quiz-feedback" id="{qid}-feedback" role="status" aria-live="polite"></div>')
        answer = question.answer
        out.append(f'<details class="quiz-reveal"><summary>Show the answer</summary>'
                   f'<p class="quiz-reveal-answer"><strong>Answer:</strong> {md.renderInline(answer.text)}</p>'
                   f'{md.render(answer.why)}</details>')
        out.append('</fieldset>')
    out.append(f'<p class="quiz-score" role="status" aria-live="polite" data-total="{total}"></p>')
    out.append('</div>')
    return "\n".join(out)


# -- Sphinx ------------------------------------------------------------------------------------------------------------

class quiz_node(nodes.General, nodes.Element):
    """The rendered quiz; only HTML builders show it."""


def _visit_quiz_html(self, node):
    self.body.append(node["html"])
    raise nodes.SkipNode


def _skip(self, node):
    raise nodes.SkipNode


def setup(app):
    from sphinx.util import logging

    logger = logging.getLogger(__name__)

    app.add_node(quiz_node, html=(_visit_quiz_html, None), latex=(_skip, None), text=(_skip, None),
                 man=(_skip, None), texinfo=(_skip, None))
    app.add_config_value("quiz_dir", "book/quizzes", "env")
    app.add_config_value("quiz_chapter_pattern", r"^book/\d\d[a-z]?_[^/]+$", "env")
    app.add_config_value("quiz_heading", "Check your understanding", "env")

    def quiz_files(app) -> dict[str, Path]:
        """Docname → quiz file: book/quizzes/<stem>.yml belongs to the page book/<stem>."""
        folder = Path(app.srcdir, app.config.quiz_dir)
        pages_dir = Path(app.config.quiz_dir).parent
        return {(pages_dir / path.stem).as_posix(): path for path in sorted(folder.glob("*.yml"))}

    def add_static_path(app, config):
        if str(STATIC_DIR) not in config.html_static_path:
            config.html_static_path.append(str(STATIC_DIR))

    def _quiz_versions(env) -> dict[str, int]:
        if not hasattr(env, "quiz_versions"):
            env.quiz_versions = {}  # docname -> mtime of the quiz file its doctree was read with
        return env.quiz_versions

    def append_quiz(app, doctree):
        docname = app.env.docname
        path = quiz_files(app).get(docname)
        if path is None:
            return
        _quiz_versions(app.env)[docname] = path.stat().st_mtime_ns
        try:
            quiz = load_quiz(path)
        except QuizError as exc:
            logger.warning(str(exc), location=docname, type="quiz", subtype="invalid")
            return
        section = nodes.section(ids=["check-your-understanding"], names=["check your understanding"],
                                classes=["quiz-section"])
        section += nodes.title(text=app.config.quiz_heading)
        section += quiz_node(html=render_quiz(quiz, docname))
        # Inside the page's one top-level section, the quiz is a sub-heading that shows in "On this page".
        tops = [n for n in doctree.children if isinstance(n, nodes.section)]
        (tops[0] if len(tops) == 1 else doctree).append(section)

    def check_every_chapter_has_a_quiz(app, env):
        pattern = re.compile(app.config.quiz_chapter_pattern)
        have = quiz_files(app)
        for docname in sorted(env.found_docs):
            if pattern.match(docname) and docname not in have:
                logger.warning(f"chapter {docname} has no self-check: add {app.config.quiz_dir}/"
                               f"{docname.rsplit('/', 1)[-1]}.yml", location=docname, type="quiz", subtype="missing")
        for docname, path in have.items():
            if docname in env.found_docs:
                continue
            # A quiz for a chapter not written yet is skipped, but one whose name misses its chapter is a mistake.
            number = re.match(r"^(\d\d)[a-z]?_", path.stem)
            namesakes = [d for d in env.found_docs
                         if number and pattern.match(d) and d.rsplit("/", 1)[-1].startswith(number.group(0))]
            if namesakes:
                logger.warning(f"quiz file {path.name} matches no page, but {namesakes[0]} has the same number: "
                               f"rename it to {namesakes[0].rsplit('/', 1)[-1]}.yml", type="quiz", subtype="orphan")
            else:
                logger.info(f"quiz: skipping {path.name}: its page {docname} is not in the table of contents")

    def outdated_by_their_quiz(app, env, added, changed, removed):
        # A page is read again when its quiz file was added, changed or removed since it was last read; otherwise an
        # incremental build would keep showing the old quiz (or none), since the page's own source did not change.
        versions, files = _quiz_versions(env), quiz_files(app)
        stale = []
        for docname in env.all_docs:
            if docname in changed or docname in removed:
                continue
            path = files.get(docname)
            if versions.get(docname) != (path.stat().st_mtime_ns if path else None):
                stale.append(docname)
        return stale

    def purge(app, env, docname):
        _quiz_versions(env).pop(docname, None)

    def merge(app, env, docnames, other):
        theirs = _quiz_versions(other)
        _quiz_versions(env).update({d: theirs[d] for d in docnames if d in theirs})

    app.connect("config-inited", add_static_path)
    app.connect("env-get-outdated", outdated_by_their_quiz)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    # Before Sphinx's own collectors (priority 500), so that the section appears in the page's table of contents.
    app.connect("doctree-read", append_quiz, priority=400)
    app.connect("env-check-consistency", check_every_chapter_has_a_quiz)
    app.add_css_file("quiz.css")
    app.add_js_file("quiz.js", loading_method="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
