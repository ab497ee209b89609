"""A learner's own record of their self-checks, on their own machine: which mistakes keep coming back.

Every ``check()`` (and every Check button of a ``panel()``) appends one line of JSON to a file in the learner's own
data folder: the part, whether it passed, and for each failed aspect its diagnosis and grouping key (the same keys
as the class report's, ``grader.checks.diagnoses``). ``mistakes()`` reads it back and lists the mistakes made more
than once, across the exercises, most frequent first. Nothing is sent anywhere.

Where the file is: ``$GATED_COMMUNITY_PRACTICE`` if set (a file), else ``$XDG_DATA_HOME/gated-community/
practice.jsonl``, else ``~/.local/share/gated-community/practice.jsonl``: the learner's data folder, never the
course folder they work in. A home folder that cannot be written (read-only, full) means no record, never a
failed check.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

VARIABLE = "GATED_COMMUNITY_PRACTICE"
MISSING = "missing"


def location() -> Path:
    """The record's file (see the module docstring)."""
    chosen = os.environ.get(VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "gated-community" / "practice.jsonl"


def remember(part: Any, result: Any) -> bool:
    """Append one self-check to the record; False (and nothing raised) when it cannot be written."""
    try:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "part": result.part,
                 "assignment": getattr(part, "assignment", ""), "passed": bool(result.passed),
                 "findings": [{"key": f.key, "kind": f.kind, "diagnosis": f.diagnosis}
                              for f in getattr(result, "findings", None) or []]}
        file = location()
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return True
    except Exception:  # a read-only home, a full disk: the learner's check still answers
        return False


def entries(file: Optional[Path] = None) -> list:
    """Every self-check recorded, oldest first; lines that cannot be read are skipped."""
    found = []
    try:
        lines = (file or location()).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("findings"), list):
            found.append(entry)
    return found


@dataclass
class Mistake:
    key: str
    part: str
    diagnosis: str
    times: int  # how many self-checks found it
    fixed: bool  # the part has passed since the last time

    def line(self) -> str:
        state = "since fixed" if self.fixed else "still there at the last check"
        return f"{self.times}x [{self.part}] {self.diagnosis} ({state})"


class Mistakes(list):
    """The recurring mistakes, most frequent first; prints as a short list."""

    def text(self) -> str:
        if not self:
            return "No recurring mistake in your self-checks yet."
        return "\n".join(["Your recurring mistakes (from your own self-checks, kept on this machine):"] +
                         [f"  {m.line()}" for m in self])

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def mistakes(at_least: int = 2, file: Optional[Path] = None) -> Mistakes:
    """The mistakes your self-checks found ``at_least`` times, across every exercise, most frequent first."""
    counts: dict = defaultdict(int)
    text, part_of, last_seen, last_pass = {}, {}, {}, {}
    for index, entry in enumerate(entries(file)):
        part = str(entry.get("part", ""))
        if entry.get("passed"):
            last_pass[part] = index
        for finding in entry["findings"]:
            if not isinstance(finding, dict) or finding.get("kind") == MISSING or not finding.get("key"):
                continue
            key = str(finding["key"])
            counts[key] += 1
            text[key], part_of[key], last_seen[key] = str(finding.get("diagnosis", "")), part, index
    found = [Mistake(k, part_of[k], text[k], n, last_pass.get(part_of[k], -1) > last_seen[k])
             for k, n in counts.items() if n >= at_least]
    found.sort(key=lambda m: (-m.times, m.part, m.key))
    return Mistakes(found)
