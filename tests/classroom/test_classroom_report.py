"""What the class misunderstood: the recorded diagnoses, their format, and the report an instructor reads.

The fast tests work on recorded data: a small class written by hand, whose difficulty and discrimination are
computed here by hand and must agree with the report's, and the format's reader. The slow test grades a class with
planted misconceptions (several students making each of a handful of known mistakes, plus correct and empty
submissions) in one autograde batch, then runs ``report``: its groups are exactly the planted mistakes, with their
counts, no student is named anywhere, the figures are drawn, and the page opens in headless Chromium without errors.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from grader.classroom import Course, samples
from grader.classroom import diagnoses as recorded
from grader.classroom.report import misconceptions, part_stats, report, write
from support import PROTOCOL, ROOT, copy_course

# -- a small class, by hand ---------------------------------------------------------------------------------------

PARTS = [{"id": "protocol-1", "title": "one", "points": 2.0}, {"id": "protocol-2", "title": "two", "points": 2.0},
         {"id": "protocol-3", "title": "three", "points": 2.0}]
# student -> points per part
POINTS = {"s-a": (2, 2, 2), "s-b": (2, 0, 1), "s-c": (1, 0, 0), "s-d": (0, 2, 2), "s-e": (0, 0, 0)}


def _finding(part: str, aspect: int, kind: str, statement: str = "") -> dict:
    aspect_id = f"{part}#{aspect}"
    return {"part": part, "aspect": aspect_id, "key": f"{aspect_id}:{kind}", "kind": kind,
            "diagnosis": f"{kind} in {part}", "hidden": False, "decisions": [],
            "statements": [{"policy": "trust policy of role R", "index": 0, "statement": statement}] if statement
            else []}


def _small_class() -> recorded.ClassRecord:
    submissions = []
    for student, points in POINTS.items():
        parts = {}
        for part, got in zip(PARTS, points):
            findings = []
            if got < 2 and student != "s-e":
                findings.append(_finding(part["id"], 1, "trusts-ecs", '{"Principal": "<script>x</script>"}'))
            if student == "s-e":
                findings.append(_finding(part["id"], 0, "missing"))
            parts[part["id"]] = {"points": got, "max_points": 2.0, "complete": student != "s-e",
                                 "findings": findings}
        submissions.append(recorded.Submission(student, True, None, 1 if student == "s-b" else 0, parts))
    submissions.append(recorded.Submission("s-f", False, "grading stopped after 300 s", 0, {}))
    return recorded.ClassRecord(PROTOCOL, "nbgrader", PARTS, submissions)


def _pearson(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


def test_difficulty_and_discrimination_agree_with_a_computation_by_hand():
    stats = {s.id: s for s in part_stats(_small_class())}
    # Graded students a..e (f was not graded). Part 1 scores 2,2,1,0,0; the rest of the assignment 4,1,0,4,0.
    assert stats["protocol-1"].difficulty == pytest.approx((2 + 2 + 1 + 0 + 0) / 5 / 2)
    assert stats["protocol-1"].discrimination == pytest.approx(_pearson([2, 2, 1, 0, 0], [4, 1, 0, 4, 0]))
    # Part 2: 2,0,0,2,0 against 4,3,1,2,0; part 3: 2,1,0,2,0 against 4,2,1,2,0.
    assert stats["protocol-2"].difficulty == pytest.approx(0.4)
    assert stats["protocol-2"].discrimination == pytest.approx(_pearson([2, 0, 0, 2, 0], [4, 3, 1, 2, 0]))
    assert stats["protocol-3"].discrimination == pytest.approx(_pearson([2, 1, 0, 2, 0], [4, 2, 1, 2, 0]))
    assert stats["protocol-1"].not_graded == 1 and stats["protocol-1"].repaired == 1
    assert stats["protocol-1"].not_answered == 1  # s-e: "missing" is counted here, not as a misconception


def test_a_part_everyone_scored_the_same_on_has_no_discrimination():
    record = _small_class()
    for s in record.submissions:
        if s.graded:
            s.parts["protocol-1"]["points"] = 2.0
    assert {s.id: s for s in part_stats(record)}["protocol-1"].discrimination is None


def test_misconceptions_group_by_key_largest_first_and_leave_out_the_unanswered():
    groups = misconceptions(_small_class())
    # Part 1: c and d lost points; part 2: b and c; part 3: b and c (e answered nothing). Ties: the parts' order.
    assert [(g.key, g.count) for g in groups] == [("protocol-1#1:trusts-ecs", 2), ("protocol-2#1:trusts-ecs", 2),
                                                  ("protocol-3#1:trusts-ecs", 2)]
    assert groups[0].share == pytest.approx(2 / 5)
    assert sorted(groups[1].students) == ["s-b", "s-c"]
    assert groups[0].example["statements"] == ['{"Principal": "<script>x</script>"}']


def test_the_page_escapes_what_students_wrote_and_draws_every_figure(tmp_path):
    page = write(_small_class(), tmp_path, None)
    text = page.read_text()
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    for name in ("scores", "parts", "misconceptions"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / f"{name}.svg").read_text()
    assert text.count("data:image/png;base64,") == 3
    assert "student 3:" in text and ">s-c" not in text  # pseudonyms are numbered on the page (s-c is the 3rd)


def test_the_format_round_trips_and_its_reader_says_what_is_wrong(tmp_path):
    file = tmp_path / "d.json"
    recorded.save(file, _small_class())
    data = json.loads(file.read_text())
    assert data["format"] == recorded.FORMAT and data["version"] == recorded.VERSION
    data["submissions"][0]["a field of a later importer"] = 1  # unknown fields are ignored
    file.write_text(json.dumps(data))
    assert recorded.load(file).as_dict()["submissions"][1] == data["submissions"][1]
    data["version"] = recorded.VERSION + 1
    file.write_text(json.dumps(data))
    with pytest.raises(recorded.FormatError, match="version 2 of the format"):
        recorded.load(file)
    file.write_text("{")
    with pytest.raises(recorded.FormatError, match="not a JSON file"):
        recorded.load(file)
    with pytest.raises(recorded.FormatError, match="not a 'gated-community-diagnoses' file"):
        recorded.parse({"format": "other"})


def test_an_empty_class_is_said_in_words(tmp_path):
    with pytest.raises(recorded.UserError, match="the class is empty"):
        write(recorded.ClassRecord(PROTOCOL, "gradescope", PARTS, []), tmp_path)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    root = tmp_path_factory.mktemp("report-course")
    copy_course(root / "exercises")
    return Course(root / "exercises")


def test_pseudonyms_are_stable_salted_and_never_the_id(course, tmp_path):
    first = recorded.pseudonym(course, "alice")
    assert first == recorded.pseudonym(course, "alice") != recorded.pseudonym(course, "bob")
    assert "alice" not in first and first.startswith("s-")
    other = copy_course(tmp_path / "exercises")
    assert recorded.pseudonym(Course(other), "alice") != first  # another course, another salt
    assert oct(course.folder("diagnoses", ".salt").stat().st_mode & 0o777) == "0o600"


def _cli(course: Course, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.classroom", "--course", str(course.root), "report", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_bad_input_is_said_in_words_without_a_traceback(course):
    for args, words in ((("no-such-assignment",), "There is no assignment 'no-such-assignment'"),
                        ((PROTOCOL,), f"Nothing of {PROTOCOL} has been graded yet"),
                        ((), "Name an assignment or pass --all"),
                        (("--all",), "has been graded yet")):
        done = _cli(course, *args)
        assert done.returncode == 2, done.stderr
        assert words in done.stderr and "Traceback" not in done.stderr


def test_a_platforms_file_is_read_like_the_pipelines(course, tmp_path):
    record = _small_class()
    record.source = "gradescope"
    recorded.save(tmp_path / "imported.json", record)
    done = _cli(course, PROTOCOL, "--diagnoses", str(tmp_path / "imported.json"), "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "graded by gradescope" in (tmp_path / "out" / "report.html").read_text()


def test_all_covers_the_course_and_says_which_assignments_are_not_graded_yet(tmp_path):
    course = Course(copy_course(tmp_path / "exercises"))
    recorded.save(recorded.path(course, PROTOCOL), _small_class())
    done = _cli(course, "--all", "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert f"{PROTOCOL}: {tmp_path / 'out' / PROTOCOL / 'report.html'}" in done.stdout
    index = (tmp_path / "out" / "index.html").read_text()
    assert f'href="{PROTOCOL}/report.html"' in index and "04-two-layers-capstone: not graded yet" in index


# -- a class with planted misconceptions, graded once -------------------------------------------------------------

def _role(name: str, *statements: dict) -> str:
    return (f"iam.create_role(RoleName={name!r}, AssumeRolePolicyDocument=json.dumps("
            f"{{'Version': '2012-10-17', 'Statement': {list(statements)!r}}}))")


def _allow(principal: dict, **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


COURIER = "arn:aws:iam::123456789012:user/courier"
# The planted mistakes, each written more than one way: grouping must not depend on how.
ECS_NOT_TASKS = [_role("ParcelTaskRole", _allow({"Service": "ecs.amazonaws.com"})),
                 _role("ParcelTaskRole", _allow({"Service": ["ecs.amazonaws.com"]}, Sid="ScannerTasks"))]
EC2_AND_TASKS = [_role("DeliveryRole", _allow({"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]})),
                 _role("DeliveryRole", _allow({"Service": "ec2.amazonaws.com"}),
                       _allow({"Service": "ecs-tasks.amazonaws.com"}, Sid="AlsoTasks"))]
NO_LAMBDA = [_role("SharedCourierRole", _allow({"Service": "ec2.amazonaws.com"})),
             _role("SharedCourierRole", _allow({"Service": ["ec2.amazonaws.com"]}, Sid="Vans"))]
MALLORY_ONLY_IMPLICIT = [_role("VisitorRole", _allow({"AWS": COURIER})),
                         _role("VisitorRole", _allow({"AWS": [COURIER]}, Sid="CourierOnly"))]
MALLORY_ALLOWED = [_role("VisitorRole", _allow({"AWS": "arn:aws:iam::123456789012:root"})),
                   _role("VisitorRole", _allow({"AWS": "123456789012"}))]

PLANTED = {  # key -> the students who made that mistake
    "protocol-2#1:trusts-ecs.amazonaws.com-instead-of-ecs-tasks.amazonaws.com": ["ada", "ben", "cem"],
    "protocol-1#2:also-trusts:ecs-tasks.amazonaws.com": ["ada", "dot"],
    "protocol-3#1:not-trusted:lambda.amazonaws.com": ["cem", "eli"],
    "protocol-4#2:mallory-refused-by-implicit-deny-only": ["ben", "eli"],
    "protocol-4#2:mallory-allowed": ["dot", "fay"],
}
CLASS = {
    "ada": {"protocol-2-answer": ECS_NOT_TASKS[0], "protocol-1-answer": EC2_AND_TASKS[0]},
    "ben": {"protocol-2-answer": ECS_NOT_TASKS[1], "protocol-4-answer": MALLORY_ONLY_IMPLICIT[0]},
    "cem": {"protocol-2-answer": ECS_NOT_TASKS[0], "protocol-3-answer": NO_LAMBDA[0]},
    "dot": {"protocol-1-answer": EC2_AND_TASKS[1], "protocol-4-answer": MALLORY_ALLOWED[0]},
    "eli": {"protocol-3-answer": NO_LAMBDA[1], "protocol-4-answer": MALLORY_ONLY_IMPLICIT[1]},
    "fay": {"protocol-4-answer": MALLORY_ALLOWED[1]},
    "gus": {},  # correct
    "hal": {},  # correct
    "ivy": None,  # empty: every answer left as released
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from grader.classroom.autograde import autograde
    from grader.classroom.collect import collect
    from grader.classroom.release import release

    root = tmp_path_factory.mktemp("planted")
    copy_course(root / "exercises")
    course = Course(root / "exercises")
    assert release(course, PROTOCOL, prove=False).ok
    (root / "exercises" / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in CLASS))
    for student, answers in CLASS.items():
        notebook = samples.make(course, PROTOCOL, {}, default=None) if answers is None else \
            samples.make(course, PROTOCOL, answers)
        samples.write(notebook, root / "inbox" / f"{student}.ipynb")
    collect(course, PROTOCOL, root / "inbox")
    batch = autograde(course, PROTOCOL, jobs=2, progress=lambda graded: None)
    assert not batch.not_graded, batch.summary()
    done = _cli(course, PROTOCOL, "--output", str(root / "report"))
    assert done.returncode == 0, done.stderr
    return course, root / "report"


@pytest.mark.slow
def test_the_reports_groups_are_the_planted_mistakes_with_their_counts(planted):
    course, _ = planted
    record = recorded.load(recorded.path(course, PROTOCOL))
    assert len(record.submissions) == len(CLASS)
    who = recorded.names(course)
    found = {g.key: sorted(who[s] for s in g.students) for g in misconceptions(record)}
    assert found == {key: sorted(students) for key, students in PLANTED.items()}
    groups = misconceptions(record)
    assert groups[0].key.startswith("protocol-2#1:") and groups[0].count == 3
    assert groups[0].share == pytest.approx(3 / len(CLASS))
    # The example is the statement as the account stores it, and it is the decisive one.
    assert any("ecs.amazonaws.com" in s for s in groups[0].example["statements"])
    stats = {s.id: s for s in part_stats(record)}
    assert all(s.not_answered == 1 and s.not_graded == 0 for s in stats.values())  # ivy
    # The grade is unchanged by recording: the gradebook's points are the recorded ones.
    assert record.submissions and all(p["points"] <= p["max_points"] for s in record.submissions
                                      for p in s.parts.values())


@pytest.mark.slow
def test_no_student_is_named_in_the_data_or_the_report(planted):
    course, folder = planted
    texts = [recorded.path(course, PROTOCOL).read_text(), (folder / "report.html").read_text()]
    texts += [(folder / f"{name}.svg").read_text() for name in ("scores", "parts", "misconceptions")]
    for student in CLASS:
        for text in texts:
            assert not __import__("re").search(rf"\b{student}\b", text), student
    page = (folder / "report.html").read_text()
    assert "3 of 9" in page and "ecs-tasks.amazonaws.com" in page
    assert "02_trust_policy.html#a-protocol-for-the-applications-ecs-tasks-amazonaws-com" in page


@pytest.mark.slow
def test_names_are_shown_only_when_asked(planted, tmp_path):
    course, _ = planted
    pages = report(course, [PROTOCOL], tmp_path, names=True)
    assert "ada" in pages[0].read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_opens_in_headless_chromium_without_errors(planted, tmp_path):
    from lite_browser import CHROMEDRIVER, CHROMIUM, chromium

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: run `make browser` (as root)")
    _, folder = planted
    with chromium(tmp_path / "profile") as driver:
        driver.set_window_size(1280, 1800)
        driver.get((folder / "report.html").as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        assert driver.title.startswith("What the class misunderstood")
        broken = driver.execute_script("return Array.from(document.images).filter(i => !i.naturalWidth).length")
        assert broken == 0 and len(driver.find_elements("tag name", "img")) == 3
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
