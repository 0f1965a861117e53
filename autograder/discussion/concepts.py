"""Grade a written answer by the concepts it covers, on meaning as well as wording.

An answer is first checked to be an answer at all: not empty, not the placeholder, not
a copy of the question, not another question's answer pasted in, not a list of terms
(sentences need function words, or relations as notes have them: "validation loss epoch
gap early stopping" is not prose, "more layers -> more capacity" is; in an answer written
mostly in sentences, its other lines count too),
and not off-topic (no sentence near any concept). An answer outside the question's word
limits is still graded on what it says, then loses a bounded share of the points
(``length_penalty``) and goes to a person; the limits are stated in the student's template
(:mod:`autograder.authoring.stated_rules`), so no answer loses points to a rule it could not see.

Each concept is then judged on the answer's prose sentences (and pairs of neighbouring
sentences), embedded with a sentence-embedding model and compared with the concept's
paraphrases, in one of two ways:

- its patterns occur in a sentence at least ``confirm`` similar to the concept, as close
  to it as to the question's other concepts on average (within ``band``) and within
  ``pattern_margin`` of the closest of them (the words are there, in a sentence about this
  concept: "with the strided network each epoch took 6 seconds instead of 13, the wait
  was reduced by half" names a stride and a reduction, but is about training time), or
- the closest sentence is at least ``match`` similar, and closer to this concept than to
  the question's other concepts by ``specificity`` (a paraphrase the patterns miss:
  "the validation error starts climbing while the training error keeps dropping").

The second condition matters because every sentence of an on-topic answer is somewhat
close to every concept of its question; similarity alone gave points for concepts an
answer never made. Where the question has example statements, a concept found in a
sentence that does not clearly lead the others (by ``probe_lead``) must also be read as
the concept by its probe (:mod:`autograder.discussion.classifiers`): keyword salad holds the words and
sits near the paraphrases, but reads as no concept. Misconceptions cost points when a sentence makes them; claims about
the student's own run are checked against their curves (:mod:`autograder.discussion.grounding`).
The confidence is that of the closest call: each concept's margin (how far its similarity,
lead or probe likelihood is from the threshold that decided it) against ``doubt``, the
smallest of them; a pattern hit in a sentence the model finds unrelated is a close call
too, and goes to a person.

The method and its thresholds were chosen on measured agreement with an instructor's
points, on one half of a labelled set (``benchmarks/discussion_agreement.py``); the
pattern matcher alone stays as the ``regex`` method, and is the fallback when the model
cannot be loaded.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from autograder.artifacts.reader import HistoryData
from autograder.course.memo import CourseMemo
from autograder.discussion.classifiers import ConceptProbes, concept_probes
from autograder.discussion.embedding import Embedder, EmbedderUnavailable, load_embedder
from autograder.discussion.grounding import Claim, ClaimCheck, ModelFacts, check_claims, pattern_text
from autograder.discussion.sentences import split_sentences

__all__ = [
    "AnswerGrade", "Concept", "ConceptHit", "DiscussionRubric", "LengthBreach", "Misconception", "grade_answer",
]


class Concept(BaseModel):
    """A point a good answer makes, in several wordings, and what it is worth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    points: float | None = Field(default=None, ge=0, description="default: an equal share of the check's points")
    paraphrases: list[str] = Field(default_factory=list, description="ways a student might put it (embedding)")
    any: list[str] = Field(default_factory=list, description="patterns (regex method and fallback)")

    @model_validator(mode="after")
    def _some_wording(self) -> Concept:
        if not self.paraphrases and not self.any:
            raise ValueError(f"concept {self.id!r} needs `paraphrases` (or `any` patterns)")
        return self


