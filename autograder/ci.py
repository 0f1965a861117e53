"""Grading on every push: publish a result to a CI run and decide its exit code.

Writes the Markdown report to the CI page (``$GITHUB_STEP_SUMMARY`` when set), one
GitHub annotation per failing check, and JUnit XML for any other CI; the job fails
below the minimum score or when the notebook could not be executed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder.reporting.feedback import render_markdown
from autograder.reporting.junit import write_junit
from autograder.result import Result


@dataclass(frozen=True)
class CiVerdict:
    passed: bool
    reason: str


def verdict(result: Result, min_score: float | None) -> CiVerdict:
    """Fail on an execution failure, or below ``min_score`` (a percentage of the maximum)."""
    if result.status != "graded":
        return CiVerdict(False, f"the notebook could not be graded ({result.status}): {result.message}")
    percent = 100 * result.score / result.max_score if result.max_score else 0.0
    if min_score is not None and percent < min_score:
        return CiVerdict(False, f"score {percent:.1f}% is below the required {min_score:g}%")
    return CiVerdict(True, f"score {result.score:g}/{result.max_score:g} ({percent:.1f}%)")


def _escape(text: str) -> str:
    # GitHub workflow commands: %, CR and LF must be encoded in the message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotation_lines(result: Result, notebook: str) -> list[str]:
    """GitHub workflow commands marking each failing check on the notebook file."""
    lines = []
    for part in result.public().parts:
        for check in part.checks:
            if check.status != "passed":
                title = _escape(f"{part.title}: {check.name}").replace(",", "%2C").replace("::", "%3A%3A")
                lines.append(f"::error file={notebook},title={title}::{_escape(check.message)}")
    return lines


def publish(result: Result, *, notebook: str, summary: Path | None, junit: Path | None) -> list[str]:
    """Write the summary and the JUnit file; return the annotation lines to print."""
    target = summary or (Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY") else None)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:  # the CI page collects every step's summary
            handle.write(render_markdown(result))
    if junit is not None:
        write_junit(result, junit)
    return annotation_lines(result, notebook) if os.environ.get("GITHUB_ACTIONS") == "true" else []
