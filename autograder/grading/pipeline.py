"""Grade one submission end to end: load, sandbox, execute, export, check, score.

Each stage is its own module; this one only wires them together and turns a
submission's failure into its recorded result, so one bad notebook never stops a batch.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from autograder.artifacts.reader import ArtifactBundle
from autograder.checks.context import CheckContext, probe_preload
from autograder.checks.scoring import score, zero_parts
from autograder.config import GradeOptions
from autograder.course.datasets import check_available
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.errors import ArtifactError, ConfigError, SubmissionError
from autograder.execution.environment import describe
from autograder.execution.executor import execute
from autograder.execution.probe import ProbeSession
from autograder.execution.sandbox import Sandbox, SandboxPolicy
from autograder.grading.warmup import warm_up
from autograder.notebook.load import LoadedNotebook, load_notebook, submission_id
from autograder.notebook.sanitize import SanitizedCell, sanitize_cell
from autograder.result import ExecutionRecord, PartResult, Result, SkippedLine, SubmissionStatus


def grader_version() -> str:
    try:
        return metadata.version("autograder")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _curves(lab: Lab, artifacts: ArtifactBundle) -> dict[str, dict[str, list[float]]]:
    curves = {}
    for name in lab.spec.names:
        if lab.kind(name) == "history":
            try:
                curves[name] = artifacts.history(name).metrics
            except ArtifactError:
                continue
    return curves


def _execution_notes(record: ExecutionRecord) -> list[str]:
    notes = [record.isolation_note] if record.isolation_note else []
    failed = [c for c in record.cells if c.status in ("error", "timeout")]
    if failed:
        notes.append(
            f"{len(failed)} cell(s) raised an error or timed out; the rest of the notebook still ran "
            "and everything it defined was graded."
        )
    notes += _import_notes(record)
    if record.skipped_lines:
        notes.append(f"{len(record.skipped_lines)} shell or magic line(s) were not run while grading.")
    if record.timed_out:
        notes.append("The notebook hit the total time limit; the cells after it were not run.")
    if record.memory_exceeded:
        notes.append("The notebook ran out of memory (the kernel's limit); lower the batch size or the data "
                     "kept in memory. What it defined before that was still graded.")
    if record.kernel_died:
        how = "" if record.kernel_exit_code is None else (
            f" (killed by signal {-record.kernel_exit_code})" if record.kernel_exit_code < 0
            else f" (it exited with code {record.kernel_exit_code})")
        notes.append(f"The kernel died{how}, e.g. out of memory or the code exited; cells after that were not run.")
    if record.output_truncated_cells:
        cells = ", ".join(str(i) for i in record.output_truncated_cells[:10])
        notes.append(f"The notebook printed more than the grader keeps; output of cell(s) {cells} was cut. "
                     "Print less (e.g. a summary instead of every step).")
    if record.leftover_processes:
        notes.append(f"{record.leftover_processes} process(es) the notebook left running were killed.")
    return notes


def _import_notes(record: ExecutionRecord) -> list[str]:
    notes = []
    for module in record.missing_modules:
        cells = ", ".join(dict.fromkeys(str(f.cell) for f in record.failed_imports if f.module == module))
        notes.append(f"Cell {cells} imports `{module}`, which the grading environment does not have. If the "
                     "course's notebooks use it, that is the course's to fix, not yours: this submission is flagged "
                     "for a person to review.")
    for failed in record.failed_imports:
        if failed.resumed:
            notes.append(f"Cell {failed.cell} stopped at `{failed.text}` (line {failed.line}); the grader ran the "
                         "rest of that cell without it, so the lines after it still ran.")
    return notes


def grade(
    notebook: Path | str,
    lab: str | Lab,
    options: GradeOptions | None = None,
    *,
    submission: str | None = None,
    keep_artifacts: Path | None = None,
) -> Result:
    """Grade ``notebook`` for ``lab``; never raises for a bad submission, only for a bad course.

    ``keep_artifacts``: a folder (not yet existing) to copy what the kernel exported to,
    for a later regrade without execution.
    """
    options = options or GradeOptions()
    path = Path(notebook)
    lab_obj = lab if isinstance(lab, Lab) else load_lab(lab, find_course(near=path.parent))
    if options.profile not in lab_obj.spec.profiles:
        raise ConfigError(f"lab {lab_obj.id} has no data profile {options.profile!r}; it has: "
                          f"{', '.join(lab_obj.spec.profiles)}")
    started = time.monotonic()
    sub = submission or submission_id(path)
    base: dict[str, Any] = {
        "lab": lab_obj.id,
        "submission": sub,
        "source": str(path),
        "profile": options.profile,
        "seed": options.seed,
        "environment": describe(options.device),
        "grader_version": grader_version(),
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    max_score = lab_obj.rubric.spec.total
    # A missing data set is the course's problem, not this submission's: raise before grading.
    base["notes"] = tuple(check_available(lab_obj.spec.datasets, options.profile))
    try:
        loaded = load_notebook(path, submission=sub)
    except SubmissionError as exc:
        parts = zero_parts(lab_obj.rubric, str(exc), public_only=options.public_only)
        return Result(status=exc.status, message=str(exc), score=0.0, max_score=_max(parts, max_score),
                      parts=parts, timings={"total": round(time.monotonic() - started, 3)}, **base)
    return _grade_loaded(loaded, lab_obj, options, base, started, keep_artifacts)


def _max(parts: tuple[PartResult, ...], default: float) -> float:
    return sum(p.max_score for p in parts if not p.extra_credit) or default


def sanitize(loaded: LoadedNotebook) -> tuple[list[SanitizedCell], list[SkippedLine]]:
    """The notebook's code cells as the kernel runs them, and the lines it will not run."""
    cells: list[SanitizedCell] = []
    skipped: list[SkippedLine] = []
    for index, source in loaded.code_cells():
        cell, lines = sanitize_cell(index, source)
        cells.append(cell)
        skipped.extend(lines)
    return cells, skipped


