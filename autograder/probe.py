"""Run a behaviour probe: a student's class called in a fresh, limited process.

The grading process never imports or calls student code; it writes the inputs,
starts ``autograder.probe_main`` in a new process under the sandbox's limits and in
the same jail as the kernel (``isolation.py``: its own user, no network, a filesystem
with only Python, its folder and the exported program it runs), and reads back plain
``.npy`` outputs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder import bundled, isolation, probe_main
from autograder.config import ExecutionLimits


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


def _jail(folder: Path, work: Path, task: dict[str, Any], limits: ExecutionLimits) -> tuple[isolation.Jail, int]:
    isolate = isolation.capabilities().isolate
    uid = isolation.new_uid() if isolate else -1
    readonly = [*isolation.system_paths(), str(Path(probe_main.__file__).resolve().parent)]
    program = task.get("program")
    if program:  # an exported graph in the submission's sandbox: only that file is visible
        readonly.append(str(Path(program).resolve()))
    jail = isolation.Jail(
        memory_bytes=limits.memory_bytes, file_size_bytes=limits.file_size_bytes, processes=limits.processes,
        isolate=isolate, uid=uid, root=str(folder / "jail"), readonly=tuple(readonly), writable=(str(work),),
        hidden=tuple(str(p) for p in bundled.packaged_copies()), cwd=str(work),
    )
    if isolate:
        (folder / "jail").mkdir()
        for path in (work, *work.iterdir()):
            os.chown(path, uid, uid)
    return jail, uid


def run_probe(
    definitions: str,
    task: dict[str, Any],
    inputs: dict[str, np.ndarray[Any, Any]],
    *,
    limits: ExecutionLimits,
    timeout: float = 120.0,
) -> ProbeResult:
    root = Path(tempfile.mkdtemp(prefix="autograder-probe-"))
    root.chmod(0o711)
    folder = root / "work"  # the probe's own folder; the jail and its plan sit beside it
    folder.mkdir()
    uid = -1
    try:
        (folder / "definitions.py").write_text(definitions, encoding="utf-8")
        (folder / "task.json").write_text(json.dumps(task), encoding="utf-8")
        for key, value in inputs.items():
            np.save(folder / f"in__{key}.npy", value, allow_pickle=False)
        jail, uid = _jail(root, folder, task, limits)
        jail.write(root / "jail.json")
        launcher = Path(isolation.__file__).with_name("kernel_launcher.py")
        # Its own session, so that on a timeout whatever the student's code started dies too.
        process = subprocess.Popen(
            # By path, not ``-m``: importing the autograder package would import the
            # grading stack into a process that needs only NumPy.
            [sys.executable, "-I", str(launcher), "--jail", str(root / "jail.json"), "--",
             sys.executable, "-I", str(Path(probe_main.__file__)), str(folder)],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "OMP_NUM_THREADS": "1", "USER": "student"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return ProbeResult(False, {}, f"it did not finish within {timeout:g} seconds")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        report_file = folder / "report.json"
        if not report_file.is_file():
            return ProbeResult(False, {}, "the process running it crashed (memory limit or exit)")
        try:
            report = json.loads(_read_plain(report_file))
            outputs = {p.stem[len("out__"):]: np.load(io.BytesIO(_read_plain(p)), allow_pickle=False)
                       for p in folder.glob("out__*.npy")}
        except (OSError, ValueError) as exc:
            return ProbeResult(False, {}, f"its outputs cannot be read: {exc}")
        if not report.get("ok"):
            return ProbeResult(False, {}, str(report.get("error", "it raised an error")))
        return ProbeResult(True, outputs)
    finally:
        if uid >= 0:
            isolation.kill_user(uid)
        shutil.rmtree(root, ignore_errors=True)
