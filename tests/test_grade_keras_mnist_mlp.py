"""End to end: the keras-mnist-mlp lab graded in real kernels on the smoke profile.

Slow (each notebook trains six Keras models, ~90 s on two cores), so marked; CI runs
them all the same. Under `smoke` Fashion-MNIST stands in for MNIST (6,000 / 1,000
images), and thresholds come from the reference trained on the same data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import Result, grade
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from tests.grading import SMOKE, grade_solution, lost, message

pytestmark = pytest.mark.slow

_graded: dict[str, Result] = {}


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-mnist-mlp", course)


def graded(name: str, path: Path, lab: Lab) -> Result:
    """Grade each notebook once per session; several tests read the same result."""
    if name not in _graded:
        _graded[name] = grade(path, lab, SMOKE)
    return _graded[name]


@pytest.fixture(scope="module")
def solution(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Result:
    return grade_solution(lab, tmp_path_factory.mktemp("solution"))


def test_the_solution_scores_at_least_95_percent(solution: Result) -> None:
    assert solution.status == "graded"
    lost_points = [(c.name, c.message) for p in solution.parts for c in p.checks if c.points < c.max_points]
    assert solution.max_score == 100
    assert solution.score >= 95, lost_points
    assert all(c.status == "ok" for c in solution.execution.cells)  # type: ignore[union-attr]
    assert set(solution.curves) == {"history_mnist", "history_mnist_deep", "history_very_deep", "history_dropout"}
    assert len(solution.curves["history_very_deep"]["val_loss"]) == 20
    assert solution.profile == "smoke"
    assert set(solution.reference) >= {"mnist_accuracy", "deep_accuracy", "very_deep_accuracy"}
    # The shell and magic lines the worksheet keeps are skipped, not errors.
    skipped = [s.text for s in solution.execution.skipped_lines]  # type: ignore[union-attr]
    assert "%load_ext tensorboard" in skipped and "!jupyter nbconvert --to pdf mlp_week09.ipynb" in skipped


def test_the_example_solution_in_its_own_words_scores_full_marks(lab: Lab, solution: Result) -> None:
    result = graded("maya", lab.examples / "maya-solution.ipynb", lab)
    assert result.status == "graded"
    assert lost(result, solution) == set(), [(c.name, c.message) for p in result.parts for c in p.checks
                                             if c.points < c.max_points]
    # It keeps the course notebook's imports and plots (tests/test_lab_imports.py): all of them ran.
    assert result.execution is not None and not result.execution.failed_imports
    assert [c.error for c in result.execution.cells if c.status != "ok"] == []
    # The course's bare `pip install tensorflow` is skipped like `!pip install`, not run.
    assert "pip install tensorflow" in [s.text for s in result.execution.skipped_lines]


def test_the_blank_template_scores_at_most_20_percent(lab: Lab) -> None:
    result = graded("template", lab.template, lab)
    assert result.status == "graded"
    assert result.score <= 20
    assert "placeholder" in message(result, "when-to-stop")
    assert "`model_mnist` is not defined" in message(result, "mnist-params")
    # load_data() ran in the template: the images are there, not yet flattened and scaled.
    assert "(6000, 28, 28)" in message(result, "x-train-shape")


def test_nine_hidden_layers_lose_only_the_very_deep_architecture_and_parameters(lab: Lab, solution: Result) -> None:
    result = graded("partial", lab.examples / "tom-partial.ipynb", lab)
    assert lost(result, solution) == {"very-deep-architecture", "very-deep-params"}
    assert "233,866" in message(result, "very-deep-params") and "250,378" in message(result, "very-deep-params")
    assert "layer 10" in message(result, "very-deep-architecture")