def _grade_loaded(
    loaded: LoadedNotebook, lab: Lab, options: GradeOptions, base: dict[str, Any], started: float,
    keep_artifacts: Path | None,
) -> Result:
    cells, skipped = sanitize(loaded)
    warm_up(lab)
    policy = SandboxPolicy(limits=options.limits, seed=options.seed, device=options.device)
    # A PyTorch lab's checks query a probe process that must import torch (~2 s): started now,
    # it does so while the notebook runs. It is this submission's alone, and stops with it.
    preload = probe_preload(lab)
    with Sandbox(policy, keep=options.keep_workdir) as sandbox, ProbeSession(options.limits, preload=preload) as probes:
        if preload:
            probes.start()
        sandbox.stage_datasets(lab.spec.datasets, options.profile)
        try:
            outcome = execute(cells, skipped, sandbox, frameworks=lab.spec.frameworks, export_spec=lab.export_spec())
        except SubmissionError as exc:
            parts = zero_parts(lab.rubric, str(exc), public_only=options.public_only)
            return Result(status=exc.status, message=str(exc), score=0.0,
                          max_score=_max(parts, lab.rubric.spec.total), parts=parts, sha256=loaded.sha256,
                          **{**base, "notes": (*base["notes"], *loaded.notes)})
        if keep_artifacts is not None and outcome.exported:
            shutil.copytree(outcome.export_dir, keep_artifacts)
        artifacts = ArtifactBundle(outcome.export_dir if outcome.exported else None,
                                   unavailable=unavailable_reason(outcome.record, exported=outcome.exported))
        return assess(lab, options, loaded, cells, outcome.record, artifacts, base, started, probes)


def unavailable_reason(record: ExecutionRecord, *, exported: bool) -> str:
    """Why no exported name can be read, or "" when they can."""
    if exported:
        return ""
    if record.kernel_died:
        return "the kernel died before the grader could read your variables"
    return "the grader could not read your variables after the notebook ran"


def reassess(lab: Lab, options: GradeOptions, notebook: Path, old: Result, exported: Path | None) -> Result:
    """Check and score a stored execution again, under ``lab`` as it is now (a regrade).

    ``old``: the result the execution was graded with (its record is reused, never run
    again); ``notebook``: the notebook it ran; ``exported``: the folder of what its kernel
    exported, or None when nothing was. Raises :class:`SubmissionError` when the notebook
    no longer loads.
    """
    assert old.execution is not None, "only an executed submission can be reassessed"
    started = time.monotonic()
    base: dict[str, Any] = {
        "lab": lab.id, "submission": old.submission, "source": old.source, "profile": options.profile,
        "seed": old.seed, "environment": old.environment, "grader_version": grader_version(),
        "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "notes": tuple(check_available(lab.spec.datasets, options.profile)),
    }
    loaded = load_notebook(notebook, submission=old.submission)
    cells, _ = sanitize(loaded)
    artifacts = ArtifactBundle(exported, unavailable=unavailable_reason(old.execution, exported=exported is not None))
    return assess(lab, options, loaded, cells, old.execution, artifacts, base, started)


def assess(
    lab: Lab,
    options: GradeOptions,
    loaded: LoadedNotebook,
    cells: list[SanitizedCell],
    record: ExecutionRecord,
    artifacts: ArtifactBundle,
    base: dict[str, Any],
    started: float,
    probes: ProbeSession | None = None,
) -> Result:
    """Check and score what an execution produced: everything after the kernel (``probes``:
    the submission's probe process, if one was started for it).

    A regrade calls this with an execution's stored record and artifacts, so a rubric
    change never needs the notebook run again.
    """
    t0 = time.monotonic()
    ctx = CheckContext(
        lab=lab, profile=options.profile, artifacts=artifacts, notebook=loaded,
        cells=cells, limits=options.limits, cache_dir=options.cache_dir, probes=probes,
    )
    try:
        parts = score(lab.rubric, ctx, public_only=options.public_only)
    finally:
        ctx.close()
    # Training the lab's reference (once per lab and profile) is the course's cost, not this submission's.
    reference_seconds = ctx.metrics.seconds if "metrics" in ctx.__dict__ else 0.0
    timings = {"execute": record.seconds, "check": round(time.monotonic() - t0 - reference_seconds, 3)}
    if reference_seconds:
        timings["reference"] = reference_seconds
    curves = _curves(lab, artifacts)
    notes = [*base["notes"], *loaded.notes, *_execution_notes(record)]
    notes += [ctx.answer(tag).note for tag in lab.spec.discussions if ctx.answer(tag).note]
    status: SubmissionStatus = "graded"
    if record.memory_exceeded:
        status = "memory-limit"
    elif record.kernel_died:
        status = "kernel-died"
    elif record.timed_out or any(c.status == "timeout" for c in record.cells):
        # A cell over its limit was interrupted: the notebook did not run as written,
        # although what it defined is still graded.
        status = "timeout"
    timings["total"] = round(time.monotonic() - started, 3)
    reference = {}
    if "metrics" in ctx.__dict__:  # only when an accuracy check needed them
        reference = dict(ctx.metrics.median)
    return Result(
        status=status,
        score=round(sum(p.score for p in parts), 2),
        max_score=_max(parts, lab.rubric.spec.total),
        parts=parts,
        sha256=loaded.sha256,
        execution=record,
        curves=curves,
        reference=reference,
        timings=timings,
        **{**base, "notes": tuple(notes)},
    )
