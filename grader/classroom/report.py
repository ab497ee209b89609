"""report: what the class misunderstood, one self-contained HTML page per assignment, read before the next lecture.

    python -m grader.classroom report 01-community-protocol [--output DIR] [--names]
    python -m grader.classroom report --all

It reads the class's diagnoses (``grader.classroom.diagnoses``: written by ``autograde``, or by a platform's
importer in the same format) and writes ``report.html`` with, in this order:

- the score distribution;
- per part, its difficulty (the mean share of its points the class earned: 1.0 is easy, 0.0 is hard), its
  discrimination (the correlation of the part's points with the rest of the assignment's, over the graded
  submissions: near 1 the part separates strong students from weak ones, near 0 or below it does not), and how many
  submissions were not graded, repaired, or left the part unanswered;
- the misconception table: each part's failed aspects grouped by diagnosis key (the aspect and the kind of mistake),
  largest first, with how many students and what share of the class each touched, the chapter section that teaches
  it, and one anonymised example: the policy statement as that student's account stored it.

The figures are also written beside the page as PNG and SVG (``scores``, ``parts``, ``misconceptions``). Students
appear as "student 1..n" (in the order of their pseudonyms); ``--names`` shows the gradebook's ids instead.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from grader.checks.diagnoses import MISSING
from grader.checks.sections import section
from grader.classroom.course import Course, UserError
from grader.classroom.diagnoses import ClassRecord, FormatError, load, names as course_names, path as record_path

FIGURES = ("scores", "parts", "misconceptions")


@dataclass
class PartStats:
    id: str
    title: str
    points: float
    difficulty: Optional[float]  # mean share of the points, over graded submissions
    discrimination: Optional[float]  # Pearson correlation of the part with the rest of the assignment
    not_graded: int
    repaired: int
    not_answered: int


@dataclass
class Group:
    part: str
    key: str
    kind: str
    diagnosis: str
    students: list = field(default_factory=list)  # pseudonyms
    example: Optional[dict] = None  # {"student", "diagnosis", "statements"}
    share: float = 0.0

    @property
    def count(self) -> int:
        return len(self.students)

    @property
    def aspect_label(self) -> str:
        return self.key.split(":", 1)[0]


# -- the numbers ---------------------------------------------------------------------------------------------------

def correlation(xs: list, ys: list) -> Optional[float]:
    """Pearson's r; None when either side does not vary (or fewer than three pairs)."""
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def graded(record: ClassRecord) -> list:
    return [s for s in record.submissions if s.graded]


def totals(record: ClassRecord) -> list:
    return [sum(s.points(p["id"]) for p in record.parts) for s in graded(record)]


def part_stats(record: ClassRecord) -> list:
    done = graded(record)
    out = []
    for part in record.parts:
        id = part["id"]
        mine = [s.points(id) for s in done]
        rest = [sum(s.points(p["id"]) for p in record.parts if p["id"] != id) for s in done]
        difficulty = (sum(mine) / len(mine) / part["points"]) if mine and part["points"] else None
        answered = [s for s in done if not any(f.get("kind") == MISSING for f in s.findings(id))]
        out.append(PartStats(id, part["title"], part["points"], difficulty, correlation(mine, rest),
                             sum(1 for s in record.submissions if not s.graded),
                             sum(1 for s in done if s.repairs), len(done) - len(answered)))
    return out


def misconceptions(record: ClassRecord) -> list:
    """The failed aspects of graded submissions grouped by key, largest first; "not answered" is not a
    misconception (the part table counts it)."""
    done = graded(record)
    groups: dict = {}
    order = {p["id"]: i for i, p in enumerate(record.parts)}
    for s in done:
        for part in record.parts:
            for finding in s.findings(part["id"]):
                if finding.get("kind") == MISSING or not finding.get("key"):
                    continue
                group = groups.setdefault(finding["key"], Group(part["id"], finding["key"], finding.get("kind", ""),
                                                                 finding.get("diagnosis", "")))
                if s.student in group.students:
                    continue
                group.students.append(s.student)
                example = {"student": s.student, "diagnosis": finding.get("diagnosis", ""),
                           "statements": [st.get("statement", "") for st in finding.get("statements") or []]}
                # the example shows a statement where one exists; among those, the first pseudonym (stable)
                if group.example is None or (example["statements"] and not group.example["statements"]):
                    group.example = example
    out = sorted(groups.values(), key=lambda g: (-g.count, order.get(g.part, 99), g.key))
    for g in out:
        g.share = g.count / len(done) if done else 0.0
        g.diagnosis = g.example["diagnosis"] if g.example else g.diagnosis
    return out


