"""``shape``: an exported array has the expected shape."""

from __future__ import annotations

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext


@register("shape")
def shape(ctx: CheckContext, *, name: str, shape: list[int | None] | None = None, like: str | None = None) -> Outcome:
    """``shape`` gives the dimensions (None: any); ``like`` names the grader's array to match,
    so expectations follow the data profile actually staged."""
    if like is not None:
        expected: list[int | None] = list(ctx.data_array(like).shape)
    elif shape is not None:
        expected = list(shape)
    else:
        return Outcome.error(f"the rubric gives no expected shape for `{name}`")
    found = list(ctx.artifacts.array(name).shape)
    fits = len(found) == len(expected) and all(e is None or e == f for e, f in zip(expected, found, strict=False))
    shown = tuple("any" if e is None else e for e in expected)
    if fits:
        return Outcome.passed(f"`{name}` has the shape {tuple(found)}.", expected=shown, found=tuple(found))
    return Outcome.failed(
        f"`{name}` has the shape {tuple(found)}, expected {shown}.", expected=shown, found=tuple(found)
    )
