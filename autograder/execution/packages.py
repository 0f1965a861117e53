"""Check that the grading environment provides what a lab's own notebooks import.

A lab declares in its ``lab.yaml`` the packages its notebooks may import (``packages:``,
import names such as ``sklearn`` and ``PIL``). Its solution and example notebooks are the
course's own, so each of their imports must be declared there, and each declared
package must be importable where the grader runs: otherwise a student who keeps the
course's import cell meets a ``ModuleNotFoundError`` in their first line, which is the
course's error, not theirs. Python's standard library and the grader's own package need
no declaring.

Nothing is imported to check this (:func:`autograder.notebook.imports.installed` only searches the
import path), so checking a lab has no side effects and takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.course.labs import Lab
from autograder.errors import ConfigError
from autograder.notebook.imports import ALWAYS_IMPORTABLE, import_statements, installed, standard_library

__all__ = ["ImportProblem", "check_lab_imports", "lab_import_problems", "missing_packages", "source_import_problems"]

INSTALL_HINT = "pip install 'autograder[course]' (or the pinned stack: pip install -r requirements/cpu.txt)"


@dataclass(frozen=True)
class ImportProblem:
    """A package a lab's notebook imports that the lab or the grading environment does not provide."""

    where: str
    """``notebook cell N line L``, or the lab.yaml for a declared package."""
    package: str
    declared: bool
    installed: bool

    def __str__(self) -> str:
        if not self.declared:
            return (f"{self.where}: imports {self.package}, which the lab's `packages:` does not list; add it "
                    "there (and to the grading environment), or drop the import")
        return f"{self.where}: {self.package} is not installed where the grader runs; {INSTALL_HINT}"


def _needs_providing(package: str) -> bool:
    return not (standard_library(package) or package in ALWAYS_IMPORTABLE)


def missing_packages(packages: tuple[str, ...]) -> tuple[str, ...]:
    """The ``packages`` that cannot be imported where the grader runs."""
    return tuple(p for p in packages if _needs_providing(p) and not installed(p))


def source_import_problems(source: str, declared: tuple[str, ...] | None, where: str) -> list[ImportProblem]:
    """What a cell imports that is not provided: not declared (when ``declared`` is given)
    or not installed. ``where`` names the cell in the messages."""
    problems = []
    for statement in import_statements(source):
        for package in statement.packages:
            if not _needs_providing(package):
                continue
            known = declared is None or package in declared
            here = installed(package)
            if not (known and here):
                problems.append(ImportProblem(f"{where} line {statement.line}", package, known, here))
    return problems


def _notebook_problems(path: Path, declared: tuple[str, ...] | None, root: Path) -> list[ImportProblem]:
    node = nbformat.read(path, as_version=4)
    name = path.relative_to(root) if path.is_relative_to(root) else path
    problems = []
    for index, cell in enumerate(node.cells):
        if cell.cell_type == "code":
            problems += source_import_problems(cell.source, declared, f"{name} cell {index}")
    return problems


def lab_import_problems(lab: Lab) -> list[ImportProblem]:
    """Every import of the lab's solution and examples that the lab or the grading environment
    does not provide, and every declared package that is not installed here."""
    # A lab that declares nothing is checked only against the environment.
    declared = lab.spec.packages or None
    notebooks = [lab.solution, *sorted(lab.examples.glob("*.ipynb"))]
    root = lab.course.root
    problems = [p for path in notebooks if path.is_file() for p in _notebook_problems(path, declared, root)]
    meta = lab.folder / "lab.yaml"
    where = meta.relative_to(root) if meta.is_relative_to(root) else meta
    named = {p.package for p in problems}
    problems += [ImportProblem(f"{where} `packages:`", package, True, False)
                 for package in missing_packages(lab.spec.packages) if package not in named]
    return problems


def check_lab_imports(lab: Lab) -> None:
    """Raise :class:`ConfigError` naming every import of the lab that is not provided."""
    problems = lab_import_problems(lab)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"lab {lab.id}: its notebooks import packages the grading environment does not "
                          f"provide:\n{listed}")
