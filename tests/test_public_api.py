"""The public API is what ``autograder.__all__`` lists; changing it is a decision."""

from __future__ import annotations

import autograder


def test_the_public_api_is_pinned() -> None:
    assert sorted(autograder.__all__) == [
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
    for name in autograder.__all__:
        assert getattr(autograder, name) is not None


def test_every_error_derives_from_the_one_base() -> None:
    for name in autograder.__all__:
        obj = getattr(autograder, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__.startswith("autograder"):
            assert issubclass(obj, autograder.AutograderError)
