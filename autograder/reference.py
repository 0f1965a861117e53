"""Reference implementations and the metrics thresholds are relative to.

Each lab names a module in the course's ``reference/`` folder (trusted course code)
that provides:

``data(profile) -> dict[str, ndarray]``
    the grader's own copy of the lab's data, including hidden parts never staged.
``models() -> dict[str, Callable[[], keras.Model]]``
    builders of the reference models, for architecture and parameter checks.
``classes() -> dict[str, type]``
    reference versions of classes a student writes, for behaviour checks.
``train(seed, profile) -> dict[str, float]``
    trains the references the way the lab does and returns their metrics.
``SEEDS``
    the seeds ``train`` runs with; thresholds use the spread over them.
``PROFILE_INDEPENDENT`` (optional, default False)
    True when ``data`` and ``train`` ignore the profile (a data set small enough to
    use whole everywhere): every profile then shares one training.

Metrics are computed once per lab, profile and recipe, and cached as JSON. Training
holds a lock on the cache entry, so grading workers that need the same reference at
once train it once: the first trains, the others wait and read its figures.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType

from autograder.errors import ConfigError, ReferenceTrainingError


@dataclass(frozen=True)
class ReferenceMetrics:
    """Each metric of the reference over its seeds: the median and the spread."""

    median: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    seeds: tuple[int, ...]
    seconds: float = 0.0
    """Time spent training (or waiting for another process to train) the reference; 0 when cached."""

    def get(self, metric: str) -> float:
        if metric not in self.median:
            raise ConfigError(f"the reference has no metric {metric!r}; it has: {', '.join(sorted(self.median))}")
        return self.median[metric]


@cache
def load_reference_module(path: Path) -> ModuleType:
    """Import the course's reference module at ``path`` (course code, not student code)."""
    if not path.is_file():
        raise ConfigError(f"the reference implementation {path} does not exist")
    name = f"autograder_reference_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import the reference implementation {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def default_cache_dir() -> Path:
    return Path(os.environ.get("AUTOGRADER_CACHE") or Path.home() / ".cache" / "autograder")


def _recipe_key(path: Path, profile: str) -> str:
    digest = hashlib.sha256(path.read_bytes())
    for package in ("tensorflow", "tensorflow-cpu", "keras", "torch", "numpy", "scikit-learn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}={metadata.version(package)}".encode())
    digest.update(profile.encode())
    return digest.hexdigest()[:16]


def reference_metrics(path: Path, lab_id: str, profile: str, cache_dir: Path | None = None) -> ReferenceMetrics:
    """The reference's metrics for ``profile``, from the cache or trained now."""
    module = load_reference_module(path)
    shared = "any" if getattr(module, "PROFILE_INDEPENDENT", False) else profile
    folder = (cache_dir or default_cache_dir()) / "reference"
    cache_file = folder / f"{lab_id}-{shared}-{_recipe_key(path, shared)}.json"
    started = time.monotonic()
    cached = cache_file.is_file()
    if not cached:
        folder.mkdir(parents=True, exist_ok=True)
        with open(cache_file.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cache_file.is_file():  # another process may have trained it while this one waited
                _train(module, lab_id, profile, cache_file)
    raw = json.loads(cache_file.read_text(encoding="utf-8"))
    runs: list[dict[str, float]] = raw["runs"]
    seeds = tuple(raw["seeds"])
    keys = runs[0].keys()
    return ReferenceMetrics(
        median={k: statistics.median(r[k] for r in runs) for k in keys},
        low={k: min(r[k] for r in runs) for k in keys},
        high={k: max(r[k] for r in runs) for k in keys},
        seeds=seeds,
        seconds=0.0 if cached else round(time.monotonic() - started, 3),
    )


def _train(module: ModuleType, lab_id: str, profile: str, cache_file: Path) -> None:
    seeds = tuple(module.SEEDS)
    runs = []
    for seed in seeds:
        started = time.monotonic()
        print(f"[autograder] training the {lab_id} reference ({profile}, seed {seed})...", file=sys.stderr)
        try:
            runs.append({k: float(v) for k, v in module.train(seed, profile).items()})
        except Exception as exc:
            raise ReferenceTrainingError(f"the {lab_id} reference failed to train: {exc}") from exc
        print(f"[autograder]   done in {time.monotonic() - started:.1f}s: {runs[-1]}", file=sys.stderr)
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"seeds": list(seeds), "runs": runs}, indent=1), encoding="utf-8")
    os.replace(tmp, cache_file)
