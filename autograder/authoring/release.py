"""Generate the student template of a lab from its solution notebook.

Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines becomes a stub that
raises ``NotImplementedError``; Markdown between ``<!-- BEGIN SOLUTION -->`` and
``<!-- END SOLUTION -->`` becomes the placeholder. Everything else (teaching text,
given code, cell tags) is kept, and the output is deterministic, so the committed
template can be checked against a fresh generation. Given the lab's rules
(:mod:`autograder.authoring.stated_rules`), each discussion question states the rules its answer is
graded by, from the rubric.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.authoring.stated_rules import StatedRules, state_rules
from autograder.errors import ConfigError

CODE_BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
CODE_END = re.compile(r"^\s*### END SOLUTION\s*$")
MD_BEGIN = re.compile(r"^\s*<!--\s*BEGIN SOLUTION\s*-->\s*$")
MD_END = re.compile(r"^\s*<!--\s*END SOLUTION\s*-->\s*$")


def _strip(source: str, begin: re.Pattern[str], end: re.Pattern[str], stub: list[str], where: str) -> str:
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        opening = begin.match(line)
        if opening:
            if inside:
                raise ConfigError(f"{where}: a solution region opens inside another one")
            inside = True
            indent = opening.group(1) if opening.groups() else ""
            out.extend(indent + s for s in stub)
        elif end.match(line):
            if not inside:
                raise ConfigError(f"{where}: a solution region closes without opening")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ConfigError(f"{where}: a solution region is never closed")
    return "\n".join(out)


def make_template(
    solution: NotebookNode, *, placeholder: str = "YOUR ANSWER HERE", rules: Mapping[str, StatedRules] | None = None
) -> NotebookNode:
    """The student template of ``solution`` (which is left unchanged); with ``rules``, each
    discussion question states them (otherwise the solution's own lines are kept)."""
    template = copy.deepcopy(solution)
    for index, cell in enumerate(template.cells):
        where = f"cell {index}"
        if cell.cell_type == "code":
            cell.source = _strip(cell.source, CODE_BEGIN, CODE_END,
                                 ["# YOUR CODE HERE", "raise NotImplementedError()"], where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = _strip(cell.source, MD_BEGIN, MD_END, [placeholder], where)
        if "BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source:
            # A misspelt marker would copy the solution into the students' template.
            raise ConfigError(
                f"{where}: a solution marker is not on a line of its own in the expected form "
                "(`### BEGIN SOLUTION` in code, `<!-- BEGIN SOLUTION -->` in Markdown)"
            )
    state_rules(template, rules or {})
    return template


def release(
    solution_path: Path,
    out_path: Path,
    *,
    placeholder: str = "YOUR ANSWER HERE",
    rules: Mapping[str, StatedRules] | None = None,
) -> Path:
    """Write the template of the solution at ``solution_path`` to ``out_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    template = make_template(solution, placeholder=placeholder, rules=rules)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(template, out_path)
    return out_path


def state_solution_rules(solution_path: Path, rules: Mapping[str, StatedRules]) -> list[str]:
    """Bring the rules lines of the solution at ``solution_path`` up to date with ``rules``,
    so the solution states what its template does; return the tags whose line changed (the
    file is written only then)."""
    solution = nbformat.read(solution_path, as_version=4)
    changed = state_rules(solution, rules)
    if changed:
        nbformat.write(solution, solution_path)
    return changed
