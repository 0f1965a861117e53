"""Run behaviour probes: a student's class or exported program called in a limited process.

The grading process never imports or calls student code; it writes the inputs, asks
``autograder.execution._child.probe_main`` in another process under the sandbox's limits and in the same
jail as the kernel (``isolation.py``: its own user, no network, a filesystem with only
Python and its own folder, into which the exported programs a query needs are copied),
and reads back plain ``.npy`` outputs.

One :class:`ProbeSession` serves one submission's checks: its process starts once (Python,
NumPy, and PyTorch when a program is run) and answers every query in turn, so a lab with
a dozen queries pays for one start instead of twelve. A query that times out or kills the
process is that query's result; the next query starts a fresh process. Nothing outlives
the session, so one student's probe state never reaches another's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from autograder import bundled
from autograder.config import ExecutionLimits
from autograder.execution._child import isolation, probe_main

DEFAULT_TIMEOUT = 120.0
"""Seconds one query may take."""


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    outputs: dict[str, np.ndarray[Any, Any]]
    error: str = ""


def _read_plain(path: Path) -> bytes:
    """A file the probe wrote, refused if it is a link (to a file of the grader's)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path.name} is not a plain file")
        return handle.read()


def _read_answer(query: Path) -> ProbeResult:
    report_file = query / "report.json"
    if not report_file.is_file():
        return ProbeResult(False, {}, "the process running it crashed (memory limit or exit)")
    try:
        report = json.loads(_read_plain(report_file))
        outputs = {p.stem[len("out__"):]: np.load(io.BytesIO(_read_plain(p)), allow_pickle=False)
                   for p in query.glob("out__*.npy")}
    except (OSError, ValueError) as exc:
        return ProbeResult(False, {}, f"its outputs cannot be read: {exc}")
    if not report.get("ok"):
        return ProbeResult(False, {}, str(report.get("error", "it raised an error")))
    return ProbeResult(True, outputs)


@dataclass
class _Process:
    """A running probe process and the folders it owns."""

    popen: subprocess.Popen[bytes]
    root: Path
    work: Path
    uid: int
    programs: dict[Path, Path] = field(default_factory=dict)
    """The exported programs copied into ``work``, by their path in the export folder."""

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.uid >= 0:
            isolation.kill_user(self.uid)
        shutil.rmtree(self.root, ignore_errors=True)


class ProbeSession:
    """A probe process for one submission, started on the first query or by :meth:`start`.

    ``preload``: modules it imports before its first query (PyTorch for a lab whose queries
    load exported programs), so that a session started while the kernel runs has them
    ready. A query's exported program is copied into the process's own folder, so the jail
    needs no path of the submission's. Use it as a context manager, or call :meth:`close`;
    a session that is garbage-collected stops its process too.
    """

    def __init__(self, limits: ExecutionLimits, *, preload: Sequence[str] = ()) -> None:
        self.limits = limits
        self.preload = tuple(preload)
        self.starts = 0
        """Processes started so far (a query that crashed its process costs one more)."""
        # The running process, in a list the finalizer shares: a session dropped without
        # close() still stops it.
        self._running: list[_Process] = []
        self._queries = 0
        weakref.finalize(self, _stop_quietly, self._running)

    def __enter__(self) -> ProbeSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        while self._running:
            self._running.pop().stop()

    def start(self) -> None:
        """Start the process now (it imports ``preload`` meanwhile), not at the first query."""
        if not self._running or self._running[0].popen.poll() is not None:
            self.close()
            self._start()

    def _start(self) -> _Process:
        root = Path(tempfile.mkdtemp(prefix="autograder-probe-"))
        root.chmod(0o711)
        work = root / "work"  # the probe's own folder; the jail and its plan sit beside it
        work.mkdir()
        isolate = isolation.capabilities().isolate
        uid = isolation.new_uid() if isolate else -1
        jail = isolation.Jail(
            memory_bytes=self.limits.memory_bytes, file_size_bytes=self.limits.file_size_bytes,
            processes=self.limits.processes, isolate=isolate, uid=uid, root=str(root / "jail"),
            readonly=(*isolation.system_paths(), str(Path(probe_main.__file__).resolve().parent)),
            writable=(str(work),), hidden=tuple(str(p) for p in bundled.packaged_copies()), cwd=str(work),
        )
        if isolate:
            (root / "jail").mkdir()
            os.chown(work, uid, uid)
        jail.write(root / "jail.json")
        # Its own session, so that on a timeout whatever the student's code started dies too.
        popen = subprocess.Popen(
            # By path, not ``-m``: importing the autograder package would import the
            # grading stack into a process that needs only NumPy.
            isolation.jailed(root / "jail.json", [sys.executable, "-I", str(Path(probe_main.__file__)),
                                                  "--serve", str(work), *self.preload]),
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "HOME": str(work), "OMP_NUM_THREADS": "1", "USER": "student"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1
        process = _Process(popen, root, work, uid)
        self._running.append(process)
        return process

    def run(
        self,
        definitions: str,
        task: dict[str, Any],
        inputs: dict[str, np.ndarray[Any, Any]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ProbeResult:
        """Run one query: ``definitions`` (the student's code) executed, then ``task`` on ``inputs``."""
        self.start()
        process = self._running[0]
        self._queries += 1
        name = f"q{self._queries}"
        query = process.work / name
        query.mkdir()
        if task.get("program"):
            try:
                task = {**task, "program": str(self._copy_in(process, Path(task["program"])))}
            except OSError as exc:
                return ProbeResult(False, {}, f"its exported program cannot be read: {exc}")
        (query / "definitions.py").write_text(definitions, encoding="utf-8")
        (query / "task.json").write_text(json.dumps(task), encoding="utf-8")
        for key, value in inputs.items():
            np.save(query / f"in__{key}.npy", value, allow_pickle=False)
        if process.uid >= 0:
            for path in (query, *query.iterdir()):
                os.chown(path, process.uid, process.uid)
        answered = self._ask(process, name, timeout)
        if answered is not None:  # the process is gone or unusable: the next query gets a fresh one
            self.close()
            return answered
        result = _read_answer(query)
        shutil.rmtree(query, ignore_errors=True)
        return result

    def _copy_in(self, process: _Process, program: Path) -> Path:
        """A copy of the exported ``program`` in the process's folder (once per process), so
        that a process started before the export can load it; a link is refused."""
        if program not in process.programs:
            copy = process.work / "programs" / f"{len(process.programs)}-{program.name}"
            copy.parent.mkdir(exist_ok=True)
            copy.write_bytes(_read_plain(program))
            if process.uid >= 0:
                for path in (copy.parent, copy):
                    os.chown(path, process.uid, process.uid)
            process.programs[program] = copy
        return process.programs[program]

    def _ask(self, process: _Process, name: str, timeout: float) -> ProbeResult | None:
        """Send the query's name and wait for it to come back; a failure's result, else None."""
        assert process.popen.stdin is not None and process.popen.stdout is not None
        try:
            process.popen.stdin.write(f"{name}\n".encode())
            process.popen.stdin.flush()
        except OSError:
            return _read_answer(process.work / name)  # it died while starting: say how, if it could
        deadline = time.monotonic() + timeout
        fd = process.popen.stdout.fileno()
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return ProbeResult(False, {}, f"it did not finish within {timeout:g} seconds")
            chunk = os.read(fd, 256)
            if not chunk:
                return _read_answer(process.work / name)  # it crashed: a report, if it wrote one
            line += chunk
        if line.decode(errors="replace").strip() != name:
            return ProbeResult(False, {}, "the process running it answered out of turn")
        return None


def _stop_quietly(running: list[_Process]) -> None:
    while running:
        with contextlib.suppress(Exception):
            running.pop().stop()


def run_probe(
    definitions: str,
    task: dict[str, Any],
    inputs: dict[str, np.ndarray[Any, Any]],
    *,
    limits: ExecutionLimits,
    timeout: float = DEFAULT_TIMEOUT,
) -> ProbeResult:
    """One query in a process of its own (a session of one)."""
    with ProbeSession(limits) as session:
        return session.run(definitions, task, inputs, timeout=timeout)
