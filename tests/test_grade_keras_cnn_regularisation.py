"""End to end: notebooks of keras-cnn-regularisation graded in real kernels on the smoke profile.

Slow (each notebook trains an MLP and two CNNs on 6,000 images, ~40-60 s), so marked;
CI runs them all the same.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import Result, grade
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from tests.grading import SMOKE, grade_solution, lost, message

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-cnn-regularisation", course)


@pytest.fixture(scope="module")
def solution(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Result:
    return grade_solution(lab, tmp_path_factory.mktemp("solution"))


def test_the_solution_scores_at_least_95(solution: Result) -> None:
    assert solution.status == "graded"
    lost_points = [(c.name, c.message) for p in solution.parts for c in p.checks if c.points < c.max_points]
    assert solution.score >= 95, lost_points
    assert solution.max_score == 100
    assert all(c.status == "ok" for c in solution.execution.cells)  # type: ignore[union-attr]
    assert set(solution.reference) == {"mlp_accuracy", "cnn_accuracy", "cnn_strided_accuracy"}


def test_what_the_solutions_answer_says_is_checked_against_its_own_run(solution: Result) -> None:
    (check,) = (c for p in solution.parts for c in p.checks if c.name == "padding-stride")
    claims = {c["id"]: c for c in check.evidence["claims"]}
    assert claims["stride-maps"]["status"] == "agrees"
    # The timings the template's cells recorded (exported as `cnn_time`, `cnn_strided_time`);
    # a machine under load may bring them within the margin, never reverse a 2x difference.
    assert claims["stride-speed"]["status"] in ("agrees", "unchecked"), claims["stride-speed"]["message"]
    assert "`cnn_strided`" in claims["stride-speed"]["message"] and " s" in claims["stride-speed"]["message"]
    # Both CNNs run on the grader's test split, the outputs the accuracy checks scored.
    assert claims["stride-accuracy"]["status"] == "agrees", claims["stride-accuracy"]["message"]
    assert "test accuracy: `cnn`" in claims["stride-accuracy"]["message"]


def test_the_blank_template_scores_at_most_20(lab: Lab) -> None:
    result = grade(lab.template, lab, SMOKE)
    assert result.status == "graded"
    assert result.score <= 20
    assert "placeholder" in message(result, "padding-stride")
    assert "`cnn_strided` is not defined" in message(result, "cnn-strided-conv-shapes")


def test_another_students_own_cnn_design_gets_full_marks(lab: Lab, solution: Result) -> None:
    # A different CNN (one convolution, a hidden Dense layer) and its strided twin.
    result = grade(lab.examples / "chioma-solution.ipynb", lab, SMOKE)
    assert lost(result, solution) == set()
    # It keeps the course notebook's imports and plots (tests/test_lab_imports.py): all of them ran.
    assert result.execution is not None and not result.execution.failed_imports
    assert [c.error for c in result.execution.cells if c.status != "ok"] == []


def test_a_strided_cnn_that_changes_nothing_loses_only_the_conv_shapes_points(lab: Lab, solution: Result) -> None:
    # The partial example copies `cnn` into `cnn_strided` without changing padding or stride.
    result = grade(lab.examples / "dmitri-partial.ipynb", lab, SMOKE)
    assert lost(result, solution) == {"cnn-strided-conv-shapes"}
    assert "same strides and padding as `cnn`" in message(result, "cnn-strided-conv-shapes")


def test_the_examples_and_template_are_the_ones_released(lab: Lab) -> None:
    from autograder.authoring.release import make_template

    solution = nbformat.read(lab.solution, as_version=4)
    template = nbformat.read(lab.template, as_version=4)
    assert [c.source for c in make_template(solution).cells] == [c.source for c in template.cells]
    assert sorted(p.name for p in Path(lab.examples).glob("*.ipynb")) == [
        "chioma-solution.ipynb", "dmitri-partial.ipynb"
    ]
