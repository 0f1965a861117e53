"""A reviewer's decisions, validated against the class as it is on disk, then merged into it
exactly as ``autograder review`` merges a review file (result.json, reports, gradebook and
LMS files), before the page is told they were saved.

Each decision names the version of the check the reviewer saw. When the check has changed
since (another tab, another grader, a regrade), the decision is refused with a message and
nothing is written: no update is lost silently. Every decision is also appended to
``review/decisions.jsonl`` in the output folder with the check before and after, which is
what undo restores from and an audit reads.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autograder.batch.learned import with_learned
from autograder.batch.outputs import OutputFolder
from autograder.batch.review import ReviewEntry, ReviewError, apply_review, replace_check, rewrite
from autograder.course.labs import Lab
from autograder.errors import ConfigError
from autograder.result import CheckResult, Result
from autograder.review_app.queue import ClassReview, Item, version

LOG = Path("review") / "decisions.jsonl"


class Decision(BaseModel):
    """What the page sends for one answer or check."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="<submission>/<check>")
    version: str = Field(description="the version of the check the reviewer saw")
    accept: bool = False
    points: float | None = None
    concepts: dict[str, float] | None = None
    """Points for some of the answer's concepts; the others keep theirs."""
    comment: str = ""
    reviewer: str = ""


class StaleDecision(ConfigError):
    """The check changed after the reviewer saw it."""


class DecisionError(ConfigError):
    """A decision that cannot be applied as sent (points out of range, two kinds at once)."""


class UnknownItem(DecisionError):
    """A decision about an answer, check or question the class does not have."""


def _points(item: Item, decision: Decision) -> tuple[float, dict[str, float]]:
    chosen = (decision.points is not None) + (decision.concepts is not None) + decision.accept
    if chosen != 1:
        raise DecisionError(f"{item.key}: a decision either accepts the suggestion, sets points, or sets concepts' "
                            "points (exactly one of them)")
    if decision.accept:
        return item.proposal, {}
    if decision.concepts is not None:
        known = {c.id: c for c in item.concepts}
        for cid, value in decision.concepts.items():
            if cid not in known:
                raise DecisionError(f"{item.key}: the answer has no concept {cid!r}; its concepts: "
                                    f"{', '.join(known) or 'none'}")
            if not 0 <= value <= known[cid].max_points:
                raise DecisionError(f"{item.key}: {value:g} points is out of range for the concept {cid!r} "
                                    f"(0 to {known[cid].max_points:g})")
        concepts = {c.id: c.points for c in item.concepts} | decision.concepts
        return item.points_from(concepts), concepts
    assert decision.points is not None
    if not 0 <= decision.points <= item.max_points:
        raise DecisionError(f"{item.key}: {decision.points:g} points is out of range (0 to {item.max_points:g})")
    return decision.points, {}


