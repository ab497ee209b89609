"""collect: bring a folder or zip of submitted notebooks into nbgrader's ``submitted/<student>/<assignment>/``.

Accepted layouts (in a folder, or in a zip, possibly inside one enclosing folder as zipping a folder makes):

* ``<student>.ipynb``: one notebook per student, named by the student's id;
* ``<student>/<assignment>.ipynb``: one folder per student, as nbgrader's own exchange delivers them;
* ``<prefix>-<student>/<assignment>.ipynb`` where the folder is a git repository: GitHub Classroom's student
  repositories as ``gh classroom clone student-repos`` lays them out (the roster's ids are the students' GitHub
  names); only the assignment's notebooks at the repository's top are collected, the rest of it is theirs.

Students must be on the roster (``students.csv`` in the course directory, or ``--roster FILE``: a CSV with a column
``id``, and optionally ``first_name``, ``last_name``, ``email``). Nothing is copied unless everything checks out,
and a submission that was already collected is replaced only with ``replace=True``, after a copy of it is kept in
``submitted/.replaced/``. A file named like a notebook that Jupyter cannot open is the student's submission all the
same: it is collected, named in the summary, and autograde records it as not graded, with the reason.

Only real files and folders are collected: a symbolic link (say, to the course's own solution notebook) or a
special file (a named pipe, a device, a socket) anywhere in what is collected stops ``collect`` before anything is
copied, and the message names each one; a zip is refused the same way for an entry that is a link.

Each submission is stamped (``timestamp.txt``) with the time it was handed in, which nbgrader's gradebook compares
with the due date: the time nbgrader's exchange wrote beside it (``<student>/<assignment>/timestamp.txt``) when there
is one, otherwise the time it was collected.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import nbformat

from grader.classroom.course import Course, UserError, printable

IGNORED = {".DS_Store", "Thumbs.db", "__MACOSX", ".ipynb_checkpoints"}


@dataclass
class Collected:
    assignment: str
    students: list = field(default_factory=list)
    replaced: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.assignment}: collected {len(self.students)} submission(s) into submitted/"
        if self.replaced:
            text += f"; replaced {len(self.replaced)} (the earlier copies are in submitted/.replaced/)"
        if self.unreadable:
            text += (f"\n{len(self.unreadable)} of them cannot be graded as they are (autograde will list them as "
                     "not graded): ask for the notebook itself, then collect it again with --replace.\n" +
                     "\n".join(f"  - {line}" for line in self.unreadable))
        return text


ROSTER_COLUMNS = ("first_name", "last_name", "email", "sis_user_id", "sis_login_id", "section", "lms_id")
"""A roster's columns besides ``id``, all optional: the student's name and e-mail, and how the LMS knows them (Canvas's
SIS User ID, SIS Login ID, section and its own numeric id), for the gradebook file an LMS imports."""
NBGRADER_COLUMNS = ("first_name", "last_name", "email")
"""The ones nbgrader's gradebook keeps for a student; the LMS's ids stay in the roster."""


def read_roster(course: Course, roster: Optional[Path] = None) -> dict[str, dict]:
    path = Path(roster) if roster else course.root / "students.csv"
    if not path.is_file():
        raise UserError(f"There is no roster at {path}. Write a CSV with a header line 'id,first_name,last_name,email' "
                        "and one student per line, or pass --roster FILE.")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "id" not in rows[0]:
        raise UserError(f"The roster {path} needs a header line with a column 'id' (and optionally first_name, "
                        "last_name, email), then one student per line.")
    students = {}
    for number, row in enumerate(rows, start=2):
        sid = (row.get("id") or "").strip()
        if not sid:
            raise UserError(f"Line {number} of the roster {path} has no student id.")
        students[sid] = {k: (row.get(k) or "").strip() or None for k in ROSTER_COLUMNS}
    return students


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
MOST_NAMED = 20


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_files(folder: Path) -> list[str]:
    """Every entry under ``folder`` that is not a regular file or a folder, as ``path: what it is``; nothing is
    followed, so a link to a folder is named, never entered."""
    found = []
    for top, folders, files in os.walk(folder, followlinks=False, onerror=lambda error: found.append(
            f"{Path(error.filename).relative_to(folder) if error.filename else folder}: cannot be read "
            f"({error.strerror})")):
        for name in sorted(folders) + sorted(files):
            entry = Path(top, name)
            mode = entry.lstat().st_mode
            if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                continue
            what = _kind(mode)
            if stat.S_ISLNK(mode):
                what += f" (to {os.readlink(entry)})"
            found.append(printable(f"{entry.relative_to(folder)}: {what}"))
        folders[:] = [f for f in folders if stat.S_ISDIR(Path(top, f).lstat().st_mode)]
    return found


def _refuse_links(where: str, found: list[str]) -> None:
    if not found:
        return
    named = found[:MOST_NAMED] + ([f"... and {len(found) - MOST_NAMED} more"] if len(found) > MOST_NAMED else [])
    raise UserError(f"Nothing was collected from {where}: only notebooks and folders are collected, and it holds "
                    f"{len(found)} link(s) or special file(s):\n" + "\n".join(f"  - {line}" for line in named) +
                    "\nA link could point at any file (the course's own solution, another student's notebook). "
                    "Replace each with the file the student handed in (ask them for it), or remove it, then "
                    "collect again.")


def _unpack(path: Path, scratch: Path, students: dict) -> Path:
    if path.is_dir():
        _refuse_links(str(path), _not_files(path))
        return path
    if not path.exists():
        raise UserError(f"There is no file or folder {path}: give the folder or the zip of submitted notebooks.")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is neither a folder nor a zip file. Give the folder of submitted notebooks, or a "
                        "zip of it.")
    try:
        with zipfile.ZipFile(path) as archive:
            links = []
            for info in archive.infolist():
                member = info.filename
                target = (scratch / member).resolve()
                if not str(target).startswith(str(scratch.resolve())):
                    raise UserError(f"The zip {path} has an entry that points outside it ({member!r}); it was not "
                                    "unpacked. Make a new zip of the submissions folder.")
                mode = info.external_attr >> 16
                if info.create_system == 3 and mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    links.append(printable(f"{member}: {_kind(mode)}"))  # a zip made on Unix records links as such
            _refuse_links(f"the zip {path}", links)
            archive.extractall(scratch)
    except zipfile.BadZipFile as error:
        raise UserError(f"The zip {path} cannot be read ({error}). Make a new zip of the submissions folder.") from None
    entries = [p for p in scratch.iterdir() if p.name not in IGNORED]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name not in students:
        return entries[0]  # the enclosing folder zipping "submissions/" makes
    return scratch


def _is_repository(entry: Path) -> bool:
    return entry.is_dir() and ((entry / ".git").exists() or (entry / ".github").is_dir())


def _repository_owner(entry: Path, students: dict) -> Optional[str]:
    """The student whose GitHub Classroom repository ``entry`` is (``<prefix>-<github name>``), or None."""
    if entry.name in students:
        return entry.name
    owners = [sid for sid in students if entry.name.endswith(f"-{sid}")]
    return max(owners, key=len) if owners else None


def _find(folder: Path, assignment: str, notebooks: list[str], students: Optional[dict] = None) -> tuple[dict, list]:
    """Map student -> {notebook name: path}, and list what does not fit a layout."""
    found: dict[str, dict] = {}
    unexpected = []
    for entry in sorted(folder.iterdir()):
        if entry.name in IGNORED or entry.name.startswith("."):
            continue
        if _is_repository(entry):
            owner = _repository_owner(entry, students or {})
            if owner is None:
                unexpected.append((entry, "a repository whose name ends with no roster id (GitHub Classroom names "
                                          "them <prefix>-<github name>; the roster's ids are the GitHub names)"))
                continue
            for name in notebooks:
                if (entry / f"{name}.ipynb").is_file():
                    found.setdefault(owner, {})[name] = entry / f"{name}.ipynb"
            if owner not in found:
                expected = " or ".join(f"{n}.ipynb" for n in notebooks)
                unexpected.append((entry, f"the repository of {owner} has no {expected} at its top"))
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            if len(notebooks) != 1:
                unexpected.append((entry, f"this assignment has several notebooks ({', '.join(notebooks)}): use "
                                          "the layout <student>/<notebook>.ipynb"))
                continue
            found.setdefault(entry.stem, {})[notebooks[0]] = entry
        elif entry.is_dir():
            for item in sorted(entry.iterdir()):
                if item.name in IGNORED or item.name.startswith("."):
                    continue
                if item.is_file() and item.suffix == ".ipynb" and item.stem in notebooks:
                    found.setdefault(entry.name, {})[item.stem] = item
                elif item.is_dir() and item.name == assignment:
                    for inner in sorted(item.glob("*.ipynb")):
                        if inner.stem in notebooks:
                            found.setdefault(entry.name, {})[inner.stem] = inner
                        else:
                            unexpected.append((inner, f"the assignment has no notebook {inner.name}"))
                else:
                    expected = " or ".join(f"{n}.ipynb" for n in notebooks)
                    unexpected.append((item, f"a student's folder should hold {expected}"))
        else:
            unexpected.append((entry, "only notebooks (.ipynb) and student folders are collected"))
    return found, unexpected


def _copy(source: Path, target: Path) -> None:
    """Copy a regular file, never what a link that replaced it since the check points at."""
    try:
        descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise UserError(f"{source} cannot be read ({error.strerror}): it was replaced while it was collected. "
                        "Collect again, with --replace for the submissions already collected.") from None
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UserError(f"{source} stopped being a regular file while it was collected: collect again.")
        with open(target, "wb") as out:
            shutil.copyfileobj(handle, out)


def _handed_in(file: Path) -> Optional[_dt.datetime]:
    """When nbgrader's exchange says the student submitted (``<student>/<assignment>/timestamp.txt``), if it says."""
    if not file.is_file():
        return None
    from nbgrader.utils import parse_utc

    text = file.read_text().strip()
    try:
        return parse_utc(text).replace(tzinfo=_dt.timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"{file.parent.parent.name}/{file.parent.name}/timestamp.txt holds {text[:40]!r}, which is not "
                         "a time nbgrader can read (for example 2030-01-31 17:00:00.000000 UTC): fix or delete it.") \
            from None