class Misconception(BaseModel):
    """A common mistake that costs ``penalty`` points (never below zero in total)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    paraphrases: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    penalty: float = Field(default=0.0, ge=0)
    against: list[str] = Field(default_factory=list, description="the concepts it contradicts (one id or a list): "
                               "a sentence that makes the misconception cannot earn them")

    @field_validator("against", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return ([value] if value else []) if isinstance(value, str) else value


class DiscussionRubric(BaseModel):
    """Everything a rubric says about grading one discussion answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concepts: list[Concept]
    misconceptions: list[Misconception] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    min_words: int = Field(default=30, ge=0, description="fewer words cost ``length_penalty`` (stated in the template)")
    max_words: int = Field(default=600, ge=1, description="more words cost ``length_penalty`` (stated in the template)")
    length_penalty: float = Field(default=0.2, ge=0, le=1, description="the share of the question's points an "
                                  "answer outside min_words..max_words loses; it is still graded on what it says, "
                                  "and goes to a person")
    method: Literal["embedding", "regex"] = "embedding"
    match: float = Field(default=0.50, description="similarity that covers a concept without its patterns")
    specificity: float = Field(default=0.16, description="how much closer to this concept than to the "
                               "question's others a sentence must be, to cover it without its patterns")
    strong: float = Field(default=1.01, description="similarity that covers a concept on its own, however close "
                          "the question's other concepts are (off by default: it cost agreement when measured)")
    pattern_margin: float = Field(default=0.12, description="how much further from this concept than from the "
                                  "question's closest other a sentence may be for a pattern hit in it to count")
    confirm: float = Field(default=0.36, description="similarity a sentence needs for a pattern hit to count")
    probe_floor: float = Field(default=0.45, description="where the question has example statements: how likely "
                               "its probe must find some sentence to make a concept the rules found")
    probe_lead: float = Field(default=0.2, description="a concept found in a sentence that leads the question's "
                              "other concepts by this much stands, whatever its probe says")
    max_density: float = Field(default=25.0, description="pattern matches per 100 words above which the "
                               "answer reads as keyword stuffing: patterns stop counting and a person reviews it")
    band: float = Field(default=0.03, description="how far a pattern's sentence may trail the others' average "
                        "and still be about the concept; also the margin of a pattern found in no such sentence")
    doubt: float = Field(default=0.055, gt=0, description="the scale of a concept call's margin (in similarity or "
                         "probe likelihood): a grade whose closest call is this far from its threshold is 63% "
                         "sure (1 - e^-1); at 0.055 the default confidence_bar flags closer than 0.075")
    misconception: float = Field(default=0.72, description="similarity for a misconception's paraphrase")
    off_topic: float = Field(default=0.35, description="below this for every concept, the answer is off-topic")
    confidence_bar: float = Field(default=0.75, description="below this confidence, a person reviews the answer")

    @model_validator(mode="after")
    def _known_concepts(self) -> DiscussionRubric:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) is above max_words ({self.max_words})")
        ids = {c.id for c in self.concepts}
        for mis in self.misconceptions:
            unknown = sorted(set(mis.against) - ids)
            if unknown:
                raise ValueError(f"misconception {mis.id!r} is against {', '.join(unknown)}, which is not one of "
                                 f"the concepts ({', '.join(sorted(ids))})")
        return self


@dataclass(frozen=True)
class ConceptHit:
    id: str
    description: str
    points: float
    earned: float
    similarity: float | None
    evidence: str = ""
    note: str = ""
    margin: float | None = None
    """How far the call was from going the other way, in similarity (positive: covered)."""


@dataclass(frozen=True)
class LengthBreach:
    """An answer outside the question's word limits, and what that cost it."""

    words: int
    limit: int
    side: Literal["short", "long"]
    cost: float
    """Points taken off (the rubric's ``length_penalty`` share, no more than the answer earned)."""

    def message(self, rubric: DiscussionRubric, total: float) -> str:
        # In shares, not points: the check may grade out of a normalised total.
        where = "under the minimum" if self.side == "short" else "over the limit"
        if self.cost > 0:
            return (f"The answer has {self.words} words, {where} of {self.limit}: that cost "
                    f"{self.cost / total:.0%} of the question's points. Keep it to "
                    f"{rubric.min_words}–{rubric.max_words} words.")
        return (f"The answer has {self.words} words, {where} of {self.limit} (outside "
                f"{rubric.min_words}–{rubric.max_words} words an answer loses {rubric.length_penalty:.0%} "
                "of the question's points).")


