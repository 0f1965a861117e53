"""``params``: a model has the expected number of (trainable) parameters."""

from __future__ import annotations

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext


@register("params")
def params(
    ctx: CheckContext,
    *,
    name: str,
    expected: int | None = None,
    reference: str | None = None,
    variant: str | None = None,
    trainable: bool = False,
) -> Outcome:
    """Parameters of ``name`` (a Keras or PyTorch model; ``variant`` picks one construction of a
    class or one model of a dict): ``expected``, or those of the reference model ``reference``.
    With ``trainable``, only parameters that training updates (frozen layers excluded)."""
    if expected is None:
        if reference is None:
            return Outcome.error(f"the rubric gives no expected parameter count for `{name}`")
        expected = ctx.reference_param_count(reference, trainable=trainable)
    found = ctx.param_count(name, variant, trainable=trainable)
    what = f"`{name}`" + (f" ({variant})" if variant else "")
    noun = "trainable parameters" if trainable else "parameters"
    evidence = {"expected": expected, "found": found}
    if found == expected:
        return Outcome.passed(f"{what} has {found:,} {noun}.", **evidence)
    hint = "check which layers are frozen" if trainable else "compare its layers with the exercise"
    return Outcome.failed(f"{what} has {found:,} {noun}, expected {expected:,}: {hint}.", **evidence)
