"""End to end: real notebooks of keras-digits graded in real kernels with real Keras models.

Slow (each notebook trains its models, ~20 s), so marked; CI runs them all the same. The
digits are the same on every profile, so these use ``smoke`` like the other labs; the
demo's test grades this lab on ``full``. Each notebook is executed once per session
(``executions``); the self-check rescores a stored execution with public checks only.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import GradeOptions, Result
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.grading.pipeline import reassess
from tests import submissions
from tests.executions import Executions
from tests.grading import SMOKE, lost

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-digits", course)


@pytest.fixture(scope="module")
def solution(lab: Lab, executions: Executions) -> Result:
    return executions.grade(lab, "solution", submissions.student_solution())


def test_the_solution_scores_at_least_95(solution: Result) -> None:
    assert solution.status == "graded"
    lost_points = [(c.name, c.message) for p in solution.parts for c in p.checks if c.points < c.max_points]
    assert solution.score >= 95, lost_points
    assert solution.max_score == 100
    assert all(c.status == "ok" for c in solution.execution.cells)  # type: ignore[union-attr]
    assert set(solution.curves) == {"mlp_history", "cnn_history"}
    assert len(solution.curves["mlp_history"]["val_loss"]) == 50
    assert solution.environment is not None and "keras" in solution.environment.packages
    assert solution.reference["mlp_accuracy"] > 0.9


def test_the_blank_template_scores_at_most_20(lab: Lab, executions: Executions) -> None:
    result = executions.grade(lab, "template", lab.template)
    assert result.status == "graded"
    assert result.score <= 20
    messages = {c.name: c.message for p in result.parts for c in p.checks}
    assert "placeholder" in messages["compare-models"]
    assert "`mlp_model` is not defined" in messages["mlp-params"]


def test_a_wrong_mlp_loses_the_architecture_and_parameter_points_only(
    lab: Lab, executions: Executions, solution: Result
) -> None:
    result = executions.grade(lab, "wrong-mlp", submissions.wrong_mlp_architecture())
    assert lost(result, solution) == {"mlp-architecture", "mlp-params"}
    check = next(c for p in result.parts for c in p.checks if c.name == "mlp-architecture")
    assert "Dense(100, relu)" in check.message and "Dense(128, relu)" in check.message
    table = check.evidence["table"]
    # The next layer differs too: its input narrowed, so its parameter count changed.
    assert table["row_ok"] == [False, False, True, True]


def test_a_cell_that_raises_costs_only_what_it_defines(lab: Lab, executions: Executions, solution: Result) -> None:
    result = executions.grade(lab, "raises", submissions.raises_in_cnn_cell())
    assert lost(result, solution) == {"cnn-architecture", "cnn-params", "cnn-history", "cnn-accuracy"}
    errors = [c for c in result.execution.cells if c.status == "error"]  # type: ignore[union-attr]
    assert any("I will finish the CNN later" in c.error for c in errors)
    assert any("raised an error" in n for n in result.notes)
    message = next(c.message for p in result.parts for c in p.checks if c.name == "cnn-params")
    assert "`cnn_model` is not defined" in message


def test_a_renamed_model_is_named_in_the_message(lab: Lab, executions: Executions, solution: Result) -> None:
    result = executions.grade(lab, "renamed", submissions.renamed_mlp())
    assert lost(result, solution) == {"mlp-architecture", "mlp-params", "mlp-accuracy"}
    message = next(c.message for p in result.parts for c in p.checks if c.name == "mlp-params")
    assert "`mlp_model` is not defined" in message and "`my_mlp`" in message


def test_stored_outputs_claiming_accuracy_are_ignored(lab: Lab, executions: Executions, solution: Result) -> None:
    result = executions.grade(lab, "fake-outputs", submissions.fake_stored_accuracy())
    assert lost(result, solution) == {"mlp-accuracy", "mlp-history"}
    accuracy = next(c for p in result.parts for c in p.checks if c.name == "mlp-accuracy")
    assert "99.72" not in accuracy.message and "below" in accuracy.message


def test_a_fresh_reordered_notebook_without_tags_is_graded_by_names_and_heading(
    lab: Lab, executions: Executions, solution: Result
) -> None:
    result = executions.grade(lab, "fresh", submissions.fresh_reordered_without_tags())
    assert result.score >= 95
    assert any("lost its tag `compare-models`" in n for n in result.notes)
    assert [s.text for s in result.execution.skipped_lines] == ["%load_ext tensorboard", "!pip install tensorflow"]  # type: ignore[union-attr]


def test_the_self_check_runs_only_public_checks(lab: Lab, executions: Executions) -> None:
    result = executions.grade(lab, "wrong-mlp", submissions.wrong_mlp_architecture(),
                              GradeOptions(profile="smoke", public_only=True))
    checks = [c for p in result.parts for c in p.checks]
    assert checks and not any(c.hidden for c in checks)
    assert {c.name for c in checks if c.status != "passed"} == {"mlp-architecture", "mlp-params"}


def test_a_parameter_count_the_students_own_models_do_not_have_loses_that_point(
        lab: Lab, executions: Executions, tmp_path: Path) -> None:
    execution = executions.run(lab, "solution", submissions.student_solution())
    params = {c.name: c for p in execution.result.parts for c in p.checks}
    assert params["mlp-params"].status == params["cnn-params"].status == "passed"
    said = {}
    for name, counts in (("right", "18,986 parameters in the MLP and 85,066 parameters in the CNN"),
                         ("wrong", "131 parameters in the MLP and 85,066 parameters in the CNN")):
        nb = nbformat.read(execution.notebook, as_version=4)
        cell = next(c for c in nb.cells if "compare-models" in c.metadata.get("tags", []))
        cell.source += f"\n\nFor the record, I count {counts}."
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        result = reassess(lab, SMOKE, path, execution.result, execution.exported)
        said[name] = next(c for p in result.parts for c in p.checks if c.name == "compare-models")
    claims = {name: {c["id"]: c for c in check.evidence["claims"]} for name, check in said.items()}
    assert claims["right"]["parameter-counts"]["status"] == "agrees"
    assert claims["wrong"]["parameter-counts"]["status"] == "disagrees"
    assert "`mlp_model` has 18,986" in claims["wrong"]["parameter-counts"]["message"]
    assert said["wrong"].points < said["right"].points
