"""Autograder for deep-learning course notebooks (Keras/TensorFlow and PyTorch).

The public API is what ``__all__`` lists (pinned by ``tests/test_public_api.py``);
everything else may change between versions.

    >>> from autograder import grade
    >>> result = grade("submission.ipynb", "keras-digits")
    >>> result.score, result.max_score
"""

from autograder.config import ExecutionLimits, GradeOptions
from autograder.errors import (
    ArtifactError,
    AutograderError,
    ConfigError,
    ExecutionError,
    InvalidNotebookError,
    RubricError,
    SubmissionError,
    UnknownLabError,
)
from autograder.grading.pipeline import grade
from autograder.result import CheckResult, PartResult, Result
from autograder.selfcheck import check, use_lab

__all__ = [
    "ArtifactError",
    "AutograderError",
    "CheckResult",
    "ConfigError",
    "ExecutionError",
    "ExecutionLimits",
    "GradeOptions",
    "InvalidNotebookError",
    "PartResult",
    "Result",
    "RubricError",
    "SubmissionError",
    "UnknownLabError",
    "check",
    "grade",
    "use_lab",
]
