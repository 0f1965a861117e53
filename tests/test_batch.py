"""Batch grading of a class on the fixture lab ``tiny`` (NumPy only, ~1-2 s a notebook):
parallel workers, failures that stay one submission's, resuming after kill -9, and the
class outputs. Real kernels and real worker processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.batch.run import BatchOptions, run_batch
from autograder.config import ExecutionLimits, GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.reporting.gradebook import read_gradebook
from autograder.result import Result

COURSE = Path(__file__).parent / "fixtures" / "course"
GOOD = [
    "import numpy as np\nweights = np.ones(4) / 4\nscores = np.arange(5, dtype=float)",
    "history = {'loss': [1.0, 0.5, 0.3], 'val_loss': [1.1, 0.7, 0.6], 'val_accuracy': [0.5, 0.7, 0.8]}",
]
ANSWER = "The weights are normalised so that they sum to one, which keeps the average unbiased."


def notebook(path: Path, *cells: str, answer: str = ANSWER) -> Path:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell(c) for c in cells]
    nb.cells += [new_markdown_cell("## Why does it work?"), new_markdown_cell(answer)]
    nb.cells[-1].metadata["tags"] = ["why"]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def tiny() -> Lab:
    return load_lab("tiny", find_course(COURSE))


def fast_options(**limits: float) -> GradeOptions:
    return GradeOptions(limits=ExecutionLimits(**{"cell_timeout": 4, "total_timeout": 30, **limits}))  # type: ignore[arg-type]


@pytest.mark.slow
def test_two_workers_keep_every_result_when_one_loops_forever_and_one_exhausts_memory(
    tmp_path: Path, tiny: Lab
) -> None:
    subs = tmp_path / "class"
    for name in ("ana", "ben", "cleo", "dev"):
        notebook(subs / f"{name}.ipynb", *GOOD)
    notebook(subs / "looper.ipynb", *GOOD, "while True:\n    pass")
    notebook(subs / "hog.ipynb", *GOOD, "hog = []\nwhile True:\n    hog.append(bytearray(50 * 1024**2))")
    out = tmp_path / "out"
    outcome = run_batch([subs], tiny, out, fast_options(memory_bytes=3 * 1024**3 // 2),
                        BatchOptions(workers=2, progress=False))
    by_id = {r.submission: r for r in outcome.results}
    assert sorted(by_id) == ["ana", "ben", "cleo", "dev", "hog", "looper"]
    for name in ("ana", "ben", "cleo", "dev"):
        assert (by_id[name].status, by_id[name].score) == ("graded", 10), by_id[name].message
    looper = by_id["looper"].execution
    assert looper is not None and [c.status for c in looper.cells][-1] == "timeout"
    hog = by_id["hog"].execution
    assert hog is not None and "MemoryError" in hog.cells[-1].error
    # What each defined before its bad cell was still graded.
    assert by_id["looper"].score == 10 and by_id["hog"].score == 10
    rows = {row["submission"]: row for row in read_gradebook(out / "gradebook.csv")}
    assert set(rows) == set(by_id) and rows["ana"]["total"] == "10"
    for name in by_id:
        assert Result.read(out / name / "result.json") == by_id[name]
        gradescope = json.loads((out / name / "gradescope" / "results.json").read_text())
        assert gradescope["score"] == by_id[name].score and len(gradescope["tests"]) == 5
    index = (out / "index.html").read_text()
    assert all(f'href="{name}/report.html"' in index for name in by_id)


def _results(out: Path) -> dict[str, Path]:
    return {p.parent.name: p for p in out.glob("*/result.json")}


@pytest.mark.slow
def test_a_batch_killed_half_way_resumes_without_losing_or_regrading_anything(tmp_path: Path) -> None:
    subs = tmp_path / "class"
    names = [f"student{i}" for i in range(6)]
    for name in names:
        notebook(subs / f"{name}.ipynb", "import time\ntime.sleep(1.5)", *GOOD)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "--course", str(COURSE), "grade", "--lab", "tiny",
               "--workers", "1", "--cell-timeout", "20", "--out", str(out), str(subs)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_results(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = {name: path.stat().st_mtime_ns for name, path in _results(out).items()}
    assert 2 <= len(before) < len(names)
    time.sleep(1)  # let the killed worker and kernel go (they die with their parent)

    second = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    after = _results(out)
    assert sorted(after) == names
    # Nothing graded twice: what the killed run wrote is untouched, and the rerun says so.
    assert {name: after[name].stat().st_mtime_ns for name in before} == before
    assert f"{len(before)} submission(s) already graded" in second.stderr
    assert f"grading {len(names) - len(before)} submission(s)" in second.stderr
    assert all(Result.read(p).score == 10 for p in after.values())
    assert len(read_gradebook(out / "gradebook.csv")) == len(names)

    # A changed notebook and --force are regraded; an unchanged one is not.
    notebook(subs / "student0.ipynb", *GOOD, answer="Too short.")
    third = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert "grading 1 submission(s)" in third.stderr
    assert Result.read(out / "student0" / "result.json").score == 8
    forced = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=300, check=True)
    assert f"grading {len(names)} submission(s)" in forced.stderr
    # The workers, idle at the end, exit on their own: nothing they shared is left to clean up.
    assert "leaked" not in second.stderr + forced.stderr, forced.stderr


@pytest.mark.slow
def test_lms_zip_input_grades_and_exports_canvas_csv(tmp_path: Path, tiny: Lab) -> None:
    import zipfile

    jane = notebook(tmp_path / "nb" / "jane.ipynb", *GOOD).read_bytes()
    jane_old = notebook(tmp_path / "nb" / "jane-old.ipynb", GOOD[0]).read_bytes()
    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo("smithjane_1001_5001_lab.ipynb", (2026, 11, 1, 9, 0, 0)), jane_old)
        zf.writestr(zipfile.ZipInfo("smithjane_1001_5007_lab-1.ipynb", (2026, 11, 2, 9, 0, 0)), jane)
    out = tmp_path / "out"
    outcome = run_batch([tmp_path / "submissions.zip"], tiny, out, fast_options(),
                        BatchOptions(workers=1, progress=False))
    assert [(r.submission, r.score) for r in outcome.results] == [("smithjane", 10)]
    assert [p.name for p in outcome.superseded[0].dropped] == ["smithjane_1001_5001_lab.ipynb"]
    lines = (out / "canvas.csv").read_text().splitlines()
    assert lines[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,")
    assert lines[1].startswith("Points Possible,") and lines[1].endswith(",10")
    assert lines[2] == "smithjane,1001,,,,10"
    assert "smithjane_1001_5001_lab.ipynb" in (out / "index.html").read_text()


@pytest.mark.slow
def test_a_second_batch_on_the_same_output_folder_is_refused(tmp_path: Path, tiny: Lab) -> None:
    import fcntl

    from autograder.errors import ConfigError

    out = tmp_path / "out"
    out.mkdir()
    with (out / ".autograder.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another autograder run is writing"):
            run_batch([notebook(tmp_path / "a.ipynb", *GOOD)], tiny, out, fast_options(), BatchOptions(workers=1))


@pytest.mark.slow
def test_dask_executor_grades_a_batch_on_a_local_two_worker_cluster(tmp_path: Path, tiny: Lab) -> None:
    distributed = pytest.importorskip("distributed")

    subs = tmp_path / "class"
    for name in ("ana", "ben", "cleo"):
        notebook(subs / f"{name}.ipynb", *GOOD)
    notebook(subs / "looper.ipynb", *GOOD, "while True:\n    pass")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        outcome = run_batch([subs], tiny, tmp_path / "out", fast_options(),
                            BatchOptions(executor="dask", scheduler=cluster.scheduler_address, progress=False))
        workers = set(cluster.scheduler_info["workers"])
    assert len(workers) == 2
    assert [(r.submission, r.score) for r in outcome.results] == [
        ("ana", 10), ("ben", 10), ("cleo", 10), ("looper", 10)]
    assert outcome.results[3].execution is not None and outcome.results[3].execution.cells[-1].status == "timeout"
    assert sorted(outcome.graded) == ["ana", "ben", "cleo", "looper"]
    assert len(read_gradebook(tmp_path / "out" / "gradebook.csv")) == 4


@pytest.mark.slow
def test_gradescope_container_mode_writes_results_json(tmp_path: Path) -> None:
    from autograder.cli import main

    notebook(tmp_path / "submission" / "lab.ipynb", *GOOD)
    results = tmp_path / "results" / "results.json"
    code = main(["--course", str(COURSE), "gradescope", "--lab", "tiny", "--submission", str(tmp_path / "submission"),
                 "--results", str(results)])
    assert code == 0
    data = json.loads(results.read_text())
    assert data["score"] == 10 and {t["status"] for t in data["tests"]} == {"passed"}
    assert main(["--course", str(COURSE), "gradescope", "--lab", "tiny", "--submission", str(tmp_path / "none"),
                 "--results", str(results)]) == 2
