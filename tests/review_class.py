"""A graded class of keras-digits whose written answers are graded for real, for the review
tests: the discussion check runs on real notebooks with the real embedding model, the other
parts as if the notebook had not run (nothing is executed, so it takes seconds)."""

from __future__ import annotations

import itertools
from pathlib import Path

from autograder.artifacts.reader import ArtifactBundle
from autograder.batch.outputs import OutputFolder
from autograder.checks.context import CheckContext
from autograder.checks.scoring import score, zero_parts
from autograder.config import ExecutionLimits
from autograder.course.labs import Lab
from autograder.notebook.load import load_notebook
from autograder.result import Result
from tests import submissions
from tests.discussion_set import load_answers


def graded(lab: Lab, folder: Path, name: str, answer: str | None) -> Result:
    """A result whose discussion part is graded for real; other parts as if the notebook failed."""
    nb = submissions.student_solution()
    if answer is not None:
        cell = next(c for c in nb.cells if "compare-models" in c.metadata.get("tags", []))
        cell.source = answer
    path = submissions.write(nb, folder / f"{name}.ipynb")
    ctx = CheckContext(lab=lab, profile="smoke", artifacts=ArtifactBundle(None, unavailable="not executed"),
                       notebook=load_notebook(path), cells=[], limits=ExecutionLimits(), cache_dir=None)
    discussion = score(lab.rubric, ctx, parts={"discussion"})
    others = tuple(p for p in zero_parts(lab.rubric, "not executed in this test") if p.id != "discussion")
    parts = (*others, *discussion)
    return Result(lab=lab.id, submission=name, source=str(path), status="graded", score=sum(p.score for p in parts),
                  max_score=lab.rubric.spec.total, parts=parts, graded_at="2026-01-01T00:00:00+00:00")


REWORDED = "student-99-reworded"
"""The student who handed in the first student's answer, lightly reworded."""


def write_class(lab: Lab, folder: Path, size: int = 10) -> Path:
    """``size`` students answering compare-models as the labelled set's authors did (their
    answers over again when ``size`` is more than there are), and one more whose answer is the
    first's reworded, written as `autograder grade` writes a class (results, reports,
    gradebook); one student's `mlp-params` check asks for a person, as a check that could not
    decide would."""
    labelled = itertools.cycle(a for a in load_answers() if a.tag == "compare-models")
    answers = [(f"student-{n:02d}-{a.id}", a.text) for n, a in enumerate(itertools.islice(labelled, size))]
    answers.append((REWORDED, answers[0][1].replace("My ", "The ").replace("came out on top", "won")
                    .replace(" a bit ", " slightly ")))
    out = folder / "out"
    for n, (name, text) in enumerate(answers):
        result = graded(lab, folder, name, text)
        if n == 0:
            parts = tuple(p.model_copy(update={"checks": tuple(
                c.model_copy(update={"needs_review": True}) if c.name == "mlp-params" else c for c in p.checks)})
                for p in result.parts)
            result = result.model_copy(update={"parts": parts})
        OutputFolder(out).write(result)
    OutputFolder(out).write_class(OutputFolder(out).graded(), (), lab)
    return out
