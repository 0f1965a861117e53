"""An instructor's review of flagged checks, merged into graded results without regrading.

A review file (CSV with a header, or YAML: a list of mappings) has one entry per
reviewed check: ``submission``, ``part``, ``points``, ``comment`` and, optionally,
``check`` (needed only when the part has several checks and not exactly one awaits
review; ``part`` may also name the check itself) and ``reviewer``.

Applying it rewrites, for each affected submission in the output folder of
``autograder grade``, its ``result.json`` (atomically), its reports, and then the
folder's gradebook from every ``result.json`` there. Nothing is re-executed and no
other check changes. The grader's suggested points stay in the result beside the
instructor's (``CheckResult.review``), so a regrade or an audit can see both; applying
the same file twice gives the same result.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autograder.batch.outputs import OutputFolder, UnknownSubmission
from autograder.course.labs import Lab
from autograder.errors import ConfigError
from autograder.result import CheckResult, PartResult, Result, ReviewRecord

__all__ = [
    "ReviewEntry",
    "ReviewError",
    "apply_review",
    "carry_reviews",
    "grader_suggestion",
    "load_review",
    "replace_check",
    "reviewed_check",
    "rewrite",
]


class ReviewError(ConfigError):
    """A review file that cannot be applied; the message names the file and line."""


@dataclass(frozen=True)
class ReviewEntry:
    """One reviewed check: the points an instructor gives it, and why."""

    submission: str
    part: str
    check: str
    points: float
    comment: str
    reviewer: str
    where: str
    """``file:line`` of the entry, for error messages."""
    concepts: Mapping[str, float] = field(default_factory=dict)
    """A written answer's points per rubric concept, where the reviewer gave them."""


_COLUMNS = {"submission", "part", "points", "comment", "check", "reviewer"}
_REQUIRED = ("submission", "part", "points")


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read the review file: {exc}") from exc
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        unknown = sorted(set(reader.fieldnames or []) - _COLUMNS)
        if unknown:
            raise ReviewError(f"{path}:1: unknown column(s) {unknown}; the columns are "
                              "submission, part, points, comment (and optionally check, reviewer)")
        # Line numbers as a spreadsheet shows them: the header is line 1.
        return [(i + 2, dict(row)) for i, row in enumerate(reader)]
    if path.suffix.lower() in (".yaml", ".yml"):
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise ReviewError(f"{path}: not valid YAML: {exc}") from exc
        finally:
            loader.dispose()
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise ReviewError(f"{path}:1: a YAML review file is a list of entries (- submission: ..., part: ...)")
        rows = []
        for item in node.value:
            line = item.start_mark.line + 1
            value = yaml.safe_load(yaml.serialize(item))
            if not isinstance(value, dict):
                raise ReviewError(f"{path}:{line}: each entry is a mapping with submission, part, points, comment")
            unknown = sorted(set(map(str, value)) - _COLUMNS)
            if unknown:
                raise ReviewError(f"{path}:{line}: unknown key(s) {unknown}")
            rows.append((line, value))
        return rows
    raise ReviewError(f"{path}: a review file is .csv or .yaml")


def _entry(path: Path, line: int, row: dict[str, Any]) -> ReviewEntry:
    where = f"{path}:{line}"
    for key in _REQUIRED:
        if row.get(key) in (None, ""):
            raise ReviewError(f"{where}: `{key}` is missing")
    try:
        points = float(row["points"])
    except (TypeError, ValueError):
        raise ReviewError(f"{where}: points {row['points']!r} is not a number") from None
    if not math.isfinite(points):
        raise ReviewError(f"{where}: points {row['points']!r} is not a number")
    return ReviewEntry(
        submission=str(row["submission"]).strip(), part=str(row["part"]).strip(),
        check=str(row.get("check") or "").strip(), points=points, comment=str(row.get("comment") or "").strip(),
        reviewer=str(row.get("reviewer") or "").strip(), where=where,
    )


def _target(result: Result, entry: ReviewEntry) -> tuple[PartResult, CheckResult]:
    """The check an entry reviews, or a ReviewError saying what it could be."""
    parts = {p.id: p for p in result.parts}
    if entry.part not in parts:
        # `part` may name the check itself.
        owners = [(p, c) for p in result.parts for c in p.checks if c.name == entry.part]
        if len(owners) == 1 and not entry.check:
            return owners[0]
        known = ", ".join(parts) or "none"
        raise ReviewError(f"{entry.where}: {entry.submission} has no part {entry.part!r}; its parts are: {known}")
    part = parts[entry.part]
    if entry.check:
        found = [c for c in part.checks if c.name == entry.check]
        if not found:
            names = ", ".join(c.name for c in part.checks)
            raise ReviewError(f"{entry.where}: part {entry.part!r} has no check {entry.check!r}; its checks: {names}")
        return part, found[0]
    if len(part.checks) == 1:
        return part, part.checks[0]
    flagged = [c for c in part.checks if c.needs_review or c.review is not None]
    if len(flagged) == 1:
        return part, flagged[0]
    names = ", ".join(c.name for c in part.checks)
    raise ReviewError(f"{entry.where}: part {entry.part!r} has several checks ({names}); "
                      "name the one reviewed in a `check` column")


