"""Describe the machine and packages a grading ran on, for the result."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata
from pathlib import Path

from autograder.execution.resources import detect_gpus
from autograder.result import Environment

_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "torch", "numpy", "scikit-learn", "nbclient", "ipykernel")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> tuple[str, ...]:
    return tuple(f"{gpu.name}, {gpu.memory_bytes // 1024**2} MiB" for gpu in detect_gpus())


@cache
def describe(device: str) -> Environment:
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return Environment(
        python=platform.python_version(),
        packages=packages,
        platform=platform.platform(),
        cpu=_cpu(),
        device=device,
        gpus=_gpus(),
    )
