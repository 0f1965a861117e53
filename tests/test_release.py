"""The student template is generated from the solution: solutions out, everything else kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.release import make_template, release
from autograder.course.folder import Course
from autograder.errors import ConfigError

STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(source: str, **metadata: object) -> nbformat.NotebookNode:
    cell: nbformat.NotebookNode = nbformat.v4.new_code_cell(source, metadata=metadata, execution_count=4)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret answer: 42\n")]
    return cell


def test_a_code_region_becomes_a_stub_at_the_markers_indentation() -> None:
    source = (
        "import numpy as np\n"
        "\n"
        "def double(x):\n"
        '    """Twice x."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x * 2\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "answer = double(21)\n"
        "### END SOLUTION\n"
        "print('given code')"
    )
    solution = _notebook(_code(source, tags=["double"]))
    template = make_template(solution)
    cell = template.cells[0]
    assert cell.source.split("\n") == [
        "import numpy as np",
        "",
        "def double(x):",
        '    """Twice x."""',
        *("    " + s for s in STUB),
        "",
        *STUB,
        "print('given code')",
    ]
    assert cell.metadata["tags"] == ["double"]
    assert cell.outputs == []
    assert cell.execution_count is None
    compile(cell.source, "<template>", "exec")
    # The solution itself is left unchanged.
    assert solution.cells[0].source == source
    assert solution.cells[0].outputs != []


def test_a_markdown_region_becomes_the_placeholder() -> None:
    source = "**Which model wins?**\n<!-- BEGIN SOLUTION -->\nThe CNN, because...\n<!--END SOLUTION-->\nGiven text."
    cell = nbformat.v4.new_markdown_cell(source, metadata={"tags": ["compare"]})
    template = make_template(_notebook(cell), placeholder="Write here")
    assert template.cells[0].source == "**Which model wins?**\nWrite here\nGiven text."
    assert template.cells[0].metadata["tags"] == ["compare"]
    assert template.cells[0].cell_type == "markdown"


def test_cells_without_regions_are_kept_as_they_are() -> None:
    md = nbformat.v4.new_markdown_cell("# Lab\nThe solution comes later; 50 % of it is yours.")
    raw = nbformat.v4.new_raw_cell("raw text")
    solution = _notebook(md, nbformat.v4.new_code_cell("x = 1 % 2"), raw)
    template = make_template(solution)
    assert [c.source for c in template.cells] == [c.source for c in solution.cells]
    assert [c.id for c in template.cells] == [c.id for c in solution.cells]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\n### BEGIN SOLUTION\ny = 2", "never closed"),
        ("### BEGIN SOLUTION\n    ### BEGIN SOLUTION\ny = 2\n### END SOLUTION", "opens inside another"),
        ("y = 2\n### END SOLUTION", "closes without opening"),
    ],
    ids=["unclosed", "nested", "stray-end"],
)
def test_a_broken_code_region_names_the_cell(source: str, expected: str) -> None:
    solution = _notebook(nbformat.v4.new_markdown_cell("intro"), nbformat.v4.new_code_cell(source))
    with pytest.raises(ConfigError, match=f"^cell 1: .*{expected}"):
        make_template(solution)


def test_a_broken_markdown_region_names_the_cell() -> None:
    solution = _notebook(nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->\nanswer"))
    with pytest.raises(ConfigError, match=r"^cell 0: a solution region is never closed"):
        make_template(solution)


def test_a_marker_that_is_not_recognised_is_refused_rather_than_released() -> None:
    solution = _notebook(nbformat.v4.new_code_cell("### BEGIN SOLUTION ###\nanswer = 42\n### END SOLUTION ###"))
    with pytest.raises(ConfigError, match="cell 0"):
        make_template(solution)


def _committed_and_fresh(course: Course) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    folder = course.assignments / "keras-digits"
    template_path = folder / "template.ipynb"
    if not template_path.exists():
        # The committed template is produced this way; generate it once if it is not there yet.
        cli = Path(sys.executable).with_name("autograder")
        subprocess.run([str(cli), "release", "--lab", "keras-digits"], check=True, capture_output=True)
    committed = nbformat.read(template_path, as_version=4)
    fresh = make_template(nbformat.read(folder / "solution.ipynb", as_version=4))
    return committed, fresh


def test_the_committed_template_is_a_fresh_release_of_the_solution(course: Course) -> None:
    committed, fresh = _committed_and_fresh(course)
    assert nbformat.writes(committed) == nbformat.writes(fresh)
    text = nbformat.writes(committed)
    assert "BEGIN SOLUTION" not in text
    assert "END SOLUTION" not in text


def test_the_discussion_tag_stays_on_the_placeholder_cell(course: Course) -> None:
    committed, _ = _committed_and_fresh(course)
    solution = nbformat.read(course.assignments / "keras-digits" / "solution.ipynb", as_version=4)
    tagged = [i for i, c in enumerate(solution.cells) if "compare-models" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    cell = committed.cells[tagged[0]]
    assert cell.cell_type == "markdown"
    assert cell.metadata["tags"] == solution.cells[tagged[0]].metadata["tags"]
    assert cell.source.strip() == "YOUR ANSWER HERE"


def test_release_writes_a_readable_template(tmp_path: Path) -> None:
    solution = _notebook(_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    solution_path = tmp_path / "solution.ipynb"
    nbformat.write(solution, solution_path)
    before = solution_path.read_bytes()
    out = release(solution_path, tmp_path / "out" / "template.ipynb")
    assert out == tmp_path / "out" / "template.ipynb"
    written = nbformat.read(out, as_version=4)
    nbformat.validate(written)
    assert written.cells[0].source == "\n".join(STUB)
    assert solution_path.read_bytes() == before
    # Deterministic: releasing twice gives the same bytes.
    again = release(solution_path, tmp_path / "again.ipynb")
    assert again.read_bytes() == out.read_bytes()
