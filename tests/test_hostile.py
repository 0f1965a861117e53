"""The hostile corpus (tests/hostile/, written by make_corpus.py) graded in batches, for real.

Each case must come to a clear status and message, a score within bounds, and leave
the grader up, within its memory, and untouched: no payload runs outside the kernel,
the kernel reads none of the grader's files, and the correct submissions graded in the
same batch keep their full scores. Set AUTOGRADER_HOSTILE_TABLE=FILE to also write the
table of statuses, scores, times and peak memory.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import autograder
from autograder.batch.run import grade_batch
from autograder.config import ExecutionLimits, GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from autograder.execution._child.isolation import capabilities
from autograder.result import Result
from tests.hostile.make_corpus import ESCAPE, MARKERS

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"
COURSE = HERE / "fixtures" / "course"
ISOLATED = capabilities().isolate
MANY_CELLS = "thousands_of_cells"
GRADER_MEMORY = 2 * 1024**3
"""The most a grading process (a batch worker, or this test process) may ever hold, TensorFlow included."""

LIMITS = ExecutionLimits(cell_timeout=5, total_timeout=30, memory_bytes=int(1.5 * 1024**3),
                         file_size_bytes=64 * 1024**2, processes=64, notebook_output_chars=200_000,
                         export_timeout=15, startup_timeout=30)
# TensorFlow reserves several GiB of address space; the Keras cases need a higher bound.
KERAS_LIMITS = ExecutionLimits(cell_timeout=30, total_timeout=60, memory_bytes=8 * 1024**3, processes=256,
                               export_timeout=30, startup_timeout=30)


@dataclass(frozen=True)
class Expect:
    status: str
    low: float
    high: float
    says: str = ""
    """Words the result's message, notes or a check's message must contain."""


FULL = 10.0
EXPECT: dict[str, Expect] = {
    "solution": Expect("graded", FULL, FULL),
    "ok_café_日本_copy": Expect("graded", FULL, FULL),
    "rf_--leading-dash": Expect("graded", FULL, FULL),
    "solution-2": Expect("graded", FULL, FULL),  # the same file, named through ../
    "infinite_loop": Expect("timeout", FULL, FULL, "timed out"),
    "uninterruptible_loop": Expect("timeout", 0, 4, "could not read your variables"),
    "memory_bomb_numpy": Expect("memory-limit", FULL, FULL, "ran out of memory"),
    "memory_bomb_grow": Expect("memory-limit", FULL, FULL, "ran out of memory"),
    # The bomb's children hold the process limit until the kernel ends: later threads fail.
    "fork_bomb": Expect("graded", 8, FULL),
    "daemon": Expect("graded", FULL, FULL, "left running were killed" if ISOLATED else ""),
    "os_exit": Expect("kernel-died", 0, 2, "exited with code 0"),
    "system_exit": Expect("graded", FULL, FULL),
    "segfault": Expect("kernel-died", 0, 2, "killed by signal 11"),
    "big_file": Expect("graded", FULL, FULL, "error"),
    "output_flood": Expect("graded", FULL, FULL, "printed more than the grader keeps"),
    "monkeypatch_numpy_print": Expect("graded", 0, 8, "expected [0, 1]"),
    "fake_sys_modules": Expect("graded", 0, 6, "its file is missing"),
    "fake_stored_outputs": Expect("graded", 0, 8, "expected [0, 1]"),
    "files_posing_as_results": Expect("graded", 0, 8, "expected [0, 1]"),
    "snoop": Expect("graded", FULL, FULL),
    "network": Expect("graded", FULL, FULL),
    "pickle_payload": Expect("graded", 0, 4, "not a numeric array"),
    "kill_grader": Expect("graded", FULL, FULL),  # kill(-1) reaches only its own user's processes
    "invalid_json": Expect("invalid-notebook", 0, 0, "not valid JSON"),
    "empty": Expect("invalid-notebook", 0, 0, "the file is empty"),
    "binary": Expect("invalid-notebook", 0, 0, "not a Jupyter notebook"),
    "nbformat3": Expect("graded", FULL, FULL, "old format 3"),
    # Thousands of trivial cells cost seconds within the time limit: graded, not refused.
    "thousands_of_cells": Expect("graded", FULL, FULL),
    # Past the bound that protects the grader's memory: refused before it is built.
    "far_too_many_cells": Expect("invalid-notebook", 0, 0, "the grader reads at most 20000"),
    "r_kernel": Expect("invalid-notebook", 0, 0, "switch the kernel to Python 3"),
    "missing_tag": Expect("graded", FULL, FULL, "heading"),
    "duplicated_tags": Expect("graded", 8, FULL, "on 2 cells"),
    "keras_solution": Expect("graded", FULL, FULL),
    "keras_lambda": Expect("graded", 0, 4, "Lambda"),
    "keras_monkeypatch_evaluate": Expect("graded", 0, 6, "below the"),
}


@dataclass(frozen=True)
class Graded:
    results: dict[str, Result]
    grader_peak: dict[str, int]
    seconds: float
    out: Path


def _paths(lab: str) -> list[Path]:
    paths = sorted((CORPUS / lab).glob("*.ipynb"))
    if lab == "tiny":
        if not ISOLATED:  # kill(-1) as the grader's own user would kill the grader's processes
            paths = [p for p in paths if p.name != "kill_grader.ipynb"]
        paths.append(CORPUS / lab / ".." / lab / "solution.ipynb")
    return paths


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    for folder in (MARKERS, ESCAPE):
        shutil.rmtree(folder, ignore_errors=True)
    course = find_course(COURSE)
    out = tmp_path_factory.mktemp("hostile-out")
    peaks: dict[str, int] = {}
    results: dict[str, Result] = {}
    started = time.monotonic()
    many = CORPUS / "tiny" / f"{MANY_CELLS}.ipynb"
    batches = (
        ("tiny", "tiny", LIMITS, [p for p in _paths("tiny") if p != many]),
        # Its thousands of cells take ~17 s alone and more on a loaded machine: a total limit
        # with room, as an instructor grading such notebooks would set.
        ("tiny", MANY_CELLS, replace(LIMITS, total_timeout=120), [many]),
        ("tiny-keras", "tiny-keras", KERAS_LIMITS, _paths("tiny-keras")),
    )
    for lab, folder, limits, paths in batches:
        options = GradeOptions(limits=limits, profile="smoke", cache_dir=tmp_path_factory.mktemp("cache"))
        done = grade_batch(paths, load_lab(lab, course), out / folder, options, workers=2)
        results.update({r.submission: r for r in done})
        # Grading runs in the batch's worker processes; each result records its worker's peak.
        peaks.update({r.submission: r.grader_peak_rss_bytes for r in done})
    graded = Graded(results, peaks, time.monotonic() - started, out)
    table = os.environ.get("AUTOGRADER_HOSTILE_TABLE")
    if table:
        Path(table).write_text(_table(graded), encoding="utf-8")
    return graded


def _table(graded: Graded) -> str:
    rows = ["| case | status | score | time (s) | kernel peak RSS (MiB) | grader peak RSS (MiB) |",
            "|---|---|---|---|---|---|"]
    for name, r in graded.results.items():
        kernel = f"{r.execution.kernel_peak_rss_bytes / 2**20:.0f}" if r.execution else "-"
        rows.append(f"| {name} | {r.status} | {r.score:g}/{r.max_score:g} | {r.timings.get('total', 0):.1f} "
                    f"| {kernel} | {graded.grader_peak.get(name, 0) / 2**20:.0f} |")
    rows.append(f"\nwhole corpus: {graded.seconds:.0f} s")
    return "\n".join(rows) + "\n"


def _all_text(result: Result) -> str:
    messages = [c.message for p in result.parts for c in p.checks]
    return "\n".join([result.message, *result.notes, *messages])


def _stderr_line(result: Result, prefix: str) -> object:
    assert result.execution is not None
    for cell in result.execution.cells:
        for line in cell.stderr.splitlines():
            if line.startswith(prefix):
                return json.loads(line[len(prefix):])
    raise AssertionError(f"no {prefix!r} line in the cells' stderr")


def test_every_case_of_the_corpus_was_graded(graded: Graded) -> None:
    expected = set(EXPECT) - (set() if ISOLATED else {"kill_grader"})
    assert set(graded.results) == expected
    assert len(graded.results) >= 25


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_each_case_gets_its_status_message_and_score(graded: Graded, case: str) -> None:
    if case not in graded.results:
        pytest.skip("needs isolation")
    result, expect = graded.results[case], EXPECT[case]
    assert result.status == expect.status, _all_text(result)
    assert expect.low <= result.score <= expect.high, _all_text(result)
    assert expect.says in _all_text(result)


def test_the_grader_stayed_within_its_memory(graded: Graded) -> None:
    assert max(graded.grader_peak.values()) < GRADER_MEMORY


def test_no_payload_ran_outside_the_kernel(graded: Graded) -> None:
    assert not Path(MARKERS).exists() or not os.listdir(MARKERS)


def test_what_the_notebook_wrote_never_reaches_the_results(graded: Graded) -> None:
    result = graded.results["files_posing_as_results"]
    folder = graded.out / "tiny" / result.submission
    assert sorted(p.name for p in folder.iterdir()) == [
        "execution.json", "gradescope", "report.html", "report.md", "result.json"]
    written = Result.read(folder / "result.json")
    assert (written.status, written.score, written.sha256) == (result.status, result.score, result.sha256)
    assert written.score < FULL
    assert sorted(p.name for p in (graded.out / "tiny").iterdir() if p.is_file() and not p.name.startswith(".")) == [
        "canvas.csv", "gradebook.csv", "index.html"]
    if ISOLATED:  # the kernel's /tmp is its own
        assert not Path(ESCAPE).exists()


def test_the_kernel_could_not_read_the_graders_files(graded: Graded) -> None:
    if not ISOLATED:
        result = graded.results["snoop"]
        assert any(capabilities().reason in n for n in result.notes)
        pytest.skip(f"no isolation here: {capabilities().reason}")
    found = _stderr_line(graded.results["snoop"], "SNOOP ")
    assert isinstance(found, dict)
    assert set(found["env"]) <= {"PATH", "LANG", "LC_ALL", "TZ", "HOME", "USER", "PYTHONPATH", "PYTHONHASHSEED",
                                 "PYTHONNOUSERSITE", "MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL", "KERAS_HOME",
                                 "KERAS_BACKEND", "JUPYTER_PLATFORM_DIRS", "AUTOGRADER_SANDBOX",
                                 "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                 # a batch worker's share of the cores (autograder/resources.py)
                                 "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                 "TF_NUM_INTEROP_THREADS",
                                 "PYDEVD_USE_FRAME_EVAL", "JPY_PARENT_PID", "JPY_SESSION_NAME", "PS1", "TERM",
                                 "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "PAGER", "GIT_PAGER", "SHLVL", "_"}
    assert found["readable"] == []
    listed = found["listed"]
    for secret in ("rubrics", "reference", "tests", "assignments", ".git"):
        assert not any(path.endswith("/" + secret) for path in listed), listed
    assert listed.get("/root", []) in ([], [".pyenv"]), listed  # only the interpreter, when it lives there
    assert "/root/.cache/autograder" not in listed and "/root/.keras" not in listed
    # Nothing of the course, the outputs or other submissions: only the kernel's own sandbox
    # (/tmp/autograder-*) and the autograder package bound in read-only, wherever the clone is.
    package = str(Path(autograder.__file__).resolve().parent) + "/"
    assert [f for f in found["files"] if not f.startswith(package) and "/autograder-" not in f] == [], found["files"]
    assert found["pids"] <= 5  # its own processes; the grader's are hidden


def test_the_kernel_had_no_network(graded: Graded) -> None:
    if not ISOLATED:
        pytest.skip(f"no isolation here: {capabilities().reason}")
    assert _stderr_line(graded.results["network"], "NET ") == []


def test_a_fork_bomb_stops_at_the_process_limit(graded: Graded) -> None:
    if not ISOLATED:
        pytest.skip("RLIMIT_NPROC needs a user of the kernel's own")
    assert graded.results["fork_bomb"].execution is not None
    stderr = "".join(c.stderr for c in graded.results["fork_bomb"].execution.cells)
    assert "FORK stopped after" in stderr
    assert int(stderr.split("FORK stopped after")[1].split()[0]) < LIMITS.processes


def test_output_kept_by_the_grader_is_bounded(graded: Graded) -> None:
    result = graded.results["output_flood"]
    assert result.execution is not None and result.execution.output_truncated_cells
    assert sum(len(c.stderr) for c in result.execution.cells) <= LIMITS.output_chars * len(result.execution.cells)


def test_a_notebook_of_thousands_of_cells_gets_a_readable_report(graded: Graded) -> None:
    result = graded.results[MANY_CELLS]
    assert result.execution is not None and len(result.execution.cells) == 2502
    report = (graded.out / MANY_CELLS / result.submission / "report.md").read_text()
    assert "2502 code cells in" in report and "(2502 ok)" in report
    assert len(report) < 20_000  # counts and the slowest cells, not a row per cell
