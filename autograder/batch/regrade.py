"""Regrade a graded class after a rubric change, from what each execution stored.

Checks, scoring and reports run again on the stored artifacts (``autograder.artifacts.store``);
no kernel starts. Only a submission whose stored execution lacks a name the new rubric
reads (the lab now exports more) is executed again, and the outcome says which and why.
A dry run computes the same new results and reports how every score would move,
writing nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.artifacts.store import ArtifactStore, StaleExecutionError, StoredExecution, read_tree
from autograder.batch.learned import relearn
from autograder.batch.outputs import OutputFolder
from autograder.batch.review import carry_reviews
from autograder.batch.run import grading_key
from autograder.checks.scoring import zero_parts
from autograder.course.labs import Lab
from autograder.errors import ConfigError, SubmissionError
from autograder.grading.pipeline import grade, grader_version, reassess
from autograder.intake.submissions import Submission
from autograder.result import Result


@dataclass(frozen=True)
class Change:
    submission: str
    old: float
    new: float
    moved: tuple[str, ...]
    """Checks whose points changed: ``id old→new``; new and removed checks too."""

    @property
    def delta(self) -> float:
        return round(self.new - self.old, 4)


@dataclass
class RegradeOutcome:
    results: list[Result] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    executed: dict[str, str] = field(default_factory=dict)
    """Submissions executed again, with why."""


def _points(result: Result) -> dict[str, float]:
    return {check.name: check.points for part in result.parts for check in part.checks}


def compare(old: Result, new: Result) -> Change:
    before, after = _points(old), _points(new)
    moved = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after:
            moved.append(f"{name} {before[name]:g}→removed")
        elif name not in before:
            moved.append(f"{name} new→{after[name]:g}")
        elif before[name] != after[name]:
            moved.append(f"{name} {before[name]:g}→{after[name]:g}")
    return Change(new.submission, old.score, new.score, tuple(moved))


def _graded_submissions(out_dir: Path, lab: Lab) -> list[tuple[str, Result]]:
    found = []
    for path in sorted(out_dir.glob("*/result.json")):
        if path.parent.name.startswith("."):
            continue
        try:
            result = Result.read(path)
        except (OSError, ValueError) as exc:
            raise StaleExecutionError(f"{path} is unreadable ({exc}); grade that submission again") from exc
        if result.lab != lab.id:
            raise ConfigError(f"{out_dir} holds results of lab {result.lab}, not {lab.id}")
        found.append((path.parent.name, result))
    if not found:
        raise ConfigError(f"{out_dir} holds no graded submissions (no */result.json): grade them first")
    return found


def _missing_names(lab: Lab, stored: StoredExecution) -> list[str]:
    needed = sorted(lab.rubric.names() & set(lab.spec.names))
    return [name for name in needed if name not in stored.exported_names]


def _reassess(lab: Lab, store: ArtifactStore, stored: StoredExecution, old: Result, cache_dir: Path | None) -> Result:
    options = stored.options(cache_dir)
    with tempfile.TemporaryDirectory(prefix="autograder-regrade-") as tmp:
        notebook_path = Path(tmp) / stored.filename
        content = store.get(stored.notebook)
        notebook_path.write_bytes(content)
        key = grading_key(content, lab, options)
        if old.execution is None:
            # It never ran (not a notebook, or no kernel): the same reason, under the new rubric.
            parts = zero_parts(lab.rubric, old.message, public_only=options.public_only)
            # A grader failure ("error") keeps no key, so the next `grade` run retries it.
            key = "" if old.status == "error" else key
            return old.model_copy(update={"parts": parts, "score": 0.0, "grading_key": key,
                                          "max_score": sum(p.max_score for p in parts if not p.extra_credit)})
        folder = store.materialise(stored, Path(tmp) / "exported") if stored.files else None
        try:
            result = reassess(lab, options, notebook_path, old, folder)
        except SubmissionError as exc:
            raise StaleExecutionError(f"{old.submission}: the stored notebook no longer loads: {exc}") from exc
    return result.model_copy(update={"grading_key": key})


def _execute_again(lab: Lab, store: ArtifactStore, stored: StoredExecution, old: Result,
                   cache_dir: Path | None) -> tuple[Result, dict[str, bytes]]:
    options = stored.options(cache_dir)
    with tempfile.TemporaryDirectory(prefix="autograder-regrade-") as tmp:
        path = Path(tmp) / stored.filename
        content = store.get(stored.notebook)
        path.write_bytes(content)
        exported = Path(tmp) / "exported"
        result = grade(path, lab, options, submission=old.submission, keep_artifacts=exported)
        files = read_tree(exported) if exported.is_dir() else {}
    update = {"source": old.source, "grading_key": grading_key(content, lab, options)}
    return result.model_copy(update=update), files


def regrade(lab: Lab, out_dir: Path, *, dry_run: bool = False, cache_dir: Path | None = None) -> RegradeOutcome:
    """Regrade every submission graded in ``out_dir`` under ``lab``'s (new) rubric."""
    folder = OutputFolder(out_dir)
    with folder.exclusive():
        store = ArtifactStore(out_dir)
        graded = _graded_submissions(out_dir, lab)
        executions: dict[str, StoredExecution] = {}
        problems = []
        for sub_id, _ in graded:
            try:
                executions[sub_id] = store.load(sub_id)
            except StaleExecutionError as exc:
                problems.append(str(exc))
        if problems:
            raise StaleExecutionError(
                "cannot regrade without executing: " + "; ".join(problems[:5])
                + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
                + f". Grade them again with `autograder grade --force --out {out_dir}`."
            )
        outcome = RegradeOutcome()
        rows: list[tuple[Submission, Result]] = []
        olds: list[Result] = []
        for sub_id, old in graded:
            stored = executions[sub_id]
            missing = _missing_names(lab, stored)
            if missing:
                outcome.executed[sub_id] = (f"the rubric now reads {', '.join(f'`{n}`' for n in missing)}, "
                                            "which was not exported when it was graded")
                if dry_run:
                    continue
                new, files = _execute_again(lab, store, stored, old, cache_dir)
                stored = store.record(store.submission(sub_id, stored), store.get(stored.notebook), files,
                                      tuple(lab.spec.names), stored.options(cache_dir), grader_version())
            else:
                new = _reassess(lab, store, stored, old, cache_dir)
            new = carry_reviews(old, new)
            olds.append(old)
            outcome.results.append(new)
            rows.append((store.submission(sub_id, stored), new))
            if not dry_run:
                folder.write(new)
        # Points learned from the reviews depend on the whole class's new suggestions: given once all are in.
        relearned = relearn(olds, outcome.results)
        for n, (old, new) in enumerate(zip(olds, relearned, strict=True)):
            if new is not outcome.results[n]:
                outcome.results[n] = new
                rows[n] = (rows[n][0], new)
                if not dry_run:
                    folder.write(new)
            outcome.changes.append(compare(old, new))
        if not dry_run:
            folder.write_class(rows, (), lab)
    return outcome


def render_changes(outcome: RegradeOutcome) -> str:
    """The table an instructor reads before applying a rubric edit."""
    lines = [f"{'submission':24} {'old':>7} {'new':>7} {'change':>7}  checks that moved"]
    for change in sorted(outcome.changes, key=lambda c: (c.delta, c.submission)):
        lines.append(f"{change.submission:24} {change.old:>7g} {change.new:>7g} {change.delta:>+7g}  "
                     f"{', '.join(change.moved) or '-'}")
    for sub_id, why in outcome.executed.items():
        lines.append(f"{sub_id:24} would be executed again: {why}")
    gain = sum(c.delta > 0 for c in outcome.changes)
    lose = sum(c.delta < 0 for c in outcome.changes)
    same = len(outcome.changes) - gain - lose
    mean = sum(c.delta for c in outcome.changes) / len(outcome.changes) if outcome.changes else 0.0
    lines.append(f"\n{gain} gain, {lose} lose, {same} unchanged; mean change {mean:+.2f} points")
    return "\n".join(lines)
