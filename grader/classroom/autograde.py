"""autograde: grade every submission of an assignment in parallel, each in its own process, kernel and sandbox.

How one batch runs:

1. Each submission gets a private copy of the course (configuration, the assignment's source, a copy of the
   gradebook, that submission) in a scratch folder, so parallel workers share no file and no sqlite database.
2. Up to ``jobs`` workers run at once (``python -m grader.classroom.worker``), each a long-lived process in its
   own session that grades one submission at a time, every notebook in a fresh kernel and sandbox. nbgrader's
   ``Execute`` interrupts a cell at the per-cell timeout; the parent kills a worker's whole process group at the
   per-notebook limit (its kernel, started in a session of its own, exits when its parent dies) and starts a new
   worker for the submissions still to come.
3. As each worker finishes, the parent records it in the course, serially: nbgrader's own ``Autograde`` runs again
   with ``Execute`` replaced by ``Replay`` (the worker's outputs are copied in), so nbgrader's ``SaveAutoGrades``
   writes the gradebook and the autograded notebook lands in ``autograded/``, as ``nbgrader autograde`` would
   leave them. A submission that could not be executed (time limit, dead kernel, crashed worker) is recorded the
   same way with ``NotGraded``: zero points, and a note in its feedback that says why. One nbgrader cannot record
   at all (not a notebook) gets zero in the gradebook directly (``record``); ``grading.json`` beside the autograded
   notebook says which it was (``grader.classroom.status``), and the batch goes on.

Before any of it, nbgrader's sanitising chain puts each submission back in the shape it was released in
(``grader.classroom.normalize``), in the worker and in the parent alike. One broken or hostile submission therefore
costs its own points and nothing else.

The judge and the walls. The account a submission builds belongs to its worker, which serves it to the kernel
over a Unix socket (``grader.served``), and every test cell is run by the worker itself with the gradebook's source
(``grader.classroom.judge``): nothing the kernel does to its shell, modules or botocore reaches a verdict, and
hidden tests never enter it. Where the machine allows (root, util-linux's ``unshare`` and ``setpriv``), each kernel
also runs as a user of its own in new mount, pid and network namespaces (``grader.classroom.isolation``): the
scratch folder below is 0711 and each submission's copy 0700, so a kernel reaches only its own folder; the course,
the project's solutions and the instructor's home are covered; every process of its user is killed when its
notebook ends, and again when the batch ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, TextIO

from grader.classroom import status
from grader.classroom.child import Child, Ended, TimedOut
from grader.classroom.course import Course, UserError, printable
from grader.served.wire import VARIABLE as ACCOUNT_VARIABLE
from grader.classroom.isolation import (LIMITS, MiB, batch_uid_base, isolation_mode, kill_processes_of,
                                        private_folders, sweep_stale_cgroups)

CELL_TIMEOUT = 60
NOTEBOOK_TIMEOUT = 300
MAX_CHARS = 20000


@dataclass
class Graded:
    student: str
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    problem: Optional[str] = None
    repairs: list = field(default_factory=list)


@dataclass
class Batch:
    assignment: str
    graded: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def not_graded(self) -> list:
        return [g for g in self.graded if g.problem]

    def summary(self) -> str:
        """A line per submission that was not graded or was repaired, then one line that names the not graded."""
        lines = [f"{self.assignment}: autograded {len(self.graded)} submission(s) in {self.seconds:.1f} s"]
        for g in self.graded:
            if g.problem:
                lines.append(f"  {g.student}: not graded: {printable(g.problem)}")
            elif g.repairs:
                lines.append(f"  {g.student}: graded after {len(g.repairs)} repair(s) of its cells (listed at the top "
                             "of the autograded notebook and the feedback)")
        return "\n".join(lines + [self.verdict()])

    def verdict(self) -> str:
        missed = self.not_graded
        if not missed:
            return f"{self.assignment}: all {len(self.graded)} graded"
        named = ", ".join(f"{g.student} ({printable(brief(g.problem))})" for g in missed)
        return f"{self.assignment}: {len(self.graded) - len(missed)} graded, {len(missed)} NOT graded: {named}"


def brief(problem: str) -> str:
    """A few words for the one-line verdict; the full reason is in the lines above it and in the feedback."""
    for words, short in (("kernel stopped", "kernel stopped"), ("stopped after", "time limit"),
                         ("not a notebook", "not a notebook"), ("stopped unexpectedly", "grader crashed"),
                         ("could not be recorded", "could not be recorded")):
        if words in problem:
            return short
    return problem if len(problem) <= 40 else problem[:37] + "..."


def submitted_students(course: Course, assignment: str) -> list[str]:
    folder = course.folder("submitted")
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if not p.name.startswith(".") and (p / assignment).is_dir())


def _require_released(course: Course, assignment: str) -> None:
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise UserError(f"{assignment} is not in the gradebook yet: release it first "
                            f"(python -m grader.classroom release {assignment}).") from None


def _workdir(course: Course, assignment: str, student: str, scratch: Path, gradebook: Path) -> Path:
    work = scratch / "work" / student
    (work / "source").mkdir(parents=True)
    os.chmod(work, 0o700)  # the solutions and the gradebook's copy: no kernel's user may enter
    shutil.copyfile(course.config_file, work / "nbgrader_config.py")
    shutil.copytree(course.folder("source", assignment), work / "source" / assignment)
    shutil.copytree(course.folder("submitted", student, assignment), work / "submitted" / student / assignment)
    shutil.copyfile(gradebook, work / "gradebook.db")
    os.chmod(work / "gradebook.db", 0o600)
    return work


OWNER = "owner.json"
PREFIXES = ("gated-autograde-", "gated-walls-")  # the batch's scratch and walls folders

@contextlib.contextmanager
def _scratch(prefix: str, mode: int, uids: dict):
    """A folder of this batch's own, named unpredictably, that says whose it is: a later batch removes it, and ends
    its kernels' processes, if this one dies before it can."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=_short_temporary_folder()))
    try:
        (folder / OWNER).write_text(json.dumps({"pid": os.getpid(), "uids": sorted(uids.values())}))
        os.chmod(folder / OWNER, 0o600)
        os.chmod(folder, mode)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _short_temporary_folder() -> str:
    """/tmp where it can be used (a kernel's sockets live under it, and a socket's path may not exceed 107 bytes),
    else the system's temporary folder."""
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK | os.X_OK) else tempfile.gettempdir()