class DecisionLog:
    """Decisions of one output folder: validated and merged one request at a time."""

    def __init__(self, out_dir: Path, lab: Lab) -> None:
        self.out_dir = out_dir
        self.lab = lab
        self._lock = threading.Lock()

    def decide(self, current: ClassReview, decisions: Sequence[Decision]) -> dict[str, str]:
        """Merge ``decisions`` (all or none); returns each check's new version by key.

        ``current`` must be read from disk under this log's lock (see :meth:`locked`)."""
        if not decisions:
            raise DecisionError("no decision was sent")
        entries: list[ReviewEntry] = []
        seen: set[str] = set()
        for decision in decisions:
            item = self._item(current, decision.key, decision.version)
            if decision.key in seen:
                raise DecisionError(f"{decision.key}: decided twice in one request")
            seen.add(decision.key)
            points, concepts = _points(item, decision)
            entries.append(ReviewEntry(item.submission, item.part, item.check, points, decision.comment.strip(),
                                       decision.reviewer.strip(), "review app", concepts))
        before = {e.submission: self._result(e.submission) for e in entries}
        try:
            apply_review(self.out_dir, entries, self.lab)
        except ReviewError as exc:
            raise DecisionError(str(exc)) from exc
        after = {e.submission: self._result(e.submission) for e in entries}
        versions = {}
        for entry in entries:
            old, new = _check(before[entry.submission], entry.check), _check(after[entry.submission], entry.check)
            versions[f"{entry.submission}/{entry.check}"] = version(new)
            self._append({"action": "decide", "key": f"{entry.submission}/{entry.check}", "points": entry.points,
                          "concepts": dict(entry.concepts), "comment": entry.comment, "reviewer": entry.reviewer,
                          "before": old.model_dump(mode="json"), "after": version(new)})
        return versions

    def undo(self, current: ClassReview, key: str, seen: str) -> str:
        """Put the check ``key`` back as it was before its last decision; returns its version."""
        item = self._item(current, key, seen)
        last = None
        for line in self._lines():
            if line.get("key") == key and line.get("action") == "decide" and line.get("after") == item.version:
                last = line
        if last is None:
            raise DecisionError(f"{key}: nothing to undo (no decision made here led to what it is now)")
        restored = CheckResult.model_validate(last["before"])
        rewrite(self.out_dir, self.lab, {item.submission: lambda r: replace_check(r, restored)})
        self._append({"action": "undo", "key": key, "after": version(restored)})
        return version(restored)

    def apply_learned(self, current: ClassReview, tag: str) -> dict[str, str]:
        """Give each unreviewed answer to ``tag`` the points learned from the reviewed ones
        (kept beside the grader's in the evidence); returns the changed checks' versions."""
        try:
            question = current.question(tag)
        except KeyError:
            raise UnknownItem(f"unknown question {tag!r}") from None
        changed: dict[str, list[Item]] = {}
        for item in question.items:
            if not item.reviewed and item.estimate is not None and abs(item.estimate - item.points) >= 0.01:
                changed.setdefault(item.submission, []).append(item)

        def update(result: Result, items: list[Item]) -> Result:
            for item in items:
                assert item.estimate is not None
                result = replace_check(result, with_learned(_check(result, item.check), item.estimate, item.basis,
                                                            item.uncertainty, question_reviewed))
            return result

        question_reviewed = sum(i.reviewed for i in question.items)
        if changed:
            rewrite(self.out_dir, self.lab, {s: functools.partial(update, items=items) for s, items in changed.items()})
        after = {i.key: i for s in changed for i in changed[s]}
        self._append({"action": "apply-learned", "tag": tag, "keys": sorted(after)})
        return {key: version(_check(self._result(item.submission), item.check)) for key, item in after.items()}

    def locked(self) -> threading.Lock:
        return self._lock

    def _item(self, current: ClassReview, key: str, seen: str) -> Item:
        """The answer or check ``key`` as it is on disk, if the page saw that version of it."""
        item = current.items.get(key)
        if item is None:
            raise UnknownItem(f"unknown answer or check {key!r}: reload the page")
        if item.version != seen:
            state = (f"it now has {item.points:g}/{item.max_points:g} points"
                     + (f" (reviewed: {item.comment})" if item.reviewed and item.comment else
                        " (reviewed)" if item.reviewed else ""))
            raise StaleDecision(f"{item.alias}'s {item.check} changed after this page was loaded ({state}); "
                                "nothing was saved: reload the page and decide again")
        return item

    def _result(self, submission: str) -> Result:
        return OutputFolder(self.out_dir).read(submission, str(self.out_dir))

    def _append(self, record: dict[str, object]) -> None:
        path = self.out_dir / LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **record}
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _lines(self) -> list[dict[str, object]]:
        path = self.out_dir / LOG
        if not path.is_file():
            return []
        lines = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue  # a line cut short by a killed server: the results on disk are what counts
        return lines


def _check(result: Result, name: str) -> CheckResult:
    return next(c for p in result.parts for c in p.checks if c.name == name)
