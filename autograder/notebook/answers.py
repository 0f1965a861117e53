"""Find a discussion answer in a notebook: by its cell tag, or under its question's heading.

Students paste cells into fresh notebooks and lose tags; the answer is then looked for
in the Markdown that follows the question's heading, and the result says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from nbformat import NotebookNode

from autograder.course.labs import DiscussionSpec

_SOLUTION_MARKERS = re.compile(r"<!--\s*(BEGIN|END) SOLUTION\s*-->")
RULES_LINE = re.compile(r"^\*\(Graded on what it explains\b.*\)\*[ \t]*$", re.MULTILINE)
"""The line that states a question's grading rules (:mod:`autograder.authoring.stated_rules` writes it):
part of the question, never of an answer, even where a student copied it into theirs."""


@dataclass(frozen=True)
class DiscussionAnswer:
    tag: str
    text: str
    found_by: Literal["tag", "heading", "none"]
    cells: tuple[int, ...]
    note: str = ""
    question: str = ""
    """The text of the question's cell, to recognise an answer that only copies it."""


def _normalise(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().lower()


def _heading_lines(source: str) -> list[str]:
    return [line.lstrip("#").strip() for line in source.splitlines() if line.lstrip().startswith("#")]


def _answer_text(source: str) -> str:
    return RULES_LINE.sub("", _SOLUTION_MARKERS.sub("", source)).strip()


def question_cell(cells: list[NotebookNode], spec: DiscussionSpec) -> int | None:
    """The index of the Markdown cell with the question's heading (None if there is none)."""
    wanted = _normalise(spec.heading)
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and any(wanted in _normalise(h) for h in _heading_lines(cell.source)):
            return i
    return None


def find_answer(node: NotebookNode, tag: str, spec: DiscussionSpec) -> DiscussionAnswer:
    cells = node.cells
    index = question_cell(cells, spec)
    question = None if index is None else (index, cells[index].source)
    tagged = [
        i for i, c in enumerate(cells)
        if c.cell_type == "markdown" and tag in c.get("metadata", {}).get("tags", [])
    ]
    if tagged:
        text = "\n\n".join(_answer_text(cells[i].source) for i in tagged)
        note = f"The tag `{tag}` is on {len(tagged)} cells; their texts were read together." if len(tagged) > 1 else ""
        return DiscussionAnswer(tag, text, "tag", tuple(tagged), note, question[1] if question else "")

    if question is not None:
        i, cell = question[0], cells[question[0]]
        # The answer: the Markdown cells after the question, up to the next code cell or heading;
        # failing those, what follows the heading line in the question's own cell.
        parts: list[str] = []
        used: list[int] = []
        for j in range(i + 1, len(cells)):
            nxt = cells[j]
            if nxt.cell_type != "markdown" or nxt.source.lstrip().startswith("#"):
                break
            parts.append(nxt.source)
            used.append(j)
        if not parts:
            parts = ["\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("#"))]
            used = [i]
        text = _answer_text("\n\n".join(parts))
        note = (
            f"The answer cell has lost its tag `{tag}`; the text under the heading “{spec.heading}” was graded. "
            "Keep the answer in the tagged cell of the template."
        )
        # When the answer shares the question's cell, the two cannot be told apart for copy detection.
        return DiscussionAnswer(tag, text, "heading", tuple(used), note, "" if used == [i] else cell.source)
    return DiscussionAnswer(tag, "", "none", ())
