"""``discussion``: a written answer is there, of a sensible length, and covers the concepts.

A simple first version: concepts are matched by any of their phrasings (regular
expressions, case-insensitive). Partial coverage is flagged for a person to review.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from autograder.checks.context import CheckContext
from autograder.checks.registry import Outcome, register


class Concept(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    any: list[str]


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _copied_share(answer: str, question: str) -> float:
    """How much of the answer's word trigrams also appear in the question."""
    mine = _trigrams(answer)
    return len(mine & _trigrams(question)) / len(mine) if mine and question else 0.0


@register("discussion")
def discussion(
    ctx: CheckContext,
    *,
    tag: str,
    concepts: list[Concept],
    min_words: int = 30,
    max_words: int = 600,
) -> Outcome:
    """The answer tagged ``tag``: answered (not the placeholder), ``min_words``..``max_words``
    words, and points in proportion to the ``concepts`` it covers."""
    answer = ctx.answer(tag)
    placeholder = ctx.lab.spec.discussions[tag].placeholder
    text = answer.text
    notes = {"note": answer.note} if answer.note else {}
    if answer.found_by == "none":
        return Outcome.failed(
            f"No answer for the question “{ctx.lab.spec.discussions[tag].heading}” was found: "
            f"write it in the Markdown cell tagged `{tag}`."
        )
    if not text.strip() or (placeholder.lower() in text.lower() and len(text.split()) < len(placeholder.split()) + 5):
        return Outcome.failed("The discussion is still the placeholder: replace it with your answer.", **notes)
    words = len(re.findall(r"\w+", text))
    if words < min_words:
        return Outcome.failed(f"The answer has {words} words; explain in at least {min_words}.",
                              expected=f">= {min_words} words", found=words, **notes)
    if words > max_words:
        return Outcome.failed(f"The answer has {words} words; keep it under {max_words}.",
                              expected=f"<= {max_words} words", found=words, **notes)
    if _copied_share(text, answer.question) > 0.6:
        return Outcome.failed("The answer repeats the question: write your own explanation.", **notes)
    covered = [c for c in concepts if any(re.search(p, text, re.IGNORECASE) for p in c.any)]
    missed = [c for c in concepts if c not in covered]
    fraction = len(covered) / len(concepts) if concepts else 1.0
    evidence = {
        "expected": [c.description for c in concepts],
        "found": [c.description for c in covered],
        **notes,
    }
    if not missed:
        return Outcome("passed", "The answer covers every point the question asks about.", evidence, 1.0)
    message = "The answer does not yet discuss: " + "; ".join(c.description for c in missed) + "."
    # A partial answer may be right in words the patterns miss: a person confirms the points.
    return Outcome("failed", message, evidence, fraction, needs_review=fraction > 0)