@dataclass(frozen=True)
class AnswerGrade:
    """What the grader made of one answer. ``earned`` is out of the concepts' points."""

    verdict: Literal["graded", "missing", "placeholder", "copied", "other-answer", "not-prose", "off-topic"]
    message: str
    earned: float
    max_points: float
    confidence: float
    method: str
    concepts: tuple[ConceptHit, ...] = ()
    misconceptions: tuple[str, ...] = ()
    claims: tuple[ClaimCheck, ...] = ()
    note: str = ""
    length: LengthBreach | None = None
    """Set when the answer is outside the word limits: a person reviews what that cost."""

    @property
    def fraction(self) -> float:
        return self.earned / self.max_points if self.max_points else 0.0

    def needs_review(self, bar: float) -> bool:
        return self.confidence < bar or self.length is not None

    def close_calls(self, rubric: DiscussionRubric) -> list[str]:
        """The concepts decided too close to their thresholds for ``rubric``'s confidence bar."""
        return [c.id for c in self.concepts if c.margin is not None and c.points > 0
                and _certainty(c.margin, 0.0, rubric.doubt) < rubric.confidence_bar]

    def evidence(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "confidence": round(self.confidence, 3),
            "suggested_points": round(self.earned, 2),
            "concepts": [
                {"id": c.id, "points": c.points, "earned": c.earned,
                 "similarity": None if c.similarity is None else round(c.similarity, 3), "evidence": c.evidence,
                 **({} if c.margin is None else {"margin": round(c.margin, 3)})}
                for c in self.concepts
            ],
            "found": [c.id for c in self.concepts if c.earned > 0],
            "misconceptions": list(self.misconceptions),
            "claims": [{"id": c.id, "status": c.status, "message": c.message} for c in self.claims],
            **({"note": self.note} if self.note else {}),
            **({"length": {"words": self.length.words, "limit": self.length.limit, "side": self.length.side,
                           "cost": round(self.length.cost, 2)}} if self.length else {}),
        }


MISCONCEPTION_CONFIDENCE = 0.5
"""The most confidence a grade can have when the answer makes a misconception: a person confirms it."""

# Function words: prose has plenty (typically a third of its words), keyword lists few.
_FUNCTION_WORDS = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "so", "because", "since", "as", "while", "whereas", "although", "though",
        "if", "then", "than", "that", "this", "these", "those", "it", "its", "is", "are", "was", "were", "be", "been",
        "being", "has", "have", "had", "do", "does", "did", "can", "could", "will", "would", "should", "may", "might",
        "must", "not", "no", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without", "into", "onto",
        "over", "under", "after", "before", "when", "where", "which", "who", "what", "how", "why", "there", "their",
        "they", "them", "we", "our", "us", "you", "your", "he", "she", "his", "her", "i", "my", "me", "more", "most",
        "less", "much", "many", "few", "very", "too", "also", "only", "just", "even", "still", "all", "each", "both",
        "some", "any", "such", "same", "other", "another", "up", "down", "out", "about", "through",
    ]
)
# The share of an answer's words in prose sentences above which its other lines count too.
_PROSE_SHARE = 0.7
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,]\d+)*%?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _clean(text: str) -> str:
    # Markdown emphasis, code ticks and LaTeX dollars are presentation, not content.
    return re.sub(r"[*_`$]+", "", text)


def _sentences(text: str) -> list[str]:
    """The answer's sentences as prose: bullets and presentation removed, at least three words.
    Split before cleaning, so a `*` bullet still starts an item."""
    items = (_clean(re.sub(r"^(?:[-*+]|\d+[.)])\s+", "", part)) for part in split_sentences(text))
    return [" ".join(p.split()) for p in items if len(_words(p)) >= 3]


# What relates the terms of a note: "more layers -> more capacity", "freezing = fewer
# params", "GRU 0.107 < RNN 0.116", "CNN 85,066 vs MLP 18,986". A list of terms has none.
_RELATION = re.compile(r"->|→|=>|(?<![<>=!])=(?!=)|\bvs\b|(?<=\s)[<>]{1,2}(?=\s)")


