"""Concept probes: which sentences read as a concept, learnt from example statements.

Next to a rubric, ``statements/<lab>/<tag>.yaml`` may hold, for each concept of a
discussion question, sentences that make its point (``right``) and sentences on the same
topic that get it wrong (``wrong``), plus fluent nonsense made of the question's terms
(``salad``). For each concept with examples, a logistic regression on the sentence
embeddings learns to tell its statements from everything else there: the wrong ones, the
other concepts' and the salad. The grader then asks it whether an answer's sentence reads
as the concept at all: a sentence near a concept's paraphrases, or holding its words, that
the probe does not take for it ("the spatial parameters of the optimiser convolve the
MLP") earns nothing.

What the probes learn is mostly *what is about the concept*: a probe tells a concept's
right statements from its wrong ones little better than chance (cross-validated median
0.60, ``benchmarks/discussion_agreement.py --probe-cv``), so they catch keyword salad and
stray sentences, not a fact stated backwards. Fitting takes milliseconds once the few
hundred statements are embedded (a second or two per question), so the probes are fitted
when first needed in a process, from the statements as they are on disk: no trained file
to keep in step with its examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.linear_model import LogisticRegression

from autograder.course.memo import CourseMemo
from autograder.discussion.embedding import Embedder
from autograder.errors import ConfigError

__all__ = ["ConceptProbes", "StatementSet", "concept_probes", "load_statements"]


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    right: list[str] = Field(min_length=1, description="sentences that make the concept's point")
    wrong: list[str] = Field(default_factory=list, description="sentences on its topic that get it wrong")


class StatementSet(BaseModel):
    """The example statements of one discussion question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concepts: dict[str, Examples]
    salad: list[str] = Field(default_factory=list, description="fluent nonsense made of the question's terms")


def load_statements(path: Path, concept_ids: list[str]) -> StatementSet:
    """Read and check a statements file against the question's concepts."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        statements = StatementSet.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the example statements: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"{path}: the example statements are malformed: {exc}") from exc
    unknown = sorted(set(statements.concepts) - set(concept_ids))
    if unknown:
        raise ConfigError(f"{path}: statements for {', '.join(unknown)}, which is not a concept of the question "
                          f"({', '.join(concept_ids)})")
    return statements


@dataclass(frozen=True)
class ConceptProbes:
    """One fitted probe per concept that has examples."""

    models: dict[str, LogisticRegression]

    def probability(self, concept_id: str, vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        """How likely each embedded sentence makes the concept (None: no probe for it)."""
        model = self.models.get(concept_id)
        return None if model is None else model.predict_proba(vectors)[:, 1]


def concept_probes(path: Path, concepts: dict[str, list[str]], against: dict[str, list[str]],
                   embedder: Embedder, memo: CourseMemo) -> ConceptProbes:
    """The probes of the statements at ``path``, fitted once per course object while the file
    and the rubric's paraphrases are unchanged.

    ``concepts``: each concept's paraphrases from the rubric (more right examples);
    ``against``: the misconception paraphrases that contradict each concept (more wrong ones).
    """
    key = ("classifiers", str(path.resolve()), embedder.name, repr(sorted(concepts.items())),
           repr(sorted(against.items())))
    return memo.get(key, [path], lambda: _fit(load_statements(path, list(concepts)), concepts, against, embedder))


def _fit(statements: StatementSet, concepts: dict[str, list[str]], against: dict[str, list[str]],
         embedder: Embedder) -> ConceptProbes:
    models: dict[str, LogisticRegression] = {}
    for concept_id, examples in statements.concepts.items():
        right = examples.right + concepts.get(concept_id, [])
        others = [s for other, ex in statements.concepts.items() if other != concept_id for s in ex.right]
        wrong = examples.wrong + against.get(concept_id, []) + others + statements.salad
        vectors = embedder.encode(right + wrong, course=True)
        labels = np.array([1] * len(right) + [0] * len(wrong))
        # Balanced: a concept has a few dozen right examples against hundreds of others.
        models[concept_id] = LogisticRegression(class_weight="balanced", max_iter=2000).fit(vectors, labels)
    return ConceptProbes(models)
