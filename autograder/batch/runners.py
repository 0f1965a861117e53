"""Where submissions are graded: local worker processes, or a Dask cluster.

Both run the same function, :func:`run_job`, on a self-contained :class:`Job` (the
notebook's bytes, not a path, so a remote worker needs no shared disk) and hand back
the result as JSON. Scheduling is theirs (concurrent.futures, Dask); this module only
keeps as many jobs in flight as there are workers and turns a dead worker into a
retry, then into that one submission's failure.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from autograder.artifacts.store import read_tree
from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.errors import ConfigError
from autograder.execution._child.isolation import die_with_parent
from autograder.execution.executor import memory_peaks
from autograder.execution.resources import Slot
from autograder.grading.pipeline import grade

_SLOT_DEVICE = "AUTOGRADER_SLOT_DEVICE"


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one submission."""

    submission: str
    filename: str
    content: bytes
    source: str
    lab: str
    course: str | None
    options: GradeOptions
    key: str
    """The grading key the result is stored under (see ``batch.grading_key``)."""
    fingerprint: str
    """The lab's fingerprint where the batch started: a worker with another copy of the course refuses."""


@dataclass(frozen=True)
class Graded:
    """What a worker hands back: the result, and the files the kernel exported (for regrades)."""

    result_json: str
    artifacts: dict[str, bytes]


Outcome = Graded | BaseException
"""A graded submission, or why the worker could not produce one."""


class Runner(Protocol):
    workers: int

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Outcome]]: ...

    def close(self) -> None: ...


@cache
def _load(lab_id: str, course: str | None) -> Lab:
    # A remote worker may keep the course elsewhere: then $AUTOGRADER_COURSE or the installed one.
    root = Path(course) if course and Path(course, "assignments").is_dir() else None
    return load_lab(lab_id, find_course(root))


def _lab(job: Job) -> Lab:
    """The job's lab as this worker has it; refuses a copy that differs from the batch's."""
    lab = _load(job.lab, job.course)
    if lab.fingerprint() == job.fingerprint:
        return lab
    # A long-lived (Dask) worker: the rubric may have been edited since it loaded the lab.
    _load.cache_clear()
    lab = _load(job.lab, job.course)
    if lab.fingerprint() != job.fingerprint:
        raise ConfigError(
            f"this worker's copy of lab {job.lab} ({lab.folder}) differs from the one the batch started with "
            "(lab.yaml, rubric or reference): give every worker the same course"
        )
    return lab


def run_job(job: Job) -> Graded:
    """Grade one submission in this process."""
    lab = _lab(job)
    with tempfile.TemporaryDirectory(prefix="autograder-job-") as tmp:
        path = Path(tmp) / job.filename
        path.write_bytes(job.content)
        exported = Path(tmp) / "exported"
        result = grade(path, lab, job.options, submission=job.submission, keep_artifacts=exported)
        artifacts = read_tree(exported) if exported.is_dir() else {}
    peak = memory_peaks("self")[0]
    update: dict[str, Any] = {"source": job.source, "grader_peak_rss_bytes": peak}
    device = os.environ.get(_SLOT_DEVICE)
    if device and result.environment is not None:
        update["environment"] = result.environment.model_copy(update={"device": device})
    return Graded(result.model_copy(update=update).to_json(), artifacts)


def _init_worker(slots: Any) -> None:
    # A batch killed with -9 must not leave workers grading behind it: they would write
    # results while the next run grades the same submissions.
    die_with_parent()
    # The main process handles Ctrl-C; workers are stopped by it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    slot: Slot = slots.get()
    os.environ.update(slot.env)
    os.environ[_SLOT_DEVICE] = slot.device


class LocalRunner:
    """Worker processes on this machine, one per slot."""

    def __init__(self, slots: Sequence[Slot], *, attempts: int = 2) -> None:
        self.slots = list(slots)
        self.workers = len(self.slots)
        self.attempts = attempts
        self._pool: ProcessPoolExecutor | None = None
        self._busy = False
        """Jobs are in flight: closing must stop them rather than wait."""

    def _start(self) -> ProcessPoolExecutor:
        # spawn: TensorFlow and the asyncio loop of nbclient do not survive fork.
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        for slot in self.slots:
            queue.put(slot)
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker, initargs=(queue,))

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Outcome]]:
        waiting = list(reversed(jobs))
        tries: dict[str, int] = {}
        running: dict[Future[Graded], Job] = {}
        self._busy = True
        while waiting or running:
            if self._pool is None:
                self._pool = self._start()
            # Only as many in flight as workers: a dead worker then costs only those.
            while waiting and len(running) < self.workers:
                job = waiting.pop()
                tries[job.submission] = tries.get(job.submission, 0) + 1
                running[self._pool.submit(run_job, job)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                job = running.pop(future)
                try:
                    yield job, future.result()
                except BrokenProcessPool as exc:
                    broken = True
                    if tries[job.submission] >= self.attempts:
                        yield job, exc
                    else:
                        waiting.append(job)
                except ConfigError:
                    raise
                except Exception as exc:
                    yield job, exc
            if broken:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        self._busy = False

    def close(self) -> None:
        if self._pool is not None and not self._busy:
            # Every job done: the idle workers exit on their own, and release what they shared.
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is not None:
            # Idle workers, or (after Ctrl-C) busy ones whose kernels die with them.
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(OSError):
                    process.kill()
            self._pool = None


class DaskRunner:
    """The jobs on a Dask distributed cluster; Dask schedules, retries and reports."""

    def __init__(self, scheduler: str) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ConfigError("--executor dask needs Dask: pip install 'dask[distributed]'") from exc
        try:
            self.client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Outcome]]:
        from distributed import as_completed

        # pure=False: the same notebook graded twice is two gradings, never a cached one.
        futures = {self.client.submit(run_job, job, key=f"grade-{job.submission}-{uuid.uuid4().hex[:8]}",
                                      pure=False): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except ConfigError:
                raise
            except Exception as exc:
                yield job, exc

    def close(self) -> None:
        self.client.close()
