"""The self-check extension (book/_ext/quiz.py): quiz files are validated with errors that name the file and the
question, every chapter's quiz file is valid, and a small Sphinx project shows how pages get their quizzes."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from support import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import quiz  # noqa: E402

GOOD = """
questions:
  - id: deny-beats-allow
    prompt: |
      The role policy allows `s3:*` and denies `s3:DeleteObject`. May the role delete?
    choices:
      - text: "Yes: `s3:*` covers it"
        why: An explicit Deny wins over any Allow.
      - text: "No"
        correct: true
        why: Explicit Deny beats Allow.
  - id: roles-have-passwords
    kind: true-false
    prompt: A role has a long-term password.
    answer: false
    why_true: Roles have no passwords.
    why_false: Right, a role hands out temporary credentials.
"""


def test_a_good_quiz_parses_into_questions_with_one_right_answer_each():
    parsed = quiz.parse_quiz(GOOD, source="04.yml")
    assert [q.id for q in parsed.questions] == ["deny-beats-allow", "roles-have-passwords"]
    assert parsed.questions[0].answer.text == "No"
    assert [c.text for c in parsed.questions[1].choices] == ["True", "False"]
    assert parsed.questions[1].answer.text == "False"


def _broken(question_yaml: str) -> str:
    return "questions:\n" + textwrap.indent(textwrap.dedent(question_yaml), "  ")


@pytest.mark.parametrize("question, message", [
    ("""\
     - id: no-right-answer
       prompt: Which?
       choices:
         - {text: A, why: because}
         - {text: B, why: because}
     """, r"question 1 \(no-right-answer\): exactly one choice must have 'correct: true' \(found 0\)"),
    ("""\
     - id: two-right
       prompt: Which?
       choices:
         - {text: A, why: because, correct: true}
         - {text: B, why: because, correct: true}
     """, r"question 1 \(two-right\): exactly one choice .* \(found 2\)"),
    ("""\
     - id: no-why
       prompt: Which?
       choices:
         - {text: A, correct: true}
         - {text: B, why: because}
     """, r"question 1 \(no-why\), choice 1: 'why' is missing or empty"),
    ("""\
     - id: one-choice
       prompt: Which?
       choices:
         - {text: A, correct: true, why: because}
     """, r"question 1 \(one-choice\): 'choices' must be a list of at least two"),
    ("""\
     - id: Bad Id
       prompt: Which?
     """, r"question 1 \(Bad Id\): 'id' must be lowercase"),
    ("""\
     - id: typo
       promt: Which?
     """, r"question 1 \(typo\): unknown key\(s\) promt"),
    ("""\
     - id: yes-no
       prompt: Which?
       choices:
         - {text: yes, correct: true, why: because}
         - {text: "no", why: because}
     """, r"question 1 \(yes-no\), choice 1: 'text' was read as the boolean true: quote it"),
    ("""\
     - id: tf
       kind: true-false
       prompt: Roles have passwords.
       answer: "no"
       why_true: a
       why_false: b
     """, r"question 1 \(tf\): 'answer' must be true or false"),
    ("""\
     - id: tf
       kind: true-false
       prompt: Roles have passwords.
       answer: false
       why_true: a
     """, r"question 1 \(tf\): 'why_false' is missing"),
    ("""\
     - id: strange
       kind: essay
       prompt: Write.
     """, r"question 1 \(strange\): 'kind' must be 'choice' or 'true-false'"),
])
def test_a_malformed_question_is_named_with_its_file_and_number(question, message):
    with pytest.raises(quiz.QuizError, match=r"^book/quizzes/09_x\.yml: " + message):
        quiz.parse_quiz(_broken(question), source="book/quizzes/09_x.yml")


def test_the_second_question_is_named_when_it_is_the_broken_one():
    text = GOOD + "  - id: deny-beats-allow\n    prompt: again\n    choices: []\n"
    with pytest.raises(quiz.QuizError, match=r"question 3 \(deny-beats-allow\)"):
        quiz.parse_quiz(text, source="q.yml")
    text = GOOD + "  - id: again\n    prompt: again\n    kind: true-false\n    answer: true\n" \
                  "    why_true: a\n    why_false: b\n  - id: again\n    prompt: x\n    kind: true-false\n" \
                  "    answer: true\n    why_true: a\n    why_false: b\n"
    with pytest.raises(quiz.QuizError, match=r"question 4 \(again\): the id 'again' is used twice"):
        quiz.parse_quiz(text, source="q.yml")


@pytest.mark.parametrize("text, message", [
    ("questions: [", r"^q\.yml: not valid YAML"),
    ("- just a list", r"^q\.yml: a quiz file is a mapping with a 'questions' list"),
    ("questions: []", r"^q\.yml: 'questions' must be a non-empty list"),
    ("title: x\nquestions: []", r"^q\.yml: unknown top-level key\(s\) title"),
])
def test_a_malformed_file_is_named(text, message):
    with pytest.raises(quiz.QuizError, match=message):
        quiz.parse_quiz(text, source="q.yml")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(quiz.QuizError, match=r"nope\.yml: cannot read the quiz file"):
        quiz.load_quiz(tmp_path / "nope.yml")


def test_the_html_has_labelled_radios_a_live_region_and_no_injected_html():
    parsed = quiz.parse_quiz(GOOD + "  - id: html\n    prompt: '<script>alert(1)</script>'\n    choices:\n"
                             "      - {text: '<b>A</b>', correct: true, why: x}\n      - {text: B, why: y}\n")
    page = quiz.render_quiz(parsed, "book/04_x")
    for index in (0, 1):
        assert f'<input type="radio" name="quiz-deny-beats-allow" id="quiz-deny-beats-allow-{index}"' in page
        assert f'<label for="quiz-deny-beats-allow-{index}">' in page
    assert page.count('aria-live="polite"') == 4  # one per question, one for the score
    assert "<code>s3:*</code>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>A</b>" not in page


def test_choices_are_shown_in_a_fixed_shuffled_order_unless_the_author_says_not():
    many = "questions:\n  - id: many\n    prompt: Which?\n    choices:\n" + "".join(
        f"      - {{text: c{i}, why: w{i}{', correct: true' if i == 0 else ''}}}\n" for i in range(8))
    def order(text):
        return re.findall(r'<label for="quiz-many-\d">(c\d)</label>', quiz.render_quiz(quiz.parse_quiz(text), "p"))
    shuffled = order(many)
    assert sorted(shuffled) == [f"c{i}" for i in range(8)] and shuffled != sorted(shuffled)
    assert order(many) == shuffled, "the same page must come out the same on every build"
    kept = many.replace("    prompt: Which?", "    prompt: Which?\n    shuffle: false")
    assert order(kept) == [f"c{i}" for i in range(8)]
    # Each explanation still belongs to its own choice.
    page = quiz.render_quiz(quiz.parse_quiz(many), "p")
    for index, text in enumerate(shuffled):
        assert f'<div class="quiz-why" data-for="quiz-many-{index}" hidden><p>w{text[1:]}</p>' in page


def test_every_quiz_file_in_the_book_is_valid_and_names_a_chapter():
    files = sorted((ROOT / "book" / "quizzes").glob("*.yml"))
    assert files, "no quiz files in book/quizzes"
    for path in files:
        parsed = quiz.load_quiz(path)
        assert re.match(r"^\d\d[a-z]?_", path.stem), f"{path.name}: quiz files are named after a chapter file"
        assert len(parsed.questions) >= 3, f"{path.name}: a self-check has at least three questions"


def test_every_chapter_in_the_toc_has_a_quiz_file():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    chapters = [c for c in chapters if re.match(r"^book/\d\d[a-z]?_", c)]
    missing = [c for c in chapters if not (ROOT / "book" / "quizzes" / f"{Path(c).name}.yml").exists()]
    assert missing == []


# -- the extension inside Sphinx ---------------------------------------------------------------------------------------

def _sphinx_project(tmp_path: Path, quizzes: dict[str, str], pages: list[str]) -> Path:
    src = tmp_path / "src"
    (src / "book" / "quizzes").mkdir(parents=True)
    (src / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
        extensions = ["quiz"]
        exclude_patterns = ["_build"]
        """))
    (src / "index.rst").write_text("Home\n====\n\n.. toctree::\n\n" + "".join(f"   {p}\n" for p in pages))
    for page in pages:
        (src / f"{page}.rst").write_text(f"{page}\n{'=' * len(page)}\n\nSome prose.\n")
    for stem, text in quizzes.items():
        (src / "book" / "quizzes" / f"{stem}.yml").write_text(text)
    return src


