"""``output-shape`` and ``rmse``: run a student's model (outside the kernel) and look at its outputs."""

from __future__ import annotations

import numpy as np

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext, Prediction
from autograder.course.reference import ReferenceMetrics


@register("output-shape")
def output_shape(
    ctx: CheckContext, *, name: str, input: list[int], expected: list[int | None], variant: str | None = None
) -> Outcome:
    """``name`` maps zeros of shape ``input`` (batch first) to outputs of shape ``expected``."""
    dtype = np.int64 if ctx.lab.kind(name) != "keras-model" and ctx.lab.name_spec(name).dtype == "int64" else np.float32
    run = ctx.run_model(name, np.zeros(input, dtype=dtype), variant)
    found = list(np.asarray(run.outputs).shape)
    fits = len(found) == len(expected) and all(e is None or e == f for e, f in zip(expected, found, strict=False))
    what = f"`{name}`" + (f" ({variant})" if variant else "")
    evidence = {"input": input, "expected": expected, "found": found, **({"note": run.note} if run.note else {})}
    if fits:
        return Outcome.passed(f"{what} maps inputs of shape {tuple(input)} to {tuple(found)}.", **evidence)
    return Outcome.failed(
        f"{what} maps inputs of shape {tuple(input)} to {tuple(found)}, expected {tuple(expected)}.", **evidence
    )


def value_predictions(ctx: CheckContext, name: str, x: str, y: str,
                      variant: str | None = None) -> tuple[np.ndarray, np.ndarray, Prediction]:
    """The values ``name`` predicts for the grader's ``x`` and the true values of ``y``, both flat, and the run."""
    truth = np.asarray(ctx.data_array(y), dtype=float).reshape(-1)
    run = ctx.outputs_on(name, x, variant)
    return np.asarray(run.outputs, dtype=float).reshape(-1), truth, run


def root_mean_square_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def rmse_limit(metrics: ReferenceMetrics, metric: str, margin: float = 0.25, ceiling: float | None = None) -> float:
    """The largest RMSE allowed: the reference's worst seed plus ``margin`` (relative), at most ``ceiling``."""
    metrics.get(metric)  # an unknown metric is the course's error, with the metrics it has
    limit = metrics.high[metric] * (1 + margin)
    return limit if ceiling is None else min(limit, ceiling)


@register("rmse")
def rmse(
    ctx: CheckContext,
    *,
    name: str,
    x: str,
    y: str,
    metric: str,
    margin: float = 0.25,
    ceiling: float | None = None,
    variant: str | None = None,
) -> Outcome:
    """Root-mean-square error of ``name`` on the grader's ``x``/``y`` must not exceed the
    reference's worst seed for ``metric`` by more than ``margin`` (relative), nor ``ceiling``."""
    predicted, truth, run = value_predictions(ctx, name, x, y, variant)
    what = f"`{name}`" + (f" ({variant})" if variant else "")
    fed = {"note": run.note} if run.note else {}
    if predicted.shape != truth.shape:
        return Outcome.failed(f"{what} gave {predicted.size} predictions for {truth.size} test windows.",
                              expected=list(truth.shape), found=list(predicted.shape), **fed)
    error = root_mean_square_error(predicted, truth)
    reference = ctx.metrics.get(metric)
    limit = rmse_limit(ctx.metrics, metric, margin, ceiling)
    evidence = {"expected": f"<= {limit:.4f} (reference {reference:.4f})", "found": f"{error:.4f}", **fed}
    if np.isfinite(error) and error <= limit:
        return Outcome.passed(f"{what} reaches a test RMSE of {error:.4f} (at most {limit:.4f} allowed).", **evidence)
    return Outcome.failed(f"{what} has a test RMSE of {error:.4f}, above the {limit:.4f} allowed: train it longer "
                          "or check its inputs.", **evidence)
