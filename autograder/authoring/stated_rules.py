"""The rules a discussion answer is graded by, stated where the student reads the question.

A rule that costs points has to be one the student can see. Each discussion question's
cell ends with one line generated from the lab's rubric: the word limits and what an
answer outside them loses, and what earns nothing at all (a list of terms, the question
copied, another question's answer). ``autograder release`` writes the line into the
student's template and into the solution the template is made from, so either notebook
states the rubric's rules; after a rubric change, releasing again brings both up to date,
and the tests compare the committed notebooks with the rubrics.

The line goes into the question's cell (found by its heading, as the grader finds it),
not into the answer cell: a student replaces the answer cell, and the rule must neither
end up in their answer nor stop a blank template from reading as the placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nbformat import NotebookNode

from autograder.course.labs import DiscussionSpec, Lab
from autograder.discussion.check import discussion_rubric
from autograder.errors import ConfigError
from autograder.notebook.answers import RULES_LINE, question_cell

__all__ = ["StatedRules", "lab_rules", "state_rules"]


@dataclass(frozen=True)
class StatedRules:
    """What one discussion question's check applies to an answer, as the student reads it."""

    tag: str
    spec: DiscussionSpec
    min_words: int
    max_words: int
    length_penalty: float

    @property
    def line(self) -> str:
        """The Markdown line stating the rules (italic, in parentheses, one line, matching
        :data:`autograder.notebook.answers.RULES_LINE`)."""
        cost = (f"is still graded, but loses {self.length_penalty:.0%} of this question's points"
                if self.length_penalty > 0 else "is still graded, and a person reviews it")
        return (f"*(Graded on what it explains, in your own sentences: {self.min_words}–{self.max_words} words. "
                f"An answer outside these limits {cost}. A list of terms, the question copied or another "
                "question's answer earns no points.)*")


def lab_rules(lab: Lab) -> dict[str, StatedRules]:
    """The stated rules of each of the lab's discussion questions, by tag, from its rubric."""
    rules: dict[str, StatedRules] = {}
    for tag, spec in lab.spec.discussions.items():
        try:
            rubric, _ = discussion_rubric(lab, tag)
        except ConfigError:
            continue  # a question no check grades has no rules to state
        rules[tag] = StatedRules(tag, spec, rubric.min_words, rubric.max_words, rubric.length_penalty)
    return rules


def state_rules(notebook: NotebookNode, rules: Mapping[str, StatedRules]) -> list[str]:
    """Put each question's rules line at the end of its question cell in ``notebook`` (in
    place), replacing a line that is there already; return the tags whose cell changed."""
    changed: list[str] = []
    for tag, rule in rules.items():
        index = question_cell(notebook.cells, rule.spec)
        if index is None:
            raise ConfigError(
                f"no Markdown cell has the heading “{rule.spec.heading}” of the question `{tag}`, so its grading "
                "rules cannot be stated: give the question that heading, or correct `heading` in the lab's lab.yaml"
            )
        cell = notebook.cells[index]
        found = RULES_LINE.search(cell.source)
        if found:
            source = cell.source[: found.start()] + rule.line + cell.source[found.end() :]
        else:
            source = f"{cell.source.rstrip()}\n\n{rule.line}"
        if source != cell.source:
            cell.source = source
            changed.append(tag)
    return changed