def sweep_stale_batches() -> int:
    """Remove what batches that died left behind (scratch and walls folders, their kernels' processes, memory
    cgroups); return how many folders were removed."""
    removed = 0
    bases = {_short_temporary_folder(), tempfile.gettempdir()}
    for folder in [f for base in bases for prefix in PREFIXES for f in Path(base).glob(f"{prefix}*")]:
        try:
            owner = json.loads((folder / OWNER).read_text())
            pid, uids = int(owner["pid"]), [int(u) for u in owner["uids"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        kill_processes_of(*uids)
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    sweep_stale_cgroups()
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    return True


@contextlib.contextmanager
def _protected():
    """While the batch runs, the kernel killer takes a kernel (score 1000) long before this process or a worker."""
    path = Path("/proc/self/oom_score_adj")
    try:
        before = path.read_text().strip()
        path.write_text("-500")
    except OSError:  # not root: lowering the score is not allowed, and kernels still go first
        before = None
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):
                path.write_text(before)


class WorkerHandle:
    """The batch's handle on one long-lived grading process (``grader.classroom.worker``), one submission at a time.

    In the namespaces mode it has a mount namespace of its own, so the file systems it gives each kernel (its folder,
    of a fixed size) are seen by no one else and vanish with it.
    """

    def __init__(self, log_path: Path, own_mounts: bool = False, temporary: Optional[Path] = None):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if temporary is not None:  # what the worker's own account writes goes with the batch's scratch folder
            temporary.mkdir(exist_ok=True)
            env["TMPDIR"] = str(temporary)
        env.pop("GATED_COMMUNITY_COURSE", None)
        env.pop(ACCOUNT_VARIABLE, None)  # the worker holds the account; it never connects to one
        self.log_path = log_path
        self.findings: dict = {}  # what the last submission's checks found, per test cell (the class report's)
        self._log = open(log_path, "ab")
        prefix = ([shutil.which("unshare") or "unshare", "--mount", "--propagation", "private", "--"]
                  if own_mounts else [])
        self.child = Child(prefix + [sys.executable, "-m", "grader.classroom.worker"], env, self._log)

    def grade(self, work: Path, assignment: str, student: str, cell_timeout: int, notebook_timeout: int,
              max_chars: int, wall: Optional[dict] = None) -> tuple[Optional[str], dict]:
        """Grade one submission; return the problem that kept it from being graded (or None), and the executed
        notebooks as the worker sent them (``{name: text}``).

        ``wall`` says where and as whom its kernel runs: ``{"walls", "uid", "private", "memory"}``
        (see ``grader.classroom.isolation``).
        """
        job = {"workdir": str(work), "assignment": assignment, "student": student, "cell_timeout": cell_timeout,
               "max_chars": max_chars, **(wall or {})}
        self.findings = {}
        try:
            outcome = self.child.ask(job, notebook_timeout)
        except TimedOut:
            self._log.close()
            return (f"grading stopped after {notebook_timeout} s, the limit for one notebook; the cells that "
                    "ran until then are not counted. Look for a cell that runs for a long time, or a loop that "
                    "never ends."), {}
        except Ended:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.process.wait(timeout=5)
            problem = self._stopped()
            self.close(kill=True)
            return problem, {}
        notebooks = {str(k): str(v) for k, v in dict(outcome.get("notebooks") or {}).items()}
        self.findings = dict(outcome.get("findings") or {}) if outcome.get("success") else {}
        if outcome.get("success"):
            return None, notebooks
        return _explain_failure(f"{outcome.get('log', '')}{outcome.get('error', '')}"), {}

    def _stopped(self) -> str:
        code = self.child.process.poll()
        if code == -signal.SIGKILL:
            return ("the grading process was killed (exit code -9): the machine ran out of memory, or something "
                    "ended it from outside; the notebook's kernel had a memory limit of its own")
        return f"the grading process stopped unexpectedly (exit code {code})"

    @property
    def alive(self) -> bool:
        return self.child.alive

    def close(self, kill: bool = False) -> None:
        self.child.close(kill)
        self._log.close()


def _explain_failure(text: str) -> str:
    if "AccountStillBusy" in text:
        return ("a request of the notebook to its account was still being answered when its grading ended, so the "
                "grading process holding that account was retired")
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return ("the notebook's kernel stopped while it ran (a call to exit(), quit() or os._exit(), or a crash), "
                "so its tests could not run")
    return f"nbgrader could not execute the notebook: {_last_words(text)}"


def _record(course: Course, assignment: str, student: str, executed: Optional[Path], problem: Optional[str]) -> None:
    """Write one submission into the course's gradebook and autograded/ with nbgrader's own Autograde.

    ``executed`` is the folder holding the worker's executed notebooks, written there by this process from what
    the worker sent."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from grader.classroom.preprocessors import NotGraded, Replay, SanitizeMarkup

    stand_in = NotGraded if problem else Replay
    preprocessors = [stand_in if p is Execute else p for p in Autograde.autograde_preprocessors.make_dynamic_default()]
    # Scores are saved from the outputs as they ran; the notebook formgrader shows the instructor then runs no script.
    overrides = {"Autograde.autograde_preprocessors": preprocessors + [SanitizeMarkup]}
    if problem:
        overrides["NotGraded.reason"] = f"Grading stopped: {problem}."
    else:
        overrides["Replay.executed_dir"] = str(executed)
    result = course.api(**overrides).autograde(assignment, student, force=True, create=True)
    if not result.get("success"):
        raise RuntimeError(_last_words(f"{result.get('log', '')}{result.get('error', '')}"))


def record(course: Course, assignment: str, student: str, notebooks: dict, problem: Optional[str]) -> Optional[str]:
    """Record one submission whatever became of it, and return why it is not graded (None when it is graded).

    A submission the worker graded is recorded with ``Replay``; one it could not grade, or whose result nbgrader
    cannot record, with ``NotGraded`` (zero, and a note saying why in its autograded notebook and feedback). One that
    nbgrader cannot even read (not a notebook) gets zero in the gradebook directly, as nbgrader does for a notebook
    that was never submitted. Either way the batch goes on, and ``grading.json`` says what happened.
    """
    unreadable = _unreadable(course, assignment, student)
    if unreadable:
        problem = unreadable
    else:
        if problem is None:
            try:
                with _executed(notebooks) as executed:
                    _record(course, assignment, student, executed, None)
            except Exception as error:  # whatever nbgrader met, it costs this submission and no other
                problem = (f"its result could not be recorded ({error}); please report this notebook to the course's "
                           "maintainers")
            else:
                status.write(course, assignment, student, None, status.repairs(course, assignment, student))
                return None
        try:
            _record(course, assignment, student, None, problem)
        except Exception:  # nbgrader cannot even mark it: zeros below, and the reason is kept all the same
            pass
        else:
            status.write(course, assignment, student, problem, status.repairs(course, assignment, student))
            return problem
    _record_zeros(course, assignment, student, problem)
    status.write(course, assignment, student, problem, [])
    return problem


@contextlib.contextmanager
def _executed(notebooks: dict):
    """The worker's executed notebooks, in a folder of this process's own for nbgrader's ``Replay`` to read."""
    with tempfile.TemporaryDirectory(prefix="gated-recorded-") as folder:
        for name, text in notebooks.items():
            if "/" in name or name.startswith("."):
                raise RuntimeError(f"the worker sent a notebook named {name!r}")
            Path(folder, f"{name}.ipynb").write_text(text, encoding="utf-8")
        yield Path(folder)


def _unreadable(course: Course, assignment: str, student: str) -> Optional[str]:
    import nbformat

    for name in course.notebook_names(assignment):
        file = course.folder("submitted", student, assignment, f"{name}.ipynb")
        if not file.exists():
            continue  # nbgrader gives a notebook that was never submitted zero by itself
        try:
            nbformat.read(file, as_version=4)
        except Exception as error:  # any file Jupyter cannot open
            return (f"{name}.ipynb is not a notebook Jupyter can open ({type(error).__name__}: "
                    f"{_last_words(str(error), 120)}); ask for the notebook itself, then collect it with --replace")
    return None


def _record_zeros(course: Course, assignment: str, student: str, reason: str) -> None:
    """Zero for every part, in the gradebook directly: nbgrader's own treatment of a notebook never submitted."""
    submitted = course.folder("submitted", student, assignment)
    graded = course.folder("autograded", student, assignment)
    shutil.rmtree(graded, ignore_errors=True)  # an earlier result must not stand in for this one
    graded.mkdir(parents=True)
    timestamp = None
    if (submitted / "timestamp.txt").is_file():
        shutil.copyfile(submitted / "timestamp.txt", graded / "timestamp.txt")
        timestamp = course.api().coursedir.get_existing_timestamp(str(submitted))
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        for notebook in gb.find_submission(assignment, student).notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


_EXCEPTION = re.compile(r"^\s*[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b[^:]*:")


def _last_words(text: str, limit: int = 300) -> str:
    """The exception that caused a failure, from a log that ends in a traceback: nbgrader's own last words ("Please
    see the above traceback") name none, so the last line naming another exception is the cause."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    causes = [line for line in lines if _EXCEPTION.match(line) and "NbGraderException" not in line]
    return (causes[-1] if causes else lines[-1] if lines else "no message")[:limit]


def _record_diagnoses(course: Course, assignment: str, student: str, judged: dict, problem: Optional[str],
                      repairs: list) -> None:
    """What the checks found, for the class report (``grader.classroom.diagnoses``); never a reason to stop."""
    from grader.classroom import diagnoses

    try:
        diagnoses.record_submission(course, assignment, student, judged, problem, len(repairs))
    except Exception as error:  # the grade is recorded; only the report misses this submission
        print(f"autograde: the diagnoses of one submission could not be recorded ({type(error).__name__}: "
              f"{printable(str(error))[:200]}); its grade is recorded all the same", file=sys.stderr)


def _scores(course: Course, assignment: str, student: str) -> tuple[float, float]:
    with course.gradebook() as gb:
        submission = gb.find_submission(assignment, student)
        return float(submission.score), float(submission.max_score)


class Progress:
    """Plain-text progress on stderr: one line per submission as it is recorded."""

    def __init__(self, total: int, stream: Optional[TextIO] = None):
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()

    def __call__(self, graded: Graded) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done)
        status = f"{graded.score:g}/{graded.max_score:g}" if not graded.problem else "not graded"
        width = 24
        bar = "#" * int(width * self.done / max(self.total, 1))
        print(f"[{bar:<{width}}] {self.done}/{self.total} {graded.student}: {status} "
              f"({graded.seconds:.1f} s; about {left:.0f} s left)", file=self.stream, flush=True)


def autograde(course: Course, assignment: str, jobs: int = 2, students: Optional[list] = None,
              cell_timeout: int = CELL_TIMEOUT, notebook_timeout: int = NOTEBOOK_TIMEOUT, max_chars: int = MAX_CHARS,
              progress: Optional[Callable[[Graded], None]] = None, memory: int = 0) -> Batch:
    """Grade every submission of ``assignment`` (or ``students``); ``memory`` caps each kernel, in bytes (0: the
    default of ``grader.classroom.isolation.Limits``)."""
    course.require_assignment(assignment)
    _require_released(course, assignment)
    everyone = submitted_students(course, assignment)
    if students:
        unknown = sorted(set(students) - set(everyone))
        if unknown:
            raise UserError(f"No submission of {assignment} from {', '.join(unknown)} in {course.folder('submitted')}:"
                            f" collect it first (python -m grader.classroom collect {assignment} PATH).")
        everyone = [s for s in everyone if s in students]
    if not everyone:
        raise UserError(f"There are no submissions of {assignment} in {course.folder('submitted')}: collect them "
                        f"first (python -m grader.classroom collect {assignment} PATH).")
    if jobs < 1:
        raise UserError("--jobs must be at least 1.")
    if memory and memory < 128 * MiB:
        raise UserError(f"--memory must be at least 128 (MiB): a kernel needs about that to start; "
                        f"{LIMITS.memory // MiB} is the default.")
    try:
        mode = isolation_mode()
    except RuntimeError as error:
        raise UserError(str(error)) from None
    if mode == "user":
        print("autograde: grading in user mode: each kernel runs as a user of its own, without namespaces (it reads "
              "what any user may read, and has the network; see README: the judge and the walls).", file=sys.stderr)
    elif mode != "namespaces":
        print("autograde: grading in plain mode: the verdicts are the grader's, but the operating system does not wall "
              "each kernel off (run as root with util-linux's unshare and setpriv; see README: the judge and the "
              "walls).", file=sys.stderr)
    batch = Batch(assignment)
    report = progress or Progress(len(everyone))
    started = time.perf_counter()
    sweep_stale_batches()
    uids = {s: batch_uid_base() + index for index, s in enumerate(everyone)}
    with _scratch(PREFIXES[0], 0o700, uids) as scratch, _scratch(PREFIXES[1], 0o711, uids) as walls, \
            _protected():
        # The scratch folder (the solutions, the gradebook's copies) is the grader's alone; kernels' users may pass
        # through the walls folder to their own folder, whose name they cannot guess, and see nothing else there.
        private = [str(p) for p in private_folders(course.root, scratch)]
        gradebook = scratch / "gradebook.template.db"
        with course.gradebook():  # makes sure the database exists and is migrated
            pass
        shutil.copyfile(course.root / "gradebook.db", gradebook)
        os.chmod(gradebook, 0o600)
        works = {s: _workdir(course, assignment, s, scratch, gradebook) for s in everyone}
        record_lock = threading.Lock()
        # One worker per thread of the pool, replaced when a submission had to be killed.
        local = threading.local()
        workers: list[WorkerHandle] = []

        def run(student: str) -> tuple[str, Optional[str], dict, float, dict]:
            begun = time.perf_counter()
            worker = getattr(local, "worker", None)
            if worker is None or not worker.alive:
                worker = local.worker = WorkerHandle(scratch / f"worker-{threading.get_ident()}-{len(workers)}.log",
                                               own_mounts=mode == "namespaces", temporary=scratch / "tmp")
                with record_lock:
                    workers.append(worker)
            wall = {"walls": str(walls), "uid": uids[student], "private": private, "memory": memory}
            problem, notebooks = worker.grade(works[student], assignment, student, cell_timeout, notebook_timeout,
                                              max_chars, wall)
            if problem:  # a worker killed mid-notebook leaves its kernel's processes to us
                kill_processes_of(uids[student])
            return student, problem, notebooks, time.perf_counter() - begun, worker.findings

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run, s): s for s in everyone}
            for future in as_completed(futures):
                student = futures[future]
                try:
                    _, problem, notebooks, seconds, judged = future.result()
                except Exception as error:  # the grading of one submission failed outside its worker
                    problem, notebooks, seconds = f"the grader failed while it ran this submission ({error})", {}, 0.0
                    judged = {}
                with record_lock:  # the gradebook is written by one submission at a time
                    problem = record(course, assignment, student, notebooks, problem)
                    score, max_score = _scores(course, assignment, student)
                    repairs = [] if problem else status.repairs(course, assignment, student)
                    _record_diagnoses(course, assignment, student, judged if not problem else {}, problem, repairs)
                graded = Graded(student, score, max_score, seconds, problem, repairs)
                batch.graded.append(graded)
                report(graded)
                shutil.rmtree(works[student], ignore_errors=True)
        for worker in workers:
            if worker.alive:
                worker.close()
        kill_processes_of(*uids.values())
    batch.graded.sort(key=lambda g: g.student)
    batch.seconds = time.perf_counter() - started
    return batch
