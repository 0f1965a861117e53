"""The student bundle: public checks only, nothing hidden, and it grades on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder import GradeOptions
from autograder.authoring.bundle import write_student_bundle
from autograder.course.folder import Course, find_course
from autograder.course.labs import load_lab
from autograder.course.reference import load_reference_module
from tests import submissions
from tests.executions import Executions


@pytest.fixture(scope="module")
def bundle(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    write_student_bundle(load_lab("keras-digits", course), out)
    return out


def test_the_bundle_carries_no_hidden_check_and_no_hidden_data(course: Course, bundle: Path) -> None:
    lab = load_lab("keras-digits", course)
    public = load_lab("keras-digits", find_course(bundle))
    hidden = {c.spec.id for c in lab.rubric.checks if c.spec.hidden}
    shipped_ids = {c.spec.id for c in public.rubric.checks}
    assert shipped_ids == {c.spec.id for c in lab.rubric.checks} - hidden
    text = "".join(p.read_text(errors="ignore") for p in bundle.rglob("*") if p.suffix in {".yaml", ".py"})
    assert not any(h in text for h in hidden)
    assert "_PROBE_STATE" not in text and "make_classification" not in text  # no reference code
    real = load_reference_module(course.reference / "keras_digits.py").data("full")
    with np.load(bundle / "reference" / "keras_digits_public.npz") as shipped:
        assert set(shipped.files) == {"probe_X", "probe_Y"}  # only what public checks read
        assert shipped["probe_X"].shape == real["probe_X"].shape
        assert not np.array_equal(shipped["probe_X"], real["probe_X"])  # hidden: a stand-in


@pytest.mark.slow
def test_the_solution_passes_every_public_check_with_the_bundle_alone(bundle: Path, executions: Executions) -> None:
    # The session's execution of the solution, checked and scored with the bundle's lab alone.
    lab = load_lab("keras-digits", find_course(bundle))
    result = executions.grade(lab, "solution", submissions.student_solution(),
                              GradeOptions(profile="smoke", public_only=True))
    failed = [(c.name, c.message) for p in result.parts for c in p.checks if c.status != "passed"]
    assert failed == [] and result.max_score == 61
