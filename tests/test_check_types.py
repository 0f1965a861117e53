"""The check types a rubric may name, as the authoring guide shows them: generated from the
registry (entry points), so the documentation cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.authoring.check_types import check_reference
from autograder.check_registry import ENTRY_POINT_GROUP, registered_checks
from autograder.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_every_built_in_check_type_is_registered_through_its_entry_point() -> None:
    checks = registered_checks()
    assert {"accuracy", "rmse", "discussion", "params", "architecture", "relation", "classifier"} <= set(checks)
    assert ENTRY_POINT_GROUP == "autograder.checks"


def test_the_documented_check_types_are_the_registered_ones() -> None:
    # Regenerate with: autograder checks --markdown > docs/checks.md
    assert (REPO / "docs" / "checks.md").read_text(encoding="utf-8") == check_reference()


def test_the_reference_lists_arguments_with_defaults_and_nested_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "### `accuracy`" in out and "- `margin`: float = 0.03" in out and "- `metric`: str, required" in out
    assert "- `concepts`: list[Concept], required\n  - `id`: str, required" in out
    assert main(["checks"]) == 0
    assert capsys.readouterr().out.startswith("accuracy       Accuracy of")
