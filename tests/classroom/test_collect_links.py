"""collect takes only real files: a symbolic link (to the course's own solution, say) or a special file anywhere in
a folder or a zip stops it before anything is copied, with a message that names each one and says what to do."""

from __future__ import annotations

import os
import socket
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.classroom import Course, UserError
from grader.classroom.cli import main
from grader.classroom.collect import collect
from support import ROOT, copy_course

A = "01-community-protocol"


@pytest.fixture
def course(tmp_path):
    where = tmp_path / "exercises"
    copy_course(where)
    (where / "students.csv").write_text("id\nalice\nbob\nmallory\n")
    return Course(where)


def notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(ROOT / "exercises/source" / A / f"{A}.ipynb", as_version=4)
    nbformat.write(nb, str(path))
    return path


def refused(course, inbox) -> str:
    with pytest.raises(UserError) as caught:
        collect(course, A, inbox)
    assert not course.folder("submitted").exists()  # nothing was copied
    return str(caught.value)


def test_a_link_to_the_courses_solution_is_refused_in_either_layout(course, tmp_path):
    for layout in ("mallory.ipynb", f"mallory/{A}.ipynb", f"mallory/{A}/{A}.ipynb"):
        inbox = tmp_path / f"inbox-{layout.count('/')}"
        notebook(inbox / "alice.ipynb")
        (inbox / layout).parent.mkdir(parents=True, exist_ok=True)
        (inbox / layout).symlink_to(course.source_notebook(A))
        message = refused(course, inbox)
        assert f"{layout}: a symbolic link (to {course.source_notebook(A)})" in message, message
        assert "Replace each with the file the student handed in" in message and "collect again" in message


def test_links_to_folders_and_dangling_links_are_named_and_never_entered(course, tmp_path):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    (inbox / "bob").symlink_to(course.folder("source"), target_is_directory=True)
    (inbox / "alice-notes").mkdir()
    (inbox / "alice-notes" / "gone.ipynb").symlink_to(tmp_path / "nowhere.ipynb")
    (inbox / ".DS_Store").symlink_to("/etc/passwd")  # ignored names are no exception
    message = refused(course, inbox)
    assert "bob: a symbolic link" in message and "alice-notes/gone.ipynb: a symbolic link" in message
    assert ".DS_Store: a symbolic link" in message and "bob/" not in message


def test_pipes_and_sockets_are_refused_without_being_opened(course, tmp_path):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    os.mkfifo(inbox / "bob.ipynb")  # reading it would wait for ever
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(inbox / "mallory.ipynb"))
        message = refused(course, inbox)
    finally:
        server.close()
    assert "bob.ipynb: a named pipe" in message and "mallory.ipynb: a socket" in message


def test_a_zip_that_records_a_link_is_refused(course, tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(notebook(tmp_path / "alice.ipynb"), "submissions/alice.ipynb")
        link = zipfile.ZipInfo("submissions/mallory.ipynb")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, str(course.source_notebook(A)))
    message = refused(course, archive)
    assert "submissions/mallory.ipynb: a symbolic link" in message


def test_the_cli_says_so_in_one_message(course, tmp_path, capsys):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    (inbox / "mallory.ipynb").symlink_to(course.source_notebook(A))
    assert main(["--course", str(course.root), "collect", A, str(inbox)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Nothing was collected from") and "Traceback" not in err
    assert "mallory.ipynb: a symbolic link" in err


def test_ordinary_folders_and_an_instructors_link_to_them_are_collected(course, tmp_path):
    inbox = tmp_path / "inbox"
    notebook(inbox / "alice.ipynb")
    notebook(inbox / "bob" / f"{A}.ipynb")
    notebook(inbox / "mallory" / A / f"{A}.ipynb")
    (inbox / "mallory" / A / "timestamp.txt").write_text("2030-01-31 17:00:00.000000 UTC\n")
    (inbox / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "latest").symlink_to(inbox, target_is_directory=True)  # the path given may itself be a link
    result = collect(course, A, tmp_path / "latest")
    assert result.students == ["alice", "bob", "mallory"]
    for student in result.students:
        copied = course.folder("submitted", student, A, f"{A}.ipynb")
        assert copied.is_file() and not copied.is_symlink()
