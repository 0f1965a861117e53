"""Grading one notebook against executing it bare with nbclient, side by side.

    .venv/bin/python benchmarks/grade_vs_bare.py [--runs 3] [--lab keras-digits]

Runs each measurement ``--runs`` times in this one process, alternating, and prints
the median wall times and their ratio. Bare execution is what any grader must pay at
least: a kernel via nbclient running every cell of the solution. Grading adds the
sandbox, the export of graded names, the checks and scoring. Reference metrics come
from the cache (trained beforehand, not timed). The first grading in a process also
pays for importing TensorFlow in the grader (~3-4 s); it is shown apart.
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
from autograder.course import find_course
from autograder.labs import load_lab


def bare(path: Path, *, agg: bool = False, extra_env: dict[str, str] | None = None) -> float:
    """nbclient as anyone would run it; ``agg``: with figures not rendered, as in our sandbox;
    ``extra_env``: more variables for the kernel."""
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, **(extra_env or {}), **({"MPLBACKEND": "Agg"} if agg else {})}
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": workdir}})
        client.km = client.create_kernel_manager()
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        return time.perf_counter() - started


def graded(path: Path, lab_id: str) -> tuple[float, dict[str, float]]:
    lab = load_lab(lab_id, find_course())
    started = time.perf_counter()
    result = grade(path, lab, GradeOptions())
    elapsed = time.perf_counter() - started
    assert result.status == "graded" and result.score >= 95, (result.status, result.score)
    return elapsed, result.timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lab", default="keras-digits")
    args = parser.parse_args()
    lab = load_lab(args.lab, find_course())
    # Warm-up, not timed: trains the reference once if it is not cached yet, and
    # imports TensorFlow into this (grading) process.
    warm, _ = graded(lab.solution, args.lab)
    print(f"warm-up grading (reference cache + TensorFlow import in the grader): {warm:.1f}s")
    bare_times, agg_times, grade_times, stages = [], [], [], []
    for run in range(1, args.runs + 1):
        bare_times.append(bare(lab.solution))
        agg_times.append(bare(lab.solution, agg=True))
        seconds, timings = graded(lab.solution, args.lab)
        grade_times.append(seconds)
        stages.append(timings)
        print(f"run {run}: bare {bare_times[-1]:.2f}s  bare+Agg {agg_times[-1]:.2f}s  graded {seconds:.2f}s  "
              f"stages {timings}")
    b, a, g = statistics.median(bare_times), statistics.median(agg_times), statistics.median(grade_times)
    execute = statistics.median(s["execute"] for s in stages)
    check = statistics.median(s["check"] for s in stages)
    print(f"\nmedian of {args.runs}: bare nbclient {b:.2f}s, graded {g:.2f}s, ratio {g / b:.3f} "
          f"({g - b:+.2f}s, {100 * (g - b) / b:+.1f}%)")
    print(f"against bare nbclient with figures off (MPLBACKEND=Agg, as the sandbox runs): {a:.2f}s, "
          f"ratio {g / a:.3f} ({g - a:+.2f}s, {100 * (g - a) / a:+.1f}%)")
    print(f"graded stages (median): execute+export {execute:.2f}s, check {check:.2f}s")


if __name__ == "__main__":
    main()
