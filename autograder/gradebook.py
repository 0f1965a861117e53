"""The gradebook: one CSV row per graded submission, for a spreadsheet or an LMS import.

Columns, in order: ``submission``, ``status``, one column per rubric part id holding
that part's score (parts in the order they first appear across the results, which is
rubric order), ``total``, ``max_score``, ``percent`` and ``needs_review`` (``yes`` or
``no``). Rows are sorted by submission id. A part a submission has no result for (a
notebook that could not run) leaves its cell empty rather than writing a zero that
looks graded.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autograder.errors import ConfigError
from autograder.result import Result

__all__ = ["FIXED_COLUMNS", "read_gradebook", "write_gradebook"]

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
        scores = {part.id: _number(part.score) for part in result.parts}
        rows.append(
            [
                _text(result.submission),
                result.status,
                *(scores.get(part_id, "") for part_id in part_ids),
                _number(result.score),
                _number(result.max_score),
                _number(100 * result.score / result.max_score) if result.max_score > 0 else "",
                "yes" if result.needs_review else "no",
            ]
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook written by :func:`write_gradebook`, keyed by column."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value: float) -> str:
    """A score as a spreadsheet reads it: ``7``, ``7.5``, ``66.6667``; never ``7.000000001``."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value
