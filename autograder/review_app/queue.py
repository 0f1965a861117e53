"""A graded class read as a review queue: each written answer with the grader's evidence,
grouped per question by the rubric concepts it makes, and every other check that asked for
a person.

An answer sits in the group of every concept the grader found in it or could not decide on
(a close call: one decision on the group's point settles it too), so one answer can be in
several groups, or in the group of answers that make none of them. Groups come biggest
and least certain first; inside a group the order is pseudo-random but stable (a hash of
the submission), so no student is always read first or last.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autograder.batch.review import grader_suggestion
from autograder.discussion.learning import Answer, estimate
from autograder.errors import ConfigError
from autograder.result import CheckResult, Result

NONE_OF_THEM = "none"
LIKELY_OFF = 0.3
"""Uncertainty from which an unreviewed answer counts as likely off."""


@dataclass(frozen=True)
class ConceptView:
    """One rubric concept of an answer, its points in the check's points."""

    id: str
    description: str
    max_points: float
    suggested: float
    given: float | None
    """The reviewer's points for this concept, where a review gave them."""
    similarity: float | None
    sentence: str
    """The answer's sentence that made the grader find the concept ("" if none did)."""
    close_call: bool = False
    """The grader decided it too close to its threshold to be sure (what flags an answer)."""

    @property
    def points(self) -> float:
        return self.suggested if self.given is None else self.given


@dataclass(frozen=True)
class Item:
    """One check as a reviewer sees it: a written answer or any other flagged check."""

    key: str
    submission: str
    alias: str
    part: str
    check: str
    kind: str
    tag: str
    message: str
    answer: str
    points: float
    max_points: float
    suggested: float
    confidence: float | None
    needs_review: bool
    reviewed: bool
    comment: str
    version: str
    """Changes with every change of the check: a decision based on another version is stale."""
    concepts: tuple[ConceptView, ...] = ()
    misconceptions: tuple[str, ...] = ()
    claims: tuple[dict[str, Any], ...] = ()
    penalty: float = 0.0
    """What the grader took off beyond the concepts (misconceptions, length), in the check's points."""
    estimate: float | None = None
    """The points the class's reviewed answers suggest (autograder.discussion.learning), if learned."""
    basis: str = ""
    learned_uncertainty: float | None = None
    review_rank: int = 0

    @property
    def uncertainty(self) -> float:
        if self.learned_uncertainty is not None:
            return self.learned_uncertainty
        return 0.5 if self.confidence is None else max(0.0, 1.0 - self.confidence)

    @property
    def proposal(self) -> float:
        """What accepting gives: the learned estimate where there is one, else the grader's suggestion."""
        return self.suggested if self.estimate is None else self.estimate

    def points_from(self, concepts: dict[str, float]) -> float:
        """The answer's points when its concepts get ``concepts`` (the others keep theirs)."""
        total = sum(concepts.get(c.id, c.points) for c in self.concepts) - self.penalty
        return round(min(self.max_points, max(0.0, total)), 2)


@dataclass(frozen=True)
class Group:
    """Answers to one question that make the same point (or make none)."""

    id: str
    tag: str
    concept: str
    title: str
    items: tuple[Item, ...]

    @property
    def unreviewed(self) -> int:
        return sum(not i.reviewed for i in self.items)

    @property
    def uncertainty(self) -> float:
        open_items = [i.uncertainty for i in self.items if not i.reviewed]
        return statistics.fmean(open_items) if open_items else 0.0


@dataclass(frozen=True)
class Question:
    tag: str
    heading: str
    items: tuple[Item, ...]
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Progress:
    reviewed: int
    flagged: int
    """Checks still waiting for a person: the grader asked, and nobody has decided yet."""
    total: int
    likely_off: int
    """Unreviewed written answers the grader is not sure of."""


