"""``discussion``: a written answer, graded on the concepts it covers and checked against
the student's own curves, with the grader's confidence.

The grading itself is :func:`autograder.discussion.concepts.grade_answer`; this check gathers what
it needs from the submission (the answer, the question, the lab's other answers and
the exported histories its claims name) and turns the grade into an outcome. Below the
rubric's ``confidence_bar`` the outcome asks a person to review the suggested points.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from autograder.artifacts.reader import HistoryData
from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext
from autograder.checks.scores import model_score
from autograder.checks.structure import feature_map
from autograder.course.labs import Lab, load_lab
from autograder.discussion.concepts import AnswerGrade, DiscussionRubric, grade_answer
from autograder.discussion.grounding import Claim, ModelFacts, model_key
from autograder.errors import ArtifactError, AutograderError, ConfigError
from autograder.notebook.answers import find_answer
from autograder.notebook.load import load_notebook

log = logging.getLogger(__name__)

T = TypeVar("T")


def _question_phrases(lab: Lab) -> dict[str, list[list[str]]]:
    """The phrases of each concept of each of the lab's discussion questions, by tag."""
    found: dict[str, list[list[str]]] = {}
    for check in lab.rubric.checks:
        if isinstance(check.args, DiscussionArgs):
            found[check.args.tag] = [c.paraphrases or [c.description] for c in check.args.concepts]
    return found


def _other_labs_questions(lab: Lab) -> dict[str, list[list[str]]]:
    """The course's other labs' questions, as ``lab/tag``: an answer pasted from another
    lab's notebook is as much not an answer as one from this lab's other cell."""
    def derive() -> dict[str, list[list[str]]]:
        found: dict[str, list[list[str]]] = {}
        for lab_id in lab.course.lab_ids():
            if lab_id == lab.id:
                continue
            try:
                other = load_lab(lab_id, lab.course)
            except AutograderError as exc:  # another lab's broken rubric is not this answer's problem
                log.warning("not comparing discussion answers with lab %s: %s", lab_id, exc)
                continue
            found.update({f"{lab_id}/{tag}": phrases for tag, phrases in _question_phrases(other).items()})
        return found

    rubrics = sorted(lab.course.rubrics.glob("*.yaml"))
    return lab.course.memo.get(("other-labs-questions", lab.id), rubrics, derive)


def other_questions(lab: Lab, tag: str) -> dict[str, list[list[str]]]:
    """The concept phrases of the course's other discussion questions: the lab's own by tag,
    other labs' as ``lab/tag``."""
    own = {t: phrases for t, phrases in _question_phrases(lab).items() if t != tag}
    return {**own, **_other_labs_questions(lab)}


def _histories(ctx: CheckContext, claims: list[Claim]) -> dict[str, HistoryData]:
    names = {n for c in claims for n in (c.first, c.second, *c.histories) if n}
    found: dict[str, HistoryData] = {}
    for name in sorted(names):
        try:
            found[name] = ctx.artifacts.history(name)
        except ArtifactError:
            continue  # not exported: the claim is reported as unchecked
    return found


def _seconds(ctx: CheckContext, name: str) -> float | None:
    """A training time the run recorded under ``name``: one positive, finite number of seconds."""
    try:
        value = ctx.artifacts.array(name)
    except ArtifactError:
        return None
    if value.size != 1 or value.dtype.kind not in "iuf":
        return None
    seconds = float(value.reshape(()))
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _score(ctx: CheckContext, claim: Claim, model: str) -> float | None:
    """``model``'s score on the claim's test data, from the outputs its check scored; None where
    it cannot be run, does not fit the data or gives no number (its check says why)."""
    name, variant = model_key(model)
    try:
        score = model_score(ctx, claim.measure, name, claim.x, claim.y, variant)
    except ArtifactError:
        return None
    return score if math.isfinite(score) else None


def _or_none(read: Callable[..., T], *args: Any) -> T | None:
    """What ``read(*args)`` finds, or None where the run did not export it readably."""
    try:
        return read(*args)
    except AutograderError:
        return None


def _last_map(ctx: CheckContext, name: str) -> tuple[int, ...] | None:
    return feature_map(ctx.artifacts.keras_model(name))


def _model_facts(ctx: CheckContext, claims: list[Claim]) -> dict[str, ModelFacts]:
    """What the run exported about each model a claim is about; what was not exported (or
    cannot be read) is None, and the claims that need it are reported as unchecked."""
    counted = {n for c in claims if c.kind == "param-count" for n in c.models}
    mapped = {n for c in claims if c.kind == "smaller-maps" for n in (c.first, c.second)}
    timed = {n: c.timings[n] for c in claims if c.kind == "faster" for n in (c.first, c.second) if n in c.timings}
    found: dict[str, ModelFacts] = {}
    for name in sorted(counted | mapped | set(timed) | {n for c in claims for n in c.scored()}):
        keras = name in mapped and ctx.lab.kind(name) == "keras-model"
        scores = {c.measure: _score(ctx, c, name) for c in claims if name in c.scored()}
        found[name] = ModelFacts(
            params=_or_none(ctx.param_count, *model_key(name)) if name in counted else None,
            feature_map=_or_none(_last_map, ctx, name) if keras else None,
            seconds=_seconds(ctx, timed[name]) if name in timed else None,
            scores={measure: score for measure, score in scores.items() if score is not None},
        )
    return found


