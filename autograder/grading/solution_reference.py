"""A lab's solution notebook as its reference (``reference:`` left out of ``lab.yaml``).

The solution runs in the sandbox the way a submission does, once per seed of the lab
(``seeds:``) and data profile, and what its kernel exported is kept in the cache, keyed
by the notebook's code, the lab's contract, the framework versions and the data sets: edit
the solution (its epochs, a layer) and it runs again. From those runs come what a Python
reference module would give (:mod:`autograder.course.reference`):

- ``data(profile)``: the arrays the solution computes (its first seed's run), the data the
  checks measure students on;
- ``models()`` and ``param_count(name)``: the solution's models, for architecture and
  parameter checks (a PyTorch model's parameters counted in its kernel);
- ``train(seed, profile)``: each reference metric the rubric names (the ``metric`` of an
  ``accuracy`` or ``rmse`` check), measured on that seed's solution exactly as the check
  measures a student's model.

Data the students never see and probes of a student's class need a Python module; a lab
then names it as ``reference:``.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograder.artifacts.reader import ArtifactBundle
from autograder.checks.context import CheckContext
from autograder.checks.scores import MEASURES, model_score
from autograder.config import ExecutionLimits
from autograder.course.datasets import load_dataset
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.course.memo import FileVersions, file_versions
from autograder.course.reference import default_cache_dir, framework_versions
from autograder.errors import ConfigError, ReferenceTrainingError, SubmissionError
from autograder.execution.executor import execute
from autograder.execution.resources import available_memory, cpu_count, thread_share
from autograder.execution.sandbox import Sandbox, SandboxPolicy
from autograder.grading.pipeline import sanitize
from autograder.notebook.load import load_notebook


def run_solution(path: Path, export_spec: dict[str, dict[str, Any]], out: Path, *, frameworks: tuple[str, ...],
                 datasets: tuple[str, ...], profile: str, seed: int,
                 threads: tuple[tuple[str, str], ...] = ()) -> ArtifactBundle:
    """Run the solution notebook at ``path`` in the sandbox and copy what it exported (``export_spec``)
    to ``out``. A solution that does not run cleanly is the course's error, naming the cell."""
    cells, skipped = sanitize(load_notebook(path))
    policy = SandboxPolicy(limits=ExecutionLimits(), seed=seed, device="cpu", threads=threads)
    with Sandbox(policy) as sandbox:
        sandbox.stage_datasets(datasets, profile)
        try:
            outcome = execute(cells, skipped, sandbox, frameworks=frameworks, export_spec=export_spec)
        except SubmissionError as exc:
            raise ReferenceTrainingError(f"the solution {path} could not run: {exc}") from exc
        failed = [c for c in outcome.record.cells if c.status in ("error", "timeout")]
        if failed:
            raise ReferenceTrainingError(
                f"the solution {path} failed in cell {failed[0].index} ({failed[0].error or failed[0].status}): "
                "a lab's solution is its reference and must run cleanly from top to bottom")
        if not outcome.exported:
            raise ReferenceTrainingError(f"the names of the solution {path} could not be read after it ran")
        shutil.copytree(outcome.export_dir, out)
    return ArtifactBundle(out)


def load(path: Path) -> SolutionReference:
    """The entry point ``autograder.references`` names for ``.ipynb`` references."""
    return SolutionReference(path)


@functools.cache
def _load_lab(lab_id: str, root: Path, versions: FileVersions) -> Lab:
    return load_lab(lab_id, Course(root))