def is_prose(sentence: str) -> bool:
    """Whether a sentence reads as prose or a note rather than a list of terms."""
    words = [w.lower() for w in _words(sentence)]
    if len(words) >= 3 and _RELATION.search(sentence):
        return True
    if len(words) < 4:
        return False
    return sum(w in _FUNCTION_WORDS for w in words) / len(words) >= 0.18


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def copied_share(answer: str, source: str) -> float:
    """How much of the answer's word trigrams also appear in ``source``."""
    mine = _trigrams(answer)
    return len(mine & _trigrams(source)) / len(mine) if mine and source else 0.0


def _matches(patterns: Sequence[str], masked: str) -> bool:
    """Whether any pattern occurs in ``masked`` (a text as :func:`pattern_text` gives it)."""
    return any(re.search(p, masked, re.IGNORECASE) for p in patterns)


def _concept_points(rubric: DiscussionRubric, total: float) -> list[float]:
    given = [c.points for c in rubric.concepts]
    if all(p is not None for p in given):
        return [float(p) for p in given if p is not None]
    share = total / len(rubric.concepts) if rubric.concepts else 0.0
    return [share if p is None else float(p) for p in given]


def grade_answer(
    text: str,
    rubric: DiscussionRubric,
    *,
    total: float,
    question: str = "",
    placeholder: str = "YOUR ANSWER HERE",
    other_answers: Mapping[str, str] | None = None,
    other_questions: Mapping[str, Sequence[Sequence[str]]] | None = None,
    histories: Mapping[str, HistoryData] | None = None,
    statements: Path | None = None,
    method: Literal["embedding", "regex"] | None = None,
    facts: Mapping[str, ModelFacts] | None = None,
    memo: CourseMemo | None = None,
) -> AnswerGrade:
    """Grade ``text`` against ``rubric``, out of ``total`` points.

    ``other_answers``: the student's answers to the lab's other questions (by tag), to
    recognise one pasted here; ``other_questions``: the course's other questions (by tag),
    each as its concepts' phrases, to recognise an answer to one of them; ``histories``:
    the student's exported training histories, and ``facts`` what their exported models are
    (parameter counts, feature maps) by name, for the claims; ``statements``: the
    question's example statements, whose probes must also read a sentence as a concept
    (:mod:`autograder.discussion.classifiers`), fitted once per ``memo`` (the course's; without
    one, for this answer alone).
    """
    method = method or rubric.method
    name = "regex" if method == "regex" else "embedding"

    def gate(verdict: Any, message: str, confidence: float = 1.0) -> AnswerGrade:
        return AnswerGrade(verdict, message, 0.0, total, confidence, name)

    stripped = _clean(text).strip()
    words = len(_words(stripped))
    if not stripped:
        return gate("missing", "The answer is empty: write it in the discussion cell.")
    if placeholder and placeholder.lower() in text.lower() and words < len(placeholder.split()) + 5:
        return gate("placeholder", "The discussion is still the placeholder: replace it with your answer.")
    if question and copied_share(text, question) > 0.6:
        return gate("copied", "The answer repeats the question: write your own explanation.")
    for tag, other in (other_answers or {}).items():
        if other.strip() and copied_share(text, other) > 0.6:
            return gate("other-answer", f"This is the answer to another question (`{tag}`), pasted here: "
                        "answer this question in its own words.")

    claims = check_claims(text, rubric.claims, histories or {}, facts)
    if method == "regex":
        return _charge_length(_grade_regex(text, rubric, total, claims), words, rubric)
    embedder = load_embedder()
    if isinstance(embedder, EmbedderUnavailable):
        fallback = _grade_regex(text, rubric, total, claims)
        return _charge_length(AnswerGrade(
            fallback.verdict, fallback.message, fallback.earned, total, min(fallback.confidence, 0.3),
            "regex (fallback)", fallback.concepts, fallback.misconceptions, claims,
            note=f"Graded by patterns only: {embedder.reason}."), words, rubric)
    probes = concept_probes(
        statements, {c.id: c.paraphrases for c in rubric.concepts},
        {c.id: [p for m in rubric.misconceptions if c.id in m.against for p in m.paraphrases] for c in rubric.concepts},
        embedder, memo or CourseMemo()) if statements else None
    graded = _grade_embedding(text, rubric, total, claims, embedder, question, other_questions or {}, probes)
    return _charge_length(graded, words, rubric)


