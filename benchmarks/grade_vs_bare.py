"""Grading each lab's solution against executing it bare with nbclient, side by side.

    .venv/bin/python benchmarks/grade_vs_bare.py [--runs 3] [--lab LAB ...] [--profile smoke]

For every lab (default: all of the course's), runs each measurement ``--runs`` times in
this one process, alternating, and prints the median wall times and their ratio, then a
table of all labs: execute, check and total of the grading, check/execute and
graded/bare. Bare execution is what any grader must pay at
least: a kernel via nbclient running every cell of the solution. Grading adds the
sandbox, the export of graded names, the checks and scoring. Reference metrics come
from the cache (trained beforehand, not timed). The lab is loaded once, as a batch worker
loads it, so the first grading (shown apart) also pays for what a process derives once:
importing TensorFlow in the grader (~3-4 s), the other labs' questions, the reference data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder import GradeOptions, grade
from autograder.course import datasets
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab


def bare(path: Path, *, datasets_of: Lab, profile: str, agg: bool = False) -> float:
    """nbclient as anyone would run it, with the lab's data sets where Keras looks for them
    (staged as the sandbox stages them, since nothing downloads here); ``agg``: with figures
    not rendered, as in our sandbox."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as workdir:
        datasets.stage(datasets_of.spec.datasets, profile, Path(workdir) / ".keras")
        env = {**os.environ, "KERAS_HOME": str(Path(workdir) / ".keras"), **({"MPLBACKEND": "Agg"} if agg else {})}
        started = time.perf_counter()
        client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": workdir}})
        client.km = client.create_kernel_manager()
        with client.setup_kernel(env=env):
            if "mnist" in datasets_of.spec.datasets:
                # As the sandbox's preamble does: Keras reads the staged file instead of
                # checking it against the original's hash and downloading that.
                client.execute_cell(nbformat.v4.new_code_cell(datasets.KERNEL_LOADER), 0)
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        return time.perf_counter() - started


def graded(path: Path, lab: Lab, profile: str) -> tuple[float, dict[str, float]]:
    """One grading with ``lab`` loaded once, as a batch worker grades a class: what a process
    derives from the course once (the other labs' questions, the reference) is in the warm-up."""
    started = time.perf_counter()
    result = grade(path, lab, GradeOptions(profile=profile))
    elapsed = time.perf_counter() - started
    assert result.status == "graded" and result.score >= 95, (result.status, result.score)
    return elapsed, result.timings


def measure(lab_id: str, runs: int, profile: str) -> dict[str, float]:
    lab = load_lab(lab_id, find_course())
    # Warm-up, not timed: trains the reference once if it is not cached yet, and
    # imports the frameworks into this (grading) process.
    warm, _ = graded(lab.solution, lab, profile)
    print(f"{lab_id}: warm-up grading (reference cache + framework imports in the grader): {warm:.1f}s")
    bare_times, agg_times, grade_times, stages = [], [], [], []
    for run in range(1, runs + 1):
        bare_times.append(bare(lab.solution, datasets_of=lab, profile=profile))
        agg_times.append(bare(lab.solution, datasets_of=lab, profile=profile, agg=True))
        seconds, timings = graded(lab.solution, lab, profile)
        grade_times.append(seconds)
        stages.append(timings)
        print(f"  run {run}: bare {bare_times[-1]:.2f}s  bare+Agg {agg_times[-1]:.2f}s  graded {seconds:.2f}s  "
              f"stages {timings}")
    b, a, g = statistics.median(bare_times), statistics.median(agg_times), statistics.median(grade_times)
    execute = statistics.median(s["execute"] for s in stages)
    check = statistics.median(s["check"] for s in stages)
    print(f"  median of {runs}: bare nbclient {b:.2f}s, graded {g:.2f}s, ratio {g / b:.3f} "
          f"({g - b:+.2f}s, {100 * (g - b) / b:+.1f}%); with figures off (MPLBACKEND=Agg, as the sandbox "
          f"runs) {a:.2f}s, ratio {g / a:.3f}; stages: execute+export {execute:.2f}s, check {check:.2f}s")
    return {"bare": b, "agg": a, "graded": g, "execute": execute, "check": check}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lab", action="append", help="a lab to measure (repeatable); default: every lab")
    parser.add_argument("--profile", default="smoke", help="data profile (default smoke: full MNIST is not offline)")
    args = parser.parse_args()
    labs = args.lab or find_course().lab_ids()
    figures = {lab: measure(lab, args.runs, args.profile) for lab in labs}
    print(f"\n{'lab':30} {'bare':>7} {'Agg':>7} {'graded':>7} {'execute':>8} {'check':>7} "
          f"{'check/exec':>10} {'graded/bare':>11} {'graded/Agg':>10}")
    for lab, f in figures.items():
        print(f"{lab:30} {f['bare']:7.1f} {f['agg']:7.1f} {f['graded']:7.1f} {f['execute']:8.1f} {f['check']:7.1f} "
              f"{f['check'] / f['execute']:10.3f} {f['graded'] / f['bare']:11.3f} {f['graded'] / f['agg']:10.3f}")


if __name__ == "__main__":
    main()