# -- the figures -----------------------------------------------------------------------------------------------

def _figures(record: ClassRecord, stats: list, groups: list, folder: Path) -> dict:
    """Draw the three figures into ``folder`` as PNG and SVG; return ``{name: png bytes}``."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    drawn = {}
    maximum = sum(p["points"] for p in record.parts)

    fig = Figure(figsize=(6.4, 3.0), dpi=100)
    ax = fig.add_subplot()
    scores = totals(record)
    bins = [x - 0.5 for x in range(int(math.ceil(maximum)) + 2)]
    ax.hist(scores, bins=bins, color="#3b6ea5", edgecolor="white")
    ax.set_xlabel(f"points (out of {maximum:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({len(scores)} graded)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    drawn["scores"] = fig

    fig = Figure(figsize=(6.4, 3.0), dpi=100)
    left, right = fig.subplots(1, 2)
    labels = [s.id for s in stats]
    left.barh(labels, [s.difficulty or 0 for s in stats], color="#3b6ea5")
    left.set_xlim(0, 1)
    left.set_title("Difficulty (mean share)")
    left.invert_yaxis()
    right.barh(labels, [s.discrimination if s.discrimination is not None else 0 for s in stats], color="#c0504d")
    right.set_xlim(-1, 1)
    right.axvline(0, color="#555", linewidth=0.8)
    right.set_title("Discrimination (r with the rest)")
    right.invert_yaxis()
    right.set_yticklabels([])
    fig.tight_layout()
    drawn["parts"] = fig

    fig = Figure(figsize=(9.6, 1.0 + 0.35 * max(1, min(len(groups), 12))), dpi=100)
    ax = fig.add_subplot()
    shown = groups[:12]
    if shown:
        ax.barh([f"{g.aspect_label}: {_short(g.kind)}" for g in shown], [g.count for g in shown], color="#c0504d")
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("students")
    else:
        ax.text(0.5, 0.5, "no misconception recorded", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title("Misconceptions, largest first")
    fig.tight_layout()
    drawn["misconceptions"] = fig

    out = {}
    for name, fig in drawn.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        out[name] = buffer.getvalue()
        (folder / f"{name}.png").write_bytes(out[name])
        fig.savefig(folder / f"{name}.svg", format="svg")
    return out


def _short(kind: str) -> str:
    return kind if len(kind) <= 48 else kind[:45] + "..."


# -- the page -----------------------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.n, td.id { text-align: right; white-space: nowrap; } td.id { text-align: left; }
.headline { font-size: 1.1rem; background: #fff6e5; border-left: 4px solid #e0a030; padding: 0.5rem 0.8rem; }
pre { background: #f6f6f6; padding: 0.4rem; white-space: pre-wrap; word-break: break-word; margin: 0.2rem 0; }
.muted { color: #666; font-size: 0.9rem; } img { max-width: 100%; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Optional[float], digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def page(record: ClassRecord, stats: list, groups: list, figures: dict, who: dict, named: bool = False) -> str:
    """The report as one HTML document: every figure inline, no script, every text from the record escaped."""
    done = graded(record)

    def image(name: str, alt: str) -> str:
        data = base64.b64encode(figures[name]).decode()
        return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'

    rows = []
    for s in stats:
        rows.append(f"<tr><td class=id>{_e(s.id)}</td><td>{_e(s.title)}</td><td class=n>{s.points:g}</td>"
                    f"<td class=n>{_num(s.difficulty)}</td><td class=n>{_num(s.discrimination)}</td>"
                    f"<td class=n>{s.not_answered}</td><td class=n>{s.not_graded}</td><td class=n>{s.repaired}</td>"
                    "</tr>")
    mis = []
    for g in groups:
        where = section(g.part)
        taught = (f'<a href="{_e(where["href"])}">{_e(where["title"])}</a>: {_e(where["heading"])}'
                  if where else "")
        example = g.example or {}
        statements = "".join(f"<pre>{_e(text)}</pre>" for text in example.get("statements") or []) or \
            '<span class="muted">(no policy statement decided this aspect)</span>'
        names = (f'<div class="muted">{_e(", ".join(who.get(s, s) for s in g.students))}</div>'
                 if named else "")
        mis.append(f"<tr><td class=id>{_e(g.part)}</td><td>{_e(g.diagnosis)}<div class=muted>{_e(g.key)}</div>"
                   f"{names}</td>"
                   f"<td class=n>{g.count} of {len(done)}</td><td class=n>{g.share:.0%}</td><td>{taught}</td>"
                   f"<td><div class=muted>{_e(who.get(example.get('student'), 'a student'))}:</div>{statements}"
                   "</td></tr>")
    if not mis:
        mis.append('<tr><td colspan=6 class="muted">No misconception recorded: every graded part that was answered '
                   "passed.</td></tr>")
    not_graded = len(record.submissions) - len(done)
    headline = (f'<p class="headline">Most common misconception: {_e(groups[0].diagnosis)} '
                f"(<b>{groups[0].count} of {len(done)}</b> students, part {_e(groups[0].part)}).</p>" if groups
                else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>What the class misunderstood: {_e(record.assignment)}</title>
<style>{STYLE}</style></head><body>
<h1>What the class misunderstood: {_e(record.assignment)}</h1>
<p class=muted>{len(record.submissions)} submission(s), {len(done)} graded{f", {not_graded} not graded" if not_graded
    else ""}; graded by {_e(record.source)}. {"Students are named (--names)." if named else
    "Students are anonymised."}</p>
{headline}
<h2>Scores</h2>
{image("scores", "score distribution")}
<h2>Parts: difficulty and discrimination</h2>
<p class=muted>Difficulty is the mean share of the part's points the class earned (low: hard). Discrimination is
the correlation of the part's points with the rest of the assignment (high: the part separates strong students
from weak ones; "—" when it cannot be computed, e.g. everyone scored the same).</p>
{image("parts", "difficulty and discrimination per part")}
<table><tr><th>Part</th><th>Title</th><th>Points</th><th>Difficulty</th><th>Discrimination</th>
<th>Not answered</th><th>Not graded</th><th>Repaired</th></tr>
{"".join(rows)}</table>
<h2>Misconceptions</h2>
{image("misconceptions", "misconceptions, largest first")}
<table><tr><th>Part</th><th>What the class got wrong</th><th>Students</th><th>Share</th><th>Taught in</th>
<th>One example, as the account stored it</th></tr>
{"".join(mis)}</table>
</body></html>
"""


