"""``relation`` and ``classifier``: lab-specific truths about exported arrays, and a
student-written classifier tried on hidden data."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.check_registry import Outcome, register
from autograder.checks.accuracy import class_labels
from autograder.checks.context import CheckContext
from autograder.errors import ConfigError


@register("relation")
def relation(ctx: CheckContext, *, names: list[str], fn: str) -> Outcome:
    """The reference module's ``relations()[fn]`` holds for the exported arrays ``names``
    (e.g. every point lies on its curve; a confusion matrix equals scikit-learn's)."""
    relations: dict[str, Any] = getattr(ctx.reference_module, "relations", dict)()
    if fn not in relations:
        raise ConfigError(f"the reference of {ctx.lab.id} has no relation {fn!r}")
    arrays: dict[str, Any] = {name: ctx.artifacts.array(name) for name in names}
    try:
        ok, message = relations[fn](**arrays)
    except (ValueError, TypeError, IndexError) as exc:  # shapes the relation cannot use
        return Outcome.failed(f"{', '.join(f'`{n}`' for n in names)} cannot be checked: {exc}")
    return Outcome.passed(message) if ok else Outcome.failed(message)


@register("classifier")
def classifier(
    ctx: CheckContext,
    *,
    name: str,
    x: str,
    y: str,
    x_test: str,
    y_test: str,
    min_accuracy: float,
    init: dict[str, Any] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
) -> Outcome:
    """``name(**init).fit(x, y, **fit_kwargs)`` then ``predict(x_test)`` reaches ``min_accuracy``
    on data the student never saw, run in a separate process."""
    inputs = {"X": ctx.data_array(x), "y": ctx.data_array(y), "X_test": ctx.data_array(x_test)}
    task = {"scenario": "fit-predict", "class": name, "init": init or {}, "fit_kwargs": fit_kwargs or {}}
    result = ctx.probe(task, inputs)
    if not result.ok:
        return Outcome.failed(f"`{name}` failed when the grader trained it: {result.error}")
    truth = np.asarray(ctx.data_array(y_test))
    predicted = np.asarray(result.outputs["predictions"]).reshape(-1)
    if predicted.shape != truth.shape:
        return Outcome.failed(f"`{name}.predict` gave {predicted.size} labels for {truth.size} examples.")
    score = float(np.mean(predicted == truth)) if truth.dtype.kind in "iub" else float(
        np.mean(class_labels(predicted) == class_labels(truth)))
    evidence = {"expected": f">= {min_accuracy:.0%}", "found": f"{score:.1%}"}
    if score >= min_accuracy:
        return Outcome.passed(f"`{name}` learns new data: {score:.1%} accuracy.", **evidence)
    return Outcome.failed(f"`{name}` reaches {score:.1%} accuracy on new data, below {min_accuracy:.0%}: check "
                          "that `fit` updates the weights.", **evidence)
