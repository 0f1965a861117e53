"""Where a batch spends its CPU: the students' kernels, or the grader's own workers.

    .venv/bin/python benchmarks/batch_cpu.py [--lab keras-digits] [--count 4] [--workers 2]

With one worker, the grader's own work (loading Keras and the embedding model, checks,
reports) runs on the core the kernel leaves idle; with as many workers as cores there is
no idle core, and it comes out of the kernels' time. This prints the CPU seconds of each
kind of process the batch started (sampled from /proc), beside the batch's wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from benchmarks.batch import make_batch, timed_batch

KINDS = {"ipykernel": "kernels", "probe_main": "probes", "multiprocessing": "grader workers"}


def _cpu_seconds(pid: str) -> tuple[str, float] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    kind = next((name for key, name in KINDS.items() if key in command), "")
    return kind, (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """The CPU each process started after this one used, by kind, sampled every 0.3 s."""

    def __init__(self) -> None:
        self.before = {pid for pid in os.listdir("/proc") if pid.isdigit()}
        self.seen: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            for pid in os.listdir("/proc"):
                if pid.isdigit() and pid not in self.before and (found := _cpu_seconds(pid)) and found[0]:
                    self.seen[pid] = found

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def by_kind(self) -> dict[str, list[float]]:
        kinds: dict[str, list[float]] = defaultdict(list)
        for kind, seconds in self.seen.values():
            kinds[kind].append(seconds)
        return kinds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lab", default="keras-digits")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lab = load_lab(args.lab, find_course())
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_batch(lab, args.count, Path(tmp))
        with CpuSampler() as sampler:
            started = os.times()
            wall, results = timed_batch(paths, lab, args.workers, GradeOptions(profile="smoke"))
            ended = os.times()
    parent = ended.user - started.user + ended.system - started.system
    print(f"{args.lab}, {args.count} submissions, {args.workers} workers: wall {wall:.1f}s "
          f"({wall * (os.cpu_count() or 1):.0f} core-seconds on {os.cpu_count()} cores)")
    print(f"  {'batch process':15} cpu {parent:7.1f}s")
    for kind, seconds in sorted(sampler.by_kind().items(), key=lambda kv: -sum(kv[1])):
        print(f"  {kind:15} cpu {sum(seconds):7.1f}s over {len(seconds)} processes "
              f"({sum(seconds) / len(results):.1f}s per submission)")
    checks = sorted(r.timings["check"] for r in results)
    print(f"  checks and scoring per submission: median {checks[len(checks) // 2]:.2f}s")


if __name__ == "__main__":
    main()
