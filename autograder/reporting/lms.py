"""What the course's LMS imports: Canvas's gradebook CSV and Gradescope's results.json.

Both are views of the :class:`~autograder.result.Result`; nothing here grades.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograder.files import write_atomic
from autograder.intake.submissions import Submission
from autograder.reporting.gradebook import csv_text, spreadsheet_number, spreadsheet_text
from autograder.result import Result

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def write_canvas_csv(rows: Sequence[tuple[Submission, Result]], path: Path, *, assignment: str) -> None:
    """Canvas's gradebook import: one row per student, the assignment's points in one column.

    Canvas matches rows by ``ID`` (its user id, taken from the names of the files in its
    submissions zip). Rows without one (notebooks that did not come from Canvas) keep
    the student's name so the instructor can match them by hand; Canvas skips them.
    """
    header = [*CANVAS_COLUMNS, assignment]
    max_score = max((r.max_score for _, r in rows), default=0.0)
    lines: list[list[str]] = [header, ["Points Possible", "", "", "", "", spreadsheet_number(max_score)]]
    for sub, result in sorted(rows, key=lambda row: row[0].id):
        canvas_id = sub.lms_id if sub.origin == "canvas" else ""
        lines.append([spreadsheet_text(sub.student or sub.id), canvas_id, "", "", "",
                      spreadsheet_number(result.score)])
    write_atomic(path, csv_text(lines))


def gradescope_results(result: Result) -> dict[str, Any]:
    """Gradescope's autograder results format: a test per check, hidden ones after publishing."""
    tests = [
        {
            "name": f"{part.title}: {check.name}",
            "score": check.points,
            "max_score": check.max_points,
            "status": "passed" if check.status == "passed" else "failed",
            "output": check.message,
            "visibility": "after_published" if check.hidden else "visible",
        }
        for part in result.parts
        for check in part.checks
    ]
    output = "\n".join([result.message, *result.notes]).strip()
    return {
        "score": result.score,
        "execution_time": round(result.timings.get("total", 0.0), 1),
        "output": output or f"Graded by autograder {result.grader_version} ({result.status}).",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_gradescope_results(result: Result, path: Path) -> None:
    write_atomic(path, json.dumps(gradescope_results(result), indent=2))
