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

``user`` (root, but no namespaces: a container without ``CAP_SYS_ADMIN``, such as Gradescope's)
    The kernel runs as a user of its own (a uid no other submission gets, no groups, ``no_new_privs``), in a folder
    of its own that only that user may enter, with the same limits and memory cgroup. It reads only what any user may
    read: folders of mode 0700 (the batch's scratch folders, a course or an autograder's source made so) are closed to
    it, but world-readable files are not, and it has the machine's network. It cannot signal the grader's processes;
    every process of its uid is killed when its notebook ends. Chosen only where this Python runs as another user
    (its interpreter and the engine readable by anyone).

``plain`` (not root, no namespaces, or ``GATED_COMMUNITY_ISOLATION=plain``)
    The kernel runs as the grader's own user in a folder of its own, with its own home. The verdicts are still the
    worker's (test cells run in the worker against the account it holds), but the operating system does not keep
    the kernel from reading the course's files, from other submissions of the same batch, or from the network, and
    a process that leaves the kernel's process group can outlive the notebook.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from grader.served.wire import VARIABLE as ACCOUNT_VARIABLE

MODE_VARIABLE = "GATED_COMMUNITY_ISOLATION"
PRIVATE_VARIABLE = "GATED_COMMUNITY_PRIVATE"
"""More folders to cover, separated by ``:`` (another checkout of the course, a folder of past submissions...)."""
UID_BASE = 1_000_000_000
UIDS_PER_BATCH = 10_000
MAX_PROCESSES = 256
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one kernel may use, as the platforms' graders cap a container: memory, processes, disk, files."""

    memory: int = 2048 * MiB
    """All its processes together, where the machine has a memory cgroup to give it; else each process's address
    space."""
    processes: int = MAX_PROCESSES
    file_size: int = 256 * MiB
    open_files: int = 1024
    folder: int = 512 * MiB
    """Its own folder (home, working and temporary folder), where the worker can give it a folder of that size."""
    scratch: int = 64 * MiB
    """Its /dev/shm."""


LIMITS = Limits()

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
mount -t tmpfs -o mode=1777,nosuid,nodev,size=$WALLED_SHM walled-shm /dev/shm
exec "$@"
"""
"""Run as root in the kernel's new mount namespace: each private folder (``root KEEP... ;``) is replaced by an empty
read-only one holding only what is kept of it, before the command after ``--`` runs. What is made in a private
folder later is not seen either; and the kernel gets a /dev/shm of its own, of ``$WALLED_SHM`` bytes."""

_ENTER = r"""
echo 1000 > /proc/self/oom_score_adj
if [ -n "$1" ]; then echo $$ > "$1/cgroup.procs"; fi
shift
exec "$@"
"""
"""The first step of a kernel's command: it is the first the kernel killer takes when memory runs out (its children
inherit that), never the grader; and where it has a memory cgroup (``$1``), it enters it."""

_mode: Optional[str] = None


def isolation_mode() -> str:
    """``namespaces`` where this machine can wall a kernel off, else ``plain`` (see the module's docstring)."""
    global _mode
    wanted = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if wanted == "plain":
        return "plain"
    if wanted == "user":
        if not _user_works():
            raise RuntimeError(f"{MODE_VARIABLE}=user, but this machine cannot run a kernel as a user of its own: the "
                               "grader must run as root with util-linux's setpriv, and this Python (its interpreter "
                               "and the engine) must be readable by any user.")
        return "user"
    if _mode is None:
        _mode = "namespaces" if _namespaces_work() else "user" if _user_works() else "plain"
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


_user: Optional[bool] = None


def _user_works() -> bool:
    """Whether a kernel can run here as a user of its own: root, setpriv, and this Python with the engine and the
    kernel's packages importable by a user that owns nothing (an interpreter under a 0700 home is not)."""
    global _user
    if _user is None:
        _user = False
        if os.name == "posix" and os.geteuid() == 0 and shutil.which("setpriv"):
            probe = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
                     sys.executable, "-c", "import grader.classroom, ipykernel"]
            try:
                _user = subprocess.run(probe, capture_output=True, timeout=60, cwd="/").returncode == 0
            except (OSError, subprocess.SubprocessError):
                _user = False
    return _user


def _namespace_prefix() -> list[str]:
    return [shutil.which("unshare") or "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
            "--net", "--ipc", "--uts", "--propagation", "private", "--"]


