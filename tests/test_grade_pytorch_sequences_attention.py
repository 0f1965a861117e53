"""End to end: notebooks of pytorch-sequences-attention graded in real kernels on the smoke profile.

Slow (each notebook imports PyTorch and TensorFlow, trains a transformer, three recurrent
models and two Keras models on the staged MNIST stand-in, about 75 s; the checks run the
exported programs in probe processes), so marked; CI runs them all the same.
"""

from __future__ import annotations

import pytest

from autograder import Result, grade
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from tests.grading import SMOKE, grade_solution, lost, message

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("pytorch-sequences-attention", course)


@pytest.fixture(scope="module")
def solution(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Result:
    return grade_solution(lab, tmp_path_factory.mktemp("solution"))


def test_the_solution_scores_at_least_95(solution: Result) -> None:
    assert solution.status == "graded"
    lost_points = [(c.name, c.message) for p in solution.parts for c in p.checks if c.points < c.max_points]
    assert solution.score >= 95, lost_points
    assert solution.max_score == 100
    assert all(c.status == "ok" for c in solution.execution.cells)  # type: ignore[union-attr]
    # The transformer learns (the seed's recipe stopped at 22%), and every forecaster is scored.
    assert solution.reference["vit_accuracy"] > 0.6
    assert {"rnn_rmse", "lstm_rmse", "gru_rmse"} <= set(solution.reference)
    assert "277,450 parameters" in message(solution, "vit-class-params")
    assert "(1, 4, 64, 64)" in message(solution, "attn-shape")


def test_what_the_solutions_answer_says_of_the_forecasters_is_checked_against_its_run(solution: Result) -> None:
    (check,) = (c for p in solution.parts for c in p.checks if c.name == "rnn-comparison")
    claims = {c["id"]: c for c in check.evidence["claims"]}
    # "the **LSTM** reached the lowest test **RMSE**": the three forecasters, run as the RMSE checks ran them.
    assert claims["lowest-rmse"]["status"] == "agrees", claims["lowest-rmse"]["message"]
    assert "the LSTM did best" in claims["lowest-rmse"]["message"]
    assert "test rmse: `models[rnn]`" in claims["lowest-rmse"]["message"]
    # "**10,651 parameters**": the count of the exported LSTM of `models`.
    assert claims["parameter-counts"]["status"] == "agrees", claims["parameter-counts"]["message"]


def test_the_example_solution_loses_nothing(lab: Lab, solution: Result) -> None:
    result = grade(lab.examples / "erin-solution.ipynb", lab, SMOKE)
    assert lost(result, solution) == set()
    # It keeps the course notebook's imports and plots (tests/test_lab_imports.py): all of them ran.
    assert result.execution is not None and not result.execution.failed_imports
    assert [c.error for c in result.execution.cells if c.status != "ok"] == []


def test_the_blank_template_scores_at_most_20(lab: Lab) -> None:
    result = grade(lab.template, lab, SMOKE)
    assert result.status == "graded"
    assert result.score <= 20
    assert "placeholder" in message(result, "rnn-comparison")
    assert "`vit_model` is not defined" in message(result, "vit-accuracy")
    assert "NotImplementedError" in message(result, "lstm-params")


def test_an_lstm_with_the_wrong_hidden_size_loses_only_its_parameter_check(lab: Lab, solution: Result) -> None:
    # The partial example builds its LSTM with 32 hidden units whatever hidden_size says:
    # 4,513 parameters. Trained, it still forecasts well enough (RMSE about 0.12).
    result = grade(lab.examples / "farid-partial.ipynb", lab, SMOKE)
    assert lost(result, solution) == {"lstm-params"}
    assert "4,513 parameters, expected 10,651" in message(result, "lstm-params")