@dataclass(frozen=True)
class ClassReview:
    out_dir: Path
    lab_id: str
    questions: tuple[Question, ...]
    flagged: tuple[Item, ...]
    items: dict[str, Item] = field(repr=False)
    comments: tuple[str, ...] = ()

    @property
    def progress(self) -> Progress:
        reviewable = [i for q in self.questions for i in q.items] + list(self.flagged)
        return Progress(
            reviewed=sum(i.reviewed for i in reviewable),
            flagged=sum(i.needs_review and not i.reviewed for i in reviewable),
            total=len(reviewable),
            likely_off=sum(not i.reviewed and (i.needs_review or i.uncertainty >= LIKELY_OFF)
                           for q in self.questions for i in q.items),
        )

    def question(self, tag: str) -> Question:
        for q in self.questions:
            if q.tag == tag:
                return q
        raise KeyError(tag)


def version(check: CheckResult) -> str:
    return hashlib.sha256(check.model_dump_json().encode()).hexdigest()[:16]


def item_key(submission: str, check: str) -> str:
    return f"{submission}/{check}"


def _order(key: str) -> str:
    return hashlib.sha256(f"review-order:{key}".encode()).hexdigest()


def _item(result: Result, part: str, check: CheckResult, alias: str, tag: str = "") -> Item:
    ev = check.evidence
    review = check.review
    suggested = grader_suggestion(check)
    concepts: list[ConceptView] = []
    penalty = 0.0
    raw_concepts = ev.get("concepts") if check.check == "discussion" else None
    if isinstance(raw_concepts, list) and raw_concepts:
        # The grader's concept points are in the rubric's units; the check's points may differ.
        rubric_total = sum(float(c.get("points") or 0) for c in raw_concepts) or 1.0
        scale = check.max_points / rubric_total
        descriptions = list(ev.get("expected") or [])
        given = review.concepts if review else {}
        for n, c in enumerate(raw_concepts):
            concepts.append(ConceptView(
                id=str(c.get("id")), description=str(descriptions[n]) if n < len(descriptions) else str(c.get("id")),
                max_points=round(float(c.get("points") or 0) * scale, 2),
                suggested=round(float(c.get("earned") or 0) * scale, 2),
                given=given.get(str(c.get("id"))), similarity=c.get("similarity"),
                sentence=str(c.get("evidence") or ""),
                close_call=str(c.get("id")) in (ev.get("close_calls") or ()),
            ))
        penalty = round(max(0.0, sum(c.suggested for c in concepts) - suggested), 2)
    confidence = ev.get("confidence")
    return Item(
        key=item_key(result.submission, check.name), submission=result.submission, alias=alias, part=part,
        check=check.name, kind=check.check, tag=tag, message=check.message,
        answer=str(ev.get("answer") or ""), points=check.points, max_points=check.max_points, suggested=suggested,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        needs_review=check.needs_review,
        reviewed=review is not None, comment=review.comment if review else "", version=version(check),
        concepts=tuple(concepts), misconceptions=tuple(map(str, ev.get("misconceptions") or ())),
        claims=tuple(c for c in ev.get("claims") or () if isinstance(c, dict)), penalty=penalty,
    )


class ResultCache:
    """Parsed ``result.json`` files, read again only when they change on disk."""

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[tuple[int, int], Result]] = {}

    def read(self, path: Path) -> Result:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        hit = self._seen.get(path)
        if hit is None or hit[0] != stamp:
            hit = (stamp, Result.read(path))
            self._seen[path] = hit
        return hit[1]


def results(out_dir: Path, cache: ResultCache | None = None) -> list[Result]:
    """Every graded result in ``out_dir``, or a ConfigError saying why it is not a graded class."""
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is not a folder: give the output folder of `autograder grade`")
    paths = sorted(p for p in out_dir.glob("*/result.json") if not p.parent.name.startswith("."))
    if not paths:
        raise ConfigError(f"{out_dir} holds no graded submissions (no */result.json): give the output folder of "
                          "`autograder grade`")
    read = (cache or ResultCache()).read
    found = []
    for path in paths:
        try:
            found.append(read(path))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} cannot be read ({exc}); grade the class again or remove that folder") from exc
    labs = sorted({r.lab for r in found})
    if len(labs) > 1:
        raise ConfigError(f"{out_dir} mixes labs ({', '.join(labs)}): review one lab's output folder at a time")
    return found


