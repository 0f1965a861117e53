"""The one exception tree of the autograder.

Every error the toolkit raises on purpose derives from :class:`AutograderError`
and carries a message written for a person: what went wrong and what to do next.

    AutograderError
    ├── ConfigError            a lab, rubric or option is wrong (instructor's side)
    │   ├── UnknownLabError
    │   ├── RubricError        a rubric names an unknown check or a bad argument
    │   └── ReferenceTrainingError the reference implementation failed to train
    ├── SubmissionError        one submission cannot be graded (student's side)
    │   ├── InvalidNotebookError
    │   └── ExecutionError     the kernel could not be started or died
    └── ArtifactError          an exported name could not be read back safely

Errors are caught only at stage boundaries (``pipeline.grade``), where a
``SubmissionError`` becomes that submission's recorded failure and never stops a batch.
"""

from __future__ import annotations

from typing import Literal

SubmissionStatus = Literal["graded", "invalid-notebook", "timeout", "memory-limit", "kernel-died", "error"]
"""``memory-limit``: a cell ran out of memory or the kernel was killed near its memory limit;
what the notebook defined before that is still graded."""


class AutograderError(Exception):
    """Base class of every error the autograder raises on purpose."""


class ConfigError(AutograderError):
    """The course configuration (lab metadata, rubric, options) is wrong."""


class UnknownLabError(ConfigError):
    """A lab id that the course does not define."""


class RubricError(ConfigError):
    """A rubric that cannot be used; the message names the file and line."""


class SubmissionError(AutograderError):
    """One submission cannot be graded; recorded as that submission's status."""

    status: SubmissionStatus = "error"

    def __init__(self, message: str, *, submission: str = "") -> None:
        super().__init__(message)
        self.submission = submission


class InvalidNotebookError(SubmissionError):
    """The file is not a notebook the grader can run."""

    status: SubmissionStatus = "invalid-notebook"


class ExecutionError(SubmissionError):
    """The kernel could not be started, or died in a way that stops execution."""

    status: SubmissionStatus = "kernel-died"


class ArtifactError(AutograderError):
    """An exported artifact cannot be loaded safely (it becomes a failed check)."""


class ReferenceTrainingError(ConfigError):
    """The reference implementation could not produce its metrics: the course's error, which
    stops a grading loudly instead of costing students the checks that need them."""
