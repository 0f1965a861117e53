"""`autograder lab validate`: the solution, the template and mutants of the solution graded
before a lab meets students; a mutant the rubric does not notice is a hole in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.authoring.validation import mutants, render_validation, validate
from autograder.cli import main
from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.errors import ConfigError
from tests.submissions import FIXTURE_COURSE

MODEL_CELL = """### BEGIN SOLUTION
model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(8, activation='relu'),
    keras.layers.Dense(2, activation='softmax'),
])
model.compile(keras.optimizers.Adam(0.05), 'sparse_categorical_crossentropy', metrics=['accuracy'])
X_display = X / 255.0  # scaled for a plot only: the model never sees it
history = model.fit(X, y, epochs=10, batch_size=32, validation_split=0.2, verbose=0)
### END SOLUTION"""


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    """The fixture lab tiny-keras, its model cell marked as the students' part."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    solution = root / "assignments" / "tiny-keras" / "solution.ipynb"
    nb = nbformat.read(solution, as_version=4)
    nb.cells = [c for c in nb.cells if "keras.Sequential" not in c.source] + [new_code_cell(MODEL_CELL)]
    nbformat.write(nb, solution)
    return load_lab("tiny-keras", find_course(root))


def test_mutants_break_one_thing_each_inside_the_solution_regions(lab: Lab) -> None:
    given = new_code_cell("X = load()  # epochs=3 here is given code, never mutated")
    notebook = new_notebook(cells=[given, new_code_cell(MODEL_CELL)])
    found = {m.name: m.notebook.cells[-1].source for m in mutants(notebook, lab)}
    assert set(found) == {"trained for one epoch", "first layer twice as wide", "inputs not scaled", "`model` missing"}
    assert "epochs=1," in found["trained for one epoch"]
    assert "Dense(16, activation='relu')" in found["first layer twice as wide"]
    assert "Dense(2, activation" in found["first layer twice as wide"]  # only the first layer
    assert "X_display = X  #" in found["inputs not scaled"]
    assert "raise NotImplementedError()" in found["`model` missing"] and "Sequential" not in found["`model` missing"]
    # Given code outside the regions stays as it is.
    assert all(m.notebook.cells[0].source == given.source for m in mutants(notebook, lab))


def test_a_lab_without_a_solution_cannot_be_validated(lab: Lab) -> None:
    lab.solution.unlink()
    with pytest.raises(ConfigError, match="no solution notebook"):
        validate(lab, GradeOptions(profile="smoke"))


@pytest.mark.slow
def test_a_lab_whose_rubric_notices_every_mutant_validates(lab: Lab) -> None:
    verdicts = validate(lab, GradeOptions(profile="smoke"))
    table = render_validation(lab, verdicts)
    by_what = {v.what: v for v in verdicts}
    assert by_what["solution"].ok and by_what["solution"].share >= 0.95, table
    assert by_what["template"].ok and by_what["template"].share <= 0.2, table
    assert "model-history" in by_what["mutant: trained for one epoch"].why, table
    assert "model-params" in by_what["mutant: first layer twice as wide"].why, table
    assert by_what["mutant: `model` missing"].share == 0, table
    # The scaled copy only feeds a plot: unscaling it changes nothing the rubric sees, a hole it reports.
    assert not by_what["mutant: inputs not scaled"].ok and "misses it" in table, table


def test_the_command_names_the_lab_like_calibrate_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--course", str(FIXTURE_COURSE), "lab", "validate", "nope", "--fast"]) == 2
    assert "unknown lab 'nope'" in capsys.readouterr().err