def collect(course: Course, assignment: str, path: Path, roster: Optional[Path] = None,
            replace: bool = False) -> Collected:
    course.require_assignment(assignment)
    students = read_roster(course, roster)
    notebooks = course.notebook_names(assignment)
    with tempfile.TemporaryDirectory(prefix="collect-") as scratch:
        folder = _unpack(Path(path), Path(scratch), students)
        found, unexpected = _find(folder, assignment, notebooks, students)
        problems = [f"{entry.relative_to(folder)}: {why}" for entry, why in unexpected]
        unknown = sorted(set(found) - set(students))
        if unknown:
            problems.append(f"not on the roster: {', '.join(unknown)}. Add them to the roster "
                            f"({roster or course.root / 'students.csv'}) or rename their notebooks to a roster id.")
        handed_in = {}
        for student in found:
            try:
                handed_in[student] = _handed_in(folder / student / assignment / "timestamp.txt")
            except ValueError as error:
                problems.append(str(error))
        existing = [s for s in found if course.folder("submitted", s, assignment).exists()]
        if existing and not replace:
            problems.append(f"already collected for {', '.join(sorted(existing))}: nothing was replaced. Pass "
                            "--replace to replace them (the earlier copies are kept in submitted/.replaced/).")
        if problems:
            raise UserError(f"Nothing was collected from {path}, because:\n" +
                            "\n".join(f"  - {p}" for p in problems) +
                            "\nAccepted layouts: <student>.ipynb, <student>/<notebook>.ipynb, or GitHub Classroom's "
                            "repositories (<prefix>-<student>/<notebook>.ipynb).")
        if not found:
            raise UserError(f"There are no submissions in {path}. Accepted layouts: <student>.ipynb, or "
                            "<student>/<notebook>.ipynb.")
        result = Collected(assignment)
        for student, files in sorted(found.items()):
            for name, file in files.items():
                try:
                    nbformat.read(file, as_version=4)
                except Exception as error:  # the student's file as it is: autograde records it as not graded
                    result.unreadable.append(f"{student}: {file.relative_to(folder)} is not a notebook Jupyter can "
                                             f"open ({type(error).__name__}: {printable(str(error)[:120])})")
        stamp = _dt.datetime.now(_dt.timezone.utc)
        with course.gradebook() as gb:
            for student in sorted(found):
                gb.update_or_create_student(student, **{k: v for k, v in students[student].items()
                                                         if v and k in NBGRADER_COLUMNS})
        for student, files in sorted(found.items()):
            target = course.folder("submitted", student, assignment)
            if target.exists():
                keep = course.folder("submitted", ".replaced", stamp.strftime("%Y%m%dT%H%M%S%f"), student)
                keep.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(target), str(keep))
                result.replaced.append(student)
            target.mkdir(parents=True)
            for name, file in files.items():
                _copy(file, target / f"{name}.ipynb")
            when = handed_in.get(student) or stamp
            (target / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f %Z") + "\n")
            result.students.append(student)
    return result
