"""End to end: notebooks of pytorch-fundamentals graded in real kernels on the smoke profile.

Slow (each notebook imports PyTorch, trains a small MLP and exports four models, and
the checks run the exported programs in probe processes), so marked; CI runs them all
the same.
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
    return load_lab("pytorch-fundamentals", course)


@pytest.fixture(scope="module")
def solution(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Result:
    return grade_solution(lab, tmp_path_factory.mktemp("solution"))


def test_the_solution_scores_at_least_95(solution: Result) -> None:
    assert solution.status == "graded"
    lost_points = [(c.name, c.message) for p in solution.parts for c in p.checks if c.points < c.max_points]
    assert solution.score >= 95, lost_points
    assert solution.max_score == 100
    assert all(c.status == "ok" for c in solution.execution.cells)  # type: ignore[union-attr]
    assert solution.reference["mlp_accuracy"] > 0.9
    assert "402,826 trainable parameters" in message(solution, "frozen-trainable")


def test_the_example_solution_loses_nothing(lab: Lab, solution: Result) -> None:
    result = grade(lab.examples / "chen-solution.ipynb", lab, SMOKE)
    assert lost(result, solution) == set()
    # It keeps the course notebook's imports and plots (tests/test_lab_imports.py): all of them ran.
    assert result.execution is not None and not result.execution.failed_imports
    assert [c.error for c in result.execution.cells if c.status != "ok"] == []


def test_the_blank_template_scores_at_most_20(lab: Lab) -> None:
    result = grade(lab.template, lab, SMOKE)
    assert result.status == "graded"
    assert result.score <= 20
    assert "placeholder" in message(result, "transfer-learning")
    assert "`frozen_cnn` is not defined" in message(result, "frozen-trainable")
    assert "NotImplementedError" in message(result, "perceptron-learns")


def test_a_perceptron_that_never_updates_loses_only_the_perceptron_checks(lab: Lab, solution: Result) -> None:
    # The partial example computes each update but never applies it to the weights.
    result = grade(lab.examples / "dana-partial.ipynb", lab, SMOKE)
    assert lost(result, solution) == {"perceptron-learns", "perceptron-hidden"}
    assert "check that `fit` updates the weights" in message(result, "perceptron-hidden")
