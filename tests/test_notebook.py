"""Loading a submitted notebook: real files, one per failure mode."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.errors import InvalidNotebookError
from autograder.notebook.load import MAX_CELLS, load_notebook, submission_id


def _valid_notebook() -> nbformat.NotebookNode:
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    code = nbformat.v4.new_code_cell("print('claimed')", execution_count=7)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="accuracy: 1.0\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab"), code, nbformat.v4.new_code_cell("x = 1")]
    return nb


def _invalid(path: Path) -> InvalidNotebookError:
    with pytest.raises(InvalidNotebookError) as info:
        load_notebook(path)
    assert info.value.status == "invalid-notebook"
    assert info.value.submission == submission_id(path)
    return info.value


def test_a_valid_notebook_loads_with_its_outputs_dropped(tmp_path: Path) -> None:
    path = tmp_path / "alice.ipynb"
    nbformat.write(_valid_notebook(), path)
    loaded = load_notebook(path)
    assert loaded.submission == "alice"
    assert loaded.path == path
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.notes == ()
    assert loaded.node.nbformat == 4
    assert [c.cell_type for c in loaded.node.cells] == ["markdown", "code", "code"]
    for cell in loaded.node.cells[1:]:
        assert cell.outputs == []
        assert cell.execution_count is None
    assert loaded.code_cells() == [(1, "print('claimed')"), (2, "x = 1")]


def test_the_submission_can_be_named_by_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "x.ipynb"
    nbformat.write(_valid_notebook(), path)
    assert load_notebook(path, submission="student-42").submission == "student-42"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n\t\r\n  ", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"cells": [', "not valid JSON"),
        (b"[1, 2, 3]", "no notebook cells"),
        (b'{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no notebook cells"),
    ],
    ids=["empty", "whitespace", "binary", "invalid-json", "json-list", "no-cells"],
)
def test_a_file_that_is_not_a_notebook_is_refused_with_a_reason(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "submission.ipynb"
    path.write_bytes(content)
    error = _invalid(path)
    assert expected in str(error)
    # Every message tells the student what to hand in instead.
    assert "submit" in str(error)


def test_a_missing_file_is_an_invalid_notebook(tmp_path: Path) -> None:
    error = _invalid(tmp_path / "gone.ipynb")
    assert "cannot read" in str(error)


def test_a_format_3_notebook_is_upgraded_and_noted(tmp_path: Path) -> None:
    v3: dict[str, Any] = {
        "metadata": {"name": "old"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "metadata": {},
                "cells": [
                    {"cell_type": "markdown", "metadata": {}, "source": "# Old lab"},
                    {
                        "cell_type": "code",
                        "collapsed": False,
                        "input": "x = 1",
                        "language": "python",
                        "metadata": {},
                        "prompt_number": 3,
                        "outputs": [{"output_type": "pyout", "prompt_number": 3, "metadata": {}, "text": "1"}],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3), encoding="utf-8")
    loaded = load_notebook(path)
    assert loaded.node.nbformat == 4
    assert loaded.code_cells() == [(1, "x = 1")]
    assert loaded.node.cells[1].outputs == []
    assert loaded.node.cells[1].execution_count is None
    assert len(loaded.notes) == 1
    assert "format 3" in loaded.notes[0]
    assert "upgraded" in loaded.notes[0]


def test_a_notebook_in_another_language_is_refused(tmp_path: Path) -> None:
    nb = _valid_notebook()
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    error = _invalid(path)
    message = str(error)
    assert "'r'" in message
    assert "Python 3" in message and "Change kernel" in message


def test_a_notebook_whose_cells_lack_ids_is_repaired(tmp_path: Path) -> None:
    data = nbformat.v4.new_notebook()
    data.cells = [nbformat.v4.new_code_cell("x = 1")]
    raw = json.loads(nbformat.writes(data))
    del raw["cells"][0]["id"]
    path = tmp_path / "hand-edited.ipynb"
    path.write_text(json.dumps(raw), encoding="utf-8")
    loaded = load_notebook(path)
    assert loaded.code_cells() == [(0, "x = 1")]
    assert loaded.node.cells[0].get("id")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice.ipynb", "alice"),
        ("my lab  final (2).ipynb", "my_lab_final_2"),
        ("Zoë Müller.ipynb", "Zoë_Müller"),
        ("--rm -rf.ipynb", "rm_-rf"),
        ("../../etc/passwd.ipynb", "passwd"),
        ("...ipynb", "submission"),
        ("$ %.ipynb", "submission"),
    ],
)
def test_submission_ids_are_safe_file_names(name: str, expected: str) -> None:
    sid = submission_id(Path(name))
    assert sid == expected
    assert "/" not in sid
    assert not sid.startswith(("-", "."))


def test_a_format_4_4_notebook_without_ids_stays_valid(tmp_path: Path) -> None:
    # Ids exist only from format 4.5: adding them to an older notebook makes it invalid.
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 4
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    for cell in nb.cells:
        cell.pop("id", None)
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    loaded = load_notebook(path)
    assert loaded.notes == ()
    assert "id" not in loaded.node.cells[0]


def test_a_notebook_of_thousands_of_cells_is_loaded_to_be_graded(tmp_path: Path) -> None:
    nb = _valid_notebook()
    nb.cells += [nbformat.v4.new_code_cell("x = 1") for _ in range(5000)]
    path = tmp_path / "many.ipynb"
    nbformat.write(nb, path)
    assert len(load_notebook(path).code_cells()) == 5002


def test_a_notebook_over_the_cell_bound_is_refused_before_it_is_built(tmp_path: Path) -> None:
    # Cells no notebook format accepts: the count is taken before nbformat reads them.
    cells = ",".join(['{"cell_type": "code"}'] * (MAX_CELLS + 1))
    path = tmp_path / "generated.ipynb"
    path.write_text(f'{{"cells": [{cells}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}')
    error = _invalid(path)
    assert f"the notebook has {MAX_CELLS + 1} cells; the grader reads at most {MAX_CELLS}" in str(error)
