"""The judge: nbgrader's Execute, with the account held by the grader and every test cell run by the grader.

``Judge`` takes the place of nbgrader's ``Execute`` in the worker's autograde. For each notebook it

1. gives the notebook a fresh account in the worker (``sandbox.start()`` resets it) and serves it on a Unix socket
   in the kernel's own folder (``grader.served``): the kernel's ``sandbox.start()`` connects there;
2. starts the kernel behind its wall (``grader.classroom.isolation``): its own user, folder and namespaces;
3. runs the answer cells (and every other cell that is not a test) in that kernel, as ``Execute`` does;
4. runs each autograder test cell itself, in a fresh namespace of the worker, with the account locked against the
   kernel: the source run is the gradebook's own, whatever the cell says (a cell that claims to be a test under an
   id the gradebook does not know as one is not run, and scores nothing), its printed output and last value become the cell's outputs in nbgrader's
   format, and nbgrader's ``SaveAutoGrades`` scores them as if the kernel had run them;
5. ends every process of the kernel and removes its folder.

The hidden tests' source therefore never enters the learner's process, and nothing the kernel does to its shell,
its modules or its botocore reaches a verdict.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import io
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any, Optional

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Integer, List, Unicode

from grader.checks import diagnoses
from grader.classroom.isolation import LIMITS, Wall


SPOILED = threading.Event()
"""Set when a notebook's account could not be drained: the worker must then exit instead of grading the next one."""


class AccountStillBusy(RuntimeError):
    """The kernel's account could not be drained: the worker holding it must not grade anyone else with it."""


class WalledKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts behind ``wall`` and speaks ZeroMQ over files in the wall's folder."""

    wall: Optional[Wall] = None

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        return self.wall.command(command) if self.wall is not None else command

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.wall is not None:
            self.wall.own(Path(self.connection_file))


class Judge(Execute):
    """nbgrader's Execute for answer cells; the grader's own judgement for test cells (see the module docstring).

    ``Judge.findings`` keeps, per test cell, what its checks found (``findings()``), for the class report.
    """

    findings: dict = {}

    walls = Unicode("", help="Folder under which each notebook's kernel gets a folder of its own.").tag(config=True)
    uid = Integer(-1, help="The kernel's own user, in the namespaces mode.").tag(config=True)
    private = List(Unicode(), help="Folders of which the kernel sees only what it needs to run.").tag(config=True)
    memory = Integer(0, help="The most memory, in bytes, the kernel's processes may use (0: the default).").tag(
        config=True)

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["kernel_manager_class"] = WalledKernelManager
        super().__init__(*args, **kwargs)
        self._wall: Optional[Wall] = None
        self._lock = threading.RLock()
        self._tests: dict = {}
        self._count = 0

    # -- one notebook ----------------------------------------------------------------------------------------

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        from grader import sandbox
        from grader.served.server import AccountServer

        self._tests = _released_tests(resources)
        here = Path((resources or {}).get("metadata", {}).get("path") or ".")
        walls = Path(self.walls) if self.walls else here.parent / ".walls"
        limits = dataclasses.replace(LIMITS, memory=self.memory) if self.memory > 0 else LIMITS
        self._wall = Wall.build(walls, self.uid if self.uid >= 0 else None, files=here,
                                private=[Path(p) for p in self.private], limits=limits)
        account = sandbox.start()  # the same seed: the account of a fresh start, whatever the last notebook built
        server = AccountServer(account, str(self._wall.account_socket), self._lock, owner=self._wall.uid)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            drained = server.close()
            self._wall.sweep()
            self._wall.remove()
            if not drained:  # a request of this kernel is still at work in the account: no one else may have it
                SPOILED.set()
                raise AccountStillBusy("a request of this notebook to the account was still being answered when "
                                       "its grading ended; the grading process holding that account was retired")

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.wall = self._wall
        km.transport = "ipc"
        km.ip = str(self._wall.folder / "kernel")
        km.connection_file = str(self._wall.folder / "kernel.json")
        return km

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        import os

        kwargs["cwd"] = str(self._wall.folder)
        kwargs["env"] = self._wall.environment(dict(os.environ))
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    # -- cells -----------------------------------------------------------------------------------------------

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            self._count += 1
            released = self._tests.get(cell.metadata["nbgrader"].get("grade_id"))
            if released is None:
                cell.outputs = [_error("NotTheReleasedTest", "this cell claims to be a test, but it is not one of "
                                       "the released tests: it was not run and scores nothing")]
            else:
                with self._lock, diagnoses.journal() as judged:
                    cell.outputs = run_test(released, self._count)
                Judge.findings[cell.metadata["nbgrader"]["grade_id"]] = findings(judged)
            cell.execution_count = self._count
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


def findings(results: list) -> list:
    """What a test cell's checks found, as data: per part, the last result judged (the hidden one when the visible
    one passed) with its failed aspects (``grader.checks.diagnoses``). The grade stays the cell's output's."""
    last: dict = {}
    for result in results:
        last[result.part] = result
    return [{"part": r.part, "points": r.points, "max_points": r.max_points, "complete": r.complete,
             "findings": [f.as_dict() for f in r.findings]} for r in last.values()]


def _released_tests(resources: Any) -> dict:
    """The autograder tests of this notebook as the gradebook holds them: ``{grade_id: source}``."""
    from nbgrader.api import Gradebook, MissingEntry

    info = (resources or {}).get("nbgrader") or {}
    if not info.get("db_url"):
        return {}
    with Gradebook(info["db_url"]) as gb:
        try:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return {}
        answers = {c.name for c in notebook.solution_cells}
        sources = {c.name: c.source for c in notebook.source_cells}
        return {c.name: sources[c.name] for c in notebook.grade_cells
                if c.cell_type == "code" and c.name not in answers and c.name in sources}


def run_test(source: str, count: int) -> list:
    """Run a test cell's source in a fresh namespace of this process; its outputs as a kernel would give them."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace: dict = {"__name__": "__test__", "__builtins__": builtins}
    stdout, stderr = io.StringIO(), io.StringIO()
    value, failure = None, None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a library's warning is not the learner's failure
        try:
            exec(compile(ast.Module(body=tree.body, type_ignores=[]), "<test>", "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(body=last.value), "<test>", "eval"), namespace)
        except BaseException as error:  # a failed test is an outcome, whatever it raised
            failure = error
    outputs = []
    if stdout.getvalue():
        outputs.append(new_output("stream", name="stdout", text=stdout.getvalue()))
    if stderr.getvalue():
        outputs.append(new_output("stream", name="stderr", text=stderr.getvalue()))
    if failure is not None:
        lines = traceback.format_exception_only(type(failure), failure)
        outputs.append(_error(type(failure).__name__, str(failure), lines))
    elif value is not None:
        outputs.append(new_output("execute_result", data={"text/plain": repr(value)}, execution_count=count))
    return outputs


def _error(ename: str, evalue: str, lines: Optional[list] = None) -> NotebookNode:
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[line.rstrip("\n") for line in (lines or [f"{ename}: {evalue}"])])