def pseudonyms(record: ClassRecord, names: Optional[dict] = None) -> dict:
    """How the page names each student: "student 1..n" by pseudonym, or their id when ``names`` maps them."""
    who = {s.student: f"student {i}" for i, s in enumerate(sorted(record.submissions, key=lambda s: s.student), 1)}
    if names:
        who.update({k: v for k, v in names.items() if k in who})
    return who


def write(record: ClassRecord, folder: Path, names: Optional[dict] = None) -> Path:
    """Write ``report.html`` and the figures into ``folder``; return the page's path."""
    if not record.submissions:
        raise UserError(f"No submission of {record.assignment} is recorded yet: the class is empty. Collect and "
                        f"autograde first (python -m grader.classroom autograde {record.assignment}).")
    folder.mkdir(parents=True, exist_ok=True)
    stats, groups = part_stats(record), misconceptions(record)
    figures = _figures(record, stats, groups, folder)
    target = folder / "report.html"
    target.write_text(page(record, stats, groups, figures, pseudonyms(record, names), bool(names)), encoding="utf-8")
    return target


def report(course: Course, assignments: list, output: Optional[Path] = None, names: bool = False,
           diagnoses: Optional[Path] = None) -> list:
    """The report of each assignment, under ``output`` (default ``<course>/reports/``), one folder each when there are
    several; return the pages written."""
    base = Path(output) if output else course.folder("reports")
    pages = []
    missing = []
    for assignment in assignments:
        file = Path(diagnoses) if diagnoses else record_path(course, assignment)
        if not file.exists():
            missing.append(assignment)
            continue
        record = load(file)
        if record.assignment != assignment:
            raise FormatError(f"{file} holds the diagnoses of {record.assignment}, not {assignment}.")
        folder = base / assignment if (len(assignments) > 1 or not output) else base
        pages.append(write(record, folder, course_names(course) if names else None))
    if missing and (len(assignments) == 1 or not pages):
        raise UserError(f"Nothing of {', '.join(missing)} has been graded yet: there is no "
                        f"{record_path(course, missing[0])}. Autograde first (python -m grader.classroom autograde "
                        f"{missing[0]}).")
    if len(assignments) > 1:
        index = base / "index.html"
        items = "".join(f'<li><a href="{_e(p.parent.name)}/report.html">{_e(p.parent.name)}</a></li>' for p in pages)
        items += "".join(f"<li>{_e(a)}: not graded yet</li>" for a in missing)
        index.write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>What the class '
                         f"misunderstood</title><style>{STYLE}</style></head><body><h1>What the class misunderstood"
                         f"</h1><ul>{items}</ul></body></html>\n", encoding="utf-8")
    return pages
