"""The class's diagnoses: what each submission got wrong, part by part, recorded as a documented, versioned JSON file.

``autograde`` writes ``diagnoses/<assignment>.json`` in the course directory, next to nbgrader's gradebook, as each
submission is recorded; ``report`` reads it. An importer for another grading platform (Gradescope's results, GitHub
Classroom's) writes the same file, with its own ``source``, and the report reads it the same way.

The format, version 1::

    {
      "format": "gated-community-diagnoses",
      "version": 1,
      "assignment": "01-community-protocol",
      "source": "nbgrader",                 # who graded: "nbgrader", or a platform's importer ("gradescope", ...)
      "parts": [                            # in the assignment's order
        {"id": "protocol-1", "title": "A badge only delivery vans may wear (EC2 only)", "points": 2.0}
      ],
      "submissions": [
        {
          "student": "s-3f9a1c2b7d",        # a pseudonym, stable for the course: never the learner's id
          "graded": true,                   # false: the pipeline could not grade it (zero), "problem" says why
          "problem": null,
          "repairs": 0,                     # cells the pipeline put back in their released shape before grading
          "parts": {
            "protocol-1": {
              "points": 1.0, "max_points": 2.0,   # the grade, as the gradebook holds it
              "complete": true,                   # false: the check stopped (something was not in the account)
              "findings": [                       # one per failed aspect (grader.checks.diagnoses.Finding)
                {"part": "protocol-1", "aspect": "protocol-1#2", "key": "protocol-1#2:also-trusts:...",
                 "kind": "also-trusts:...", "diagnosis": "...", "hidden": true,
                 "decisions": [{"principal", "action", "resource", "outcome", "reason", "statements",
                                "not_applied"}],
                 "statements": [{"policy": "trust policy of role DeliveryRole", "index": 0,
                                 "statement": "{...the statement as the account stores it...}"}]}
              ]
            }
          }
        }
      ]
    }

Findings group by ``key`` (the aspect and the kind of mistake; ``kind`` "missing" means not answered). A reader
accepts any version up to its own and ignores fields it does not know; a later version that changes a field's meaning
raises the version. Pseudonyms are a keyed hash of the learner's id with a salt kept in the course
(``diagnoses/.salt``, readable by the instructor only), so they stay the same across batches and the report can put
names back when the instructor asks (``report --names``); the learner's id is also taken out of every text recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from grader.classroom.course import Course, UserError

FORMAT = "gated-community-diagnoses"
VERSION = 1
FOLDER = "diagnoses"


# -- pseudonyms ------------------------------------------------------------------------------------------------------

def _salt(course: Course) -> bytes:
    file = course.folder(FOLDER, ".salt")
    if not file.is_file():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(16))
    return file.read_text().strip().encode()


def pseudonym(course: Course, student: str) -> str:
    """The learner's stable pseudonym in this course: ``s-`` and ten hex digits of a keyed hash of their id."""
    return "s-" + hmac.new(_salt(course), student.encode(), hashlib.sha256).hexdigest()[:10]


def names(course: Course) -> dict:
    """Pseudonym to the learner's id, for every student in the gradebook (``report --names``)."""
    return {pseudonym(course, s): s for s in course.students()}


# -- the file, as data -------------------------------------------------------------------------------------------

@dataclass
class Submission:
    student: str
    graded: bool
    problem: Optional[str]
    repairs: int
    parts: dict  # part id -> {"points", "max_points", "complete", "findings"}

    def points(self, part: str) -> float:
        return float((self.parts.get(part) or {}).get("points") or 0.0)

    def findings(self, part: str) -> list:
        return list((self.parts.get(part) or {}).get("findings") or [])


@dataclass
class ClassRecord:
    assignment: str
    source: str
    parts: list  # [{"id", "title", "points"}]
    submissions: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "assignment": self.assignment, "source": self.source,
                "parts": self.parts,
                "submissions": [{"student": s.student, "graded": s.graded, "problem": s.problem,
                                 "repairs": s.repairs, "parts": s.parts} for s in self.submissions]}


class FormatError(UserError):
    """A diagnoses file this reader cannot read: the message says which file and what is wrong."""


def path(course: Course, assignment: str) -> Path:
    return course.folder(FOLDER, f"{assignment}.json")


def load(file: Path) -> ClassRecord:
    """Read a diagnoses file (any version up to ``VERSION``); :class:`FormatError` says what is wrong with it."""
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"There is no diagnoses file {file}.") from None
    except (OSError, ValueError) as error:
        raise FormatError(f"{file} is not a JSON file this report can read ({error}).") from None
    return parse(data, str(file))


