"""Helpers shared by the end-to-end grading tests of every lab."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import GradeOptions, Result, grade
from autograder.course.labs import Lab

SMOKE = GradeOptions(profile="smoke")
_MARKER = re.compile(r"^\s*(### (BEGIN|END) SOLUTION|<!--\s*(BEGIN|END) SOLUTION\s*-->)\s*$")


def as_handed_in(solution: Path) -> NotebookNode:
    """A solution notebook as a student hands it in: markers gone, everything else kept."""
    nb: NotebookNode = nbformat.read(solution, as_version=4)
    for cell in nb.cells:
        cell.source = "\n".join(line for line in cell.source.split("\n") if not _MARKER.match(line))
    return nb


def grade_solution(lab: Lab, folder: Path, options: GradeOptions = SMOKE) -> Result:
    path = folder / "solution.ipynb"
    nbformat.write(as_handed_in(lab.solution), path)
    return grade(path, lab, options)


def points(result: Result) -> dict[str, float]:
    return {c.name: c.points for p in result.parts for c in p.checks}


def lost(result: Result, reference: Result) -> set[str]:
    """The checks where ``result`` scored less than ``reference``."""
    mine, full = points(result), points(reference)
    return {name for name in full if mine[name] < full[name]}


def message(result: Result, check: str) -> str:
    return next(c.message for p in result.parts for c in p.checks if c.name == check)