class SolutionReference:
    """The solution notebook at ``assignments/<lab>/solution.ipynb`` as its lab's reference."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def lab(self) -> Lab:
        # Read again when the contract or the rubric changes (the notebook may not); asked on every
        # grading's data and every run, so not parsed each time.
        course = Course(self.path.parents[2])
        lab_id = self.path.parent.name
        files = [self.path.parent / "lab.yaml", course.rubrics / f"{lab_id}.yaml"]
        return _load_lab(lab_id, course.root, file_versions(files))

    @property
    def SEEDS(self) -> tuple[int, ...]:
        return self.lab.spec.seeds

    @property
    def PROFILE_INDEPENDENT(self) -> bool:
        return not self.lab.spec.datasets

    @property
    def PUBLIC_DATA(self) -> tuple[str, ...]:
        lab = self.lab
        return tuple(n for n in lab.spec.names if lab.kind(n) == "array")

    @property
    def PARALLEL_SEEDS(self) -> int:
        """Solutions that run at once: one kernel per core, as many as memory holds."""
        fits = int(available_memory() // (self.lab.spec.resources.memory_gib * 1024**3))
        return max(1, min(cpu_count(), fits))

    @functools.cached_property
    def _code(self) -> list[str]:
        return [source for _, source in load_notebook(self.path).code_cells()]

    def recipe_source(self) -> bytes:
        """What the metrics derive from: the solution's code, the contract it is exported by, and
        each check that measures a metric (not its margin, which changes only the bar)."""
        measured = [{k: v for k, v in c.spec.args.items() if k not in ("margin", "floor", "ceiling")}
                    | {"check": c.spec.check} for c in self.lab.rubric.checks if "metric" in c.spec.args]
        return json.dumps([self._code, self.lab.export_spec(), measured], sort_keys=True).encode()

    def _run_key(self, lab: Lab, profile: str) -> str:
        digest = hashlib.sha256(json.dumps([self._code, lab.export_spec(), lab.spec.frameworks]).encode())
        digest.update(framework_versions().encode())
        for name in lab.spec.datasets:
            digest.update(f"{name}:{load_dataset(name, profile).digest};".encode())
        return digest.hexdigest()[:16]

    def _folder(self, lab: Lab, seed: int, profile: str) -> Path:
        shared = "any" if self.PROFILE_INDEPENDENT else profile
        name = f"{lab.id}-{self._run_key(lab, shared)}-{shared}-{seed}"
        return default_cache_dir() / "reference" / "solution-runs" / name

    def run(self, seed: int, profile: str) -> ArtifactBundle:
        """What the solution exported when run under ``seed`` on ``profile``'s data: from the
        cache, or run now (once, whatever the number of processes asking)."""
        lab = self.lab
        folder = self._folder(lab, seed, profile)
        if not (folder / "manifest.json").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            with open(folder.parent / f"{folder.name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (folder / "manifest.json").is_file():
                    self._execute(lab, seed, profile, folder)
        return ArtifactBundle(folder)

    def _execute(self, lab: Lab, seed: int, profile: str, folder: Path) -> None:
        # Seeds run side by side (PARALLEL_SEEDS): each kernel gets its share of the cores.
        threads = tuple(thread_share(cpu_count(), self.PARALLEL_SEEDS).items())
        staging = folder.parent / f"{folder.name}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        bundle = run_solution(self.path, lab.export_spec(), staging, frameworks=lab.spec.frameworks,
                              datasets=lab.spec.datasets, profile=profile, seed=seed, threads=threads)
        wrong = {n: e.message or e.status for n, e in bundle.manifest.items() if e.status != "ok"}
        if not bundle.manifest or wrong:
            shutil.rmtree(staging, ignore_errors=True)
            what = "; ".join(f"{n}: {why}" for n, why in wrong.items()) or "nothing was exported"
            raise ConfigError(f"the solution of {lab.id} does not define its contract's names as lab.yaml "
                              f"says ({what}): fix the solution or the `names:` of lab.yaml")
        os.replace(staging, folder)

    def data(self, profile: str) -> dict[str, np.ndarray[Any, Any]]:
        bundle = self.run(self.SEEDS[0], profile)
        return {name: bundle.array(name) for name in self.PUBLIC_DATA}

    def _models_run(self) -> ArtifactBundle:
        # Architectures do not depend on the data's size: a profile already run will do,
        # else the smallest.
        lab = self.lab
        profiles = sorted(lab.spec.profiles, key=lambda p: p != "smoke")
        done = [p for p in profiles if (self._folder(lab, self.SEEDS[0], p) / "manifest.json").is_file()]
        return self.run(self.SEEDS[0], (done or profiles)[0])

    def models(self) -> dict[str, Callable[[], Any]]:
        lab = self.lab
        return {name: functools.partial(self._keras_model, name)
                for name in lab.spec.names if lab.kind(name) == "keras-model"}

    def _keras_model(self, name: str) -> Any:
        return self._models_run().keras_model(name)

    def classes(self) -> dict[str, type]:
        return {}  # a class is compared by behaviour only with a Python reference module

    def param_count(self, name: str, *, trainable: bool = False) -> int:
        bundle = self._models_run()
        entry = bundle.entry(name)
        if entry.kind == "keras-model":
            model = bundle.keras_model(name)
            return int(sum(int(np.prod(w.shape)) for w in (model.trainable_weights if trainable else model.weights)))
        count = entry.trainable if trainable else entry.params
        if count is None:
            raise ConfigError(f"the solution's `{name}` is a {entry.kind}: its parameters are counted for Keras and "
                              "PyTorch models only")
        return count

    def train(self, seed: int, profile: str) -> dict[str, float]:
        lab = self.lab
        loaded = load_notebook(self.path)
        ctx = CheckContext(lab=lab, profile=profile, artifacts=self.run(seed, profile), notebook=loaded,
                           cells=sanitize(loaded)[0], limits=ExecutionLimits(), cache_dir=None)
        metrics: dict[str, float] = {}
        try:
            for check in lab.rubric.checks:
                if "metric" not in check.spec.args:
                    continue
                measure = check.spec.check
                if measure not in MEASURES:
                    raise ConfigError(f"rubric check {check.spec.id}: a solution notebook measures the metrics of "
                                      f"{' and '.join(MEASURES)} checks; a `{measure}` check's metric needs "
                                      "a Python reference module (`reference:` in lab.yaml)")
                args = check.spec.args
                metrics[str(args["metric"])] = model_score(ctx, measure, args["name"], args["x"], args["y"],
                                                           args.get("variant"))
        finally:
            ctx.close()
        return metrics
