"""Reference implementations and the metrics thresholds are relative to.

Each lab names a module in the course's ``reference/`` folder (trusted course code), or
names none and has its solution notebook as its reference
(:mod:`autograder.grading.solution_reference`, loaded through the entry-point group
``autograder.references``). Either provides:

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

Metrics are computed once per lab, profile and recipe (the module's source, the framework
versions, the profile and a digest of the data it trains and is measured on), and cached
as JSON. Training holds a lock on the cache entry, so grading workers that need the same
reference at once train it once: the first trains, the others wait and read its figures.

A course may ship its calibration beside the module (``<module>.calibration.json``, written
by ``autograder lab calibrate LAB --write``): the runs per profile with the recipe key they
were trained under. An entry whose key matches is used as it is, so the first grading of a
class does not wait for the training; any change of recipe, versions or data makes the key
differ, and the reference is trained again.
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
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder.course.datasets import load_dataset
from autograder.course.memo import FileVersions, file_versions
from autograder.errors import ConfigError, ReferenceTrainingError
from autograder.quiet import import_keras


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


def load_reference_module(path: Path) -> Any:
    """The course's reference at ``path``, once per process while the file is unchanged: a
    Python module (course code, not student code) imported, or another kind of file read by
    the loader registered for its suffix (entry points ``autograder.references``, e.g. a
    solution notebook); either way an object with the interface above."""
    if not path.is_file():
        raise ConfigError(f"the reference implementation {path} does not exist")
    if path.suffix != ".py":
        return _load_other(path, file_versions([path]))
    return _import_reference(path, file_versions([path]))


@cache
def _load_other(path: Path, versions: FileVersions) -> Any:
    loaders = {e.name: e for e in metadata.entry_points(group="autograder.references")}
    loader = loaders.get(path.suffix.lstrip("."))
    if loader is None:
        raise ConfigError(f"no reference can be read from {path}: references are Python modules or "
                          f"{', '.join(f'.{s}' for s in sorted(loaders)) or 'nothing else'} files")
    return loader.load()(path)


@cache
def _import_reference(path: Path, versions: FileVersions) -> ModuleType:
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


def data_digest(path: Path, profile: str, datasets: Iterable[str],
                data: Mapping[str, np.ndarray[Any, Any]] | None = None) -> str:
    """What the reference at ``path`` is measured on (its ``data``, passed when already loaded)
    and trains on (the lab's data sets): the real MNIST and its stand-in, or two profile
    sizes, give different digests."""
    arrays = load_reference_module(path).data(profile) if data is None else data
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    for name in datasets:
        digest.update(f"{name}:{load_dataset(name, profile).digest};".encode())
    return digest.hexdigest()[:16]


def framework_versions() -> str:
    """The installed versions of what a reference trains with: a change trains it again."""
    found = []
    for package in ("tensorflow", "tensorflow-cpu", "keras", "torch", "numpy", "scikit-learn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{package}={metadata.version(package)}")
    return "".join(found)


def recipe_key(path: Path, profile: str, data: str) -> str:
    """The identity of a reference training: its recipe (the module's source, or what a
    reference of another kind says its recipe is), framework versions, profile, data digest."""
    recipe = getattr(load_reference_module(path), "recipe_source", None)
    digest = hashlib.sha256(recipe() if recipe is not None else path.read_bytes())
    digest.update(framework_versions().encode())
    digest.update(f"{profile};{data}".encode())
    return digest.hexdigest()[:16]


def shared_profile(path: Path, profile: str) -> str:
    """The profile a training is kept under: ``any`` for a reference that ignores the profile."""
    return "any" if getattr(load_reference_module(path), "PROFILE_INDEPENDENT", False) else profile


def reference_key(path: Path, profile: str, datasets: Iterable[str]) -> tuple[str, str]:
    """The profile a training of the reference at ``path`` is kept under, and its recipe key."""
    shared = shared_profile(path, profile)
    return shared, recipe_key(path, shared, data_digest(path, profile, datasets))


def calibration_path(path: Path) -> Path:
    """The course's calibration of the reference module at ``path``."""
    return path.with_name(f"{path.stem}.calibration.json")


@dataclass(frozen=True)
class ReferenceRuns:
    """The metrics of each seed's training, under the recipe key they were trained with."""

    key: str
    seeds: tuple[int, ...]
    runs: tuple[dict[str, float], ...]

    def metrics(self, seconds: float = 0.0) -> ReferenceMetrics:
        keys = self.runs[0].keys() if self.runs else ()
        return ReferenceMetrics(
            median={k: statistics.median(r[k] for r in self.runs) for k in keys},
            low={k: min(r[k] for r in self.runs) for k in keys},
            high={k: max(r[k] for r in self.runs) for k in keys},
            seeds=self.seeds,
            seconds=seconds,
        )

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "seeds": list(self.seeds), "runs": list(self.runs)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], key: str = "") -> ReferenceRuns:
        return cls(key=raw.get("key", key), seeds=tuple(raw["seeds"]), runs=tuple(raw["runs"]))


