"""The wall around one submission's kernel: its own user, folder, mounts, processes and no network.

Two modes, chosen once per worker (``isolation_mode()``):

``namespaces`` (the grader runs as root and util-linux's ``unshare`` and ``setpriv`` work)
    The kernel runs as a user of its own (a uid no other submission gets, with no groups and ``no_new_privs``), in
    new mount, pid, network, IPC and UTS namespaces. In its mount namespace each private folder (the course, the
    project, the grading user's home, the batch's scratch folder) is replaced by an empty read-only one that holds
    only what the kernel needs of it: the interpreter, the installed engine, its own folder. It is the first
    process of its pid namespace, so it sees and signals no process outside it, and when it ends the kernel ends
    every process it started; its network namespace has nothing but a loopback interface that is down. It talks to the worker through files in its own
    folder only: ZeroMQ's ``ipc`` sockets for the kernel protocol, and the served account's Unix socket. When its
    notebook is done every process of its uid is killed, whatever session or process group it moved to.

``plain`` (not root, no namespaces, or ``GATED_COMMUNITY_ISOLATION=plain``)
    The kernel runs as the grader's own user in a folder of its own, with its own home. The verdicts are still the
    worker's (test cells run in the worker against the account it holds), but the operating system does not keep
    the kernel from reading the course's files, from other submissions of the same batch, or from the network, and
    a process that leaves the kernel's process group can outlive the notebook.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

MODE_VARIABLE = "GATED_COMMUNITY_ISOLATION"
UID_BASE = 1_000_000_000
UIDS_PER_BATCH = 10_000
MAX_PROCESSES = 256

_WALL = r"""
set -e
mount -t tmpfs -o mode=0700,size=64k walled-stage /dev/shm
while [ "$1" != "--" ]; do
  root=$1; shift
  n=0
  while [ "$1" != ";" ]; do
    n=$((n + 1)); mkdir "/dev/shm/$n"; mount --rbind "$root/$1" "/dev/shm/$n"; eval "keep_$n=\$1"; shift
  done
  shift
  [ -d "$root" ] || continue
  mount -t tmpfs -o mode=0755,nosuid,nodev,size=64k walled "$root"
  i=0
  while [ $i -lt $n ]; do
    i=$((i + 1)); eval "sub=\$keep_$i"; mkdir -p "$root/$sub"; mount --move "/dev/shm/$i" "$root/$sub"
    rmdir "/dev/shm/$i"
  done
  mount -o remount,ro,bind "$root"
