"""Load and validate a submitted notebook.

Stored outputs are dropped on load: a submission is always re-executed, so nothing
a notebook claims to have printed can reach a score.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder.errors import InvalidNotebookError

MAX_NOTEBOOK_BYTES = 50 * 1024**2
"""Larger files are refused: a notebook with its outputs dropped is far smaller."""

MAX_CELLS = 20_000
"""Cells of any kind the grader reads; a notebook with more is refused before nbformat
builds it. This bounds the grader's own memory, not the student's time: each cell costs
the grader about 3 KiB while it grades (the loaded notebook, the copy nbclient runs, the
cell's record), so 60 MiB at most. Running many cells is bounded by the time limits
instead (a trivial cell costs ~7 ms), so a notebook of thousands of cells is graded."""


@dataclass(frozen=True)
class LoadedNotebook:
    """A validated notebook (nbformat 4, outputs dropped) and where it came from."""

    path: Path
    submission: str
    sha256: str
    node: NotebookNode
    notes: tuple[str, ...]

    def code_cells(self) -> list[tuple[int, str]]:
        return [(i, c.source) for i, c in enumerate(self.node.cells) if c.cell_type == "code"]


def submission_id(path: Path) -> str:
    """A file-system-safe id for a submission, from its file name."""
    stem = re.sub(r"[^\w.-]+", "_", path.stem, flags=re.UNICODE).strip("._-")
    return stem or "submission"


def load_notebook(path: Path, *, submission: str | None = None) -> LoadedNotebook:
    """Read, upgrade and validate ``path``; raise InvalidNotebookError with a reason."""
    sub = submission or submission_id(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidNotebookError(f"cannot read {path}: {exc.strerror}", submission=sub) from exc
    if not raw.strip():
        raise InvalidNotebookError("the file is empty: submit the saved .ipynb notebook", submission=sub)
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebookError(
            f"the file is {len(raw) // 1024**2} MiB; clear the outputs (Kernel > Restart & Clear Output) "
            "and save again",
            submission=sub,
        )
    try:
        data: dict[str, Any] = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidNotebookError(
            f"this is not a Jupyter notebook (not valid JSON: {exc}); submit the .ipynb file saved by Jupyter",
            submission=sub,
        ) from exc
    if not isinstance(data, dict) or ("cells" not in data and "worksheets" not in data):
        raise InvalidNotebookError("this JSON file has no notebook cells; submit the .ipynb file", submission=sub)

    count = _cell_count(data)
    if count > MAX_CELLS:
        raise InvalidNotebookError(
            f"the notebook has {count} cells; the grader reads at most {MAX_CELLS}. Merge cells and submit "
            "the notebook you worked in, not a generated one",
            submission=sub,
        )

    notes: list[str] = []
    cells = data.get("cells")
    has_ids = int(data.get("nbformat", 0) or 0) == 4 and int(data.get("nbformat_minor", 0) or 0) >= 5
    if has_ids and isinstance(cells, list) and any(isinstance(c, dict) and "id" not in c for c in cells):
        # Hand-built notebooks often lack cell ids; give stable ones rather than let
        # nbformat invent random ones (and warn that this will become an error).
        for i, cell in enumerate(cells):
            if isinstance(cell, dict):
                cell.setdefault("id", f"cell-{i}")
        notes.append("Some cells had no id; ids were added before grading.")
    original = int(data.get("nbformat", 4)) if str(data.get("nbformat", "4")).isdigit() else 4
    try:
        node = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad input
        raise InvalidNotebookError(f"the notebook cannot be read: {exc}", submission=sub) from exc
    if original < 4:
        notes.append(f"The notebook was in the old format {original}; it was upgraded to format 4.")

    _drop_outputs(node)
    try:
        nbformat.validate(node)
    except nbformat.ValidationError:
        # Hand-edited notebooks often miss ids or metadata; normalising fixes most.
        _, node = nbformat.validator.normalize(node)
        node = nbformat.from_dict(node)
        try:
            nbformat.validate(node)
        except nbformat.ValidationError as exc:
            raise InvalidNotebookError(f"the notebook is not valid: {exc.message}", submission=sub) from exc
        notes.append("The notebook had structural errors that were repaired before grading.")

    language = str(node.metadata.get("kernelspec", {}).get("language", "python") or "python").lower()
    if language != "python":
        raise InvalidNotebookError(
            f"the notebook's kernel is {language!r}, but this lab is graded in Python: switch the kernel to "
            "Python 3 (Kernel > Change kernel), run all cells, save, and submit again",
            submission=sub,
        )
    return LoadedNotebook(
        path=path, submission=sub, sha256=hashlib.sha256(raw).hexdigest(), node=node, notes=tuple(notes)
    )


def _cell_count(data: dict[str, Any]) -> int:
    """Cells of the parsed JSON, in format 4 (``cells``) or 3 (``worksheets``), before nbformat reads it."""
    cells = data.get("cells")
    if isinstance(cells, list):
        return len(cells)
    worksheets = data.get("worksheets")
    if not isinstance(worksheets, list):
        return 0
    return sum(len(w["cells"]) for w in worksheets if isinstance(w, dict) and isinstance(w.get("cells"), list))


def _drop_outputs(node: NotebookNode) -> None:
    for cell in node.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