def _charge_length(grade: AnswerGrade, words: int, rubric: DiscussionRubric) -> AnswerGrade:
    """An answer outside the word limits keeps what it earned on content, less the rubric's
    ``length_penalty`` share of the points: a limit broken by a few words must not cost a
    correct answer everything, and the template states the limits and their cost."""
    if grade.verdict != "graded" or rubric.min_words <= words <= rubric.max_words:
        return grade
    short = words < rubric.min_words
    cost = min(grade.earned, rubric.length_penalty * grade.max_points)
    breach = LengthBreach(words, rubric.min_words if short else rubric.max_words, "short" if short else "long", cost)
    return replace(grade, earned=grade.earned - cost, length=breach,
                   message=f"{grade.message} {breach.message(rubric, grade.max_points)}".strip())


def _apply_claims(points: dict[str, float], claims: tuple[ClaimCheck, ...]) -> dict[str, str]:
    notes: dict[str, str] = {}
    for claim in claims:
        if claim.status == "disagrees" and claim.concept in points:
            points[claim.concept] = 0.0
            notes[claim.concept] = "your own run contradicts it"
    return notes


def _message(concepts: Sequence[ConceptHit], misconceptions: Sequence[str], claims: Sequence[ClaimCheck]) -> str:
    covered = [c for c in concepts if c.earned >= c.points > 0]
    part = [c for c in concepts if 0 < c.earned < c.points]
    missed = [c for c in concepts if c.earned == 0 and c.points > 0]
    lines = []
    if not missed and not part and not misconceptions:
        lines.append("The answer covers every point the question asks about.")
    else:
        if covered:
            lines.append("Covered: " + "; ".join(c.description for c in covered) + ".")
        if part:
            lines.append("Only touched on: " + "; ".join(c.description for c in part) + ".")
        if missed:
            lines.append("The answer does not yet discuss: " + "; ".join(
                c.description + (f" ({c.note})" if c.note else "") for c in missed) + ".")
    lines.extend(f"Careful: {m}." for m in misconceptions)
    lines.extend(c.message for c in claims)
    return " ".join(lines)


def _grade_regex(text: str, rubric: DiscussionRubric, total: float, claims: tuple[ClaimCheck, ...]) -> AnswerGrade:
    """The pattern matcher: a concept is covered when any of its patterns occurs."""
    weights = _concept_points(rubric, total)
    masked = pattern_text(text)
    points = {c.id: (w if _matches(c.any, masked) else 0.0)
              for c, w in zip(rubric.concepts, weights, strict=True)}
    notes = _apply_claims(points, claims)
    hits = tuple(ConceptHit(c.id, c.description, w, points[c.id], None, note=notes.get(c.id, ""))
                 for c, w in zip(rubric.concepts, weights, strict=True))
    wrong = [m for m in rubric.misconceptions if _matches(m.any, masked)]
    earned = max(0.0, sum(points.values()) - sum(m.penalty for m in wrong))
    # Patterns cannot tell a paraphrase they miss from a gap: partial coverage goes to a person.
    confidence = 0.3 if 0 < earned < total else 0.8
    return AnswerGrade("graded", _message(hits, [m.description for m in wrong], claims), earned, total,
                       confidence, "regex", hits, tuple(m.description for m in wrong), claims)