def batch_uid_base() -> int:
    """The first uid of this batch's kernels: a range no process on the machine uses, drawn at random, so batches
    running side by side (in one process or several) never share a kernel's user."""
    for _ in range(100):
        base = UID_BASE + secrets.randbelow(100_000) * UIDS_PER_BATCH
        if not _pids_of(set(range(base, base + UIDS_PER_BATCH))):
            return base
    raise RuntimeError("no free range of users for the kernels of this batch")


@dataclass
class Wall:
    """One notebook's kernel, walled off: ``folder`` is its home and working folder, ``uid`` its user."""

    folder: Path
    uid: Optional[int]
    mode: str
    private: list = field(default_factory=list)
    limits: Limits = LIMITS
    cgroup: Optional[Path] = None
    mounted: bool = False

    @property
    def account_socket(self) -> Path:
        return self.folder / "account.sock"

    @classmethod
    def build(cls, walls: Path, uid: Optional[int], files: Optional[Path] = None,
              private: Iterable[Path] = (), limits: Limits = LIMITS) -> "Wall":
        """A fresh folder under ``walls`` holding a copy of ``files`` (the submission's own folder).

        In the namespaces mode, where this process has a mount namespace of its own (a grading worker does), the
        folder is a file system of ``limits.folder`` bytes, so a kernel cannot fill the machine's disk; and where
        the machine has a memory cgroup to give, the kernel gets one of its own.
        """
        mode = isolation_mode()
        walls.mkdir(parents=True, exist_ok=True)
        folder = walls / secrets.token_hex(8)
        folder.mkdir()
        wall = cls(folder, uid if mode in ("namespaces", "user") else None, mode, [Path(p) for p in private], limits)
        if wall.uid is not None and _own_mount_namespace():
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.folder},mode=0700,nosuid,nodev",
                            "walled-home", str(folder)], check=True, capture_output=True)
            wall.mounted = True
        if files is not None and files.is_dir():
            shutil.copytree(files, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"), symlinks=True,
                            dirs_exist_ok=True)
        (folder / ".tmp").mkdir(exist_ok=True)
        if wall.uid is not None:
            os.chmod(walls, 0o711)
            for path in [folder, *folder.rglob("*")]:
                os.lchown(path, wall.uid, wall.uid)
            os.chmod(folder, 0o700)
            wall.cgroup = memory_cgroup(f"{CGROUP_PREFIX}{os.getpid()}-{folder.name}", limits.memory)
        return wall

    def own(self, path: Path) -> None:
        """Give a file the worker made (the connection file) to the kernel's user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def environment(self, base: dict) -> dict:
        env = dict(base)
        for name in ("GATED_COMMUNITY_COURSE", "JPY_PARENT_PID", "JUPYTER_RUNTIME_DIR", PRIVATE_VARIABLE):
            env.pop(name, None)
        home = str(self.folder)
        env.update({"HOME": home, "TMPDIR": str(self.folder / ".tmp"), "IPYTHONDIR": str(self.folder / ".ipython"),
                    "JUPYTER_RUNTIME_DIR": str(self.folder / ".tmp"), "JUPYTER_CONFIG_DIR": str(self.folder / ".tmp"),
                    "JUPYTER_DATA_DIR": str(self.folder / ".tmp"), "MPLCONFIGDIR": str(self.folder / ".tmp"),
                    "PYTHONDONTWRITEBYTECODE": "1", ACCOUNT_VARIABLE: str(self.account_socket),
                    "WALLED_SHM": str(self.limits.scratch)})
        return env

    def command(self, kernel_cmd: list[str]) -> list[str]:
        """The kernel's command line, wrapped in the wall.

        In both modes: the kernel killer takes the kernel first, it dies with its worker, and its files, open files
        and memory are capped (``Limits``). In the namespaces mode, also its own user, mounts, processes and no
        network.
        """
        enter = ["/bin/sh", "-c", _ENTER, "enter", str(self.cgroup or "")]
        dies_with_worker = ([shutil.which("setpriv"), "--pdeathsig", "KILL", "--"] if shutil.which("setpriv")
                            else [])
        limits = [f"--fsize={self.limits.file_size}", f"--nofile={self.limits.open_files}", "--core=0"]
        if self.cgroup is None:
            limits.append(f"--as={self.limits.memory}")
        if self.uid is None:
            capped = [shutil.which("prlimit"), *limits, "--"] if shutil.which("prlimit") else []
            return enter + dies_with_worker + capped + list(kernel_cmd)
        privileges = [shutil.which("setpriv") or "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}",
                      "--clear-groups", "--no-new-privs", "--"]
        # RLIMIT_NPROC counts the processes of the kernel's own user: a fork bomb stops at it, not at the machine.
        capped = ([shutil.which("prlimit"), f"--nproc={self.limits.processes}", *limits, "--"]
                  if shutil.which("prlimit") else [])
        if self.mode == "user":  # no namespaces to make: its own user, folder and limits only
            return enter + dies_with_worker + capped + privileges + list(kernel_cmd)
        return (enter + dies_with_worker + _namespace_prefix() + ["/bin/sh", "-c", _WALL, "walled"] + self.mounts()
                + ["--"] + capped + privileges + list(kernel_cmd))

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
        if self.mounted:
            subprocess.run(["umount", "--lazy", str(self.folder)], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.cgroup is not None:
            remove_cgroup(self.cgroup)


def _own_mount_namespace() -> bool:
    """Whether this process's mounts are its own, not its parent's (a grading worker's are): a mount made here is then
    seen by no one else, and goes when it does."""
    try:
        return os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    except OSError:
        return False


CGROUP_PREFIX = "gated-community-"
"""A kernel's memory cgroup is named ``gated-community-<its worker's pid>-<its folder's name>``."""


def memory_cgroup(name: str, limit: int) -> Optional[Path]:
    """A memory cgroup of ``limit`` bytes under this process's own, or None where the machine gives none to make."""
    for parent, setting in memory_cgroup_parents():
        folder = parent / name
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / setting).write_text(str(limit))
            swap = folder / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            return folder
        except OSError:
            remove_cgroup(folder)
    return None


