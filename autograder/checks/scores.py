"""A model's score on the grader's test data, measured the way the ``accuracy`` and ``rmse``
checks measure it, from the same outputs: the metrics a solution notebook sets as its lab's
reference, and what a written answer's claim about a model's results is compared with."""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from autograder.checks.accuracy import class_predictions
from autograder.checks.context import CheckContext
from autograder.checks.outputs import root_mean_square_error, value_predictions
from autograder.errors import ArtifactError

Measure = Literal["accuracy", "rmse"]
MEASURES: tuple[Measure, ...] = get_args(Measure)

__all__ = ["MEASURES", "Measure", "model_score"]


def model_score(ctx: CheckContext, measure: Measure, name: str, x: str, y: str, variant: str | None = None) -> float:
    """``name``'s accuracy (or RMSE) on the grader's ``x``/``y``; an ArtifactError where the model
    cannot be run or does not give one prediction per example (its check says so to the student)."""
    predictions = class_predictions if measure == "accuracy" else value_predictions
    predicted, truth, _ = predictions(ctx, name, x, y, variant)
    if predicted.shape != truth.shape:
        raise ArtifactError(f"`{name}` gave {predicted.size} predictions for {truth.size} test examples")
    if measure == "accuracy":
        return float(np.mean(predicted == truth))
    return root_mean_square_error(predicted, truth)
