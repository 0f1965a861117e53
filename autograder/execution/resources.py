"""How many submissions to grade at once, and on which device each kernel runs.

A worker slot is one submission in flight: one grading process and one student kernel.
The default number follows from the cores, the memory a kernel of the lab needs (plus
the grading process beside it), and, with ``--device cuda``, how many kernels each GPU's
memory holds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from autograder.config import Device
from autograder.errors import ConfigError

GIB = 1024**3
GRADER_MEMORY = 1.5 * GIB
"""A grading process with TensorFlow and PyTorch imported, as measured on the course's labs."""


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_bytes: int


@dataclass(frozen=True)
class Slot:
    """One worker: the device its kernels use and the environment that pins them to it."""

    index: int
    device: str
    """``cpu`` or ``cuda:N``: recorded in each result graded on this slot."""
    env: dict[str, str]


def detect_gpus() -> list[Gpu]:
    """The NVIDIA GPUs ``nvidia-smi`` lists (none when it is missing or fails)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    gpus = []
    for line in out.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 3 and fields[0].isdigit():
            gpus.append(Gpu(int(fields[0]), fields[1], int(float(fields[2])) * 1024**2))
    return gpus


def available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_device(device: Device, gpus: list[Gpu]) -> Device:
    if device == "auto":
        return "cuda" if gpus else "cpu"
    if device == "cuda" and not gpus:
        raise ConfigError("--device cuda, but nvidia-smi lists no GPU here; use --device cpu or auto")
    return device


def thread_share(cores: int, workers: int) -> dict[str, str]:
    """The environment that gives each of ``workers`` processes its share of ``cores`` threads.

    Processes that share the cores get their share of threads instead of all of them: two
    PyTorch trainings left at their defaults on 2 cores spin against each other and took
    10x as long as with one thread each (benchmarks/thread_share.py). A lone worker keeps
    the frameworks' own defaults: pinning them to every core made keras-digits ~10% slower
    than bare nbclient (7 of 7 paired runs).
    """
    if workers <= 1:
        return {}
    threads = str(max(1, cores // workers))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": "1"}


def plan_slots(
    workers: int | None,
    device: Device,
    *,
    kernel_memory: int,
    gpu_memory: int,
    gpus: list[Gpu] | None = None,
    cores: int | None = None,
    memory: int | None = None,
) -> list[Slot]:
    """The worker slots of a batch: ``workers`` of them, or as many as the machine holds."""
    gpus = detect_gpus() if gpus is None else gpus
    device = resolve_device(device, gpus)
    cores = cores or cpu_count()
    memory = memory or available_memory()
    per_gpu = {g.index: max(1, g.memory_bytes // gpu_memory) for g in gpus} if device == "cuda" else {}
    # Interleaved, so kernels spread over the GPUs before they stack on one.
    gpu_slots = [i for k in range(max(per_gpu.values(), default=0)) for i, n in per_gpu.items() if k < n]
    if workers is None:
        workers = max(1, min(cores, int(memory // (kernel_memory + GRADER_MEMORY))))
        if gpu_slots:
            workers = min(workers, len(gpu_slots))
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    shared = thread_share(cores, workers)
    slots = []
    for i in range(workers):
        env = dict(shared)
        if device == "cuda":
            gpu = gpu_slots[i % len(gpu_slots)]
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
            slots.append(Slot(i, f"cuda:{gpu}", env))
        else:
            slots.append(Slot(i, "cpu", env))
    return slots
