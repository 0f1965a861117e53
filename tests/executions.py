"""Each distinct notebook executed once per test session, then rescored as tests need.

Executing a notebook (a kernel, training) is what a grading test costs; checking and
scoring are cheap. Tests that grade the same notebook again under other options
(public checks only), another rubric or a student bundle's lab rescore the stored
execution through :func:`autograder.grading.pipeline.reassess`, the path ``regrade`` takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import GradeOptions, Result, grade
from autograder.course.labs import Lab
from autograder.grading.pipeline import reassess
from tests.grading import SMOKE


@dataclass(frozen=True)
class Execution:
    """A graded notebook and what its kernel left: enough to score it again without running it."""

    lab: Lab
    notebook: Path
    result: Result
    exported: Path | None


class Executions:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[tuple[str, str, str, int], Execution] = {}

    def run(self, lab: Lab, name: str, notebook: NotebookNode | Path, options: GradeOptions = SMOKE) -> Execution:
        """Grade ``notebook`` (a node, or a file) as submission ``name`` of ``lab``, once per
        session for the same lab, name, profile and seed; later calls return the first."""
        key = (lab.id, name, options.profile, options.seed)
        if key not in self._done:
            folder = self.root / re.sub(r"[^\w.-]", "_", "-".join(map(str, key)))
            folder.mkdir(parents=True)
            path = folder / f"{name}.ipynb"
            if isinstance(notebook, Path):
                path.write_bytes(notebook.read_bytes())
            else:
                nbformat.write(notebook, path)
            exported = folder / "exported"
            result = grade(path, lab, options, keep_artifacts=exported)
            self._done[key] = Execution(lab, path, result, exported if exported.is_dir() else None)
        return self._done[key]

    def grade(self, lab: Lab, name: str, notebook: NotebookNode | Path, options: GradeOptions = SMOKE) -> Result:
        """The result of grading ``notebook`` with ``options``: executed at most once per
        session, then rescored under ``lab`` and ``options`` (e.g. public checks only)."""
        execution = self.run(lab, name, notebook, replace(options, public_only=False))
        if lab is execution.lab and not options.public_only:
            return execution.result
        return self.rescore(execution, lab, options)

    def rescore(self, execution: Execution, lab: Lab, options: GradeOptions = SMOKE) -> Result:
        """Check and score a stored execution again, as a regrade does."""
        return reassess(lab, options, execution.notebook, execution.result, execution.exported)
