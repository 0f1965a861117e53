"""Grade a class: many submissions, in parallel, resumable, with every output written as it goes.

Each submission's folder (``result.json``, ``report.html``, ``report.md``, Gradescope's
``gradescope/results.json``, and ``execution.json`` naming what the kernel exported, kept
in ``.store/`` for regrades) is written atomically as soon as it is graded, and the
gradebook after each one; so a batch killed at any point keeps everything graded, and
the same command run again grades only what is missing or out of date (its
``grading_key`` differs: the notebook, lab, rubric, grader or options changed).
At the end come the class summary (``index.html``) and Canvas's CSV.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from autograder.artifacts.store import ArtifactStore
from autograder.batch.outputs import OutputFolder
from autograder.batch.progress import Progress
from autograder.batch.runners import DaskRunner, Graded, Job, LocalRunner, Runner
from autograder.checks.scoring import zero_parts
from autograder.config import GradeOptions
from autograder.course.labs import Lab
from autograder.errors import ConfigError, SubmissionStatus
from autograder.execution.resources import plan_slots
from autograder.grading.pipeline import grader_version
from autograder.intake.submissions import Intake, Submission, Superseded, collect
from autograder.reporting.class_report import render_terminal, summarise
from autograder.reporting.gradebook import write_gradebook
from autograder.result import Result

Executor = Literal["local", "dask"]


@dataclass(frozen=True)
class BatchOptions:
    """How a batch is run, besides how each submission is graded."""

    workers: int | None = None
    """Submissions graded at once; default: what the cores, memory and GPUs hold."""
    executor: Executor = "local"
    scheduler: str | None = None
    """The Dask scheduler's address, with ``executor="dask"``."""
    force: bool = False
    """Regrade even submissions whose stored result is up to date."""
    progress: bool = True
    canvas_assignment: str = ""
    """The assignment's column title in Canvas's CSV; default: the lab's title."""


@dataclass
class BatchOutcome:
    results: list[Result] = field(default_factory=list)
    graded: list[str] = field(default_factory=list)
    """Submissions graded in this run."""
    reused: list[str] = field(default_factory=list)
    """Submissions whose stored result was up to date."""
    superseded: list[Superseded] = field(default_factory=list)


def grading_key(content: bytes, lab: Lab, options: GradeOptions, *, fingerprint: str | None = None) -> str:
    """What a result depends on; a stored result with another key is regraded.
    ``fingerprint``: the lab's, when the caller already has it (it reads the lab's files)."""
    decided_by = {
        "notebook": hashlib.sha256(content).hexdigest(),
        "lab": lab.id,
        "lab_fingerprint": fingerprint or lab.fingerprint(),
        "grader": grader_version(),
        "profile": options.profile,
        "seed": options.seed,
        "public_only": options.public_only,
        "limits": asdict(options.limits),
    }
    return hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode()).hexdigest()








def _not_graded(submission: str, source: str, lab: Lab, options: GradeOptions, status: SubmissionStatus,
                message: str) -> Result:
    parts = zero_parts(lab.rubric, message, public_only=options.public_only)
    return Result(lab=lab.id, submission=submission, source=source, status=status, message=message,
                  score=0.0, max_score=lab.rubric.spec.total, parts=parts, profile=options.profile,
                  seed=options.seed, grader_version=grader_version())


def _failed(job: Job, lab: Lab, error: BaseException) -> Result:
    """A submission the grader itself could not grade: recorded, and retried by the next run."""
    message = (f"The grader could not grade this submission ({type(error).__name__}: {error}). "
               "Nothing else in the batch was affected; run the batch again to retry it.")
    return _not_graded(job.submission, job.source, lab, job.options, "error", message)


def _runner(lab: Lab, options: GradeOptions, batch: BatchOptions) -> Runner:
    if batch.executor == "dask":
        if not batch.scheduler:
            raise ConfigError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        return DaskRunner(batch.scheduler)
    resources = lab.spec.resources
    slots = plan_slots(batch.workers, options.device, kernel_memory=int(resources.memory_gib * 1024**3),
                       gpu_memory=int(resources.gpu_memory_gib * 1024**3))
    return LocalRunner(slots)


