"""``architecture``: a Keras model's layers against the reference's, layer by layer.

A model is judged by what it computes: layers without parameters that only reshape
(``Flatten`` in front of the first ``Dense``, ``Reshape``, the ``InputLayer``) are left out
of both lists, so an MLP that takes images through a ``Flatten`` matches one that takes
flat vectors; the output shapes and parameters of the layers that remain still have to
match.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import zip_longest
from typing import Any

from autograder.check_registry import Outcome, register
from autograder.checks.context import CheckContext


def _pair(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "x".join(str(v) for v in value)
    return str(value)


_ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}
# Shape-only layers: no parameters, and the values pass through unchanged, only rearranged
# into another shape. (Dropout and activation layers are not: they change the values.)
RESHAPING_LAYERS = frozenset({"InputLayer", "Flatten", "Reshape"})


@dataclass(frozen=True)
class LayerRow:
    """A layer as a student recognises it: type, hyper-parameters, activation, shape, parameters."""

    kind: str
    details: tuple[str, ...]
    activation: str | None
    output: str
    params: int

    @property
    def label(self) -> str:
        parts = (*self.details, self.activation) if self.activation else self.details
        return f"{self.kind}({', '.join(parts)})" if parts else self.kind

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.label, "output": self.output, "params": self.params}


def describe_layer(layer: Any) -> LayerRow:
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
    if "strides" in config and _pair(config["strides"]) not in ("1x1", "1", _pair(config.get("pool_size"))):
        details.append(f"stride {_pair(config['strides'])}")
    if "padding" in config and kind != "Dense":
        details.append(str(config["padding"]))
    if "rate" in config:
        details.append(f"{config['rate']:g}")
    activation = config.get("activation")
    if kind in _ACTIVATION_LAYERS:
        activation = _ACTIVATION_LAYERS[kind] or activation
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        shape = ()
    return LayerRow(
        kind=kind,
        details=tuple(details),
        activation=None if activation in (None, "linear") else str(activation),
        output=str(tuple("None" if d is None else d for d in shape)).replace("'", ""),
        params=int(layer.count_params()),
    )


def _layers(model: Any) -> list[dict[str, Any]]:
    """The model's layers, without the reshaping ones; a separate activation layer is folded
    into the layer before it, since ``Dense(64)`` + ``Activation('relu')`` is the same network
    as ``Dense(64, 'relu')``."""
    rows: list[LayerRow] = []
    for layer in model.layers:
        if type(layer).__name__ in RESHAPING_LAYERS:
            continue
        row = describe_layer(layer)
        if row.kind in _ACTIVATION_LAYERS and rows and rows[-1].activation is None and row.activation:
            rows[-1] = replace(rows[-1], activation=row.activation, output=row.output)
            continue
        rows.append(row)
    return [r.as_dict() for r in rows]


def _reshaping(model: Any) -> list[str]:
    """The reshaping layers of the model that the comparison leaves out (not its InputLayer,
    which every model has)."""
    return [type(layer).__name__ for layer in model.layers
            if type(layer).__name__ in RESHAPING_LAYERS - {"InputLayer"}]


@register("architecture")
def architecture(
    ctx: CheckContext,
    *,
    name: str,
    reference: str | None = None,
    expected_layers: list[dict[str, Any]] | None = None,
) -> Outcome:
    """Every layer of ``name`` matches the reference model ``reference`` (default: same name),
    or ``expected_layers`` as a student bundle carries them: type, units/filters, kernel,
    activation, output shape and parameters."""
    model = ctx.artifacts.keras_model(name)
    if expected_layers is not None:
        # A bundle written before reshaping layers were left out may still list them.
        expected = [row for row in expected_layers if str(row.get("layer", "")).split("(")[0] not in RESHAPING_LAYERS]
    else:
        expected = _layers(ctx.reference_model(reference or name))
    found = _layers(model)
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
    skipped = _reshaping(model)
    notes = {"note": f"Layers that only reshape the data hold no parameters and are left out of the "
                     f"comparison (yours: {', '.join(skipped)})."} if skipped else {}
    if first_bad is None:
        plural = "" if len(found) == 1 else "s"
        return Outcome.passed(f"`{name}` has the expected {len(found)} layer{plural}.", table=table, **notes)
    index, exp, got = first_bad
    if exp is None:
        what = f"layer {index} ({got['layer']}) is one more than expected"
    elif got is None:
        what = f"layer {index} ({exp['layer']}) is missing"
    else:
        what = (f"layer {index} is {got['layer']} with output {got['output']}, "
                f"expected {exp['layer']} with {exp['output']}")
    return Outcome.failed(f"`{name}` differs from the expected architecture: {what}.", table=table, **notes)
