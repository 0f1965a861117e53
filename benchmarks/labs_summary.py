"""Per lab and profile: the reference metrics, the thresholds the rubric derives from them,
and the wall time of grading the lab's solution.

    .venv/bin/python benchmarks/labs_summary.py [--profile smoke] [--labs LAB ...]

Reference metrics come from the cache or the course's calibration (trained first if
missing; that time is printed apart and not counted in the grading time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder import GradeOptions, grade
from autograder.authoring.calibration import thresholds
from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from autograder.course.reference import data_digest, reference_metrics
from tests.grading import as_handed_in


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--labs", nargs="*", default=None)
    args = parser.parse_args()
    course = find_course()
    for lab_id in args.labs or course.lab_ids():
        lab = load_lab(lab_id, course)
        started = time.perf_counter()
        data = data_digest(lab.reference_path, args.profile, lab.spec.datasets)
        metrics = reference_metrics(lab.reference_path, lab.id, args.profile, data)
        trained = time.perf_counter() - started
        print(f"\n## {lab.id} ({args.profile}); reference ready in {trained:.1f}s, seeds {metrics.seeds}")
        for name in sorted(metrics.median):
            print(f"  {name:24} median {metrics.median[name]:.4f}  range [{metrics.low[name]:.4f}, "
                  f"{metrics.high[name]:.4f}]")
        for check, bar in thresholds(lab, metrics):
            print(f"  threshold {check:30} {bar}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "solution.ipynb"
            nbformat.write(as_handed_in(lab.solution), path)
            started = time.perf_counter()
            result = grade(path, lab, GradeOptions(profile=args.profile))
            wall = time.perf_counter() - started
        print(f"  solution: {result.score:g}/{result.max_score:g} in {wall:.1f}s "
              f"(execute {result.timings.get('execute', 0):.1f}s, check {result.timings.get('check', 0):.1f}s)")


if __name__ == "__main__":
    main()
