"""Structure of a Keras model beyond a fixed reference: its loss, the layer types a
design must include, and convolution output shapes that follow from padding and stride."""

from __future__ import annotations

import math
from typing import Any

from autograder.check_registry import Outcome, register
from autograder.checks.architecture import describe_layer
from autograder.checks.context import CheckContext

_SPATIAL = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Conv1D", "MaxPooling1D", "SeparableConv2D",
            "DepthwiseConv2D")


@register("loss")
def loss(ctx: CheckContext, *, name: str, expected: str) -> Outcome:
    """``name`` was compiled with the loss ``expected`` (e.g. ``binary_crossentropy``)."""
    compiled = ctx.artifacts.keras_config(name).get("compile_config") or {}
    found = compiled.get("loss")
    if isinstance(found, dict):  # a loss object: its registered name
        found = found.get("config", {}).get("name") or found.get("class_name")
    # 'binary_crossentropy', 'BinaryCrossentropy' and 'binary crossentropy' name one loss.
    same = str(found or "").lower().replace(" ", "").replace("_", "") == expected.lower().replace("_", "")
    evidence = {"expected": expected, "found": found}
    if found is None:
        return Outcome.failed(f"`{name}` was not compiled: call `{name}.compile(loss='{expected}', ...)`.", **evidence)
    if same:
        return Outcome.passed(f"`{name}` is trained with {expected}.", **evidence)
    return Outcome.failed(f"`{name}` is compiled with the loss {found!r}; this exercise uses {expected}.", **evidence)


@register("layers")
def layers(
    ctx: CheckContext,
    *,
    name: str,
    require: list[str],
    input_shape: list[int | None] | None = None,
    output_units: int | None = None,
) -> Outcome:
    """``name`` includes a layer of every type in ``require`` and takes inputs of ``input_shape``
    (without the batch) and gives ``output_units`` outputs."""
    model = ctx.artifacts.keras_model(name)
    kinds = [type(layer).__name__ for layer in model.layers]
    missing = [r for r in require if r not in kinds]
    problems = [f"it has no {m} layer" for m in missing]
    found_in = list(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    found_out = model.output_shape[-1] if hasattr(model, "output_shape") else None
    if input_shape is not None and found_in is not None and [d for d in found_in] != list(input_shape):
        problems.append(f"it takes inputs of shape {tuple(found_in)}, expected {tuple(input_shape)}")
    if output_units is not None and found_out != output_units:
        problems.append(f"it gives {found_out} outputs, expected {output_units}")
    evidence = {"expected": {"layers": require, "input": input_shape, "outputs": output_units},
                "found": {"layers": kinds, "input": found_in, "outputs": found_out}}
    if problems:
        return Outcome.failed(f"`{name}`: " + "; ".join(problems) + ".", **evidence)
    return Outcome.passed(f"`{name}` has the required layers ({', '.join(require)}).", **evidence)


def _pair(value: Any, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _expected(size: int | None, kernel: int, stride: int, padding: str) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def _spatial_rows(model: Any) -> list[dict[str, Any]]:
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in _SPATIAL:
            continue
        config = layer.get_config()
        dims = len(tuple(layer.output.shape)) - 2
        kernel = _pair(config.get("kernel_size", config.get("pool_size", 1)), dims)
        stride = _pair(config.get("strides") or config.get("pool_size", 1), dims)
        padding = str(config.get("padding", "valid"))
        before = tuple(layer.input.shape)[1 : 1 + dims]
        after = tuple(layer.output.shape)[1 : 1 + dims]
        expected = tuple(_expected(s, k, st, padding) for s, k, st in zip(before, kernel, stride, strict=True))
        rows.append({"layer": describe_layer(layer).label, "input": before, "kernel": kernel, "stride": stride,
                     "padding": padding, "expected": expected, "found": after})
    return rows


def feature_map(model: Any) -> tuple[int, ...] | None:
    """The spatial size of ``model``'s last convolution or pooling output (None: it has none,
    or the size is not fixed)."""
    rows = _spatial_rows(model)
    if not rows or any(d is None for d in rows[-1]["found"]):
        return None
    return tuple(int(d) for d in rows[-1]["found"])


@register("conv-shapes")
def conv_shapes(ctx: CheckContext, *, name: str, compare_to: str | None = None) -> Outcome:
    """Every convolution and pooling layer of ``name`` has the output size its input, kernel,
    stride and padding give, and (with ``compare_to``) the model changes padding or stride
    somewhere relative to that other model, as the exercise asks."""
    rows = _spatial_rows(ctx.artifacts.keras_model(name))
    table = {
        "columns": ["layer", "input", "kernel", "stride", "padding", "expected output", "output"],
        "rows": [[r["layer"], str(r["input"]), str(r["kernel"]), str(r["stride"]), r["padding"],
                  str(r["expected"]), str(r["found"])] for r in rows],
        "row_ok": [r["expected"] == r["found"] for r in rows],
    }
    if not rows:
        return Outcome.failed(f"`{name}` has no convolution or pooling layers.", table=table)
    wrong = [r for r in rows if r["expected"] != r["found"]]
    if wrong:
        r = wrong[0]
        return Outcome.failed(f"`{name}`: {r['layer']} turns {r['input']} into {r['found']}, but its kernel, stride "
                              f"and padding give {r['expected']}.", table=table)
    if compare_to is not None:
        settings = [(r["stride"], r["padding"]) for r in _spatial_rows(ctx.artifacts.keras_model(compare_to))]
        if settings == [(r["stride"], r["padding"]) for r in rows]:
            return Outcome.failed(f"`{name}` uses the same strides and padding as `{compare_to}`: change the "
                                  "padding or the strides of its convolutions, as the exercise asks.", table=table)
    return Outcome.passed(f"Every convolution and pooling layer of `{name}` has the output its stride and "
                          "padding give.", table=table)
