"""Learning curves drawn as self-contained SVG, from numbers only.

A training history (Keras' ``History.history``: metric name -> one value per epoch)
becomes one SVG chart with a panel per metric: ``loss`` first, then ``accuracy``, then
any other metric in order of appearance; each panel draws the training series and its
``val_`` twin. Learning-rate schedules are not learning curves and are left out.

The chart is built here rather than with matplotlib so a report stays one small,
self-contained file and needs no plotting backend. Every piece of text that reaches
the SVG (the title, metric names) is escaped here, and everything else is a number we
formatted ourselves, which is what lets the report mark the result as safe markup.
Students' histories are untrusted: NaN and infinities leave gaps, an empty or single
epoch history still gives a readable chart, and nothing here raises on odd data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import escape

__all__ = ["learning_curve_svg"]

_PANEL_WIDTH = 360
_PANEL_HEIGHT = 240
_TITLE_HEIGHT = 28
_MARGIN_LEFT = 56
_MARGIN_RIGHT = 16
_MARGIN_TOP = 30  # room for the metric name and the legend above the plot
_MARGIN_BOTTOM = 40  # tick labels and the axis label below it
_Y_TICKS_WANTED = 5
_X_TICKS_WANTED = 8
_MARKERS_UP_TO = 30  # beyond this many epochs, dots would only blur the line
_TRAIN_COLOR = "#1f77b4"
_VAL_COLOR = "#d62728"
_SKIPPED_METRICS = frozenset({"lr", "learning_rate"})
_FIRST_METRICS = ("loss", "accuracy")


@dataclass(frozen=True)
class _Series:
    key: str
    values: tuple[float, ...]
    color: str
    dashed: bool


@dataclass(frozen=True)
class _Panel:
    metric: str
    series: tuple[_Series, ...]


@dataclass(frozen=True)
class _Axis:
    low: float
    high: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


def learning_curve_svg(history: Mapping[str, Sequence[float]], title: str) -> str:
    """An SVG chart of one training history: a panel per metric, train and validation lines.

    ``history`` maps metric names (``loss``, ``val_loss``, ``accuracy``,
    ``val_accuracy``, ...) to one value per epoch. Non-finite values leave gaps. A
    history with nothing to draw still returns a chart that says so.
    """
    panels = _panels(history)
    width = _PANEL_WIDTH * max(1, len(panels))
    height = _TITLE_HEIGHT + _PANEL_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="learning-curve" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(title)}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{_text(title)}</title>",
        f'<text x="8" y="18" font-size="13" font-weight="600">{_text(title)}</text>',
    ]
    if not panels:
        parts.append(_message(0, "no training history to plot"))
    for index, panel in enumerate(panels):
        parts.extend(_panel_svg(panel, index * _PANEL_WIDTH))
    parts.append("</svg>")
    return "\n".join(parts)


def _panels(history: Mapping[str, Sequence[float]]) -> list[_Panel]:
    metrics: list[str] = []
    for key in history:
        metric = key.removeprefix("val_")
        if metric not in metrics and metric.lower() not in _SKIPPED_METRICS:
            metrics.append(metric)
    # Loss and accuracy are what a student looks for first, so they lead.
    metrics.sort(key=lambda m: _FIRST_METRICS.index(m) if m in _FIRST_METRICS else len(_FIRST_METRICS))
    panels = []
    for metric in metrics:
        series = tuple(
            _Series(key, tuple(_as_float(v) for v in history[key]), color, dashed)
            for key, color, dashed in ((metric, _TRAIN_COLOR, False), (f"val_{metric}", _VAL_COLOR, True))
            if key in history
        )
        panels.append(_Panel(metric, series))
    return panels


def _as_float(value: object) -> float:
    # Histories come from a student's JSON: anything that is not a number is a gap.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.nan


def _panel_svg(panel: _Panel, x0: int) -> list[str]:
    left = x0 + _MARGIN_LEFT
    right = x0 + _PANEL_WIDTH - _MARGIN_RIGHT
    top = _TITLE_HEIGHT + _MARGIN_TOP
    bottom = _TITLE_HEIGHT + _PANEL_HEIGHT - _MARGIN_BOTTOM
    out = [f'<g class="panel" data-metric="{_text(panel.metric)}">']
    out.append(f'<text x="{left}" y="{top - 12}" font-weight="600">{_text(panel.metric)}</text>')
    out.extend(_legend(panel.series, right, top - 12))

    finite = [v for s in panel.series for v in s.values if math.isfinite(v)]
    epochs = max((len(s.values) for s in panel.series), default=0)
    if not finite:
        out.append(_message(x0, "no finite values to plot"))
        out.append("</g>")
        return out

    y_axis = _y_axis(min(finite), max(finite))
    x_axis = _x_axis(epochs)

    def px(epoch: float) -> float:
        return left + (epoch - x_axis.low) / (x_axis.high - x_axis.low) * (right - left)

    def py(value: float) -> float:
        # Halved first: the range of values near the float limits would overflow to inf.
        fraction = (value / 2 - y_axis.low / 2) / (y_axis.high / 2 - y_axis.low / 2)
        return bottom - fraction * (bottom - top)

    grid = 'stroke="#e3e3e3" stroke-width="1"'
    for tick, label in zip(y_axis.ticks, y_axis.labels, strict=True):
        y = py(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" {grid}/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{label}</text>')
    for tick, label in zip(x_axis.ticks, x_axis.labels, strict=True):
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#444"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#444">{label}</text>')
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#444"/>')
    out.append(f'<text x="{(left + right) / 2:.1f}" y="{bottom + 32}" text-anchor="middle" fill="#444">epoch</text>')

    for series in panel.series:
        dash = ' stroke-dasharray="6 3"' if series.dashed else ""
        for segment in _segments(series.values):
            if len(segment) > 1:
                points = " ".join(f"{px(e):.1f},{py(v):.1f}" for e, v in segment)
                out.append(f'<polyline points="{points}" fill="none" stroke="{series.color}" stroke-width="2"{dash}/>')
        # A value between two gaps has no line to sit on, so it always gets its dot.
        out.extend(
            f'<circle cx="{px(e):.1f}" cy="{py(v):.1f}" r="2.5" fill="{series.color}"/>'
            for segment in _segments(series.values)
            if epochs <= _MARKERS_UP_TO or len(segment) == 1
            for e, v in segment
        )
    out.append("</g>")
    return out


def _legend(series: Sequence[_Series], right: int, baseline: int) -> list[str]:
    out = []
    x: float = right
    # Right-aligned, laid out from the right edge; widths are estimates, which is
    # enough for short metric names.
    for s in reversed(series):
        label_width = 6.5 * len(s.key)
        x_text = x - label_width
        dash = ' stroke-dasharray="6 3"' if s.dashed else ""
        out.append(
            f'<line x1="{x_text - 24:.1f}" y1="{baseline - 4}" x2="{x_text - 4:.1f}" y2="{baseline - 4}" '
            f'stroke="{s.color}" stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{x_text:.1f}" y="{baseline}">{_text(s.key)}</text>')
        x = x_text - 36
    return out


def _segments(values: Sequence[float]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive finite values, as (epoch, value) with epochs counted from 1."""
    segments: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for epoch, value in enumerate(values, start=1):
        if math.isfinite(value):
            current.append((epoch, value))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments


