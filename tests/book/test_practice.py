"""Practice in every chapter: each chapter of the table of contents asks the reader to do something, with a solution
folded away, and in each chapter at least one solution is code that ran there, saved with the outputs it produced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from site_build import ROOT, toc_chapters

EXERCISE = re.compile(r"^:::\{exercise\}\n:label: ([\w-]+)\n", re.M)
SOLUTION = re.compile(r"^:::\{solution(-start)?\} ([\w-]+)\n((?::\w+:.*\n)*)", re.M)
SOLUTION_END = re.compile(r"^:::\{solution-end\}", re.M)


def _cells(chapter: str) -> list[dict]:
    return json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]


def practice(cells: list[dict]) -> dict:
    """The exercises of one chapter, each with its solutions: `folded` (shown as a dropdown) and, for a solution
    written between `solution-start` and `solution-end`, the code cells it encloses."""
    exercises: dict[str, dict] = {}
    solutions: list[dict] = []
    live: dict | None = None
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if live is not None:
                live["code"].append(cell)
            continue
        for match in EXERCISE.finditer(text):
            exercises[match.group(1)] = {"solutions": []}
        for match in SOLUTION.finditer(text):
            solution = {"label": match.group(2), "folded": ":class: dropdown" in match.group(3),
                        "gated": bool(match.group(1)), "code": [], "closed": not match.group(1)}
            solutions.append(solution)
            if solution["gated"]:
                live = solution
        if live is not None and SOLUTION_END.search(text):
            live["closed"] = True
            live = None
    for solution in solutions:
        if solution["label"] in exercises:
            exercises[solution["label"]]["solutions"].append(solution)
    return {"exercises": exercises, "solutions": solutions}


def test_practice_reads_exercises_and_their_solutions():
    def md(text):
        return {"cell_type": "markdown", "source": text}

    def code(outputs):
        return {"cell_type": "code", "source": "print(1)", "outputs": outputs}

    found = practice([
        md(":::{exercise}\n:label: ex-a\n\nDo it.\n:::\n\n:::{solution-start} ex-a\n:class: dropdown\n:::\n"),
        code([{"output_type": "stream", "name": "stdout", "text": "1\n"}]),
        md("Because.\n\n:::{solution-end}\n:::\n"),
        md(":::{exercise}\n:label: ex-b\n\nAgain.\n:::\n\n:::{solution} ex-b\n\n```python\nx\n```\n:::\n"),
        code([]),
        md(":::{exercise}\n:label: ex-c\n\nNo answer.\n:::\n"),
    ])
    assert sorted(found["exercises"]) == ["ex-a", "ex-b", "ex-c"]
    a, b = found["exercises"]["ex-a"]["solutions"][0], found["exercises"]["ex-b"]["solutions"][0]
    assert a["folded"] and a["gated"] and a["closed"] and len(a["code"]) == 1
    assert not b["folded"] and not b["gated"] and b["code"] == []
    assert found["exercises"]["ex-c"]["solutions"] == []


@pytest.mark.parametrize("chapter", toc_chapters())
def test_every_chapter_has_an_exercise_with_a_folded_solution(chapter):
    found = practice(_cells(chapter))
    answered = [label for label, exercise in found["exercises"].items()
                if any(s["folded"] for s in exercise["solutions"])]
    assert answered, (f"{chapter}: no try-it exercise with a folded solution; add an `exercise` directive and a "
                      f"`solution` (or `solution-start` ... `solution-end`) with `:class: dropdown`")


def ran_live(solution: dict) -> bool:
    """A solution the reader sees run: folded, written between `solution-start` and `solution-end`, and enclosing
    code cells each saved with an output and none with an error."""
    return (solution["folded"] and solution["gated"] and solution["closed"] and bool(solution["code"])
            and all(cell.get("outputs") and not any(o.get("output_type") == "error" for o in cell["outputs"])
                    for cell in solution["code"]))


def test_a_solution_runs_live_only_when_its_code_ran_cleanly():
    def gated(*outputs, folded=True, closed=True):
        cells = [{"cell_type": "code", "source": "x", "outputs": list(output)} for output in outputs]
        return {"label": "ex-a", "folded": folded, "gated": True, "closed": closed, "code": cells}

    printed = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    failed = {"output_type": "error", "ename": "ClientError", "evalue": "AccessDenied", "traceback": []}
    assert ran_live(gated([printed], [printed]))
    assert not ran_live(gated())  # no code cell at all
    assert not ran_live(gated([printed], []))  # one cell never executed
    assert not ran_live(gated([printed, failed]))
    assert not ran_live(gated([printed], folded=False))
    assert not ran_live(gated([printed], closed=False))
    static = {"label": "ex-a", "folded": True, "gated": False, "closed": True, "code": []}
    assert not ran_live(static)


@pytest.mark.parametrize("chapter", toc_chapters())
def test_every_chapter_has_an_exercise_whose_solution_runs_live(chapter):
    found = practice(_cells(chapter))
    live = [label for label, exercise in found["exercises"].items() if any(map(ran_live, exercise["solutions"]))]
    assert live, (f"{chapter}: no exercise has a solution the reader sees run; write one as a markdown cell "
                  f"`:::{{solution-start}} LABEL` with `:class: dropdown`, the solution's code cells, then a markdown "
                  f"cell `:::{{solution-end}}`, and re-execute the chapter with tools/chapters.py")


@pytest.mark.parametrize("chapter", toc_chapters())
def test_a_runnable_solution_was_run_and_saved_with_its_outputs(chapter):
    for solution in practice(_cells(chapter))["solutions"]:
        if not solution["gated"]:
            continue
        where = f"{chapter}: solution to {solution['label']}"
        assert solution["closed"], f"{where} has no `solution-end`"
        assert solution["code"], f"{where} encloses no code cell"
        for cell in solution["code"]:
            outputs = cell.get("outputs", [])
            assert outputs, f"{where}: cell {cell.get('id')} has no saved output; re-execute with tools/chapters.py"
            assert not [o for o in outputs if o.get("output_type") == "error"], f"{where}: cell {cell.get('id')} fails"


def test_every_exercise_label_is_unique_in_the_book():
    labels = [label for chapter in toc_chapters() for label in practice(_cells(chapter))["exercises"]]
    assert len(labels) == len(set(labels)), sorted(label for label in labels if labels.count(label) > 1)


def test_every_solution_names_an_exercise_of_its_own_chapter():
    for chapter in toc_chapters():
        found = practice(_cells(chapter))
        orphans = [s["label"] for s in found["solutions"] if s["label"] not in found["exercises"]]
        assert orphans == [], f"{chapter}: solutions to exercises it does not have: {orphans}"
