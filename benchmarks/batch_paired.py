"""What 2 workers gain over 1, beside what the machine itself gains running two notebooks at once.

    .venv/bin/python benchmarks/batch_paired.py [--lab keras-digits] [--count 6]

The same ``--count`` notebooks are run eight times, in the order bare 1 at a time, ours
with 1 worker, bare 2 at a time, ours with 2 workers, then the same backwards, so that a
drift of the machine's speed during the run falls on all four alike. Printed: each run's
seconds, the means, and the ratios: bare 2 vs 1 (the machine's own limit for this lab,
with no grader at all), ours 2 vs 1 (the issue's target), and ours over bare at 1 and at
2 at a time. ``benchmarks/batch.py`` runs each kind once, minutes apart, which this
machine's drift can skew; use this one to compare the two ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from autograder.grading.pipeline import grade
from benchmarks.batch import bare_in_parallel, make_batch, timed_batch
from benchmarks.grade_vs_bare import bare

ORDER = ("bare1", "ours1", "bare2", "ours2", "ours2", "bare2", "ours1", "bare1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="keras-digits")
    parser.add_argument("--count", type=int, default=6, help="notebooks (even, so 2 workers share them evenly)")
    args = parser.parse_args()
    lab = load_lab(args.lab, find_course())
    options = GradeOptions(profile="smoke")
    grade(lab.solution, lab, options)  # warm the reference cache: not part of any timing
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_batch(lab, args.count, Path(tmp))
        for kind in ORDER:
            if kind == "bare1":
                seconds = sum(bare(path, agg=True) for path in paths)
            elif kind == "bare2":
                seconds = bare_in_parallel(paths, 2)
            else:
                seconds = timed_batch(paths, lab, int(kind[-1]), options)[0]
            times.setdefault(kind, []).append(seconds)
            print(f"{kind}: {seconds:.1f}s", flush=True)
    mean = {kind: statistics.mean(values) for kind, values in times.items()}
    print(f"\n{args.lab}, {args.count} notebooks, means: " + ", ".join(f"{k} {v:.1f}s" for k, v in mean.items()))
    print(f"  bare 2 at a time vs 1: {mean['bare1'] / mean['bare2']:.2f}x (the machine's own limit)")
    print(f"  ours 2 workers vs 1: {mean['ours1'] / mean['ours2']:.2f}x (target >= 1.8x on 2 cores)")
    print(f"  ours / bare: {mean['ours1'] / mean['bare1']:.3f} with 1 at a time, "
          f"{mean['ours2'] / mean['bare2']:.3f} with 2 at a time")


if __name__ == "__main__":
    main()