done
shift
umount /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m walled-shm /dev/shm
exec "$@"
"""
"""Run as root in the kernel's new mount namespace: each private folder (``root KEEP... ;``) is replaced by an empty
read-only one holding only what is kept of it, before the command after ``--`` runs. What is made in a private
folder later is not seen either; and the kernel gets a /dev/shm of its own."""

_mode: Optional[str] = None


def isolation_mode() -> str:
    """``namespaces`` where this machine can wall a kernel off, else ``plain`` (see the module's docstring)."""
    global _mode
    wanted = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if wanted == "plain":
        return "plain"
    if _mode is None:
        _mode = "namespaces" if _namespaces_work() else "plain"
    if wanted == "namespaces" and _mode != "namespaces":
        raise RuntimeError(f"{MODE_VARIABLE}=namespaces, but this machine cannot wall a kernel off: the grader must "
                           "run as root with util-linux's unshare and setpriv, and namespaces must be allowed (in a "
                           "container: docker run --privileged, or --cap-add SYS_ADMIN).")
    return _mode


def _namespaces_work() -> bool:
    if os.name != "posix" or os.geteuid() != 0:
        return False
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    probe = _namespace_prefix() + ["/bin/sh", "-c", "mount -t tmpfs walled /dev/shm && exec setpriv --reuid=65534 "
                                   "--regid=65534 --clear-groups --no-new-privs true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _namespace_prefix() -> list[str]:
    return [shutil.which("unshare") or "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
            "--net", "--ipc", "--uts", "--propagation", "private", "--"]


def batch_uid_base() -> int:
    """The first uid of this batch's kernels: batches running side by side on one machine get different ranges."""
    return UID_BASE + (os.getpid() % 100_000) * UIDS_PER_BATCH


@dataclass
class Wall:
    """One notebook's kernel, walled off: ``folder`` is its home and working folder, ``uid`` its user."""

    folder: Path
    uid: Optional[int]
    mode: str
    private: list = field(default_factory=list)

    @property
    def account_socket(self) -> Path:
        return self.folder / "account.sock"

    @classmethod
    def build(cls, walls: Path, uid: Optional[int], files: Optional[Path] = None,
              private: Iterable[Path] = ()) -> "Wall":
        """A fresh folder under ``walls`` holding a copy of ``files`` (the submission's own folder)."""
        mode = isolation_mode()
        walls.mkdir(parents=True, exist_ok=True)
        folder = walls / secrets.token_hex(8)
        if files is not None and files.is_dir():
            shutil.copytree(files, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        folder.mkdir(exist_ok=True)
        (folder / ".tmp").mkdir(exist_ok=True)
        wall = cls(folder, uid if mode == "namespaces" else None, mode, [Path(p) for p in private])
        if wall.uid is not None:
            os.chmod(walls, 0o711)
            for path in [folder, *folder.rglob("*")]:
                os.lchown(path, wall.uid, wall.uid)
            os.chmod(folder, 0o700)
        return wall

    def own(self, path: Path) -> None:
        """Give a file the worker made (the connection file) to the kernel's user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def environment(self, base: dict) -> dict:
        env = dict(base)
        for name in ("GATED_COMMUNITY_COURSE", "JPY_PARENT_PID", "JUPYTER_RUNTIME_DIR"):
            env.pop(name, None)
        home = str(self.folder)
        env.update({"HOME": home, "TMPDIR": str(self.folder / ".tmp"), "IPYTHONDIR": str(self.folder / ".ipython"),
                    "JUPYTER_RUNTIME_DIR": str(self.folder / ".tmp"), "JUPYTER_CONFIG_DIR": str(self.folder / ".tmp"),
                    "JUPYTER_DATA_DIR": str(self.folder / ".tmp"), "MPLCONFIGDIR": str(self.folder / ".tmp"),
                    "PYTHONDONTWRITEBYTECODE": "1", "GATED_COMMUNITY_ACCOUNT": str(self.account_socket)})
        return env

    def command(self, kernel_cmd: list[str]) -> list[str]:
        """The kernel's command line, wrapped in the wall."""
        if self.uid is None:
            return list(kernel_cmd)
        privileges = [shutil.which("setpriv") or "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                      "--clear-groups", "--no-new-privs", "--"]
        # RLIMIT_NPROC counts the processes of the kernel's own user: a fork bomb stops at it, not at the machine.
        limits = [shutil.which("prlimit"), f"--nproc={MAX_PROCESSES}", "--"] if shutil.which("prlimit") else []
        return (_namespace_prefix() + ["/bin/sh", "-c", _WALL, "walled"] + self.mounts() + ["--"] + limits
                + privileges + list(kernel_cmd))

    def mounts(self) -> list[str]:
        """The wall's arguments: each private folder, what the kernel needs of it, then ``;``; outer folders first."""
        needed = [Path(os.path.realpath(p)) for p in [self.folder] + _needed_to_run()]
        roots = sorted({Path(os.path.realpath(p)) for p in self.private}, key=lambda p: len(p.parts))
        out: list[str] = []
        for root in roots:
            if not root.is_dir() or any(_inside(root, other) and root != other for other in roots):
                continue  # an inner folder goes with the outer one, which keeps nothing of it but what is needed
            kept = _outermost([n for n in needed if _inside(n, root) and n != root])
            if any(n == root for n in needed):
                continue
            out += [str(root)] + [str(k.relative_to(root)) for k in kept] + [";"]
        return out

    def sweep(self) -> int:
        """Kill every process of the kernel's user; return how many there were."""
        return kill_processes_of(self.uid) if self.uid is not None else 0

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def kill_processes_of(*uids: int) -> int:
    """Kill every process whose real user is one of ``uids`` (kernels' own users only); return how many."""
    wanted = set(uids)
    killed = 0
    for _ in range(50):
        pids = _pids_of(wanted)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    return killed


def _outermost(paths: list[Path]) -> list[Path]:
    return sorted(p for p in set(paths) if not any(_inside(p, q) and p != q for q in paths))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _needed_to_run() -> list[Path]:
    """The interpreter, its libraries and the engine: the kernel imports them."""
    import grader

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(grader.__file__).parent,
             Path(os.path.realpath(sys.executable)).parent}
    return [p for p in paths if p.exists()]


def _pids_of(uids: set) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) in uids:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def private_folders(*extra: Path) -> list[Path]:
    """Folders a kernel sees only what it needs of: the project holding the engine (and, for a git worktree, the
    checkout it belongs to), the grading user's home, and ``extra`` (the course, the batch's scratch folder)."""
    import grader

    project = Path(grader.__file__).resolve().parent.parent
    folders = [project, Path.home(), *extra]
    git = project / ".git"
    if git.is_file():  # a worktree: its history and the main checkout sit elsewhere
        text = git.read_text().strip()
        if text.startswith("gitdir:"):
            common = Path(text.split(":", 1)[1].strip()).resolve()
            for parent in common.parents:
                if (parent / ".git").is_dir():
                    folders.append(parent)
                    break
    return [f for f in folders if f.exists() and f != Path("/")]
