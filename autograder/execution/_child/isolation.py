"""Isolate a process that runs student code: its own user, filesystem view and network.

The grader (root or not) writes a :class:`Jail` plan as JSON; ``kernel_launcher.py``
carries it out in the child before it execs the kernel or the probe. As root, the child

- gets a fresh **network namespace** (only a loopback that is down: no network at all;
  the kernel's channel to the grader is Unix sockets in its sandbox, which need none);
- gets a fresh **mount namespace** whose root is an empty tmpfs with only what Python
  needs bound into it, read-only (``/usr``, ``/etc``, the Python installation and venv,
  the autograder package), plus its own sandbox read-write and a private ``/tmp``,
  ``/dev`` and ``/proc`` (which shows only its own processes). Everything else (the
  course with its rubrics and references, hidden data, caches, the output folder, other
  submissions, the grader's home) is not there to read: a whitelist, not a blacklist;
- runs as a **user of its own** (a fresh uid per sandbox, no groups, no new
  privileges), so a process limit (RLIMIT_NPROC) holds, files it writes are its own,
  and the grader can kill every process it started by uid, even ones that left its
  process group;
- runs under **rlimits** on address space, file size, processes and core dumps.

Without root only the rlimits apply; :func:`capabilities` says so and the result notes
it. This module is loaded by path in the launcher, before any student code runs, so it
imports only the standard library.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

# Linux constants (include/uapi/linux/sched.h, mount.h, prctl.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

UID_BASE = 1_900_000_000
"""Kernel users are numbered from here: far above any real account's uid."""
UID_SPAN = 100_000_000


class IsolationError(OSError):
    """The launcher could not set up the isolation it was asked for (it then refuses to run)."""


