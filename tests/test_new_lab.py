"""`autograder lab new --from solution.ipynb`: a lab written from its solution notebook, which
is then its reference. The slow test authors a lab from a notebook that is not in the
course and grades its solution, its template and a mutant of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.artifacts.reader import ArtifactBundle
from autograder.authoring.bundle import write_student_bundle
from autograder.authoring.new_lab import draft_lab
from autograder.authoring.solution_regions import read_regions
from autograder.cli import main
from autograder.config import GradeOptions
from autograder.course.folder import Course
from autograder.course.labs import load_lab
from autograder.course.reference import load_reference_module, read_calibration
from autograder.errors import ConfigError
from autograder.grading.pipeline import grade

NEW_LABS = Path(__file__).parent / "fixtures" / "new_labs"

SPLIT = """import numpy as np
### BEGIN SOLUTION
X_train, X_test = np.ones((8, 4)), np.zeros((2, 4))
for epoch in range(3):
    losses: list = []
if True:
    y_test = np.array([0, 1])
def helper(a):
    inner = a
    return inner
class Net:
    width = 3
_private = 1
### END SOLUTION
given = 2"""


def _solution(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


def test_the_names_students_write_are_what_the_solution_regions_assign_at_top_level() -> None:
    answer = new_markdown_cell("<!-- BEGIN SOLUTION -->\nThe MLP wins.\n<!-- END SOLUTION -->",
                               metadata={"tags": ["compare-models"]})
    indented = new_code_cell("def build():\n    ### BEGIN SOLUTION\n    model = 1\n    ### END SOLUTION\n"
                             "    return model")
    regions = read_regions(_solution(new_markdown_cell("## 1. Data"), new_code_cell(SPLIT), indented,
                                     new_markdown_cell("### Question: which model wins?"), answer))
    # Not the loop's variable, a function's locals, a private name, given code or an indented region.
    assert [n.name for n in regions.names] == ["X_train", "X_test", "losses", "y_test", "Net"]
    assert {n.part for n in regions.names} == {"1. Data"}
    (question,) = regions.questions
    assert (question.tag, question.heading, question.answer) == (
        "compare-models", "Question: which model wins?", "The MLP wins.")
    assert regions.packages == ("numpy",)


def test_a_written_answer_without_its_question_id_is_refused() -> None:
    untagged = new_markdown_cell("<!-- BEGIN SOLUTION -->\nThe MLP wins.\n<!-- END SOLUTION -->")
    with pytest.raises(ConfigError, match="question id as the cell's tag"):
        read_regions(_solution(untagged))
    with pytest.raises(ConfigError, match="no solution region"):
        read_regions(_solution(new_code_cell("x = 1")))


def _exported(folder: Path, manifest: dict[str, dict[str, object]], arrays: dict[str, np.ndarray]) -> ArtifactBundle:
    folder.mkdir()
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array)
    (folder / "history.json").write_text(json.dumps(
        {"history": {"loss": [1.0] * 20, "val_loss": [1.0] * 20, "val_accuracy": [0.5] * 20}, "params": {}}))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return ArtifactBundle(folder)


def test_each_kind_gets_the_checks_that_fit_it_and_a_model_is_measured_on_the_test_arrays_it_takes(
        tmp_path: Path) -> None:
    source = "### BEGIN SOLUTION\nX_train = X_test = y_train = y_test = model = history = scaler = 0\n### END SOLUTION"
    answer = new_markdown_cell("<!-- BEGIN SOLUTION -->\nThe deep model wins by two points. It has more "
                               "parameters to fit the data.\n<!-- END SOLUTION -->", metadata={"tags": ["why"]})
    regions = read_regions(_solution(new_code_cell(source), answer))
    ok = {"status": "ok"}
    bundle = _exported(tmp_path / "exported", {
        "X_train": {"kind": "array", **ok}, "X_test": {"kind": "array", **ok},
        "y_train": {"kind": "array", **ok}, "y_test": {"kind": "array", **ok},
        "model": {"kind": "keras-model", **ok, "accepts": {"X_train": [3], "X_test": [3]}},
        "history": {"kind": "history", **ok}, "scaler": {"kind": "auto", "status": "skipped", "type": "sklearn.X"},
    }, {"X_train": np.zeros((40, 4)), "X_test": np.zeros((10, 4)), "y_train": np.zeros(40, dtype=np.int64),
        "y_test": np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])})
    draft = draft_lab("new", "New", regions, bundle)
    checks = {c["id"]: c for p in draft.rubric["parts"] for c in p["checks"]}
    assert checks["model-accuracy"]["args"] == {"name": "model", "x": "X_test", "y": "y_test",
                                                "metric": "model_accuracy", "margin": 0.2}  # two of ten examples
    assert checks["model-accuracy"]["hidden"] is True
    assert checks["model-params"]["args"] == {"name": "model", "reference": "model"}
    assert checks["history"]["args"] == {"name": "history", "min_epochs": 10, "require": ["val_accuracy", "val_loss"]}
    assert checks["x-test-shape"]["args"] == {"name": "X_test", "like": "X_test"}
    assert [c["id"] for c in checks["why"]["args"]["concepts"]] == ["point-1", "point-2"]
    assert draft.rubric["total"] == sum(c["points"] for c in checks.values())
    assert "scaler" not in draft.lab_yaml["names"] and any("`scaler` left out" in n for n in draft.notes)
    # No heading above it: the tag stands in, never an empty heading that every cell would match.
    assert draft.lab_yaml["discussions"] == {"why": {"heading": "why"}}


def _hand_written_lab(root: Path, epochs: int) -> Path:
    """A course with a lab whose solution is its reference, written as `lab new` would."""
    (root / "rubrics").mkdir(parents=True)
    folder = root / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "lab.yaml").write_text(yaml.safe_dump({"id": "tiny", "title": "Tiny", "names": {"model": "keras-model"}}))
    (root / "rubrics" / "tiny.yaml").write_text(yaml.safe_dump({"lab": "tiny", "total": 4, "parts": [
        {"id": "p", "title": "P", "checks": [{"id": "params", "check": "params", "points": 4,
                                             "args": {"name": "model", "reference": "model"}}]}]}))
    solution = folder / "solution.ipynb"
    nbformat.write(_solution(new_code_cell(f"### BEGIN SOLUTION\nmodel = fit(epochs={epochs})\n### END SOLUTION")),
                   solution)
    return solution


def test_a_lab_without_a_reference_module_has_its_solution_as_reference_recalibrated_when_it_changes(
        tmp_path: Path) -> None:
    solution = _hand_written_lab(tmp_path, epochs=10)
    lab = load_lab("tiny", Course(tmp_path))
    assert lab.reference_path == solution
    before = load_reference_module(solution).recipe_source()
    assert load_reference_module(solution).SEEDS == (1, 2, 3)
    nb = nbformat.read(solution, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("epochs=10", "epochs=20")
    nbformat.write(nb, solution)
    assert load_reference_module(solution).recipe_source() != before


@pytest.mark.slow
def test_a_lab_authored_from_a_new_notebook_grades_its_solution_template_and_a_mutant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    (course / "rubrics").mkdir()
    source = NEW_LABS / "digits-torch" / "solution.ipynb"
    assert main(["--course", str(course), "lab", "new", "digits", "--from", str(source)]) == 0
    assert "linear: torch-model" in capsys.readouterr().out
    lab = load_lab("digits", Course(course))
    assert lab.spec.reference is None and lab.name_spec("mlp").input == (64,)

    assert main(["--course", str(course), "lab", "calibrate", "digits", "--write"]) == 0
    shown = capsys.readouterr().out
    assert "linear_accuracy  median 0.9" in shown and "linear-accuracy  accuracy >= 0.9" in shown
    assert read_calibration(lab.reference_path)["any"].seeds == (1, 2, 3)

    options = GradeOptions()
    solution = grade(lab.solution, lab, options)
    assert solution.score == solution.max_score, [c for p in solution.parts for c in p.checks if c.status != "passed"]
    template = grade(lab.template, lab, options)
    assert template.score <= 0.2 * template.max_score

    one_epoch = tmp_path / "one-epoch.ipynb"
    shutil.copy(lab.solution, one_epoch)
    text = one_epoch.read_text().replace("epochs=30", "epochs=1")
    assert text != one_epoch.read_text()
    one_epoch.write_text(text)
    mutant = grade(one_epoch, lab, options)
    lost = {c.name for p in mutant.parts for c in p.checks if c.points < c.max_points}
    assert {"linear-accuracy", "mlp-accuracy"} <= lost
    assert {"linear-params", "mlp-params"}.isdisjoint(lost)

    # Students' self-check bundle: the solution's counts and shapes, its arrays as public data.
    rubric = yaml.safe_load(write_student_bundle(lab, tmp_path / "bundle").read_text())
    public = {c["id"]: c["args"] for p in rubric["parts"] for c in p["checks"]}
    assert public["mlp-params"] == {"name": "mlp", "expected": 2410}
    assert public["x-test-shape"] == {"name": "X_test", "shape": [None, 64]}
    assert "linear-accuracy" not in public

    # A solution that no longer runs is the course's error, named with its cell, not a student's zero.
    nb = nbformat.read(lab.solution, as_version=4)
    region = next(c for c in nb.cells if c.cell_type == "code" and "mlp = nn.Sequential" in c.source)
    region.source = region.source.replace("mlp = nn.Sequential", "raise RuntimeError('broken'); mlp = nn.Sequential")
    nbformat.write(nb, lab.solution)
    assert main(["--course", str(course), "lab", "calibrate", "digits"]) != 0
    assert "RuntimeError: broken" in capsys.readouterr().err
