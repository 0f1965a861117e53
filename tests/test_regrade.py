"""Regrading after a rubric edit gives what a full grading under the new rubric gives,
without starting a kernel: on the fixture lab ``tiny`` and on keras-digits (Keras models
reloaded from the store, NumPy-class probes, hidden accuracy checks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autograder.artifacts.store import StaleExecutionError
from autograder.authoring.release import release
from autograder.batch.regrade import regrade, render_changes
from autograder.batch.review import apply_review, load_review
from autograder.batch.run import BatchOptions, run_batch
from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.errors import ConfigError
from autograder.grading import pipeline
from autograder.result import CheckResult, Result
from autograder.review_app.server import ReviewApp
from tests.test_batch import GOOD, fast_options, notebook

REPO = Path(__file__).resolve().parent.parent
TINY_COURSE = REPO / "tests" / "fixtures" / "course"


def copy_course(src: Path, dest: Path, lab: str, reference: str) -> Path:
    (dest / "rubrics").mkdir(parents=True)
    (dest / "reference").mkdir()
    shutil.copytree(src / "assignments" / lab, dest / "assignments" / lab)
    shutil.copy(src / "rubrics" / f"{lab}.yaml", dest / "rubrics" / f"{lab}.yaml")
    for module in (src / "reference").glob(f"{reference}.*"):  # the module and the calibration it ships
        shutil.copy(module, dest / "reference" / module.name)
    return dest


def edit_rubric(course: Path, lab: str, *replacements: tuple[str, str]) -> Lab:
    path = course / "rubrics" / f"{lab}.yaml"
    text = path.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return load_lab(lab, find_course(course))


def no_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel was started during a regrade")

    monkeypatch.setattr(pipeline, "execute", refuse)


def comparable(result: Result) -> dict[str, object]:
    """What grading decided, as stored (JSON): not when, how long, or on which machine."""
    fields = {"submission", "status", "message", "score", "max_score", "parts", "notes", "grading_key", "reference"}
    return result.model_dump(mode="json", include=fields)


def assert_same_as_full_grading(regraded_dir: Path, fresh_dir: Path, regraded: list[Result]) -> None:
    fresh = {p.parent.name: Result.read(p) for p in fresh_dir.glob("*/result.json")}
    assert sorted(fresh) == sorted(r.submission for r in regraded)
    for result in regraded:
        assert comparable(result) == comparable(fresh[result.submission])
        assert comparable(Result.read(regraded_dir / result.submission / "result.json")) == comparable(result)
    for name in ("gradebook.csv", "canvas.csv"):
        assert (regraded_dir / name).read_text() == (fresh_dir / name).read_text(), name


@pytest.mark.slow
def test_tiny_regrade_equals_a_full_grading_and_starts_no_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = copy_course(TINY_COURSE, tmp_path / "course", "tiny", "tiny")
    lab = load_lab("tiny", find_course(course))
    subs = tmp_path / "class"
    notebook(subs / "ana.ipynb", *GOOD)
    notebook(subs / "ben.ipynb", GOOD[0].replace("np.ones(4) / 4", "np.ones(4) * 2"), GOOD[1])
    notebook(subs / "cleo.ipynb", GOOD[0], answer="no idea")
    (subs / "broken.ipynb").write_text("{not json")
    options = fast_options()
    out = tmp_path / "out"
    run_batch([subs], lab, out, options, BatchOptions(workers=2, progress=False))

    new_lab = edit_rubric(
        course, "tiny",
        ("total: 10", "total: 14"),
        ("{id: weights-range, check: range, points: 2, args: {name: weights, min: 0, max: 1}}",
         "{id: weights-range, check: range, points: 4, args: {name: weights, min: 0, max: 3}}"),
        ("{id: history-epochs, check: history, points: 2, args: {name: history, min_epochs: 3}}",
         "{id: history-epochs, check: history, points: 2, args: {name: history, min_epochs: 4}}\n"
         "      - {id: scores-range, check: range, points: 2, args: {name: scores, min: 0, max: 4}}"),
    )
    preview = regrade(new_lab, out, dry_run=True)
    table = render_changes(preview)
    assert "history-epochs 2→0" in table and "scores-range new→2" in table and "weights-range 0→4" in table
    assert Result.read(out / "ben" / "result.json").max_score == 10, "a dry run writes nothing"

    with monkeypatch.context() as patched:
        no_kernels(patched)
        outcome = regrade(new_lab, out)
    assert not outcome.executed
    by_id = {r.submission: r for r in outcome.results}
    assert (by_id["ana"].score, by_id["ben"].score, by_id["broken"].status) == (12, 12, "invalid-notebook")

    fresh = tmp_path / "fresh"
    run_batch([subs], new_lab, fresh, options, BatchOptions(workers=2, progress=False))
    assert_same_as_full_grading(out, fresh, outcome.results)

    # An instructor's review survives a regrade when its check keeps its maximum.
    (tmp_path / "review.csv").write_text("submission,part,points,comment\ncleo,written,2,fine in person\n")
    apply_review(out, load_review(tmp_path / "review.csv", out, new_lab), new_lab)
    reviewed = regrade(new_lab, out).results
    cleo = next(r for r in reviewed if r.submission == "cleo")
    why = next(c for p in cleo.parts for c in p.checks if c.name == "why-answer")
    assert (why.points, why.review is not None and why.review.suggested_points) == (2, 0)
    assert "cleo,graded," in (out / "gradebook.csv").read_text()

    # Points learned from a review are given again by a regrade: ben handed in ana's answer.
    (tmp_path / "ana.csv").write_text("submission,part,points,comment\nana,written,0,says nothing of its own\n")
    apply_review(out, load_review(tmp_path / "ana.csv", out, new_lab), new_lab)
    response = TestClient(ReviewApp(out, new_lab).app).post("/api/apply-learned", json={"tag": "why"})
    assert response.status_code == 200, response.text

    def bens(results: list[Result]) -> CheckResult:
        ben = next(r for r in results if r.submission == "ben")
        return next(c for p in ben.parts for c in p.checks if c.name == "why-answer")

    learned = bens([Result.read(out / "ben" / "result.json")])
    assert (learned.points, learned.evidence["learned"]["rubric_points"]) == (0, 2)
    again = bens(regrade(new_lab, out).results)
    assert (again.points, again.review, again.evidence["learned"]) == (0, None, learned.evidence["learned"])
    assert bens([Result.read(out / "ben" / "result.json")]).points == 0

    # Up to date for the next `grade` run: nothing is graded again.
    again = run_batch([subs], new_lab, out, options, BatchOptions(workers=1, progress=False))
    assert again.graded == [] and len(again.reused) == 4


def test_regrade_refuses_without_stored_executions(tmp_path: Path) -> None:
    lab = load_lab("tiny", find_course(TINY_COURSE))
    with pytest.raises(ConfigError, match="no graded submissions"):
        regrade(lab, tmp_path)
    result = Result(lab="tiny", submission="old", source="old.ipynb", status="graded", score=1, max_score=10,
                    parts=())
    result.write(tmp_path / "old" / "result.json")
    with pytest.raises(StaleExecutionError, match=r"no stored execution.*autograder grade --force"):
        regrade(lab, tmp_path)
    (tmp_path / "old" / "execution.json").write_text('{"format": 99}')
    with pytest.raises(StaleExecutionError, match=r"unreadable|format"):
        regrade(lab, tmp_path)


@pytest.mark.slow
def test_a_newly_graded_name_is_the_only_reason_to_execute_again(tmp_path: Path) -> None:
    course = copy_course(TINY_COURSE, tmp_path / "course", "tiny", "tiny")
    lab = load_lab("tiny", find_course(course))
    notebook(tmp_path / "class" / "ana.ipynb", *GOOD, "bias = np.zeros(3)")
    out = tmp_path / "out"
    run_batch([tmp_path / "class"], lab, out, fast_options(), BatchOptions(workers=1, progress=False))
    lab_yaml = course / "assignments" / "tiny" / "lab.yaml"
    lab_yaml.write_text(lab_yaml.read_text().replace("  history: history\n", "  history: history\n  bias: array\n"))
    new_lab = edit_rubric(course, "tiny", ("total: 10", "total: 11"), (
        "{id: scores-shape, check: shape, points: 2, args: {name: scores, shape: [null]}}",
        "{id: scores-shape, check: shape, points: 2, args: {name: scores, shape: [null]}}\n"
        "      - {id: bias-shape, check: shape, points: 1, args: {name: bias, shape: [3]}}"))
    assert "`bias`" in regrade(new_lab, out, dry_run=True).executed["ana"]
    outcome = regrade(new_lab, out)
    assert "`bias`" in outcome.executed["ana"] and outcome.results[0].score == 11


@pytest.mark.slow
def test_keras_digits_regrade_equals_a_full_grading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_out: Path
) -> None:
    # The demo's class (keras-digits' examples and blank template, full profile) is the graded class.
    course = copy_course(REPO, tmp_path / "course", "keras-digits", "keras_digits")
    out = tmp_path / "out"
    shutil.copytree(demo_out, out)
    assert Result.read(out / "alice-solution" / "result.json").score == 100

    new_lab = edit_rubric(
        course, "keras-digits",
        ("margin: 0.03, floor: 0.9}", "margin: 0.0, floor: 0.99}"),  # a stricter MLP accuracy threshold
        ("{id: mlp-params, check: params, points: 4,", "{id: mlp-params, check: params, points: 2,"),
        ("{id: cnn-history, check: history, points: 4, args: {name: cnn_history, min_epochs: 10}}",
         "{id: cnn-history, check: history, points: 4, args: {name: cnn_history, min_epochs: 10}}\n"
         "      - {id: cnn-long-history, check: history, points: 2, args: {name: cnn_history, min_epochs: 12}}"),
    )
    with monkeypatch.context() as patched:
        no_kernels(patched)
        outcome = regrade(new_lab, out)
    assert not outcome.executed
    examples = sorted((course / "assignments" / "keras-digits" / "examples").glob("*.ipynb"))
    blank = release(new_lab.solution, tmp_path / "class" / "carol-blank.ipynb")
    fresh = tmp_path / "fresh"
    run_batch([*examples, blank], new_lab, fresh, GradeOptions(), BatchOptions(workers=2, progress=False))
    assert_same_as_full_grading(out, fresh, outcome.results)
    alice = next(c for c in outcome.changes if c.submission == "alice-solution")
    assert any(m.startswith("mlp-params 4→2") for m in alice.moved)
