"""Run a behaviour probe: a student's class called in a fresh, limited process.

The grading process never imports or calls student code; it writes the inputs,
starts ``autograder.probe_main`` in a new process under the sandbox's limits, and
reads back plain ``.npy`` outputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder import probe_main
from autograder.config import ExecutionLimits
from autograder.kernel_launcher import die_with_parent


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    outputs: dict[str, np.ndarray[Any, Any]]
    error: str = ""


def _limits(limits: ExecutionLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    die_with_parent()


def run_probe(
    definitions: str,
    task: dict[str, Any],
    inputs: dict[str, np.ndarray[Any, Any]],
    *,
    limits: ExecutionLimits,
    timeout: float = 120.0,
) -> ProbeResult:
    folder = Path(tempfile.mkdtemp(prefix="autograder-probe-"))
    try:
        (folder / "definitions.py").write_text(definitions, encoding="utf-8")
        (folder / "task.json").write_text(json.dumps(task), encoding="utf-8")
        for key, value in inputs.items():
            np.save(folder / f"in__{key}.npy", value, allow_pickle=False)
        # Its own session, so that on a timeout whatever the student's code started dies too.
        process = subprocess.Popen(
            # By path, not ``-m``: importing the autograder package would import the
            # grading stack into a process that needs only NumPy.
            [sys.executable, "-I", str(Path(probe_main.__file__)), str(folder)],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "OMP_NUM_THREADS": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _limits(limits),
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
        report = json.loads(report_file.read_text(encoding="utf-8"))
        if not report.get("ok"):
            return ProbeResult(False, {}, str(report.get("error", "it raised an error")))
        outputs = {p.stem[len("out__"):]: np.load(p, allow_pickle=False) for p in folder.glob("out__*.npy")}
        return ProbeResult(True, outputs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
