"""Reference metrics: trained once per lab, profile and recipe, whatever asks at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from autograder.reference import reference_metrics

# A reference that takes a moment to train and leaves one file per training, so a test can count them.
REFERENCE = """
import os, time
SEEDS = (1, 2)
PROFILE_INDEPENDENT = {independent}

def train(seed, profile):
    time.sleep(0.3)
    with open(os.path.join(os.path.dirname(__file__), f"trained-{{profile}}-{{seed}}-{{os.getpid()}}"), "w"):
        pass
    return {{"accuracy": 0.9 + seed / 100}}
"""


def _reference(folder: Path, *, independent: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ref.py"
    path.write_text(REFERENCE.format(independent=independent))
    return path


def _metrics(path: Path, profile: str, cache: Path) -> None:
    reference_metrics(path, "lab", profile, cache)


def test_workers_that_need_the_same_reference_at_once_train_it_once(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=False)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_metrics, args=(path, "smoke", tmp_path / "cache")) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    trainings = sorted(p.name.rsplit("-", 1)[0] for p in path.parent.glob("trained-*"))
    assert trainings == ["trained-smoke-1", "trained-smoke-2"]
    metrics = reference_metrics(path, "lab", "smoke", tmp_path / "cache")
    assert (metrics.median["accuracy"], metrics.low["accuracy"], metrics.seeds) == (0.915, 0.91, (1, 2))


def test_a_profile_independent_reference_is_trained_once_for_every_profile(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=True)
    smoke = reference_metrics(path, "lab", "smoke", tmp_path / "cache")
    full = reference_metrics(path, "lab", "full", tmp_path / "cache")
    assert (smoke.median, smoke.low, smoke.high) == (full.median, full.low, full.high)
    assert len(list(path.parent.glob("trained-*"))) == 2  # its two seeds, once
    # The training's time is reported (a grading records it apart from the student's checks); a cache hit costs none.
    assert smoke.seconds >= 0.6 and full.seconds == 0


def test_a_profile_dependent_reference_is_trained_per_profile(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=False)
    reference_metrics(path, "lab", "smoke", tmp_path / "cache")
    reference_metrics(path, "lab", "full", tmp_path / "cache")
    assert len(list(path.parent.glob("trained-*"))) == 4
