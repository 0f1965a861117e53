"""The gradebook: one CSV row per graded submission, for a spreadsheet or an LMS import.

Columns, in order: ``submission``, ``status``, one column per rubric part id holding
that part's score (parts in the order they first appear across the results, which is
rubric order), ``total``, ``max_score``, ``percent`` and ``needs_review`` (``yes`` or
``no``). Rows are sorted by submission id. A part a submission has no result for (a
notebook that could not run) leaves its cell empty rather than writing a zero that
looks graded.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from autograder.errors import ConfigError
from autograder.files import write_atomic
from autograder.result import Result

__all__ = ["FIXED_COLUMNS", "csv_text", "read_gradebook", "spreadsheet_number", "spreadsheet_text", "write_gradebook"]

FIXED_COLUMNS = ("submission", "status", "total", "max_score", "percent", "needs_review")

# A cell starting with one of these is run as a formula by spreadsheets; submission
# ids come from file names a student chose.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_gradebook(results: Sequence[Result], path: Path) -> None:
    """Write the gradebook of ``results`` to ``path`` as CSV, atomically.

    The file is written next to ``path`` and moved into place, so a crash or a full
    disk never leaves a half-written gradebook where the previous one was.
    """
    part_ids: list[str] = []
    for result in results:
        for part in result.parts:
            if part.id not in part_ids:
                part_ids.append(part.id)
    clashes = sorted(set(part_ids) & set(FIXED_COLUMNS))
    if clashes:
        raise ConfigError(
            f"rubric part id(s) {clashes} clash with gradebook columns {list(FIXED_COLUMNS)}; rename the part(s)"
        )
    header = ["submission", "status", *part_ids, "total", "max_score", "percent", "needs_review"]

    rows = []
    for result in sorted(results, key=lambda r: r.submission):
        scores = {part.id: spreadsheet_number(part.score) for part in result.parts}
        rows.append(
            [
                spreadsheet_text(result.submission),
                result.status,
                *(scores.get(part_id, "") for part_id in part_ids),
                spreadsheet_number(result.score),
                spreadsheet_number(result.max_score),
                spreadsheet_number(100 * result.score / result.max_score) if result.max_score > 0 else "",
                "yes" if result.needs_review else "no",
            ]
        )

    write_atomic(path, csv_text([header, *rows]))


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook written by :func:`write_gradebook`, keyed by column."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def spreadsheet_number(value: float) -> str:
    """A score as a spreadsheet reads it: ``7``, ``7.5``, ``66.6667``; never ``7.000000001``."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def spreadsheet_text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value
