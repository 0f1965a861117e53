"""``architecture``: a Keras model's layers against the reference's, layer by layer."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from autograder.checks.context import CheckContext
from autograder.checks.registry import Outcome, register


def _pair(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


def describe_layer(layer: Any) -> dict[str, Any]:
    """A layer's type and hyper-parameters in a form a student recognises."""
    config = layer.get_config()
    kind = type(layer).__name__
    details: list[str] = []
    for key in ("units", "filters"):
        if key in config:
            details.append(str(config[key]))
    if "kernel_size" in config:
        details.append(_pair(config["kernel_size"]))
    if "pool_size" in config:
        details.append(_pair(config["pool_size"]))
    if "strides" in config and _pair(config["strides"]) not in ("1x1", "1"):
        details.append(f"stride {_pair(config['strides'])}")
    if "padding" in config and kind != "Dense":
        details.append(str(config["padding"]))
    if "rate" in config:
        details.append(f"{config['rate']:g}")
    activation = config.get("activation")
    if activation not in (None, "linear"):
        details.append(str(activation))
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        shape = ()
    return {
        "layer": f"{kind}({', '.join(details)})" if details else kind,
        "output": str(tuple("None" if d is None else d for d in shape)).replace("'", ""),
        "params": int(layer.count_params()),
    }


def _layers(model: Any) -> list[dict[str, Any]]:
    return [describe_layer(layer) for layer in model.layers if type(layer).__name__ != "InputLayer"]


@register("architecture")
def architecture(ctx: CheckContext, *, name: str, reference: str | None = None) -> Outcome:
    """Every layer of ``name`` matches the reference model ``reference`` (default: same name):
    type, units/filters, kernel, activation, output shape and parameters."""
    expected = _layers(ctx.reference_model(reference or name))
    found = _layers(ctx.artifacts.keras_model(name))
    rows: list[list[Any]] = []
    row_ok: list[bool] = []
    first_bad = None
    for index, (exp, got) in enumerate(zip_longest(expected, found), start=1):
        ok = exp == got
        row_ok.append(ok)
        if not ok and first_bad is None:
            first_bad = (index, exp, got)
        rows.append([
            index,
            exp["layer"] if exp else "—",
            got["layer"] if got else "—",
            f"{exp['output'] if exp else '—'} / {got['output'] if got else '—'}",
            f"{exp['params'] if exp else '—'} / {got['params'] if got else '—'}",
        ])
    table = {"columns": ["#", "expected layer", "your layer", "output shape (expected / yours)",
                         "parameters (expected / yours)"], "rows": rows, "row_ok": row_ok}
    if first_bad is None:
        return Outcome.passed(f"`{name}` has the expected {len(found)} layers.", table=table)
    index, exp, got = first_bad
    if exp is None:
        what = f"layer {index} ({got['layer']}) is one more than expected"
    elif got is None:
        what = f"layer {index} ({exp['layer']}) is missing"
    else:
        what = (f"layer {index} is {got['layer']} with output {got['output']}, "
                f"expected {exp['layer']} with {exp['output']}")
    return Outcome.failed(f"`{name}` differs from the expected architecture: {what}.", table=table)
