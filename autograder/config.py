"""Options of a grading run, as plain data: one frozen dataclass per concern."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Device = Literal["cpu", "cuda", "auto"]


@dataclass(frozen=True)
class ExecutionLimits:
    """Bounds on the student's kernel.

    The defaults suit the course's labs on a 2-core CPU machine; an instructor with a
    slower machine or bigger labs raises them per run (``--cell-timeout`` etc.).
    """

    cell_timeout: float = 300.0
    """Seconds one cell may run before it is interrupted and recorded as timed out."""
    total_timeout: float = 900.0
    """Seconds the whole notebook may run; cells after that are recorded as not run."""
    memory_bytes: int = 8 * 1024**3
    """Address-space limit of the kernel (RLIMIT_AS). TensorFlow and PyTorch together train under 4 GiB here."""
    file_size_bytes: int = 1024**3
    """Largest file the kernel may write (RLIMIT_FSIZE)."""
    processes: int = 512
    """Processes and threads the kernel's user may have at once (RLIMIT_NPROC; needs isolation,
    i.e. a grader running as root). TensorFlow alone starts a few dozen threads."""
    output_chars: int = 20_000
    """Characters of stderr kept per cell in the result; the rest is cut and noted."""
    notebook_output_chars: int = 2_000_000
    """Characters of output (all cells together) the grader keeps in memory while the
    notebook runs; later output is dropped as it arrives and the result says so."""
    export_timeout: float = 120.0
    """Seconds the export of graded names may take after the notebook ran."""
    startup_timeout: float = 60.0
    """Seconds the kernel may take to start."""


@dataclass(frozen=True)
class GradeOptions:
    """What to grade and how, besides the notebook and the lab."""

    limits: ExecutionLimits = field(default_factory=ExecutionLimits)
    profile: str = "full"
    """Data profile: how much data is staged and which thresholds apply."""
    public_only: bool = False
    """Run only the public checks (a student's self-check)."""
    seed: int = 42
    """Seed given to Python, NumPy and the frameworks in the kernel."""
    device: Device = "cpu"
    keep_workdir: bool = False
    """Keep the sandbox's working directory for debugging instead of deleting it."""
    cache_dir: Path | None = None
    """Where reference metrics are cached; default ``$AUTOGRADER_CACHE`` or ~/.cache/autograder."""
