"""An instructor's decisions on some written answers, carried to the answers of the same
question nobody has reviewed, and the answers whose review would teach the most.

Each answer has the rubric's suggestion (:func:`autograder.discussion.concepts.grade_answer`) and its
confidence; some have an instructor's points (labels). For the others:

* where reviewed answers say nearly the same thing (cosine similarity of their sentence
  embeddings above ``NEAR``), the rubric's error on them carries over, fully from ``SAME``;
* elsewhere the rubric's suggestion stands. (A correction by the labels' mean error was
  tried and dropped: learned on some answers it made fresh ones worse,
  benchmarks/review_learning.py.)

The uncertainty of an estimate is the rubric's own (1 - confidence) where no reviewed
answer is near, and how much the near ones disagree with the rubric where one is. The next
answers to review are those where a decision changes most: uncertain, and with many
unreviewed answers near them (a decision on one carries to its neighbours); each pick
discounts its neighbours, so a round covers different points.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from autograder.errors import ConfigError

__all__ = ["Answer", "Estimate", "estimate", "learn_from_labels", "read_labels"]

# Answers to one question are alike in topic (MiniLM similarities of 0.6-0.8 between a good
# and a poor answer are common), and the rubric's errors on two answers hardly go together
# below near-paraphrase (correlation 0.1 at similarity 0.7-0.8, 0.2 at 0.85-0.9 on the
# labelled sets): only a reworded copy carries a decision. From 0.85 on, carried errors cost
# fresh-dev answers 4 points of agreement at 20% reviewed; 0.9 and 0.95 measured alike, and
# a reworded copy (0.95) follows its reviewed original fully
# (benchmarks/review_learning.py, on the tune, held-out and fresh-dev parts).
NEAR = 0.9
"""Similarity from which a reviewed answer starts to count for another."""
SAME = 0.95
"""Similarity from which a reviewed answer's error replaces the rubric's fully."""


@dataclass(frozen=True)
class Answer:
    text: str
    suggested: float
    """The rubric's points."""
    confidence: float
    label: float | None = None
    """The instructor's points, where they reviewed it."""


@dataclass(frozen=True)
class Estimate:
    points: float
    uncertainty: float
    """0 (certain) to 1; 0 for a reviewed answer."""
    basis: Literal["reviewed", "rubric", "reviewed-neighbours"]
    nearest: float
    """Similarity of the nearest reviewed answer (0 when there is none)."""
    review_rank: int
    """1 = review first; 0 for a reviewed answer."""


def estimate(answers: Sequence[Answer], max_points: float, vectors: np.ndarray[Any, Any]) -> list[Estimate]:
    """Each answer's points and review rank, given the labels among ``answers``.

    ``vectors`` holds one normalised sentence embedding per answer, in the same order."""
    n = len(answers)
    if n == 0:
        return []
    similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
    labelled = np.array([a.label is not None for a in answers])
    suggested = np.array([a.suggested for a in answers], dtype=float)
    labels = np.array([a.label if a.label is not None else 0.0 for a in answers], dtype=float)
    scale = max_points or 1.0

    points = np.zeros(n)
    uncertainty = np.zeros(n)
    nearest = np.zeros(n)
    basis: list[Literal["reviewed", "rubric", "reviewed-neighbours"]] = []
    for i, answer in enumerate(answers):
        if answer.label is not None:
            points[i] = answer.label
            basis.append("reviewed")
            continue
        base = float(np.clip(suggested[i], 0.0, max_points))
        rubric_doubt = 1.0 - min(1.0, max(0.0, answer.confidence))
        near = similarity[i] * labelled
        nearest[i] = float(near.max()) if labelled.any() else 0.0
        weights = np.clip(near - NEAR, 0.0, None) ** 2
        if weights.sum() > 0:
            # Where the rubric erred on answers that say the same thing, it errs here alike:
            # the neighbours' error carries over, not their points (answers to one question
            # are all alike in topic; what differs is what the rubric already weighs).
            residuals = labels - suggested
            from_neighbours = float(np.clip(suggested[i] + weights @ residuals / weights.sum(), 0.0, max_points))
            trust = min(1.0, (nearest[i] - NEAR) / (SAME - NEAR))
            points[i] = (1 - trust) * base + trust * from_neighbours
            spread = float(np.sqrt(weights @ (residuals - residuals @ weights / weights.sum()) ** 2
                                   / weights.sum())) / scale
            uncertainty[i] = (1 - trust) * rubric_doubt + trust * min(1.0, spread + abs(from_neighbours - base) / scale)
            basis.append("reviewed-neighbours")
        else:
            points[i], uncertainty[i] = base, rubric_doubt
            basis.append("rubric")
    points = np.clip(points, 0.0, max_points)
    ranks = _ranks(similarity, labelled, uncertainty)
    return [Estimate(points=round(float(points[i]), 2), uncertainty=round(float(uncertainty[i]), 3), basis=basis[i],
                     nearest=round(float(nearest[i]), 3), review_rank=int(ranks[i])) for i in range(n)]