def read_calibration(path: Path) -> dict[str, ReferenceRuns]:
    """The course's calibrated runs of the module at ``path``, per profile (empty if none)."""
    file = calibration_path(path)
    if not file.is_file():
        return {}
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        return {profile: ReferenceRuns.from_json(entry) for profile, entry in raw.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the calibration {file} is not valid ({exc}); run `autograder lab calibrate` "
                          "with --write again, or delete it") from exc


def write_calibration(path: Path, profile: str, runs: ReferenceRuns) -> Path:
    """Record ``runs`` as the course's calibration of ``path`` for ``profile`` (other profiles kept)."""
    entries = {p: r.as_json() for p, r in read_calibration(path).items()}
    entries[shared_profile(path, profile)] = runs.as_json()
    file = calibration_path(path)
    _write_json(file, dict(sorted(entries.items())))
    return file


def reference_metrics(path: Path, lab_id: str, profile: str, data: str, cache_dir: Path | None = None
                      ) -> ReferenceMetrics:
    """The reference's metrics for ``profile`` on the data of digest ``data`` (see
    :func:`data_digest`): from the cache, from the course's calibration, or trained now."""
    shared = shared_profile(path, profile)
    key = recipe_key(path, shared, data)
    folder = (cache_dir or default_cache_dir()) / "reference"
    cache_file = folder / f"{lab_id}-{shared}-{key}.json"
    if not cache_file.is_file():
        calibrated = read_calibration(path).get(shared)
        if calibrated is not None and calibrated.key == key:
            return calibrated.metrics()
    started = time.monotonic()
    cached = cache_file.is_file()
    if not cached:
        folder.mkdir(parents=True, exist_ok=True)
        with open(cache_file.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cache_file.is_file():  # another process may have trained it while this one waited
                _write_json(cache_file, train_reference(path, lab_id, profile, key).as_json())
    runs = ReferenceRuns.from_json(json.loads(cache_file.read_text(encoding="utf-8")), key)
    return runs.metrics(seconds=0.0 if cached else round(time.monotonic() - started, 3))


def train_reference(path: Path, lab_id: str, profile: str, key: str) -> ReferenceRuns:
    """Train the reference once per seed, now (no cache), reporting progress on stderr."""
    module = load_reference_module(path)
    missing = [name for name in ("SEEDS", "train") if not hasattr(module, name)]
    if missing:
        raise ConfigError(f"the reference implementation {path} defines no {' and no '.join(missing)}: the "
                          "lab's bars derive from it (SEEDS = (1, 2, 3), the seeds its training runs with; "
                          "train(seed, profile) -> {metric: value}); see docs/labs.md")
    if "keras" in path.read_text(encoding="utf-8"):
        import_keras()  # before the reference imports it, so its start-up stays out of the terminal
    seeds = tuple(module.SEEDS)
    if not seeds:
        raise ConfigError(f"the reference implementation {path} has SEEDS = (): give it the seeds its training "
                          "runs with, e.g. SEEDS = (1, 2, 3)")
    def train(seed: int) -> dict[str, float]:
        started = time.monotonic()
        print(f"[autograder] training the {lab_id} reference ({profile}, seed {seed})...", file=sys.stderr)
        try:
            run = {k: float(v) for k, v in module.train(seed, profile).items()}
        except ConfigError:
            raise
        except Exception as exc:
            raise ReferenceTrainingError(f"the {lab_id} reference failed to train: {exc}") from exc
        print(f"[autograder]   seed {seed} done in {time.monotonic() - started:.1f}s: {run}", file=sys.stderr)
        return run

    # A module trains in this process, one seed at a time; a reference that trains elsewhere
    # (a solution notebook, in its own kernels) may say how many seeds can run at once.
    workers = min(len(seeds), int(getattr(module, "PARALLEL_SEEDS", 1)))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        runs = tuple(pool.map(train, seeds))
    return ReferenceRuns(key=key, seeds=seeds, runs=runs)


def _write_json(file: Path, value: Any) -> None:
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, file)