@dataclass(frozen=True)
class Jail:
    """What the launcher does before it execs the command (JSON between grader and launcher)."""

    memory_bytes: int
    file_size_bytes: int
    processes: int
    isolate: bool = False
    """Namespaces and a user of its own; only as root (see :func:`capabilities`)."""
    uid: int = -1
    root: str = ""
    """An empty directory where the new filesystem root is assembled."""
    readonly: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    """Folders inside the read-only ones that the jail sees empty (the course a wheel ships
    inside the package: rubrics and reference implementations stay out of the sandbox)."""
    devices: tuple[str, ...] = ()
    """Device files bound into the private /dev besides null, zero, random... (GPUs)."""
    own: tuple[str, ...] = ()
    """Files handed to the jail's user before privileges are dropped (the connection file)."""
    cwd: str = ""
    tmp_bytes: int = 512 * 1024**2
    """Size of the private /tmp and /dev/shm (tmpfs lives in memory, outside RLIMIT_AS)."""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Jail:
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("readonly", "writable", "hidden", "devices", "own"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclass(frozen=True)
class Capabilities:
    """What isolation this grader can give a kernel, and why not where it cannot."""

    isolate: bool
    reason: str = ""
    missing: tuple[str, ...] = field(default=())

    def notes(self) -> tuple[str, ...]:
        if self.isolate:
            return ()
        return (
            f"The notebook ran without isolation ({self.reason}): it had the network, ran as the grader's user and "
            "could read the grader's files. Only the time, memory, file-size and process limits applied.",
        )


def die_with_parent() -> None:
    """Ask Linux to kill this process when the process that started it dies, so a batch
    killed with -9 leaves no kernel or worker running. It survives exec; a change of user
    clears it, so it is set after entering the jail."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def new_uid() -> int:
    """A uid no running process has: one per sandbox, so limits and kills are per sandbox."""
    while True:
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        if not _pids_of(uid):
            return uid


def system_paths() -> tuple[str, ...]:
    """What the isolated Python needs to read: the system, the interpreter, the venv, and
    the installed packages' folders wherever they are (a ``.pth`` file may name another)."""
    paths = {"/usr", "/etc", "/sys", sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    paths.update(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir())
    for entry in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        if entry and entry != "/" and Path(entry).is_dir():
            paths.add(entry)
    return tuple(sorted(p for p in paths if Path(p).exists()))


LAUNCHER = Path(__file__).with_name("kernel_launcher.py")
"""Carries out a jail plan, then execs the command (run by path: it imports nothing of the package)."""


def jailed(plan: Path, command: Sequence[str], *, own: str | None = None) -> list[str]:
    """The command line that runs ``command`` in the jail planned in ``plan`` (see :class:`Jail`);
    ``own``: a file the jailed user is given (the kernel's connection file). The one place such
    a command is built, for the kernel and the probes alike."""
    return [sys.executable, "-I", str(LAUNCHER), "--jail", str(plan), *(["--own", own] if own else []),
            "--", *command]


@cache
def capabilities() -> Capabilities:
    """Try, once per grader process, to isolate a throwaway child the way a kernel is."""
    if not sys.platform.startswith("linux"):
        return Capabilities(False, "namespaces exist only on Linux")
    if os.geteuid() != 0:
        return Capabilities(False, "the grader does not run as root, so it cannot create namespaces or switch users")
    try:
        done = subprocess.run([sys.executable, "-I", str(LAUNCHER), "--check"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Capabilities(False, f"the isolation check failed: {exc}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Capabilities(False, f"the system refused namespaces: {last}")
    return Capabilities(True)


# ---------------------------------------------------------------- grader side: cleanup

def _pids_of(uid: int) -> list[int]:
    """Live processes of ``uid`` (zombies are dead already, waiting for their parent)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid != uid:
                    continue
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    state = handle.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                pids.append(int(entry.name))
    return pids


def kill_user(uid: int) -> int:
    """Kill every process of ``uid`` (what the student started, daemons included).

    Stop them all first, so a fork loop cannot outpace the kill; repeat until none is left.
    Returns how many processes were found.
    """
    found: set[int] = set()
    for _ in range(50):
        pids = _pids_of(uid)
        if not pids:
            break
        found.update(pids)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    continue
        time.sleep(0.02)
    return len(found)


# ---------------------------------------------------------------- child side: enter the jail

def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc: ctypes.CDLL, source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {source} on {target}")


def _bind(libc: ctypes.CDLL, root: str, path: str, *, readonly: bool, device: bool = False) -> None:
    target = root + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()  # a mount point for a file
    _mount(libc, path, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (0 if device else MS_NODEV) | (MS_RDONLY if readonly else 0)
    _mount(libc, None, target, None, flags)


def _tmpfs(libc: ctypes.CDLL, target: str, size: int, mode: str) -> None:
    os.makedirs(target, exist_ok=True)
    _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _build_root(libc: ctypes.CDLL, jail: Jail) -> None:
    root = jail.root
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    # Merged-/usr systems: /bin, /lib... are links into /usr; keep them links.
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), f"{root}/{name}")
    _tmpfs(libc, root + "/tmp", jail.tmp_bytes, "1777")
    for path in sorted(jail.readonly, key=len):
        if not os.path.islink(path) and os.path.exists(path):
            _bind(libc, root, path, readonly=True)
    for path in sorted(jail.writable, key=len):
        _bind(libc, root, path, readonly=False)
    for path in jail.hidden:
        if os.path.isdir(root + path):
            _mount(libc, "tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0555")
    # A private /dev with only harmless devices, and shared memory of its own.
    os.makedirs(root + "/dev")
    _mount(libc, "tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "size=1m,mode=0755")  # device files work here
    for name in ("null", "zero", "full", "random", "urandom", "tty", *jail.devices):
        path = name if name.startswith("/") else f"/dev/{name}"
        if os.path.exists(path):
            _bind(libc, root, path, readonly=False, device=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    _tmpfs(libc, root + "/dev/shm", jail.tmp_bytes, "1777")
    # A fresh /proc in which the jail's user sees only its own processes.
    os.makedirs(root + "/proc", exist_ok=True)
    _mount(libc, "proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")


def _pivot(libc: ctypes.CDLL, root: str) -> None:
    """Make ``root`` the filesystem root and detach the old one entirely."""
    number = _PIVOT_ROOT.get(os.uname().machine)
    os.chdir(root)
    if number is None:  # an architecture we have no syscall number for: chroot is enough for a non-root user
        os.chroot(".")
        return
    os.makedirs(".old-root", exist_ok=True)
    _check(libc.syscall(ctypes.c_long(number), b".", b".old-root"), "pivot_root")
    os.chroot(".")
    _check(libc.umount2(b"/.old-root", MNT_DETACH), "unmount the old root")
    os.rmdir("/.old-root")


def _set_limit(which: int, value: int) -> None:
    # Never raise a hard limit we were given (that fails for unprivileged users).
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def enter(jail: Jail) -> None:
    """Carry out ``jail`` in the current process (the launcher, before exec)."""
    if jail.isolate:
        libc = _libc()
        for path in jail.own:
            os.chown(path, jail.uid, jail.uid, follow_symlinks=False)
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
        # Private: nothing mounted here leaks back to the host's mount table.
        _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
        _build_root(libc, jail)
        _pivot(libc, jail.root)
        os.setgroups([])
        os.setresgid(jail.uid, jail.uid, jail.uid)
        os.setresuid(jail.uid, jail.uid, jail.uid)
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _set_limit(resource.RLIMIT_AS, jail.memory_bytes)
    _set_limit(resource.RLIMIT_FSIZE, jail.file_size_bytes)
    _set_limit(resource.RLIMIT_CORE, 0)
    # Counts every process and thread of the user; only meaningful for a user of its own.
    if jail.isolate:
        _set_limit(resource.RLIMIT_NPROC, jail.processes)
    if jail.cwd:
        os.chdir(jail.cwd)


def check() -> None:
    """Fail unless this process can create the namespaces and mounts :func:`enter` uses."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    target = f"/tmp/autograder-check-{os.getpid()}"
    os.makedirs(target, exist_ok=True)
    try:
        _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
        os.makedirs(target + "/proc")
        _mount(libc, "proc", target + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    finally:
        libc.umount2(f"{target}/proc".encode(), MNT_DETACH)
        libc.umount2(target.encode(), MNT_DETACH)
        os.rmdir(target)
