"""``range``: every value of an exported array lies within bounds (and is finite)."""

from __future__ import annotations

import numpy as np

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext


@register("range")
def value_range(ctx: CheckContext, *, name: str, min: float, max: float) -> Outcome:
    """All values of ``name`` within [min, max]; NaN or infinity fails."""
    array = ctx.artifacts.array(name)
    if array.size == 0:
        return Outcome.failed(f"`{name}` is empty.", expected=f"values in [{min:g}, {max:g}]", found="no values")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        return Outcome.failed(f"`{name}` does not hold numbers ({array.dtype}).")
    values = array.astype(float)
    if not np.all(np.isfinite(values)):
        return Outcome.failed(f"`{name}` contains NaN or infinite values.", found="non-finite values")
    low, high = float(values.min()), float(values.max())
    evidence = {"expected": f"[{min:g}, {max:g}]", "found": f"[{low:.4g}, {high:.4g}]"}
    if low >= min - 1e-9 and high <= max + 1e-9:
        return Outcome.passed(f"`{name}` lies in [{min:g}, {max:g}].", **evidence)
    return Outcome.failed(
        f"`{name}` ranges over [{low:.4g}, {high:.4g}], expected [{min:g}, {max:g}]: was it scaled?", **evidence
    )