def _grade_embedding(
    text: str,
    rubric: DiscussionRubric,
    total: float,
    claims: tuple[ClaimCheck, ...],
    embedder: Embedder,
    question: str,
    other_questions: Mapping[str, Sequence[Sequence[str]]],
    probes: ConceptProbes | None,
) -> AnswerGrade:
    sentences = _sentences(text)
    # A sentence copied from the question restates it and earns nothing.
    own = [s for s in sentences if not (question and copied_share(s, question) > 0.5)]
    prose = [s for s in own if is_prose(s)]
    prose_words = sum(len(_words(s)) for s in prose)
    own_words = sum(len(_words(s)) for s in own)
    # Enough of it in sentences: half the minimum length, or, in an answer shorter than
    # that minimum (graded all the same, see _charge_length), half of its own words.
    short = len(_words(_clean(text))) < rubric.min_words
    needed = max(4, own_words // 2) if short else max(8, rubric.min_words // 2)
    if prose_words < needed:
        message = ("The answer does not read as sentences: explain in your own words rather than listing terms."
                   if not short else
                   f"The answer has too few sentences to grade ({prose_words} words in sentences): explain in your "
                   f"own words, in {rubric.min_words}–{rubric.max_words} words.")
        return AnswerGrade("not-prose", message, 0.0, total, 0.9, "embedding")
    if prose_words >= _PROSE_SHARE * own_words:
        # An answer written in sentences is read whole: its notes-style lines ("GRU best
        # (0.108), RNN next, LSTM worst.") make points too. Only in an answer that is mostly
        # term lists do the lists stay out.
        prose = own
    units: list[str] = prose + [f"{a} {b}" for a, b in itertools.pairwise(prose)]
    u = embedder.encode(units)
    masked_units = [pattern_text(unit) for unit in units]

    weights = _concept_points(rubric, total)
    column = {c.id: j for j, c in enumerate(rubric.concepts)}
    # Similarity of every unit to every concept (its closest paraphrase).
    matrix = np.stack([(u @ embedder.encode(c.paraphrases or [c.description], course=True).T).max(axis=1)
                       for c in rubric.concepts], axis=1)
    # A unit that makes a misconception cannot earn the concepts it contradicts. It stays in
    # the comparisons with the other concepts: dropping it there would lend them its lead.
    blocked = np.zeros_like(matrix, dtype=bool)
    wrong: list[str] = []
    penalty = 0.0
    for mis in rubric.misconceptions:
        hits = np.zeros(len(units), dtype=bool)
        if mis.paraphrases:
            m_sims = (u @ embedder.encode(mis.paraphrases, course=True).T).max(axis=1)
            hits = m_sims >= rubric.misconception
            for concept_id in mis.against:
                hits &= m_sims > matrix[:, column[concept_id]] + 0.02
        # Patterns catch a reversed direction ("valid padding keeps the size"), which embeddings blur.
        hits |= np.array([_matches(mis.any, unit) for unit in masked_units], dtype=bool)
        if hits.any():
            wrong.append(mis.description)
            penalty += mis.penalty
            for concept_id in mis.against:
                blocked[hits, column[concept_id]] = True
    earnable = np.where(blocked, -1.0, matrix)
    best_sim = [float(x) for x in earnable.max(axis=0)]
    evidence = [units[i] for i in earnable.argmax(axis=0)]

    # Each question scored alike: its concepts' best similarities, averaged. An answer that
    # reads as another question's (close to it, and clearly closer than to this one) is one.
    closeness = {tag: float(np.mean([(u @ embedder.encode(list(p), course=True).T).max() for p in concepts]))
                 for tag, concepts in other_questions.items() if concepts}
    own_mean = float(np.mean(best_sim))
    closest = max(closeness, key=closeness.__getitem__, default=None)
    if closest is not None and closeness[closest] >= max(rubric.match, own_mean + 0.1) and own_mean < rubric.match:
        return AnswerGrade("other-answer", f"This reads as the answer to another question (`{closest}`): answer "
                           "this question here.", 0.0, total, 0.6, "embedding")
    if max(best_sim, default=0.0) < rubric.off_topic:
        return AnswerGrade("off-topic", "The answer does not address the question: reread it and answer what "
                           "it asks.", 0.0, total, _certainty(max(best_sim), rubric.off_topic, rubric.doubt),
                           "embedding")
    points: dict[str, float] = {}
    margins: list[float] = []
    # Which concepts' patterns each unit holds.
    found = np.array([[_matches(c.any, unit) for c in rubric.concepts] for unit in masked_units], dtype=bool)
    usable = found.copy()
    # Keyword stuffing in sentences: the rubric's terms far denser than any explanation has them.
    # (A rule on concepts named per sentence was measured too: it cost real answers more than it caught.)
    masked_text = pattern_text(text)
    matches = sum(len(re.findall(p, masked_text, re.IGNORECASE)) for c in rubric.concepts for p in c.any)
    density = 100 * matches / max(1, len(_words(text)))
    if density >= rubric.max_density:
        usable[:] = False
    suspicious = density >= rubric.max_density
    for j, (concept, weight, sim) in enumerate(zip(rubric.concepts, weights, best_sim, strict=True)):
        others = np.delete(matrix, j, axis=1)
        # The lead of the sentences that are close enough: a short sentence far from every
        # concept but a little further from the others must not lend its lead.
        close = earnable[:, j] >= rubric.match
        leads = matrix[:, j] - others.mean(axis=1) if others.size else np.ones(len(units))
        lead = float(leads[close].max()) if close.any() else -1.0
        # A pattern counts in a sentence about this concept: no further from it than from the
        # others on average, and not much further than from the closest other (a sentence on
        # training time may well name the stride; one sentence may also make two concepts).
        nearest_other = others.max(axis=1) if others.size else np.zeros(len(units))
        about = (usable[:, j] & ~blocked[:, j] & (leads >= -rubric.band)
                 & (matrix[:, j] >= nearest_other - rubric.pattern_margin))
        hit_sim = float(matrix[about, j].max()) if about.any() else None
        support = -1.0  # how far the sentence that earns the concept leads the question's others
        # How far the call is from going the other way, by the closer of the two ways to the concept.
        by_pattern = -1.0 if hit_sim is None else hit_sim - rubric.confirm
        by_meaning = max(min(sim - rubric.match, lead - rubric.specificity), sim - rubric.strong)
        margin = max(by_pattern, by_meaning)
        covered = margin >= 0
        if by_pattern >= 0:
            support = float(leads[about & (matrix[:, j] >= rubric.confirm)].max())
        elif covered:
            support = lead
        elif found[:, j].any():
            # The words without the meaning: as close a call as they come, a person decides.
            margin = max(margin, -rubric.band)
        read_as = probes.probability(concept.id, u) if probes else None
        if read_as is not None and covered and support < rubric.probe_lead:
            # Found by the rules, but not in a sentence clearly about it: the probe must also
            # read some sentence as the concept (keyword salad reads as none).
            likeliest = float(np.where(blocked[:, j], 0.0, read_as).max())
            margin = min(margin, likeliest - rubric.probe_floor)
            covered = margin >= 0
        points[concept.id] = weight if covered else 0.0
        margins.append(0.0 if suspicious else margin)
    notes = _apply_claims(points, claims)
    hits_out = tuple(
        ConceptHit(c.id, c.description, w, points[c.id], s, e if points[c.id] > 0 else "", notes.get(c.id, ""), m)
        for c, w, s, e, m in zip(rubric.concepts, weights, best_sim, evidence, margins, strict=True)
    )
    earned = max(0.0, sum(points.values()) - penalty)
    # A grade is as sure as its closest call: one concept near its threshold moves it by that concept's points.
    confidence = min((_certainty(m, 0.0, rubric.doubt) for m, w in zip(margins, weights, strict=True) if w > 0),
                     default=1.0)
    if any(c.status == "unchecked" for c in claims):
        confidence *= 0.9
    if wrong:
        # An answer that makes a misconception is muddled beyond the penalty: instructors' points
        # for such answers were within one point of the rubric's less than half the time.
        confidence = min(confidence, MISCONCEPTION_CONFIDENCE)
    return AnswerGrade("graded", _message(hits_out, wrong, claims), earned, total, confidence, "embedding",
                       hits_out, tuple(wrong), claims)


def _certainty(value: float, threshold: float, scale: float) -> float:
    """How sure a call on ``value`` against ``threshold`` is: 0 on it, rising with the distance
    (never quite 1, so that of two clear calls the less clear still comes first in review)."""
    return 1.0 - math.exp(-abs(value - threshold) / scale)
