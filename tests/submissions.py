"""Submissions of the lab keras-digits, derived from its solution the way students make them,
and of the fixture lab tiny-keras for the tests of the front ends (CLI, CI, pytest plugin).

Each function returns a notebook a student could plausibly hand in; the end-to-end
tests grade them as real files in real kernels.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tests.grading import as_handed_in

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "assignments" / "keras-digits" / "solution.ipynb"
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"
TINY_KERAS = FIXTURE_COURSE / "assignments" / "tiny-keras" / "solution.ipynb"


def student_solution() -> NotebookNode:
    """The solution as a student hands it in: markers gone, everything else kept."""
    return as_handed_in(SOLUTION)


def _cell(nb: NotebookNode, contains: str) -> NotebookNode:
    matches = [c for c in nb.cells if c.cell_type == "code" and contains in c.source]
    assert len(matches) == 1, f"expected one code cell containing {contains!r}, found {len(matches)}"
    return matches[0]


def wrong_mlp_architecture() -> NotebookNode:
    nb = student_solution()
    cell = _cell(nb, "mlp_model = keras.Sequential")
    cell.source = cell.source.replace("layers.Dense(128, activation='relu')", "layers.Dense(100, activation='relu')")
    assert "Dense(100" in cell.source
    return nb


def raises_in_cnn_cell() -> NotebookNode:
    nb = student_solution()
    cell = _cell(nb, "cnn_model = keras.Sequential")
    cell.source = "raise RuntimeError('I will finish the CNN later')\n" + cell.source
    return nb


def renamed_mlp() -> NotebookNode:
    nb = student_solution()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = re.sub(r"\bmlp_model\b", "my_mlp", cell.source)
    return nb


def fake_stored_accuracy() -> NotebookNode:
    """Trains the MLP one epoch only, but ships stored outputs claiming 99.7% accuracy."""
    nb = student_solution()
    train = _cell(nb, "mlp_history = mlp_model.fit(")
    train.source = train.source.replace("epochs=50", "epochs=1")
    evaluate = _cell(nb, "mlp_model.evaluate(")
    evaluate.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Test Accuracy: 99.72%\n")]
    evaluate.execution_count = 12
    return nb


def fresh_reordered_without_tags() -> NotebookNode:
    """The student's own notebook: only their code cells, definitions moved first,
    no cell ids or tags, and the answer written under the question's heading."""
    solution = student_solution()
    code = [c.source for c in solution.cells if c.cell_type == "code"]
    class_cells = [s for s in code if s.lstrip().startswith("# Your Lab 2 MLP") or "class MLPFromScratch" in s]
    rest = [s for s in code if s not in class_cells]
    answer = next(c.source for c in solution.cells if "compare-models" in c.metadata.get("tags", []))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in class_cells + rest]
    nb.cells.append(nbformat.v4.new_markdown_cell("## Which model wins, and why?"))
    nb.cells.append(nbformat.v4.new_markdown_cell(answer))
    nb.cells.append(nbformat.v4.new_code_cell("%load_ext tensorboard\n!pip install tensorflow\nprint('done')"))
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def tiny_keras(*, hidden_units: int = 8) -> NotebookNode:
    """The fixture lab tiny-keras's solution (a Dense(8) then Dense(2) model, seconds to
    grade), or with another width of its hidden layer: a wrong architecture and parameter count."""
    nb: NotebookNode = nbformat.read(TINY_KERAS, as_version=4)
    cell = _cell(nb, "keras.Sequential")
    cell.source = cell.source.replace("Dense(8,", f"Dense({hidden_units},")
    return nb


def write(nb: NotebookNode, path: Path) -> Path:
    nbformat.write(copy.deepcopy(nb), path)
    return path
