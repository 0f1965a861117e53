"""``function``: a student's class behaves correctly on data the student never saw.

The class runs in a fresh process (see ``probe``) on the grader's hidden probe data;
this check only compares the numbers that come back.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext

Expectation = Literal["output-shape", "loss-decreases", "matches-reference"]


def _mse(outputs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean((targets - outputs) ** 2))


@register("function")
def function(
    ctx: CheckContext,
    *,
    name: str,
    expect: Expectation,
    x: str,
    y: str,
    init: dict[str, Any] | None = None,
    steps: int = 20,
    tolerance: float = 1e-6,
) -> Outcome:
    """Construct ``name(**init)``, run ``steps`` forward/backward steps on the grader's ``x``/``y``
    and check that the outputs have the right shape, that the loss fell, or that the
    outputs match the reference class started from the same weights."""
    inputs = {"X": ctx.data_array(x), "Y": ctx.data_array(y)}
    task = {"scenario": "train-steps", "class": name, "init": init or {}, "steps": steps, "seed": 0}
    result = ctx.probe(task, inputs)
    if not result.ok:
        return Outcome.failed(f"`{name}` failed when the grader used it: {result.error}")
    before, after = result.outputs["before"], result.outputs["after"]
    targets = inputs["Y"]
    if expect == "output-shape":
        want = [targets.shape[0], targets.shape[1]]
        found = list(before.shape)
        if found == want:
            return Outcome.passed(f"`{name}.forward` returns one row of {want[1]} outputs per example.",
                                  expected=want, found=found)
        return Outcome.failed(f"`{name}.forward` returned shape {tuple(found)}, expected {tuple(want)}.",
                              expected=want, found=found)
    if expect == "loss-decreases":
        loss0, loss1 = _mse(before, targets), _mse(after, targets)
        evidence = {"expected": "loss after < loss before", "found": f"{loss0:.4f} -> {loss1:.4f}"}
        if np.isfinite(loss1) and loss1 < loss0:
            return Outcome.passed(f"{steps} training steps of `{name}` lowered the loss on new data.", **evidence)
        return Outcome.failed(f"{steps} training steps of `{name}` did not lower the loss: check `backward`.",
                              **evidence)
    # matches-reference: the reference class, from the student's initial weights, same steps.
    reference = ctx.reference_class(name).__new__(ctx.reference_class(name))
    initial = {k[len("initial__"):]: v for k, v in result.outputs.items() if k.startswith("initial__")}
    for key, value in initial.items():
        setattr(reference, key, np.array(value, dtype=float))
    reference.learning_rate = float((init or {}).get("learning_rate", 0.5))
    try:
        for _ in range(steps):
            reference.forward(inputs["X"])
            reference.backward(inputs["X"], targets)
        expected = reference.forward(inputs["X"])
    except (AttributeError, ValueError) as exc:
        return Outcome.failed(
            f"`{name}` keeps its weights under other names than the template's, so it cannot be compared: {exc}"
        )
    gap = float(np.max(np.abs(expected - after))) if expected.shape == after.shape else float("inf")
    evidence = {"expected": "outputs equal to the reference's after the same steps",
                "found": f"max difference {gap:.2e}"}
    if gap <= tolerance:
        return Outcome.passed(f"`{name}`'s forward and backward passes match the reference's updates.", **evidence)
    return Outcome.failed(
        f"After {steps} steps `{name}` gives different outputs from the reference started from the same weights "
        f"(max difference {gap:.2e}): check that `backward` updates every weight and bias.",
        **evidence,
    )