def load_class(out_dir: Path, headings: dict[str, str], tags: dict[str, str],
               cache: ResultCache | None = None, read_answer: Callable[[str, str], str] | None = None
               ) -> ClassReview:
    """The review queue of the graded class in ``out_dir``. ``headings`` maps each discussion
    tag of the lab to its question, ``tags`` each discussion check's name to its tag;
    ``read_answer(source, tag)`` finds an answer its result did not keep."""
    found = results(out_dir, cache)
    ranked = sorted(found, key=lambda r: _order(r.submission))
    aliases = {r.submission: f"Student {n + 1}" for n, r in enumerate(ranked)}
    answers: dict[str, list[Item]] = {tag: [] for tag in headings}
    flagged: list[Item] = []
    comments: set[str] = set()
    for result in found:
        for part in result.parts:
            for check in part.checks:
                if check.review and check.review.comment:
                    comments.add(check.review.comment)
                tag = tags.get(check.name, "") if check.check == "discussion" else ""
                if tag in answers:
                    item = _item(result, part.id, check, aliases[result.submission], tag)
                    if not item.answer and read_answer is not None:
                        item = replace(item, answer=read_answer(result.source, tag))
                    answers[tag].append(item)
                elif check.needs_review or check.review is not None:
                    flagged.append(_item(result, part.id, check, aliases[result.submission]))
    questions = tuple(_question(tag, heading, answers[tag]) for tag, heading in headings.items())
    items = {i.key: i for q in questions for i in q.items} | {i.key: i for i in flagged}
    flagged.sort(key=lambda i: (i.reviewed, _order(i.key)))
    return ClassReview(out_dir=out_dir, lab_id=found[0].lab, questions=questions, flagged=tuple(flagged),
                       items=items, comments=tuple(sorted(comments)))


def _question(tag: str, heading: str, items: list[Item]) -> Question:
    items.sort(key=lambda i: _order(i.key))
    by_concept: dict[str, list[Item]] = {}
    titles: dict[str, str] = {}
    for item in items:
        found = [c for c in item.concepts if c.suggested > 0 or (c.given or 0) > 0 or c.close_call]
        for concept in found:
            by_concept.setdefault(concept.id, []).append(item)
            titles[concept.id] = concept.description
        if not found:
            by_concept.setdefault(NONE_OF_THEM, []).append(item)
    titles[NONE_OF_THEM] = "Makes none of the rubric's points (or no answer)"
    groups = [Group(id=f"{tag}:{cid}", tag=tag, concept=cid, title=titles[cid], items=tuple(members))
              for cid, members in by_concept.items()]
    # Where a decision helps most: many open answers the grader is unsure of.
    groups.sort(key=lambda g: (-(g.unreviewed * (0.5 + g.uncertainty)), g.id))
    return Question(tag=tag, heading=heading, items=tuple(items), groups=tuple(groups))


def learned(question: Question, vectors: np.ndarray[Any, Any]) -> Question:
    """``question`` with each unreviewed answer's estimate from the reviewed ones, and the
    groups ordered by the uncertainty that leaves (``vectors``: the answers' embeddings)."""
    if not question.items:
        return question
    answers = [Answer(i.answer, i.suggested, 0.5 if i.confidence is None else i.confidence,
                      i.points if i.reviewed else None) for i in question.items]
    ests = estimate(answers, question.items[0].max_points, vectors)
    items = [replace(i, estimate=None if i.reviewed else e.points, basis=e.basis, learned_uncertainty=e.uncertainty,
                     review_rank=e.review_rank) for i, e in zip(question.items, ests, strict=True)]
    return _question(question.tag, question.heading, items)
