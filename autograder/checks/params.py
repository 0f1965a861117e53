"""``params``: a model has the expected number of parameters."""

from __future__ import annotations

from autograder.checks.context import CheckContext
from autograder.checks.registry import Outcome, register


@register("params")
def params(ctx: CheckContext, *, name: str, expected: int | None = None, reference: str | None = None) -> Outcome:
    """Total parameters of ``name``: ``expected``, or those of the reference model ``reference``."""
    if expected is None:
        if reference is None:
            return Outcome.error(f"the rubric gives no expected parameter count for `{name}`")
        expected = int(ctx.reference_model(reference).count_params())
    found = int(ctx.artifacts.keras_model(name).count_params())
    evidence = {"expected": expected, "found": found}
    if found == expected:
        return Outcome.passed(f"`{name}` has {found:,} parameters.", **evidence)
    return Outcome.failed(
        f"`{name}` has {found:,} parameters, expected {expected:,}: compare its layers with the exercise.", **evidence
    )
