"""Progress of a batch on the terminal: a live bar with done/failed counts and the ETA.

On a terminal the bar redraws in place; in a log (CI, ``nohup``) each finished
submission is one line, so the log says what happened when.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from autograder.result import Result


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, total: int, *, workers: int, reused: int = 0, stream: TextIO | None = None) -> None:
        self.total = total
        self.workers = workers
        self.reused = reused
        self.done = 0
        self.failed = 0
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        if reused:
            self._line(f"{reused} submission(s) already graded with this lab, rubric and grader: kept "
                       "(--force regrades them)")
        if total:
            self._line(f"grading {total} submission(s) with {workers} worker(s)")

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def eta(self) -> str:
        if not self.done:
            return "ETA --"
        elapsed = time.monotonic() - self.started
        return f"ETA {_duration(elapsed / self.done * (self.total - self.done))}"

    def bar(self, width: int = 30) -> str:
        filled = round(width * self.done / self.total) if self.total else width
        return (f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} done, "
                f"{self.failed} failed, {self.eta()}")

    def update(self, result: Result) -> None:
        self.done += 1
        if result.status != "graded":
            self.failed += 1
        flag = " (needs review)" if result.needs_review else ""
        what = (f"{result.submission}: {result.score:g}/{result.max_score:g} {result.status}{flag} "
                f"in {result.timings.get('total', 0.0):.1f}s")
        if self.live:
            self.stream.write(f"\r\033[K{what}\n{self.bar()}")
            self.stream.flush()
        else:
            self._line(f"[{self.done}/{self.total}] {what} · {self.failed} failed, {self.eta()}")

    def finish(self) -> None:
        if not self.total:
            return
        if self.live:
            self.stream.write("\n")
        self._line(f"graded {self.done} submission(s) in {_duration(time.monotonic() - self.started)}")
