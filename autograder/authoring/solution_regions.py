"""What a solution notebook asks of students: the names its solution regions define and its
written questions.

A name is part of the lab when a top-level statement inside a ``### BEGIN SOLUTION`` /
``### END SOLUTION`` region assigns it (``x = ...``, ``a, b = ...``, ``x: T = ...``, a
``class``), also inside an ``if``/``with``/``try`` at top level; a loop's variable, a
function's locals and names given by the teaching code outside the regions are not. A
written question is a Markdown cell holding a ``<!-- BEGIN SOLUTION -->`` region and tagged
with its question id; its heading is the cell's own text outside the region, or else the
heading of the Markdown just before it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbformat import NotebookNode

from autograder.authoring.release import CODE_BEGIN, CODE_END, MD_BEGIN, MD_END
from autograder.errors import ConfigError
from autograder.notebook.imports import cell_python, imported_packages, standard_library


@dataclass(frozen=True)
class SolutionName:
    name: str
    cell: int
    part: str
    """The heading the name's cell comes under (the part of the rubric it goes to)."""


@dataclass(frozen=True)
class Question:
    tag: str
    heading: str
    answer: str
    cell: int


@dataclass(frozen=True)
class SolutionRegions:
    names: tuple[SolutionName, ...]
    questions: tuple[Question, ...]
    packages: tuple[str, ...]
    """The top-level import names of the notebook's code, besides the standard library."""


def _region_lines(source: str, begin: re.Pattern[str], end: re.Pattern[str]) -> list[tuple[int, int, str]]:
    """Each region of ``source`` as (first line, last line, indent) with 1-based line numbers."""
    regions, start, indent = [], 0, ""
    for number, line in enumerate(source.split("\n"), 1):
        opening = begin.match(line)
        if opening:
            start, indent = number + 1, opening.group(1) if opening.groups() else ""
        elif end.match(line) and start:
            regions.append((start, number - 1, indent))
            start = 0
    return regions


def _assigned(node: ast.stmt) -> list[str]:
    """Top-level names a statement binds: inside ``if``/``with``/``try``/loop bodies too, but not a
    loop's own variable nor what a function or a class body binds."""
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.ClassDef):
        return [node.name]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    children = [*getattr(node, "body", []), *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                *(s for handler in getattr(node, "handlers", []) for s in handler.body)]
    return [name for child in children for name in _assigned(child)]


def _first_line(source: str, *, heading_only: bool = False) -> str:
    """The first line of Markdown ``source`` as plain text (with ``heading_only``, its first heading)."""
    for line in source.split("\n"):
        if heading_only and not line.lstrip().startswith("#"):
            continue
        text = re.sub(r"^\s*#+\s*|\*\*|__", "", line).strip()
        if text:
            return text
    return ""


def read_regions(notebook: NotebookNode) -> SolutionRegions:
    """The names, questions and packages of ``notebook``; raises ConfigError when it has no region."""
    names: dict[str, SolutionName] = {}
    questions: list[Question] = []
    packages: dict[str, None] = {}
    part = ""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            regions = _region_lines(cell.source, MD_BEGIN, MD_END)
            outside = "\n".join(line for n, line in enumerate(cell.source.split("\n"), 1)
                                if not any(a - 1 <= n <= b + 1 for a, b, _ in regions))
            if regions:
                tags = [t for t in cell.get("metadata", {}).get("tags", []) if isinstance(t, str)]
                if not tags:
                    raise ConfigError(f"cell {index}: a written answer (`<!-- BEGIN SOLUTION -->`) needs its question "
                                      "id as the cell's tag (e.g. `compare-models`), which students' answers keep")
                lines = cell.source.split("\n")
                answer = "\n".join("\n".join(lines[a - 1:b]) for a, b, _ in regions).strip()
                questions.append(Question(tags[0], _first_line(outside) or part, answer, index))
            else:
                part = _first_line(cell.source, heading_only=True) or part
            continue
        if cell.cell_type != "code":
            continue
        python = cell_python(cell.source)
        if python is None:
            raise ConfigError(f"cell {index} of the solution is not valid Python")
        packages.update(dict.fromkeys(p for p in imported_packages(cell.source) if not standard_library(p)))
        top_level = [(a, b) for a, b, indent in _region_lines(cell.source, CODE_BEGIN, CODE_END) if not indent]
        for statement in ast.parse(python).body:
            if any(a <= statement.lineno <= b for a, b in top_level):
                for name in _assigned(statement):
                    if not name.startswith("_"):
                        names.setdefault(name, SolutionName(name, index, part))
    if not names and not questions:
        raise ConfigError("the notebook has no solution region: mark the code students write with `### BEGIN "
                          "SOLUTION` / `### END SOLUTION` lines, and written answers with `<!-- BEGIN SOLUTION -->` / "
                          "`<!-- END SOLUTION -->` in a Markdown cell tagged with the question's id")
    return SolutionRegions(tuple(names.values()), tuple(questions), tuple(packages))
