"""The book's one map of the analogy: the same table in the opening chapter and the glossary, the index's steps named
as the map names them, every chapter closing on where the analogy stops, and none of the names the map replaced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support import ROOT

BOOK = ROOT / "book"
CHAPTERS = sorted(p for p in BOOK.glob("[0-9][0-9]*_*.ipynb") if re.match(r"^\d\d[a-z]?_", p.name))
REFERENCE_PAGES = [BOOK / "glossary.md", BOOK / "cheatsheet.md", BOOK / "index.md"]

# Names the map replaced: each once stood for something the map now calls otherwise (the instance was "the courier"
# in one chapter and the house in the next; a task was a "resident application"; the execution role had two names;
# a badge "expired when the job was done" though credentials are limited by time alone).
DRIFT = [
    r"launching the courier", r"the courier collects", r"courier gets a new one",
    r"different courier company", r"resident application", r"movers'", r"when the job is done",
    r"once the job is done", r"`bays/\*`|\"bays/\*\"", r"role/delivery-role",
]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _map_rows(text: str, where: str) -> list[tuple[str, str, str]]:
    """The rows of the table under the '## The map' heading."""
    match = re.search(r"^## The map\n(.*?)(?=^#|^```|\Z)", text, re.S | re.M)
    assert match, f"{where}: no '## The map' section"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
    assert rows and rows[0].replace(" ", "") == "|Step|Inthegatedcommunity|InAWS|", f"{where}: {rows[:1]}"
    return [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows[2:]]


def test_the_opening_chapter_and_the_glossary_hold_the_same_map():
    chapter = _map_rows(_markdown(BOOK / "01_gated_community.ipynb"), "chapter 1")
    glossary = _map_rows(_markdown(BOOK / "glossary.md"), "glossary")
    assert chapter == glossary
    community = [row[1] for row in chapter]
    assert len(community) == len(set(community)), "a name of the estate appears twice in the map"
    # The map decides what the instance is (the house), who FedEx is (a service principal) and what a task is.
    by_name = {row[1]: row[2] for row in chapter}
    assert "EC2 instance" in by_name["A house in the estate; a depot when it works for the head office"]
    assert "`ec2.amazonaws.com`" in by_name["FedEx, vouching for its couriers"]
    assert by_name["A business set up in the house"] == "An ECS task"
    assert "task execution role" in by_name["The removal van's pass"]
    assert "expire" in by_name["The badge, valid for a limited time"]


def test_the_index_names_each_step_as_the_map_does():
    community = [row[1] for row in _map_rows(_markdown(BOOK / "01_gated_community.ipynb"), "chapter 1")]
    steps = [line for line in (BOOK / "index.md").read_text(encoding="utf-8").splitlines()
             if re.match(r"^\| \d \|", line)]
    assert len(steps) == 7
    for line in steps:
        name = re.split(r"[:,]", line.split("|")[2].strip())[0]
        assert any(cell.startswith(name) for cell in community), f"index step {name!r} is not in the map"


@pytest.mark.parametrize("path", CHAPTERS + REFERENCE_PAGES + sorted((BOOK / "quizzes").glob("*.yml")),
                         ids=lambda p: p.name)
def test_no_page_uses_a_name_the_map_replaced(path):
    text = _markdown(path)
    found = [pattern for pattern in DRIFT if re.search(pattern, text, re.I)]
    assert found == [], f"{path.name} still says {found}"


def test_the_reference_pages_name_only_roles_the_chapters_create():
    chapter_code = "\n".join("".join(c["source"]) for path in CHAPTERS for c in _cells(path) if c["cell_type"] == "code")
    for page in REFERENCE_PAGES:
        for role in set(re.findall(r"arn:aws:iam::\d{12}:role/([A-Za-z0-9+=,.@_-]+)", page.read_text("utf-8"))):
            assert role in chapter_code, f"{page.name} names the role {role}, which no chapter creates"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_ends_by_saying_where_the_analogy_stops(path):
    last = _cells(path)[-1]
    assert last["cell_type"] == "markdown"
    text = "".join(last["source"])
    assert text.startswith("## Where the analogy stops\n\n")
    assert 200 < len(text) < 900, "keep the note short, and say something"
