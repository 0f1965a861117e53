"""A graded class's output folder, the one object batch, regrade and review write through.

One folder per submission (``result.json``, ``report.html``, ``report.md``, Gradescope's
``gradescope/results.json``), each file written atomically; the class's files (gradebook,
Canvas's CSV, ``index.html``); ``.store/`` for regrades; and a lock, so that one writer at
a time changes it.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from autograder.artifacts.store import ArtifactStore, StaleExecutionError
from autograder.course.labs import Lab
from autograder.errors import ConfigError
from autograder.files import write_atomic
from autograder.intake.submissions import Submission, Superseded
from autograder.reporting.class_report import summarise, write_class_report
from autograder.reporting.feedback import render_html, render_markdown
from autograder.reporting.gradebook import write_gradebook
from autograder.reporting.lms import write_canvas_csv, write_gradescope_results
from autograder.result import Result


class UnknownSubmission(ConfigError):
    """No readable result of that submission in the folder."""


@dataclass(frozen=True)
class OutputFolder:
    path: Path

    def result_file(self, submission: str) -> Path:
        return self.path / submission / "result.json"

    def write(self, result: Result) -> Path:
        """Write one submission's result and reports under ``<submission>/``."""
        folder = self.path / result.submission
        result.write(folder / "result.json")
        write_atomic(folder / "report.html", render_html(result))
        write_atomic(folder / "report.md", render_markdown(result))
        write_gradescope_results(result, folder / "gradescope" / "results.json")
        return folder

    def stored(self, submission: str) -> Result | None:
        """The submission's stored result; None when there is none or it is unreadable (grade it again)."""
        path = self.result_file(submission)
        if not path.is_file():
            return None
        try:
            return Result.read(path)
        except (OSError, ValueError, ValidationError):
            return None

    def read(self, submission: str, where: str) -> Result:
        """The stored result of ``submission``, or an error that starts with ``where``."""
        path = self.result_file(submission)
        if not path.is_file():
            known = sorted(p.parent.name for p in self.path.glob("*/result.json"))
            hint = f"; graded submissions: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''}" if known else ""
            raise UnknownSubmission(f"{where}: unknown submission {submission!r}: no {path}{hint}")
        try:
            return Result.read(path)
        except ValueError as exc:
            raise UnknownSubmission(f"{where}: {path} cannot be read: {exc}") from exc

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One writer at a time (a batch, a regrade, a review); the OS drops the lock if it is killed."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / ".autograder.lock").open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ConfigError(f"another autograder run is writing to {self.path}; wait for it or use another "
                                  "--out") from exc
            yield

    def graded(self) -> list[tuple[Submission, Result]]:
        """Every graded submission, with how the batch took it in (for the LMS exports)."""
        store = ArtifactStore(self.path)
        rows = []
        for path in sorted(self.path.glob("*/result.json")):
            if path.parent.name.startswith("."):
                continue
            result = Result.read(path)
            try:
                sub = store.submission(result.submission, store.load(result.submission))
            except StaleExecutionError:
                sub = Submission(result.submission, Path(result.source))
            rows.append((sub, result))
        return rows

    def write_class(self, rows: Sequence[tuple[Submission, Result]], superseded: Sequence[Superseded], lab: Lab,
                    canvas_assignment: str = "") -> None:
        """The gradebook, Canvas's CSV and the class summary of ``rows``."""
        results = [result for _, result in rows]
        write_gradebook(results, self.path / "gradebook.csv")
        write_canvas_csv(rows, self.path / "canvas.csv", assignment=canvas_assignment or lab.spec.title)
        write_class_report(summarise(lab.id, results, superseded), self.path)