def memory_cgroup_parents() -> list[tuple[Path, str]]:
    """Where this process could make a memory cgroup, each with the file that sets its limit."""
    own = _own_cgroups()
    found = []
    if "memory" in own:  # cgroup v1
        found.append((Path("/sys/fs/cgroup/memory") / own["memory"].lstrip("/"), "memory.limit_in_bytes"))
    if "" in own:  # cgroup v2: works where the memory controller is delegated to this process's cgroup
        for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
            if (base / "cgroup.controllers").exists():
                found.append((base / own[""].lstrip("/"), "memory.max"))
                break
    return found


def remove_cgroup(folder: Path) -> None:
    """Remove a kernel's cgroup once its processes are gone; a cgroup that cannot go yet is left for the sweep."""
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def sweep_stale_cgroups() -> None:
    """Remove the kernels' memory cgroups whose worker is gone (a cgroup with processes in it cannot be removed)."""
    for parent, _ in memory_cgroup_parents():
        with contextlib.suppress(OSError):
            for folder in parent.glob(f"{CGROUP_PREFIX}*-*"):
                try:
                    pid = int(folder.name[len(CGROUP_PREFIX):].split("-")[0])
                except ValueError:
                    continue
                if not Path(f"/proc/{pid}").exists():
                    with contextlib.suppress(OSError):
                        folder.rmdir()


def _own_cgroups() -> dict:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            out[controller] = path
    return out


def become_subreaper() -> None:
    """Make this process the one that orphaned descendants return to, however they left their session (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def kill_descendants() -> int:
    """Kill every process descended from this one (a subreaper's orphans included); return how many."""
    return _kill_until_gone(_descendants, reap=True)


def _descendants() -> list[int]:
    children: dict = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _kill_until_gone(find, reap: bool = False) -> int:
    """SIGKILL what ``find()`` lists until it lists nothing (a process may fork while it is killed); how many."""
    killed = 0
    for _ in range(50):
        pids = find()
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        for pid in pids if reap else ():  # our own children, so they do not stay as zombies
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)
    return killed


def _parents() -> dict:
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        out[int(entry)] = int(text[text.rfind(")") + 2:].split()[1])
    return out


def kill_processes_of(*uids: int) -> int:
    """Kill every process whose real user is one of ``uids`` (kernels' own users only); return how many."""
    wanted = set(uids)
    return _kill_until_gone(lambda: _pids_of(wanted))


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
    """Folders a kernel sees only what it needs of.

    The project holding the engine (and, for a git worktree, the checkout it belongs to), the grading user's home,
    everyone's homes, the machine's shared temporary folders (another batch's scratch is there, and nothing a kernel
    writes may stay on the machine), ``extra`` (the course, the batch's scratch folder), and the folders named in
    ``GATED_COMMUNITY_PRIVATE``.
    """
    import grader

    project = Path(grader.__file__).resolve().parent.parent
    shared = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/run/lock"), Path("/dev/mqueue"),
              Path("/home"), Path("/root"), Path("/srv"), Path("/mnt"), Path("/media")]
    named = [Path(p) for p in os.environ.get(PRIVATE_VARIABLE, "").split(":") if p.strip()]
    folders = [project, Path.home(), *shared, *extra, *named]
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
