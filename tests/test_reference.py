"""Reference metrics: trained once per lab, profile, recipe and data, whatever asks at once;
a course's calibration is used where its recipe key matches."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pytest

from autograder.authoring.calibration import calibrate
from autograder.batch.run import BatchOptions, run_batch
from autograder.cli import main
from autograder.config import GradeOptions
from autograder.course.folder import Course, find_course
from autograder.course.labs import load_lab
from autograder.course.reference import (
    ReferenceRuns,
    calibration_path,
    read_calibration,
    recipe_key,
    reference_key,
    reference_metrics,
    write_calibration,
)
from autograder.errors import ConfigError
from tests.submissions import FIXTURE_COURSE

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


DATA = "data-digest"


def _reference(folder: Path, *, independent: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ref.py"
    path.write_text(REFERENCE.format(independent=independent))
    return path


def _metrics(path: Path, profile: str, cache: Path) -> None:
    reference_metrics(path, "lab", profile, DATA, cache)


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
    metrics = reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")
    assert (metrics.median["accuracy"], metrics.low["accuracy"], metrics.seeds) == (0.915, 0.91, (1, 2))


def test_a_profile_independent_reference_is_trained_once_for_every_profile(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=True)
    smoke = reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")
    full = reference_metrics(path, "lab", "full", DATA, tmp_path / "cache")
    assert (smoke.median, smoke.low, smoke.high) == (full.median, full.low, full.high)
    assert len(list(path.parent.glob("trained-*"))) == 2  # its two seeds, once
    # The training's time is reported (a grading records it apart from the student's checks); a cache hit costs none.
    assert smoke.seconds >= 0.6 and full.seconds == 0


def test_a_profile_dependent_reference_is_trained_per_profile(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=False)
    reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")
    reference_metrics(path, "lab", "full", DATA, tmp_path / "cache")
    assert len(list(path.parent.glob("trained-*"))) == 4


def _trainings(path: Path) -> int:
    return len(list(path.parent.glob("trained-*")))


def test_a_calibration_the_course_ships_is_used_while_its_recipe_key_matches(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=False)
    shipped = ReferenceRuns(key=recipe_key(path, "smoke", DATA), seeds=(1, 2), runs=({"accuracy": 0.5},
                                                                                   {"accuracy": 0.7}))
    write_calibration(path, "smoke", shipped)
    metrics = reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")
    assert (metrics.median["accuracy"], metrics.low["accuracy"], metrics.seconds) == (0.6, 0.5, 0.0)
    assert _trainings(path) == 0
    # Other data (the real MNIST where the stand-in was calibrated, another profile size): trained anew.
    other = reference_metrics(path, "lab", "smoke", "other-data", tmp_path / "cache")
    assert other.median["accuracy"] == 0.915 and _trainings(path) == 2
    # So is a changed recipe (a training leaves one file per seed and process: clear them to count again).
    for trained in path.parent.glob("trained-*"):
        trained.unlink()
    path.write_text(path.read_text() + "\n# more epochs\n")
    reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")
    assert _trainings(path) == 2


def test_recording_a_profile_keeps_the_others_and_a_broken_file_is_the_courses_error(tmp_path: Path) -> None:
    path = _reference(tmp_path / "course", independent=False)
    write_calibration(path, "smoke", ReferenceRuns("k1", (1,), ({"accuracy": 0.5},)))
    write_calibration(path, "full", ReferenceRuns("k2", (1,), ({"accuracy": 0.9},)))
    assert {p: r.key for p, r in read_calibration(path).items()} == {"full": "k2", "smoke": "k1"}
    calibration_path(path).write_text('{"smoke": {"seeds": [1]}}')
    with pytest.raises(ConfigError, match="calibrate"):
        reference_metrics(path, "lab", "smoke", DATA, tmp_path / "cache")


def test_lab_calibrate_shows_the_spread_and_the_thresholds_and_records_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    assert main(["--course", str(course), "lab", "calibrate", "tiny-keras", "--write"]) == 0
    out = capsys.readouterr().out
    assert "accuracy  median 0.9500  spread 0.0000  [0.9500]" in out
    assert "model-accuracy  accuracy >= 0.8500" in out  # max(floor 0.8, worst seed 0.95 - margin 0.1)
    recorded = json.loads((course / "reference" / "tiny_keras.calibration.json").read_text())
    assert recorded["smoke"]["runs"] == [{"accuracy": 0.95}]


def test_the_bundled_course_is_calibrated_for_its_current_recipes_and_data(course: Course) -> None:
    # CI grades the bundled labs on the smoke profile without training their references: a
    # recipe, a pinned version or the staged data changed without recalibrating fails here.
    stale = []
    for lab_id in course.lab_ids():
        lab = load_lab(lab_id, course)
        shared, key = reference_key(lab.reference_path, "smoke", lab.spec.datasets)
        calibrated = read_calibration(lab.reference_path).get(shared)
        if calibrated is None or calibrated.key != key:
            stale.append(f"{lab_id}: run `autograder lab calibrate {lab_id} --write`")
    assert stale == []


@pytest.mark.slow
def test_training_now_reproduces_the_calibration_the_course_ships(course: Course) -> None:
    # The cheapest real lab (seconds): the shipped figures are what its recipe trains to.
    lab = load_lab("pytorch-fundamentals", course)
    fresh = calibrate(lab, "smoke")
    shipped = read_calibration(lab.reference_path)["smoke"]
    assert fresh.runs.key == shipped.key and fresh.runs.seeds == shipped.seeds
    for now, then in zip(fresh.runs.runs, shipped.runs, strict=True):
        assert now.keys() == then.keys()
        assert all(abs(now[k] - then[k]) <= 0.02 for k in now), (now, then)


def test_a_reference_without_seeds_is_the_courses_error_before_any_student_is_graded(tmp_path: Path) -> None:
    # It used to cost every student the accuracy check (0 points, status graded, not flagged).
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    module = course / "reference" / "tiny_keras.py"
    module.write_text(module.read_text().replace("SEEDS = (1,)", ""))
    lab = load_lab("tiny-keras", find_course(course))
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="defines no SEEDS"):
        run_batch([course / "assignments" / "tiny-keras" / "solution.ipynb"], lab, out,
                  GradeOptions(cache_dir=tmp_path / "cache"), BatchOptions(progress=False))
    assert not list(out.glob("*/result.json"))


def test_calibrating_a_lab_without_metrics_or_seeds_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, course)
    assert main(["--course", str(course), "lab", "calibrate", "tiny"]) == 0
    assert "returns no metrics" in capsys.readouterr().out
    module = course / "reference" / "tiny.py"
    module.write_text(module.read_text().replace("SEEDS = (1,)", "SEEDS = ()"))
    assert main(["--course", str(course), "lab", "calibrate", "tiny"]) == 2
    assert "SEEDS = ()" in capsys.readouterr().err
