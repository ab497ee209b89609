"""Balance of the book's self-checks: a reader who guesses by the look of the choices (pick the longest, pick the
shortest, always answer "false") does no better than chance, across all quizzes of the book."""

from __future__ import annotations

import sys

import pytest

from support import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))

import quiz  # noqa: E402

MAX_SHARE_LONGEST = 0.40     # of multiple-choice questions whose right answer is the strictly longest choice
MAX_SHARE_SHORTEST = 0.40    # the same tell the other way round
TRUE_SHARE = (0.35, 0.65)    # of true/false questions whose answer is "true"


def _is_true_false(question: quiz.Question) -> bool:
    return [c.text for c in question.choices] == ["True", "False"]


def _strictly(pick, question: quiz.Question) -> bool:
    lengths = [len(c.text) for c in question.choices]
    target = pick(lengths)
    return len(question.answer.text) == target and lengths.count(target) == 1


def balance(quizzes: dict[str, quiz.Quiz]) -> dict:
    """Counts over all the given quizzes, with the questions behind each count named as `file#id`."""
    choice, true_false = [], []
    for name, parsed in quizzes.items():
        for question in parsed.questions:
            (true_false if _is_true_false(question) else choice).append((f"{name}#{question.id}", question))
    return {
        "choice": len(choice),
        "longest": [name for name, q in choice if _strictly(max, q)],
        "shortest": [name for name, q in choice if _strictly(min, q)],
        "true_false": len(true_false),
        "true": [name for name, q in true_false if q.answer.text == "True"],
    }


def _book_quizzes() -> dict[str, quiz.Quiz]:
    files = sorted((ROOT / "book" / "quizzes").glob("*.yml"))
    assert files, "no quiz files found under book/quizzes"
    return {path.name: quiz.load_quiz(path) for path in files}


def _problems(counts: dict) -> list[str]:
    problems = []
    if counts["choice"]:
        for tell, limit in (("longest", MAX_SHARE_LONGEST), ("shortest", MAX_SHARE_SHORTEST)):
            share = len(counts[tell]) / counts["choice"]
            if share > limit:
                problems.append(
                    f"the right answer is the {tell} choice in {len(counts[tell])} of {counts['choice']} "
                    f"multiple-choice questions ({share:.0%}, at most {limit:.0%} allowed); rebalance some of: "
                    + ", ".join(counts[tell]))
    if counts["true_false"]:
        share = len(counts["true"]) / counts["true_false"]
        low, high = TRUE_SHARE
        if not low <= share <= high:
            problems.append(
                f"{len(counts['true'])} of {counts['true_false']} true/false answers are 'true' ({share:.0%}); keep "
                f"between {low:.0%} and {high:.0%} by turning some statements around")
    return problems


def test_the_books_self_checks_cannot_be_passed_by_the_look_of_the_answers():
    counts = balance(_book_quizzes())
    assert counts["choice"] >= 20 and counts["true_false"] >= 8, counts
    assert _problems(counts) == []


def _choice(qid: str, right: str, *wrong: str) -> dict:
    return {"id": qid, "prompt": "Which?",
            "choices": [{"text": right, "correct": True, "why": "because"}]
            + [{"text": text, "why": "because"} for text in wrong]}


def _true_false(qid: str, answer: bool) -> dict:
    return {"id": qid, "kind": "true-false", "prompt": "Is it?", "answer": answer, "why_true": "a", "why_false": "b"}


def _parsed(*questions: dict) -> dict[str, quiz.Quiz]:
    import yaml
    return {"t.yml": quiz.parse_quiz(yaml.safe_dump({"questions": list(questions)}), source="t.yml")}


def test_a_quiz_whose_right_answers_are_the_longest_is_caught_and_its_questions_named():
    counts = balance(_parsed(
        _choice("a", "the full and careful answer", "short", "brief"),
        _choice("b", "the full and careful answer", "short", "brief"),
        _choice("c", "tie one", "tie two", "x"),          # a tie is no tell
        _true_false("d", True), _true_false("e", False),
    ))
    assert counts["longest"] == ["t.yml#a", "t.yml#b"]
    [problem] = _problems(counts)
    assert "longest choice in 2 of 3" in problem and "t.yml#a, t.yml#b" in problem


def test_always_false_true_false_questions_are_caught():
    counts = balance(_parsed(*(_true_false(f"q{n}", n == 0) for n in range(5))))
    assert counts["true"] == ["t.yml#q0"]
    [problem] = _problems(counts)
    assert "1 of 5 true/false answers are 'true' (20%)" in problem


@pytest.mark.parametrize("answers, ok", [((True, False), True), ((True, True, True), False)])
def test_too_many_true_answers_are_caught_too(answers, ok):
    counts = balance(_parsed(*(_true_false(f"q{n}", a) for n, a in enumerate(answers))))
    assert (_problems(counts) == []) is ok
