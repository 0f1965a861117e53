"""The result of grading one submission: one JSON document with a versioned schema.

These models are the contract between grading and everything after it (reports,
gradebooks, later regrades): a report is a pure function of a :class:`Result`, so
results are pydantic models that round-trip through ``result.json`` unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autograder.errors import SubmissionStatus
from autograder.files import write_atomic

SCHEMA_VERSION = "1.0"

__all__ = ["SCHEMA_VERSION", "CheckResult", "PartResult", "Result", "ReviewRecord", "SubmissionStatus"]

CheckStatus = Literal["passed", "failed", "error"]
"""``error``: the check could not run (missing name, unloadable model); scores zero."""


CellStatus = Literal["ok", "error", "timeout", "not-run"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewRecord(_Model):
    """An instructor's review of a check (see :mod:`autograder.batch.review`); the grader's
    suggestion is kept beside the points given."""

    points: float
    suggested_points: float = Field(description="the points the grader gave before the review")
    comment: str = ""
    reviewer: str = ""
    source: str = Field(default="", description="the review file and line")
    reviewed_at: str = ""
    original_message: str = Field(default="", description="the grader's message before the review")
    concepts: dict[str, float] = Field(
        default_factory=dict, description="a written answer's points per rubric concept, where the reviewer gave them"
    )


class CheckResult(_Model):
    """One check of a part: what was expected, what was found, and the points."""

    name: str = Field(description="the rubric's id of this check, unique in the lab")
    check: str = Field(description="the registered check type, e.g. 'params'")
    status: CheckStatus
    points: float
    max_points: float
    message: str = Field(description="what a student reads: what passed or what to fix")
    evidence: dict[str, Any] = Field(default_factory=dict)
    hidden: bool = False
    needs_review: bool = False
    review: ReviewRecord | None = Field(default=None, description="set when an instructor reviewed this check")


class PartResult(_Model):
    """A rubric part (an exercise) and its checks."""

    id: str
    title: str
    score: float
    max_score: float
    checks: tuple[CheckResult, ...]
    extra_credit: bool = False

    @property
    def needs_review(self) -> bool:
        return any(c.needs_review for c in self.checks)


class SkippedLine(_Model):
    """A shell or magic line that cannot work while grading, and was not run."""

    cell: int
    line: int
    text: str
    reason: str


class FailedImport(_Model):
    """A module a cell could not import because the grading environment lacks it
    (``No module named ...``): the course's problem, so the submission is flagged for review."""

    cell: int = Field(description="position of the cell in the submitted notebook")
    module: str = Field(description="the module as the error named it, e.g. 'pandas' or 'tensorflow.foo'")
    line: int = Field(default=0, description="line of the import statement in the cell; 0 where it is unknown")
    text: str = Field(default="", description="the import statement, where it is a statement of the cell itself")
    resumed: bool = Field(
        default=False, description="the rest of the cell after this statement was run without it"
    )


class CellRecord(_Model):
    """How one code cell of the submission ran."""

    index: int = Field(description="position of the cell in the submitted notebook")
    status: CellStatus
    seconds: float
    error: str = Field(default="", description="exception name and message, if it raised")
    stderr: str = Field(default="", description="what the cell wrote on stderr (recorded, never scored)")


class ExecutionRecord(_Model):
    """How the notebook ran in its kernel."""

    cells: tuple[CellRecord, ...]
    seconds: float
    skipped_lines: tuple[SkippedLine, ...] = ()
    timed_out: bool = False
    kernel_died: bool = False
    memory_exceeded: bool = False
    """A cell ran out of memory, or the kernel was killed close to its memory limit."""
    kernel_exit_code: int | None = Field(default=None, description="how a dead kernel ended (negative: a signal)")
    kernel_peak_rss_bytes: int = Field(default=0, description="peak resident memory of the kernel process")
    output_truncated_cells: tuple[int, ...] = Field(
        default=(), description="cells whose output was dropped past the limit on output kept"
    )
    leftover_processes: int = Field(default=0, description="processes still running after the kernel, killed")
    isolated: bool = Field(default=False, description="the kernel ran in its own user, filesystem and network")
    isolation_note: str = Field(default="", description="what isolation was missing, when it was")
    failed_imports: tuple[FailedImport, ...] = Field(
        default=(), description="imports that failed because a module is missing where the grader runs"
    )

    @property
    def missing_modules(self) -> tuple[str, ...]:
        """The modules the notebook imported that the grading environment does not have."""
        return tuple(sorted({f.module for f in self.failed_imports}))


class Environment(_Model):
    """Where the grading ran, so two results can be compared honestly."""

    python: str
    packages: dict[str, str]
    platform: str
    cpu: str
    device: str
    gpus: tuple[str, ...] = ()


class Result(_Model):
    """Everything known about one graded submission."""

    schema_version: str = SCHEMA_VERSION
    lab: str
    submission: str
    source: str = Field(description="path of the submitted file")
    sha256: str = ""
    status: SubmissionStatus
    message: str = ""
    score: float
    max_score: float
    parts: tuple[PartResult, ...]
    notes: tuple[str, ...] = ()
    execution: ExecutionRecord | None = None
    curves: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict, description="the student's training histories, for the learning curves"
    )
    reference: dict[str, float] = Field(default_factory=dict)
    profile: str = "full"
    seed: int = 0
    environment: Environment | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    grader_version: str = ""
    graded_at: str = ""
    grader_peak_rss_bytes: int = Field(
        default=0, description="peak resident memory of the grading process (a batch worker) so far; 0 where "
        "the system does not say (no /proc)"
    )
    grading_key: str = Field(
        default="", description="hash of what decided this result (notebook, lab, rubric, grader, options): "
        "a batch rerun regrades the submission only when it changes"
    )

    @property
    def needs_review(self) -> bool:
        """A person should look: a check asked for it, or the notebook imported a module the
        grading environment lacks (the course's problem, which may have cost points)."""
        missing = self.execution is not None and bool(self.execution.missing_modules)
        return missing or any(p.needs_review for p in self.parts)

    def public(self) -> Result:
        """The result without hidden checks' evidence, for what a student may see."""
        parts = tuple(
            p.model_copy(
                update={"checks": tuple(c.model_copy(update={"evidence": {}}) if c.hidden else c for c in p.checks)}
            )
            for p in self.parts
        )
        return self.model_copy(update={"parts": parts, "reference": {}})

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def write(self, path: Path) -> None:
        """Write atomically: a crash never leaves a half-written result behind."""
        write_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> Result:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls.model_validate(data)
