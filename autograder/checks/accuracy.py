"""``accuracy``: the grader measures a model's accuracy on its own copy of the test data."""

from __future__ import annotations

import numpy as np

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext, Prediction
from autograder.course.reference import ReferenceMetrics


def class_labels(values: np.ndarray) -> np.ndarray:
    """Class labels from probabilities, one-hot rows, a single sigmoid column, or labels."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] > 1:
        return np.asarray(np.argmax(values, axis=1))
    if values.ndim == 2:
        values = values[:, 0]
    probabilities = np.issubdtype(values.dtype, np.floating) and values.size and values.min() >= 0
    if probabilities and values.max() <= 1 and not np.all(np.equal(np.mod(values, 1), 0)):
        return (values >= 0.5).astype(int)
    return values.astype(int)


def class_predictions(ctx: CheckContext, name: str, x: str, y: str,
                      variant: str | None = None) -> tuple[np.ndarray, np.ndarray, Prediction]:
    """The classes ``name`` predicts for the grader's ``x``, the true classes of ``y``, and the run."""
    truth = class_labels(ctx.data_array(y))
    run = ctx.outputs_on(name, x, variant)
    return class_labels(run.outputs), truth, run


def accuracy_threshold(metrics: ReferenceMetrics, metric: str, margin: float = 0.03, floor: float = 0.0) -> float:
    """The accuracy a student's model must reach: the reference's worst seed minus ``margin``, at least ``floor``."""
    metrics.get(metric)  # an unknown metric is the course's error, with the metrics it has
    return max(floor, metrics.low[metric] - margin)


@register("accuracy")
def accuracy(
    ctx: CheckContext,
    *,
    name: str,
    x: str,
    y: str,
    metric: str,
    margin: float = 0.03,
    floor: float = 0.0,
    variant: str | None = None,
) -> Outcome:
    """Accuracy of ``name`` on the grader's ``x``/``y`` must reach the reference's worst seed for
    ``metric`` minus ``margin``, and never less than ``floor``."""
    predicted, truth, run = class_predictions(ctx, name, x, y, variant)
    fed = {"note": run.note} if run.note else {}
    also = f" {run.note}" if run.note else ""
    if predicted.shape != truth.shape:
        return Outcome.failed(
            f"`{name}` gave {predicted.shape[0] if predicted.ndim else 0} predictions for {truth.shape[0]} test "
            f"examples; it should give one class per example.{also}",
            expected=list(truth.shape),
            found=list(predicted.shape),
            **fed,
        )
    score = float(np.mean(predicted == truth))
    reference = ctx.metrics.get(metric)
    threshold = accuracy_threshold(ctx.metrics, metric, margin, floor)
    evidence = {
        "expected": f">= {threshold:.2%} (reference {reference:.2%}, its worst seed - {margin:.0%})",
        "found": f"{score:.2%}",
        **fed,
    }
    if score >= threshold:
        return Outcome.passed(f"`{name}` reaches {score:.2%} test accuracy (needed {threshold:.2%}).{also}",
                              **evidence)
    return Outcome.failed(
        f"`{name}` reaches {score:.2%} test accuracy, below the {threshold:.2%} needed: check its training "
        f"(epochs, optimiser, scaled inputs).{also}",
        **evidence,
    )