def parse(data: Any, where: str = "the diagnoses") -> ClassRecord:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise FormatError(f"{where}: {what} (see grader/classroom/diagnoses.py for the format).")

    need(isinstance(data, dict) and data.get("format") == FORMAT, f"not a {FORMAT!r} file")
    version = data.get("version")
    need(isinstance(version, int) and 1 <= version, "no version number")
    need(version <= VERSION, f"written in version {version} of the format; this reader knows up to {VERSION}: "
                             "update the course's engine")
    need(isinstance(data.get("assignment"), str) and data["assignment"], "no assignment")
    parts = data.get("parts")
    need(isinstance(parts, list) and all(isinstance(p, dict) and isinstance(p.get("id"), str) for p in parts),
         "parts must be a list of {id, title, points}")
    submissions = []
    for index, s in enumerate(data.get("submissions") or []):
        need(isinstance(s, dict) and isinstance(s.get("student"), str), f"submission #{index} has no student")
        need(isinstance(s.get("parts", {}), dict), f"submission #{index}: parts must be an object")
        submissions.append(Submission(s["student"], bool(s.get("graded", True)), s.get("problem"),
                                      int(s.get("repairs") or 0), dict(s.get("parts") or {})))
    return ClassRecord(data["assignment"], str(data.get("source") or "unknown"),
                       [{"id": p["id"], "title": str(p.get("title") or p["id"]),
                         "points": float(p.get("points") or 0)} for p in parts], submissions)


def save(file: Path, record: ClassRecord) -> None:
    """Write the whole file at once (a reader never sees half of it)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    part.write_text(json.dumps(record.as_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(part, file)


# -- what autograde records ------------------------------------------------------------------------------------

TEST_PREFIX = "test-"  # a part's autograder test cell is named test-<part> (exercises/notebooks.py)


def _parts(course: Course, assignment: str) -> list:
    from grader.checks import PARTS, load_all

    load_all()
    with course.gradebook() as gb:
        cells = [c for notebook in gb.find_assignment(assignment).notebooks for c in notebook.grade_cells
                 if c.name.startswith(TEST_PREFIX)]
        listed = [(c.name[len(TEST_PREFIX):], float(c.max_score)) for c in cells]
    order = list(PARTS)
    listed.sort(key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[0]))
    return [{"id": id, "title": PARTS[id].title if id in PARTS else id, "points": points} for id, points in listed]


def _scores(course: Course, assignment: str, student: str) -> dict:
    """Each part's points as the gradebook holds them: ``{part: (points, max_points)}``."""
    from nbgrader.api import MissingEntry

    out = {}
    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.name.startswith(TEST_PREFIX):
                    out[grade.name[len(TEST_PREFIX):]] = (float(grade.score or 0), float(grade.max_score or 0))
    return out


def _scrub(value: Any, student: str) -> Any:
    """The learner's id taken out of every text of a finding (a Sid or a role named after them, say)."""
    if isinstance(value, str):
        return value.replace(student, "<student>") if len(student) >= 3 else value
    if isinstance(value, list):
        return [_scrub(v, student) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, student) for k, v in value.items()}
    return value


def record_submission(course: Course, assignment: str, student: str, judged: dict, problem: Optional[str],
                      repairs: int) -> None:
    """Record one submission's diagnoses: ``judged`` is what the worker's judge found, per test cell
    (``grader.classroom.judge.findings``); the points are the gradebook's."""
    file = path(course, assignment)
    try:
        record = load(file) if file.exists() else None
    except FormatError:
        record = None  # an unreadable file is rewritten from this batch on
    parts = _parts(course, assignment)
    if record is None or record.assignment != assignment:
        record = ClassRecord(assignment, "nbgrader", parts)
    record.parts = parts
    found = {}
    for results in (judged or {}).values():
        for result in results:
            found[result["part"]] = result
    scores = _scores(course, assignment, student)
    entry = {}
    for part in parts:
        points, max_points = scores.get(part["id"], (0.0, part["points"]))
        result = found.get(part["id"]) or {}
        entry[part["id"]] = {"points": points, "max_points": max_points,
                             "complete": bool(result.get("complete", problem is None)),
                             "findings": _scrub(list(result.get("findings") or []), student)}
    key = pseudonym(course, student)
    submission = Submission(key, problem is None, _scrub(problem, student) if problem else None, repairs, entry)
    record.submissions = [s for s in record.submissions if s.student != key] + [submission]
    record.submissions.sort(key=lambda s: s.student)
    save(file, record)