def _build(src: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", *extra, str(src), str(src / "_build")],
                          capture_output=True, text=True, timeout=120)


def test_sphinx_appends_the_quiz_to_its_page_and_skips_quizzes_of_pages_not_built(tmp_path):
    src = _sphinx_project(tmp_path, {"01_one": GOOD, "09_later": GOOD}, ["book/01_one"])
    result = _build(src, "-W")
    assert result.returncode == 0, result.stderr
    page = (src / "_build" / "book" / "01_one.html").read_text()
    assert 'id="check-your-understanding"' in page and "Check your understanding" in page
    assert 'id="quiz-deny-beats-allow-1"' in page
    assert "_static/quiz.js" in page and "_static/quiz.css" in page
    assert (src / "_build" / "_static" / "quiz.js").exists()
    assert not (src / "_build" / "book" / "09_later.html").exists()


def test_an_incremental_build_picks_up_a_quiz_added_changed_or_removed(tmp_path):
    src = _sphinx_project(tmp_path, {}, ["book/01_one"])
    page = src / "_build" / "book" / "01_one.html"
    quiz_file = src / "book" / "quizzes" / "01_one.yml"
    assert _build(src).returncode == 0 and "quiz-question" not in page.read_text()
    quiz_file.write_text(GOOD)
    assert _build(src).returncode == 0 and 'id="quiz-deny-beats-allow"' in page.read_text()
    quiz_file.write_text(GOOD.replace("deny-beats-allow", "deny-wins"))
    assert _build(src).returncode == 0 and 'id="quiz-deny-wins"' in page.read_text()
    quiz_file.unlink()
    assert _build(src).returncode == 0 and "quiz-question" not in page.read_text()


def test_sphinx_warns_about_a_chapter_without_a_quiz_and_fails_under_w(tmp_path):
    src = _sphinx_project(tmp_path, {"01_one": GOOD}, ["book/01_one", "book/02_two"])
    result = _build(src, "-W")
    assert result.returncode != 0
    assert "chapter book/02_two has no self-check: add book/quizzes/02_two.yml" in result.stderr


def test_sphinx_warns_about_a_quiz_named_after_no_page_when_a_chapter_has_its_number(tmp_path):
    src = _sphinx_project(tmp_path, {"01_one": GOOD, "02_second": GOOD}, ["book/01_one", "book/02_two"])
    result = _build(src, "-W", "--keep-going")
    assert result.returncode != 0
    assert "quiz file 02_second.yml matches no page, but book/02_two has the same number" in result.stderr


def test_sphinx_reports_a_malformed_quiz_with_file_and_question(tmp_path):
    broken = GOOD.replace("        correct: true\n", "")
    src = _sphinx_project(tmp_path, {"01_one": broken}, ["book/01_one"])
    result = _build(src, "-W")
    assert result.returncode != 0
    assert re.search(r"01_one\.yml: question 1 \(deny-beats-allow\): exactly one choice", result.stderr), result.stderr
