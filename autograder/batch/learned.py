"""Points learned from an instructor's reviews, written into the answers nobody reviewed, and
written again after a regrade, which grades every answer afresh.

The review app's "write the learned points" puts into each unreviewed written answer the
points the reviewed ones suggest (:mod:`autograder.discussion.learning`), keeping the
grader's own beside them in the evidence (``evidence.learned``). A regrade recomputes every
check; without this module it would drop those points silently. :func:`relearn` gives them
again, estimated from the class's reviews and the regraded suggestions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from autograder.batch.review import grader_suggestion, replace_check
from autograder.discussion.embedding import Embedder, load_embedder
from autograder.discussion.learning import Answer, estimate
from autograder.result import CheckResult, Result

log = logging.getLogger(__name__)

__all__ = ["relearn", "with_learned"]


def with_learned(check: CheckResult, points: float, basis: str, uncertainty: float,
                 reviewed_answers: int) -> CheckResult:
    """``check`` given ``points`` learned from ``reviewed_answers`` reviewed answers to its
    question; the grader's own suggestion is kept in ``evidence.learned.rubric_points``."""
    learned = {"points": points, "rubric_points": grader_suggestion(check), "basis": basis, "uncertainty": uncertainty,
               "reviewed_answers": reviewed_answers}
    return check.model_copy(update={"points": points, "status": "passed" if points >= check.max_points else "failed",
                                    "evidence": {**check.evidence, "learned": learned}})


def relearn(before: Sequence[Result], after: Sequence[Result]) -> list[Result]:
    """``after`` (a regrade of ``before``) with learned points given again to the unreviewed
    answers of every question that had them; results are returned in the same order."""
    names = {c.name for r in before for p in r.parts for c in p.checks
             if c.check == "discussion" and isinstance(c.evidence.get("learned"), dict)}
    if not names:
        return list(after)
    embedder = load_embedder()
    if not isinstance(embedder, Embedder):
        log.warning("the learned points of %s are not given again: %s", ", ".join(sorted(names)), embedder.reason)
        return list(after)
    results = list(after)
    for name in sorted(names):
        found = [(n, c) for n, r in enumerate(results) for p in r.parts for c in p.checks if c.name == name]
        if not found:
            continue
        answers = [Answer(str(c.evidence.get("answer") or ""),
                          grader_suggestion(c),
                          float(c.evidence.get("confidence", 0.5)),
                          c.review.points if c.review else None) for _, c in found]
        estimates = estimate(answers, found[0][1].max_points, embedder.encode([a.text for a in answers]))
        reviewed = sum(a.label is not None for a in answers)
        for (n, check), est in zip(found, estimates, strict=True):
            if check.review is None and abs(est.points - check.points) >= 0.01:
                results[n] = replace_check(results[n], with_learned(check, est.points, est.basis, est.uncertainty,
                                                                    reviewed))
    return results
