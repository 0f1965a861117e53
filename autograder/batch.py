"""Grade a set of submissions one after another and write every output as it goes.

Each submission's folder (``result.json``, ``report.html``, ``report.md``) is written
as soon as it is graded, atomically, and the gradebook after each one, so an
interrupted run keeps everything already graded.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from autograder.config import GradeOptions
from autograder.errors import ConfigError
from autograder.gradebook import write_gradebook
from autograder.labs import Lab
from autograder.notebook import submission_id
from autograder.pipeline import grade
from autograder.report import render_html, render_markdown
from autograder.result import Result

Progress = Callable[[int, int, Result], None]


def find_notebooks(paths: Iterable[Path]) -> list[Path]:
    """The notebooks named by ``paths``: files as given, folders searched recursively."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
            )
        elif path.exists():
            found.append(path)
        else:
            raise ConfigError(f"{path} does not exist")
    return found


def unique_ids(paths: Sequence[Path]) -> list[str]:
    """A submission id per path; equal names get -2, -3... in the order given."""
    seen: dict[str, int] = {}
    ids = []
    for path in paths:
        base = submission_id(path)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_outputs(result: Result, out_dir: Path) -> Path:
    """Write one submission's result and reports under ``out_dir/<submission>/``."""
    folder = out_dir / result.submission
    folder.mkdir(parents=True, exist_ok=True)
    result.write(folder / "result.json")
    _write_text(folder / "report.html", render_html(result))
    _write_text(folder / "report.md", render_markdown(result))
    return folder


def print_progress(done: int, total: int, result: Result) -> None:
    seconds = result.timings.get("total", 0.0)
    flag = " (needs review)" if result.needs_review else ""
    print(
        f"[{done}/{total}] {result.submission}: {result.score:g}/{result.max_score:g} "
        f"{result.status}{flag} in {seconds:.1f}s",
        file=sys.stderr,
        flush=True,
    )


def grade_batch(
    paths: Sequence[Path],
    lab: Lab,
    out_dir: Path,
    options: GradeOptions,
    *,
    progress: Progress | None = print_progress,
) -> list[Result]:
    """Grade every notebook in ``paths`` for ``lab``, writing outputs to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    started = time.monotonic()
    for done, (path, sub) in enumerate(zip(paths, unique_ids(paths), strict=True), start=1):
        result = grade(path, lab, options, submission=sub)
        write_outputs(result, out_dir)
        results.append(result)
        write_gradebook(results, out_dir / "gradebook.csv")
        if progress:
            progress(done, len(paths), result)
    if progress and paths:
        print(f"graded {len(paths)} submission(s) in {time.monotonic() - started:.1f}s; "
              f"outputs in {out_dir}", file=sys.stderr)
    return results
