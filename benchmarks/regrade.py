"""A rubric edit applied to a graded class: full grading against regrading from the store.

    .venv/bin/python benchmarks/regrade.py [--lab keras-digits] [--count 20] [--workers 2]

Grades ``--count`` submissions of the lab (smoke profile) with ``run_batch``, then makes
the MLP accuracy threshold stricter and a part's weight smaller in a copy of the course,
and times ``regrade`` (checks, scoring, reports, gradebook; no kernel) against the full
grading, which is what a grader without stored executions runs again for a rubric edit.
(That the regrade's results equal a full grading under the new rubric is a test:
tests/test_regrade.py.)
Figures go to ``benchmarks/results/regrade-<lab>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.batch.regrade import regrade
from autograder.batch.run import BatchOptions, run_batch
from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from autograder.grading.pipeline import grade
from benchmarks.batch import make_batch

HERE = Path(__file__).resolve().parent
EDITS = {"margin: 0.03, floor: 0.9}": "margin: 0.0, floor: 0.97}",
         "{id: mlp-params, check: params, points: 4,": "{id: mlp-params, check: params, points: 2,",
         "total: 100": "total: 98"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lab", default="keras-digits")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    course = find_course()
    options = GradeOptions(profile="smoke")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        mine = tmp / "course"
        shutil.copytree(course.root / "assignments" / args.lab, mine / "assignments" / args.lab)
        shutil.copytree(course.rubrics, mine / "rubrics")
        shutil.copytree(course.reference, mine / "reference")
        lab = load_lab(args.lab, find_course(mine))
        grade(lab.solution, lab, options)  # warm the reference cache: not part of any timing
        (tmp / "class").mkdir()
        paths = make_batch(lab, args.count, tmp / "class")
        batch = BatchOptions(workers=args.workers, progress=False)

        started = time.perf_counter()
        run_batch(paths, lab, tmp / "out", options, batch)
        full = time.perf_counter() - started
        print(f"full grading, {args.count} submissions, {args.workers} worker(s): {full:.1f}s", flush=True)

        rubric = mine / "rubrics" / f"{args.lab}.yaml"
        text = rubric.read_text()
        for old, new in EDITS.items():
            text = text.replace(old, new)
        rubric.write_text(text)
        new_lab = load_lab(args.lab, find_course(mine))

        started = time.perf_counter()
        preview = regrade(new_lab, tmp / "out", dry_run=True)
        dry = time.perf_counter() - started
        started = time.perf_counter()
        outcome = regrade(new_lab, tmp / "out")
        seconds = time.perf_counter() - started
        assert not outcome.executed and len(outcome.results) == args.count
        moved = sum(c.delta != 0 for c in preview.changes)
        print(f"rubric diff (dry run): {dry:.1f}s; regrade: {seconds:.1f}s "
              f"({seconds / args.count:.2f}s a submission); {moved} score(s) moved")
    ratio = seconds / full
    print(f"\nregrade / full grading: {100 * ratio:.1f}% (target < 5%)")
    results = HERE / "results" / f"regrade-{args.lab}.json"
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "lab": args.lab, "count": args.count,
        "workers": args.workers,
        "figures": {"full_s": round(full, 2), "regrade_s": round(seconds, 2),
                    "dry_run_s": round(dry, 2), "regrade_percent_of_full": round(100 * ratio, 2)},
    }, indent=2) + "\n")
    print(f"figures written to {results}")


if __name__ == "__main__":
    main()
