"""``history``: a training history shows the expected epochs and validation metrics."""

from __future__ import annotations

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext


@register("history")
def history(
    ctx: CheckContext,
    *,
    name: str,
    min_epochs: int = 1,
    max_epochs: int | None = None,
    require: list[str] | None = None,
) -> Outcome:
    """``name`` recorded at least ``min_epochs`` epochs and every metric in ``require``
    (default ``val_loss`` and ``val_accuracy``: trained with validation data)."""
    required = require if require is not None else ["val_loss", "val_accuracy"]
    data = ctx.artifacts.history(name)
    missing = [m for m in required if m not in data.metrics]
    evidence = {
        "expected": {"metrics": required, "epochs": f">= {min_epochs}" + (f", <= {max_epochs}" if max_epochs else "")},
        "found": {"metrics": sorted(data.metrics), "epochs": data.epochs},
    }
    if missing:
        hint = " Train with validation data (validation_split or validation_data)." if any(
            m.startswith("val_") for m in missing
        ) else ""
        return Outcome.failed(f"`{name}` has no {', '.join(missing)}.{hint}", **evidence)
    if data.epochs < min_epochs or (max_epochs is not None and data.epochs > max_epochs):
        return Outcome.failed(f"`{name}` recorded {data.epochs} epochs; see the exercise for how many.", **evidence)
    return Outcome.passed(f"`{name}` recorded {data.epochs} epochs with {', '.join(required)}.", **evidence)
