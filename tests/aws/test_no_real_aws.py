"""No real AWS, ever: every chapter, executed with real-looking credentials planted in the environment and in
~/.aws, opens no connection off loopback, resolves no remote name and never reads the planted credential files.

The kernel records what it does with an audit hook installed before the chapter's first cell. Audit events fire
inside the interpreter for every socket connect, name lookup and file open, so the record does not depend on the
sandbox's own guard: it would show a connection the guard failed to stop.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from support import ROOT


AUDIT_CELL = '''
import json as _json, sys as _sys, ipaddress as _ip
_RECORD = {record!r}
_PLANTED = {planted!r}

def _loopback(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", None, ""):
        return True
    try:
        return _ip.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

def _audit(event, args):
    finding = None
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _loopback(address[0]):
            finding = ["connect", str(address)]
    elif event == "socket.getaddrinfo":
        if not _loopback(args[0]):
            finding = ["getaddrinfo", str(args[0])]
    elif event == "open" and args and isinstance(args[0], str) and args[0] in _PLANTED:
        finding = ["open", args[0]]
    if finding:
        with open(_RECORD, "a") as _f:
            _f.write(_json.dumps(finding) + "\\n")

_sys.addaudithook(_audit)
'''


def chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [n for n in names if (ROOT / f"{n}.ipynb").exists()]


@pytest.fixture
def planted(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    files = [str(home / ".aws" / "credentials"), str(home / ".aws" / "config")]
    Path(files[0]).write_text("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                              "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    Path(files[1]).write_text("[default]\nregion = eu-west-3\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_PROFILE", "default")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    return files


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_a_chapter_never_reaches_outside_the_machine(chapter, planted, tmp_path):
    record = tmp_path / "audit.jsonl"
    record.touch()
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(AUDIT_CELL.format(record=str(record), planted=planted)))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str((ROOT / chapter).parent)}})
    client.execute(env=dict(os.environ))
    findings = [json.loads(line) for line in record.read_text().splitlines()]
    assert findings == [], f"{chapter} reached outside the machine or read planted credentials: {findings}"


def test_the_audit_hook_sees_what_it_must(planted, tmp_path):
    """The detector itself: without the sandbox, a remote lookup and a read of the planted file are recorded."""
    record = tmp_path / "audit.jsonl"
    record.touch()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(AUDIT_CELL.format(record=str(record), planted=planted)),
        nbformat.v4.new_code_cell(
            "import socket\n"
            "try:\n    socket.getaddrinfo('sts.amazonaws.com', 443)\nexcept OSError:\n    pass\n"
            f"open({planted[0]!r}).read()\n"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute(env=dict(os.environ))
    kinds = sorted(json.loads(line)[0] for line in record.read_text().splitlines())
    assert kinds == ["getaddrinfo", "open"]
