"""``autograder lab calibrate``: train a lab's reference now, show each metric's spread over
the seeds and the thresholds the rubric derives from them, before any student is graded,
and (with ``--write``) record the runs as the course's calibration (see ``reference``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from autograder.checks.accuracy import accuracy_threshold
from autograder.checks.outputs import rmse_limit
from autograder.course.labs import Lab
from autograder.course.reference import (
    ReferenceMetrics,
    ReferenceRuns,
    reference_key,
    train_reference,
)


@dataclass(frozen=True)
class Calibration:
    lab: Lab
    profile: str
    runs: ReferenceRuns
    seconds: float

    @property
    def metrics(self) -> ReferenceMetrics:
        return self.runs.metrics(self.seconds)


def calibrate(lab: Lab, profile: str) -> Calibration:
    """Train the lab's reference for ``profile`` once per seed, ignoring every cache."""
    path = lab.reference_path
    _, key = reference_key(path, profile, lab.spec.datasets)
    started = time.monotonic()
    runs = train_reference(path, lab.id, profile, key)
    return Calibration(lab, profile, runs, round(time.monotonic() - started, 1))


def thresholds(lab: Lab, metrics: ReferenceMetrics) -> list[tuple[str, str]]:
    """(check id, its bar) for each rubric check whose bar derives from a reference metric."""
    bars = []
    for check in lab.rubric.checks:
        args = check.args.model_dump()
        if check.spec.check == "accuracy":
            limit = accuracy_threshold(metrics, args["metric"], args["margin"], args["floor"])
            bars.append((check.spec.id, f"accuracy >= {limit:.4f}"))
        elif check.spec.check == "rmse":
            limit = rmse_limit(metrics, args["metric"], args["margin"], args["ceiling"])
            bars.append((check.spec.id, f"rmse <= {limit:.4f}"))
    return bars


def render_calibration(calibration: Calibration) -> str:
    runs, metrics = calibration.runs, calibration.metrics
    lines = [f"{calibration.lab.id} ({calibration.profile}): reference trained in {calibration.seconds:.1f}s, "
             f"seeds {', '.join(map(str, runs.seeds))}; recipe key {runs.key}"]
    if not metrics.median:
        lines.append("  its train() returns no metrics: no bar of this lab derives from the reference")
    width = max((len(name) for name in metrics.median), default=0)
    for name in sorted(metrics.median):
        per_seed = " ".join(f"{run[name]:.4f}" for run in runs.runs)
        lines.append(f"  {name:{width}}  median {metrics.median[name]:.4f}  spread "
                     f"{metrics.high[name] - metrics.low[name]:.4f}  [{per_seed}]")
    bars = thresholds(calibration.lab, metrics)
    if bars:
        lines.append("thresholds the rubric derives from them:")
        width = max(len(check) for check, _ in bars)
        lines.extend(f"  {check:{width}}  {bar}" for check, bar in bars)
    return "\n".join(lines)
