"""Run a rubric's checks and turn their outcomes into points, parts and a total.

Fail closed: a check that raises scores zero with the reason, never full marks.
"""

from __future__ import annotations

import dataclasses
import logging

from autograder.check_registry import Outcome
from autograder.checks.context import CheckContext
from autograder.course.rubric import BoundCheck, Rubric
from autograder.errors import ArtifactError, ConfigError
from autograder.result import CheckResult, PartResult

log = logging.getLogger(__name__)


def run_check(check: BoundCheck, ctx: CheckContext) -> Outcome:
    try:
        return check.registered.run(ctx, check.args)
    except ArtifactError as exc:
        return Outcome.error(str(exc))
    except ConfigError:
        raise  # the course is broken, not the submission: stop loudly
    except Exception as exc:  # a bug in a check must cost this check, not the whole grading
        log.exception("check %s failed", check.spec.id)
        # Not the student's doing: flagged, so an instructor sees it before the 0 stands.
        return dataclasses.replace(Outcome.error(
            f"the grader could not run this check ({type(exc).__name__}: {exc}); it scores 0 until reviewed"),
            needs_review=True)


def _result(check: BoundCheck, outcome: Outcome) -> CheckResult:
    fraction = min(1.0, max(0.0, outcome.fraction))
    return CheckResult(
        name=check.spec.id,
        check=check.spec.check,
        status=outcome.status,
        points=round(check.spec.points * fraction, 2),
        max_points=check.spec.points,
        message=outcome.message,
        evidence=outcome.evidence,
        hidden=check.spec.hidden,
        needs_review=outcome.needs_review,
    )


def score(
    rubric: Rubric, ctx: CheckContext, *, public_only: bool = False, parts: set[str] | None = None
) -> tuple[PartResult, ...]:
    """Every (public) check of ``rubric`` (of ``parts`` only, if given), grouped into its parts."""
    results: dict[str, list[CheckResult]] = {p.id: [] for p in rubric.spec.parts}
    for check in rubric.checks:
        if (public_only and check.spec.hidden) or (parts is not None and check.part not in parts):
            continue
        results[check.part].append(_result(check, run_check(check, ctx)))
    scored = []
    for part in rubric.spec.parts:
        checks = tuple(results[part.id])
        if not checks:
            continue
        scored.append(
            PartResult(
                id=part.id,
                title=part.title,
                score=round(sum(c.points for c in checks), 2),
                max_score=sum(c.max_points for c in checks),
                checks=checks,
                extra_credit=part.extra_credit,
            )
        )
    return tuple(scored)


def zero_parts(rubric: Rubric, reason: str, *, public_only: bool = False) -> tuple[PartResult, ...]:
    """Every part at zero, for a submission that could not be executed at all."""
    parts = []
    for part in rubric.spec.parts:
        checks = tuple(
            CheckResult(
                name=c.id, check=c.check, status="error", points=0.0, max_points=c.points,
                message=reason, hidden=c.hidden,
            )
            for c in part.checks
            if not (public_only and c.hidden)
        )
        if checks:
            parts.append(PartResult(id=part.id, title=part.title, score=0.0,
                                    max_score=sum(c.max_points for c in checks), checks=checks,
                                    extra_credit=part.extra_credit))
    return tuple(parts)