def run_batch(
    paths: Sequence[Path],
    lab: Lab,
    out_dir: Path,
    options: GradeOptions,
    batch: BatchOptions | None = None,
) -> BatchOutcome:
    """Grade every submission in ``paths`` for ``lab`` into ``out_dir``; see the module's doc."""
    batch = batch or BatchOptions()
    with OutputFolder(out_dir).exclusive():
        unpack = out_dir / ".intake"
        shutil.rmtree(unpack, ignore_errors=True)
        intake = collect(paths, unpack)
        return _run(intake, lab, out_dir, options, batch)


def _run(intake: Intake, lab: Lab, out_dir: Path, options: GradeOptions, batch: BatchOptions) -> BatchOutcome:
    outcome = BatchOutcome(superseded=intake.superseded)
    folder = OutputFolder(out_dir)
    store = ArtifactStore(out_dir)
    by_id: dict[str, Result] = {}
    subs: dict[str, Submission] = {}
    jobs: list[Job] = []
    fingerprint = lab.fingerprint()
    for sub in intake.submissions:
        try:
            content = sub.path.read_bytes()
        except OSError as exc:
            unreadable = _not_graded(sub.id, str(sub.path), lab, options, "invalid-notebook",
                                     f"cannot read {sub.path.name}: {exc.strerror}; submit it again")
            by_id[sub.id] = unreadable
            folder.write(unreadable)
            continue
        key = grading_key(content, lab, options, fingerprint=fingerprint)
        stored = None if batch.force else folder.stored(sub.id)
        if stored is not None and stored.grading_key == key:
            by_id[sub.id] = stored
            outcome.reused.append(sub.id)
            continue
        subs[sub.id] = sub
        jobs.append(Job(sub.id, sub.path.name, content, str(sub.path), lab.id, str(lab.course.root),
                        options, key, fingerprint))
    if jobs and lab.bars_from_reference:
        # Once, before any student: a reference that cannot train stops the batch here with
        # the course's error, and the workers find its metrics ready instead of training them.
        lab.reference_metrics(options.profile, options.cache_dir)
    runner = _runner(lab, options, batch) if jobs else None
    progress = Progress(len(jobs), workers=runner.workers if runner else 0, reused=len(outcome.reused),
                        stream=None) if batch.progress else None
    try:
        for job, produced in runner.run(jobs) if runner else ():
            if isinstance(produced, Graded):
                result = Result.model_validate_json(produced.result_json).model_copy(update={"grading_key": job.key})
                store.record(subs[job.submission], job.content, produced.artifacts,
                             tuple(lab.spec.names), options, result.grader_version)
            else:
                result = _failed(job, lab, produced)
                store.record(subs[job.submission], job.content, {}, tuple(lab.spec.names), options, grader_version())
            folder.write(result)
            by_id[result.submission] = result
            outcome.graded.append(result.submission)
            write_gradebook(list(by_id.values()), out_dir / "gradebook.csv")
            if progress:
                progress.update(result)
    finally:
        if runner:
            runner.close()
    outcome.results = [by_id[s.id] for s in intake.submissions if s.id in by_id]
    rows = [(s, by_id[s.id]) for s in intake.submissions if s.id in by_id]
    folder.write_class(rows, intake.superseded, lab, batch.canvas_assignment)
    if progress:
        progress.finish()
        print(render_terminal(summarise(lab.id, outcome.results, intake.superseded)), file=progress.stream)
        print(f"outputs in {out_dir}: index.html, gradebook.csv, canvas.csv, <submission>/report.html",
              file=progress.stream)
    return outcome






def grade_batch(
    paths: Sequence[Path],
    lab: Lab,
    out_dir: Path,
    options: GradeOptions,
    *,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[Result]:
    """Grade ``paths`` into ``out_dir`` with local workers; the results in submission order."""
    batch = BatchOptions(workers=workers, force=force, progress=progress)
    return run_batch(paths, lab, out_dir, options, batch).results


__all__ = ["BatchOptions", "BatchOutcome", "grade_batch", "grading_key", "run_batch"]