class DiscussionArgs(DiscussionRubric):
    """The discussion check's arguments: the rubric of the answer tagged ``tag``."""

    tag: str


@register("discussion", args=DiscussionArgs)
def discussion(ctx: CheckContext, *, tag: str, **settings: Any) -> Outcome:
    """The answer tagged ``tag``: answered (not the placeholder, the question, another answer
    or a list of terms), and points for the ``concepts`` it covers, less ``misconceptions``;
    ``claims`` about the student's run are compared with their histories. Outside
    ``min_words``..``max_words`` words (the template states them) it loses ``length_penalty``
    of the points. Confidence below ``confidence_bar``, or a broken length limit, flags it
    for review."""
    rubric = DiscussionRubric(**settings)
    spec = ctx.lab.spec.discussions[tag]
    answer = ctx.answer(tag)
    notes = {"note": answer.note} if answer.note else {}
    if answer.found_by == "none":
        return Outcome.failed(
            f"No answer for the question “{spec.heading}” was found: write it in the Markdown cell tagged `{tag}`."
        )
    others = {t: ctx.answer(t).text for t in ctx.lab.spec.discussions if t != tag}
    total = sum(c.points for c in rubric.concepts if c.points is not None) if all(
        c.points is not None for c in rubric.concepts) else 1.0
    grade = grade_answer(
        answer.text, rubric, total=total or 1.0, question=answer.question, placeholder=spec.placeholder,
        other_answers=others, other_questions=other_questions(ctx.lab, tag), histories=_histories(ctx, rubric.claims),
        statements=ctx.lab.statements(tag), facts=_model_facts(ctx, rubric.claims), memo=ctx.lab.course.memo,
    )
    evidence = {
        # The answer itself, so a reviewer reads it beside the grader's evidence without the notebook.
        "answer": answer.text,
        "expected": [c.description for c in rubric.concepts],
        **grade.evidence(),
        **notes,
    }
    if grade.note:
        evidence["note"] = f"{notes.get('note', '')} {grade.note}".strip()
    if close := grade.close_calls(rubric):
        evidence["close_calls"] = close  # what a reviewer should look at first
    review = grade.needs_review(rubric.confidence_bar)
    if grade.verdict != "graded":
        return Outcome("failed", grade.message, evidence, 0.0, needs_review=review)
    status: Literal["passed", "failed"] = "passed" if grade.fraction >= 1.0 - 1e-9 else "failed"
    return Outcome(status, grade.message, evidence, grade.fraction, needs_review=review)


def question_text(lab: Lab, tag: str) -> str:
    """The question of ``tag`` as the lab's solution notebook asks it ("" if it has none)."""
    def derive() -> str:
        found = lab.solution.is_file() and find_answer(load_notebook(lab.solution).node, tag, lab.spec.discussions[tag])
        return found.question if found else ""

    return lab.course.memo.get(("question", str(lab.solution), tag), [lab.solution], derive)


def discussion_rubric(lab: Lab, tag: str) -> tuple[DiscussionRubric, float]:
    """The rubric of the lab's discussion check for ``tag``, and its points."""
    for check in lab.rubric.checks:
        if isinstance(check.args, DiscussionArgs) and check.args.tag == tag:
            return check.args, check.spec.points  # the check's arguments are its rubric
    tags = sorted(str(c.spec.args.get("tag")) for c in lab.rubric.checks if c.spec.check == "discussion")
    raise ConfigError(f"lab {lab.id} has no discussion check for the tag {tag!r}; its tags are: "
                      f"{', '.join(tags) or 'none'}")


def grade_text(
    lab: Lab,
    tag: str,
    text: str,
    *,
    histories: dict[str, HistoryData] | None = None,
    method: Literal["embedding", "regex"] | None = None,
) -> AnswerGrade:
    """Grade one answer's text for ``tag`` without a notebook (rubric tuning, benchmarks)."""
    rubric, points = discussion_rubric(lab, tag)
    spec = lab.spec.discussions[tag]
    return grade_answer(
        text, rubric, total=points, question=question_text(lab, tag), placeholder=spec.placeholder,
        other_questions=other_questions(lab, tag),
        histories=histories or {}, statements=lab.statements(tag), method=method, memo=lab.course.memo,
    )