def _ranks(similarity: np.ndarray[Any, Any], labelled: np.ndarray[Any, Any],
           uncertainty: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Greedy: the answer whose review is worth most (its doubt, and its neighbours' doubt
    it would settle), then the same again with what that pick settles taken off."""
    reach = np.clip((similarity - NEAR) / (1 - NEAR), 0.0, 1.0)
    open_ = ~labelled
    reach = reach * open_[None, :] * open_[:, None]
    doubt = uncertainty * open_
    ranks = np.zeros(len(doubt), dtype=int)
    for rank in range(1, int(open_.sum()) + 1):
        worth = reach @ doubt  # its own doubt included: an open answer reaches itself fully
        worth[ranks > 0] = -1.0
        worth[~open_] = -1.0
        pick = int(np.argmax(worth))
        ranks[pick] = rank
        doubt = doubt * (1 - reach[pick])
        doubt[pick] = 0.0
    return ranks


def read_labels(path: Path, files: Sequence[str], max_points: float) -> dict[str, float]:
    """An instructor's points per answer file (CSV with columns ``file,points``); every file
    must be one of ``files`` and every points value within 0..``max_points``."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the labels: {exc}") from exc
    known = {str(Path(f).resolve()): f for f in files}
    labels: dict[str, float] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line}"
        if not row.get("file") or row.get("points") in (None, ""):
            raise ConfigError(f"{where}: a label has the columns file,points")
        name = known.get(str(Path(row["file"]).resolve()))
        if name is None:
            raise ConfigError(f"{where}: {row['file']!r} is not one of the answer files given")
        try:
            points = float(row["points"])
        except ValueError:
            raise ConfigError(f"{where}: points {row['points']!r} is not a number") from None
        if not (math.isfinite(points) and 0 <= points <= max_points):
            raise ConfigError(f"{where}: {row['points']} points is out of range (0 to {max_points:g})")
        labels[name] = points
    return labels


def learn_from_labels(lines: Sequence[tuple[str, dict[str, Any]]], labels: dict[str, float], max_points: float,
                      *, propose: int | None = None) -> list[dict[str, Any]]:
    """``lines`` (each answer's text and its JSON line from the rubric) with the labels'
    points, each other answer's estimate, and with ``propose`` its ``review_rank``."""
    from autograder.discussion.embedding import Embedder, load_embedder

    embedder = load_embedder()
    if not isinstance(embedder, Embedder):
        raise ConfigError(f"learning from labels needs the sentence model: {embedder.reason}")
    answers = [Answer(text, float(line["score"]), float(line["confidence"]), labels.get(line["file"]))
               for text, line in lines]
    estimates = estimate(answers, max_points, embedder.encode([text for text, _ in lines]))
    out = []
    for (_, line), est in zip(lines, estimates, strict=True):
        extra: dict[str, Any] = {"suggested_score": line["score"], "score": est.points, "basis": est.basis,
                                 "uncertainty": est.uncertainty}
        if propose is not None:
            extra |= {"review_rank": est.review_rank, "proposed": 0 < est.review_rank <= propose}
        out.append(line | extra)
    return out
