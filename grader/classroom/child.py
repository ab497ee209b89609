"""A helper process driven one job at a time: a line of JSON in on its standard input, a line of JSON out.

The pipeline's long-lived helpers (the grading worker, the process that writes feedback pages) live for a batch,
because importing nbgrader costs more than one student's work. The parent's side is ``Child``: it asks with a time
limit, and kills the helper with everything it started when the limit passes. The helper's side starts with
``pipes()``, which moves the two pipes onto descriptors that no process the helper starts inherits (a kernel, one of
nbconvert's tools): only the helper can answer its parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import BinaryIO, TextIO, Union


class TimedOut(Exception):
    """The helper did not answer in time; it has been killed, with everything it started."""


class Ended(Exception):
    """The helper ended, or answered with something that is not a line of JSON."""


class Child:
    """A helper process (``command``) in a session of its own; what it writes on its standard error goes to ``log``."""

    def __init__(self, command: list, env: dict, log: Union[TextIO, BinaryIO]):
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                        text=True, start_new_session=True)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)  # the helper is gone

    def ask(self, job: dict, timeout: float) -> dict:
        """Send ``job``; its answer (see ``answer``)."""
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except OSError:
            raise Ended() from None
        return self.answer(timeout)

    def answer(self, timeout: float) -> dict:
        """The helper's next answer, within ``timeout`` seconds; raises ``TimedOut`` or ``Ended``."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close(kill=True)
            raise TimedOut() from None
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Ended()
        return answer

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, kill: bool = False) -> None:
        """End the helper: let it finish (it stops at the end of its input), or kill it and all it started."""
        if not kill:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
                return
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def pipes() -> tuple[TextIO, TextIO]:
    """The helper's side: its jobs and its answers, on descriptors no process it starts inherits.

    Its own standard input then reads nothing and its standard output goes to its standard error (the log): what
    nbgrader prints, and what a process it starts inherits, never reaches the parent's pipes.
    """
    jobs = os.fdopen(os.dup(0), "r")  # os.dup's descriptors are not inheritable
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    return jobs, answers


def answer(answers: TextIO, outcome: dict) -> None:
    """Send one answer to the parent."""
    answers.write(json.dumps(outcome) + "\n")
    answers.flush()