def load_review(path: Path, out_dir: Path, lab: Lab) -> list[ReviewEntry]:
    """Read and validate a review file against the graded results in ``out_dir``.

    Every entry must name a graded submission of ``lab``, one of its checks, and points
    between 0 and that check's maximum; errors name the file and line.
    """
    entries = [_entry(path, line, row) for line, row in _rows(path)]
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        try:
            result = OutputFolder(out_dir).read(entry.submission, entry.where)
        except UnknownSubmission as exc:
            raise ReviewError(str(exc)) from exc
        if result.lab != lab.id:
            raise ReviewError(f"{entry.where}: {entry.submission} was graded for lab {result.lab!r}, not {lab.id!r}")
        _, check = _target(result, entry)
        if not 0 <= entry.points <= check.max_points:
            raise ReviewError(f"{entry.where}: {entry.points:g} points is out of range for `{check.name}` "
                              f"(0 to {check.max_points:g})")
        key = (entry.submission, check.name)
        if key in seen:
            raise ReviewError(f"{entry.where}: `{check.name}` of {entry.submission} is reviewed twice "
                              f"(also at {seen[key]})")
        seen[key] = entry.where
    return entries


def grader_suggestion(check: CheckResult) -> float:
    """The points the grader itself gave ``check``: not a reviewer's, and not points learned from
    other answers' reviews (``evidence.learned``, :mod:`autograder.batch.learned`)."""
    if check.review is not None:
        return check.review.suggested_points
    learned = check.evidence.get("learned")
    return float(learned["rubric_points"]) if isinstance(learned, dict) else check.points


def reviewed_check(check: CheckResult, entry: ReviewEntry, source: str, when: str) -> CheckResult:
    # The grader's suggestion survives any number of reviews of the same check.
    suggested = grader_suggestion(check)
    original = check.review.original_message if check.review else check.message
    record = ReviewRecord(points=entry.points, suggested_points=suggested, comment=entry.comment,
                          reviewer=entry.reviewer, source=source, reviewed_at=when, original_message=original,
                          concepts=dict(entry.concepts))
    who = f" by {entry.reviewer}" if entry.reviewer else ""
    comment = f": {entry.comment}" if entry.comment else ""
    message = (f"Reviewed{who}{comment} ({entry.points:g}/{check.max_points:g} points; the grader suggested "
               f"{suggested:g}). {original}")
    return check.model_copy(update={
        "points": entry.points, "needs_review": False, "review": record, "message": message,
        "status": "passed" if entry.points >= check.max_points else "failed",
    })


def apply_review(out_dir: Path, review: Sequence[ReviewEntry], lab: Lab) -> list[str]:
    """Merge ``review`` into ``out_dir``: results, reports and gradebook. Returns what changed."""
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    changed: list[str] = []

    def reviewed(result: Result, entries: list[ReviewEntry]) -> Result:
        for entry in entries:
            part, check = _target(result, entry)
            before = result.score
            result = _with_check(result, part, reviewed_check(check, entry, entry.where, when))
            changed.append(f"{result.submission}: {check.name} {check.points:g} -> {entry.points:g} "
                           f"(total {before:g} -> {result.score:g})")
        return result

    by_submission: dict[str, list[ReviewEntry]] = {}
    for entry in review:
        by_submission.setdefault(entry.submission, []).append(entry)
    rewrite(out_dir, lab, {s: functools.partial(reviewed, entries=entries) for s, entries in by_submission.items()})
    return changed


def rewrite(out_dir: Path, lab: Lab, changes: Mapping[str, Callable[[Result], Result]]) -> None:
    """Apply each change to its submission's stored result, then write the result, its reports
    and the class's gradebook and exports again. One writer per output folder."""
    # A review must not interleave with a grading run.
    folder = OutputFolder(out_dir)
    with folder.exclusive():
        for submission, change in changes.items():
            folder.write(change(folder.read(submission, str(out_dir))))
        folder.write_class(folder.graded(), (), lab)


def replace_check(result: Result, check: CheckResult) -> Result:
    """``result`` with its check of the same name replaced by ``check`` and the scores summed again."""
    part = next(p for p in result.parts if any(c.name == check.name for c in p.checks))
    return _with_check(result, part, check)


def _with_check(result: Result, part: PartResult, check: CheckResult) -> Result:
    checks = tuple(check if c.name == check.name else c for c in part.checks)
    new_part = part.model_copy(update={"checks": checks, "score": round(sum(c.points for c in checks), 2)})
    parts = tuple(new_part if p.id == part.id else p for p in result.parts)
    return result.model_copy(update={"parts": parts, "score": round(sum(p.score for p in parts), 2)})


def carry_reviews(old: Result, new: Result) -> Result:
    """``new`` (a regrade of ``old``) with the instructor's reviews of ``old`` kept, for every
    check whose points are still out of the same maximum; the new suggestion is recorded."""
    reviewed = {c.name: c for p in old.parts for c in p.checks if c.review is not None}
    for part in new.parts:
        for check in part.checks:
            old_check = reviewed.get(check.name)
            if old_check is None or old_check.max_points != check.max_points or old_check.review is None:
                continue
            record = old_check.review
            entry = ReviewEntry(new.submission, part.id, check.name, record.points, record.comment,
                                record.reviewer, record.source)
            current = next(p for p in new.parts if p.id == part.id)
            new = _with_check(new, current, reviewed_check(check, entry, record.source, record.reviewed_at))
    return new