def _x_axis(epochs: int) -> _Axis:
    if epochs <= 1:
        # One epoch: centre the single point rather than dividing by a zero range.
        return _Axis(0.5, 1.5, (1.0,), ("1",))
    step = max(1, int(_nice_step((epochs - 1) / _X_TICKS_WANTED)))
    ticks = [1, *range(step, epochs + 1, step)] if step > 1 else list(range(1, epochs + 1))
    ticks = sorted(set(ticks))
    return _Axis(1.0, float(epochs), tuple(float(t) for t in ticks), tuple(str(t) for t in ticks))


def _y_axis(low: float, high: float) -> _Axis:
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step((high - low) / _Y_TICKS_WANTED)
    start = math.floor(low / step) * step
    end = math.ceil(high / step) * step
    count = round((end - start) / step) if math.isfinite(end - start) else 0
    if not (math.isfinite(step) and step > 0 and math.isfinite(start) and math.isfinite(end)) or not 1 <= count <= 50:
        # Values near the limits of a float: no nice ticks, just the range.
        return _Axis(low, high, (low, high), (_tick_label(low, 0.0), _tick_label(high, 0.0)))
    ticks = tuple(start + i * step for i in range(count + 1))
    return _Axis(start, end, ticks, tuple(_tick_label(t, step) for t in ticks))


def _nice_step(raw: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above ``raw``."""
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _tick_label(value: float, step: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-4 or step <= 0:
        return f"{value:.3g}"
    decimals = max(0, min(6, -math.floor(math.log10(step))))
    return f"{value:.{decimals}f}"


def _message(x0: int, text: str) -> str:
    x = x0 + _PANEL_WIDTH / 2
    y = _TITLE_HEIGHT + _PANEL_HEIGHT / 2
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#777">{_text(text)}</text>'


def _text(value: str) -> str:
    return str(escape(value))
