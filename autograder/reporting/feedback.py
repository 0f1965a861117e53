"""Feedback reports: one graded submission as a self-contained HTML page or as Markdown.

A report is a pure function of a :class:`~autograder.result.Result` (and of the
templates). :func:`render_html` and :func:`render_markdown` build a small view model of
frozen dataclasses from what a student may see (``Result.public()``: a hidden check
keeps its name, status, points and message, never its evidence) and render
``feedback.html.j2`` or ``feedback.md.j2`` (and :func:`render_summary`, a few lines
for a terminal, ``summary.txt.j2``). The templates are the ones shipped with the package
(``reports/`` at the top of the repository, :mod:`autograder.bundled`), or those in the
folder named by the ``AUTOGRADER_REPORTS`` environment variable. Presentation stays in
the templates; the only markup built in Python is the learning-curve SVG
(:mod:`autograder.reporting.curves`), made from numbers and escaped text.

Evidence
--------
A check's ``evidence`` is a dict of JSON values. One key has a shape of its own,
``"table"``, used for instance for the architecture diff between the student's model
and the reference::

    "table": {
        "columns": ["layer", "expected", "found"],
        "rows": [["dense", "Dense(128, relu)", "Dense(64, relu)"],
                 ["output", "Dense(10, softmax)", "Dense(10, softmax)"]],
        "row_ok": [false, true]
    }

``columns`` is a list of strings; ``rows`` a list of lists, each as long as
``columns``, of any JSON values (strings are shown as they are, ``null`` as a dash,
anything else as compact JSON). ``row_ok`` is optional: when present it is a list of
booleans as long as ``rows``, and a ``false`` row is marked as a mismatch (a ``true``
row as a match). A ``"table"`` without exactly this shape is shown like any other
key, so a malformed table never hides evidence. Every other key is shown in a
key/value list, its value as one line of compact JSON (``expected``, ``found``, ...),
shortened beyond :data:`EVIDENCE_VALUE_LIMIT` characters.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, get_args

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from markupsafe import Markup

from autograder import bundled
from autograder.errors import ConfigError
from autograder.reporting.curves import learning_curve_svg
from autograder.result import CellRecord, CellStatus, CheckResult, ExecutionRecord, PartResult, Result

__all__ = [
    "EVIDENCE_VALUE_LIMIT",
    "HTML_TEMPLATE",
    "MARKDOWN_TEMPLATE",
    "REPORTS_ENV_VAR",
    "SUMMARY_TEMPLATE",
    "render_html",
    "render_markdown",
    "render_selfcheck_html",
    "render_summary",
    "report_view",
    "template_environment",
    "templates_folder",
    "terminal_text",
]

REPORTS_ENV_VAR = "AUTOGRADER_REPORTS"
HTML_TEMPLATE = "feedback.html.j2"
MARKDOWN_TEMPLATE = "feedback.md.j2"
SUMMARY_TEMPLATE = "summary.txt.j2"
SELFCHECK_TEMPLATE = "selfcheck.html.j2"
EVIDENCE_VALUE_LIMIT = 400
"""Longer evidence values are cut: a report is read by a person, result.json keeps all."""
SLOWEST_CELLS = 5
LISTED_CELLS = 50
"""Rows per table of cells (failed cells, skipped lines) a report lists; past that it says how
many more there are, so a notebook of thousands of cells still gives a readable report."""

# Colour codes (ANSI CSI sequences) are common in tracebacks and are dropped; any other
# control character is made visible. Newlines and tabs are kept.
_ANSI_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_STATUS_ICONS = {"passed": "✔", "failed": "✘", "error": "⚠"}


# --- view model -------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A labelled value, already formatted for display."""

    key: str
    value: str


@dataclass(frozen=True)
class EvidenceRow:
    """One row of an evidence table; ``ok`` is None when the check did not say."""

    cells: tuple[str, ...]
    ok: bool | None


@dataclass(frozen=True)
class EvidenceTable:
    """The ``"table"`` evidence of a check (see the module docstring for its shape)."""

    columns: tuple[str, ...]
    rows: tuple[EvidenceRow, ...]
    flagged: bool
    """Whether rows say if they match (``row_ok`` was given): the table gets a column for it."""


@dataclass(frozen=True)
class CheckView:
    """One check as a student sees it."""

    name: str
    check: str
    status: str
    icon: str
    points: str
    max_points: str
    message: str
    hidden: bool
    needs_review: bool
    table: EvidenceTable | None
    evidence: tuple[Pair, ...]


@dataclass(frozen=True)
class PartView:
    """A rubric part and its checks."""

    id: str
    title: str
    score: str
    max_score: str
    percent: str
    extra_credit: bool
    needs_review: bool
    checks: tuple[CheckView, ...]


@dataclass(frozen=True)
class CurveView:
    """One training history: its chart and its last finite value per metric."""

    name: str
    svg: Markup
    epochs: int
    final: tuple[Pair, ...]


@dataclass(frozen=True)
class SkippedLineView:
    """A shell or magic line that was not run while grading."""

    cell: int
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class CellView:
    """A code cell of the submission, as far as the report cares."""

    index: int
    status: str
    seconds: str
    error: str


@dataclass(frozen=True)
class FailedImportView:
    """An import that failed because the grading environment lacks the module."""

    cell: int
    line: int
    module: str
    text: str
    resumed: bool
    """The rest of the cell after the statement was run without it."""


@dataclass(frozen=True)
class ExecutionView:
    """How the notebook ran: failures, skipped lines and where the time went.

    Tables of cells list at most :data:`LISTED_CELLS` rows; ``*_unlisted`` says how many more.
    """

    seconds: str
    cell_count: int
    status_counts: tuple[Pair, ...]
    """How many cells ended in each status (``ok``, ``error``, ``timeout``, ``not-run``), those with any."""
    cell_seconds: str
    timed_out: bool
    kernel_died: bool
    skipped_lines: tuple[SkippedLineView, ...]
    skipped_lines_unlisted: int
    failed_cells: tuple[CellView, ...]
    failed_cells_unlisted: int
    slowest_cells: tuple[CellView, ...]
    failed_imports: tuple[FailedImportView, ...]


@dataclass(frozen=True)
class EnvironmentView:
    """Where the grading ran."""

    python: str
    platform: str
    cpu: str
    device: str
    gpus: tuple[str, ...]
    packages: tuple[Pair, ...]


@dataclass(frozen=True)
class ReportView:
    """Everything a feedback template may use; templates see nothing else."""

    lab: str
    submission: str
    source: str
    """The submitted file's name; where the grader kept it is nobody's business but the grader's."""
    sha256: str
    status: str
    graded: bool
    message: str
    score: str
    max_score: str
    percent: str
    needs_review: bool
    notes: tuple[str, ...]
    parts: tuple[PartView, ...]
    curves: tuple[CurveView, ...]
    execution: ExecutionView | None
    timings: tuple[Pair, ...]
    environment: EnvironmentView | None
    profile: str
    seed: int
    grader_version: str
    graded_at: str
    schema_version: str


# --- public API -------------------------------------------------------------------


def render_html(result: Result) -> str:
    """The student's feedback for one submission as one self-contained HTML page."""
    return _render(result, HTML_TEMPLATE, html=True)


def render_markdown(result: Result) -> str:
    """The same feedback as GitHub-flavoured Markdown (no charts), for terminals and CI."""
    return _render(result, MARKDOWN_TEMPLATE, html=False)


def render_selfcheck_html(result: Result) -> str:
    """A compact HTML table of a self-check, shown inside the student's notebook."""
    return _render(result, SELFCHECK_TEMPLATE, html=True)


def render_summary(result: Result) -> str:
    """A few plain-text lines for a terminal: the score, each check, the cells that failed."""
    return _render(result, SUMMARY_TEMPLATE, html=False)


def templates_folder() -> Path:
    """The folder of the report templates: ``$AUTOGRADER_REPORTS``, else the shipped ones."""
    configured = os.environ.get(REPORTS_ENV_VAR)
    if configured:
        return Path(configured)
    return bundled.shipped("reports")


def template_environment(*, html: bool, folder: Path | None = None) -> Environment:
    """The Jinja2 environment reports render with.

    HTML autoescapes everything (student text reaches the page); Markdown does not, and
    escapes table cells with the ``md_cell`` and ``md_code`` filters and terminal text
    with ``terminal`` instead. Undefined
    variables are errors in both, so a typo in a template fails loudly in tests instead
    of printing nothing.
    """
    env = Environment(
        loader=FileSystemLoader(folder if folder is not None else templates_folder()),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.filters["md_code"] = md_code
    env.filters["terminal"] = terminal_text
    return env


def report_view(result: Result) -> ReportView:
    """The view model of a result, built from its public version only."""
    public = result.public()
    return ReportView(
        lab=public.lab,
        submission=public.submission,
        source=PurePath(public.source).name,
        sha256=public.sha256,
        status=public.status,
        graded=public.status == "graded",
        message=public.message,
        score=_points(public.score),
        max_score=_points(public.max_score),
        percent=_percent(public.score, public.max_score),
        needs_review=public.needs_review,
        notes=public.notes,
        parts=tuple(_part_view(p) for p in public.parts),
        curves=tuple(_curve_view(name, history) for name, history in public.curves.items()),
        execution=_execution_view(public.execution) if public.execution is not None else None,
        timings=tuple(Pair(stage, _seconds(s)) for stage, s in public.timings.items()),
        environment=(
            EnvironmentView(
                python=public.environment.python,
                platform=public.environment.platform,
                cpu=public.environment.cpu,
                device=public.environment.device,
                gpus=public.environment.gpus,
                packages=tuple(Pair(k, v) for k, v in sorted(public.environment.packages.items())),
            )
            if public.environment is not None
            else None
        ),
        profile=public.profile,
        seed=public.seed,
        grader_version=public.grader_version,
        graded_at=public.graded_at,
        schema_version=public.schema_version,
    )


def terminal_text(value: object) -> str:
    """Text without control characters, so student text cannot drive the reader's terminal."""
    return _CONTROL_CHARACTERS.sub("\N{REPLACEMENT CHARACTER}", _ANSI_SEQUENCE.sub("", str(value)))


def md_cell(value: object) -> str:
    """Text made safe for one GitHub-flavoured Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def md_code(value: object) -> str:
    """Text as one inline code span that survives a Markdown table cell."""
    text = " ".join(str(value).split())
    if not text:
        return ""
    # A code span's fence must be longer than any run of backticks inside it.
    longest = current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}".replace("|", "\\|")


# --- building the view ------------------------------------------------------------


def _render(result: Result, template: str, *, html: bool) -> str:
    env = template_environment(html=html)
    try:
        loaded = env.get_template(template)
    except TemplateNotFound as exc:
        raise ConfigError(
            f"report template {template!r} not found in {templates_folder()}; "
            f"point {REPORTS_ENV_VAR} at a folder that has it, or unset it to use the bundled reports/"
        ) from exc
    return loaded.render(report=report_view(result))


def _part_view(part: PartResult) -> PartView:
    return PartView(
        id=part.id,
        title=part.title,
        score=_points(part.score),
        max_score=_points(part.max_score),
        percent=_percent(part.score, part.max_score),
        extra_credit=part.extra_credit,
        needs_review=part.needs_review,
        checks=tuple(_check_view(c) for c in part.checks),
    )


def _check_view(check: CheckResult) -> CheckView:
    table = _evidence_table(check.evidence.get("table"))
    # A written answer's own text is kept for reviewers; its author needs no copy of it.
    shown = {k: v for k, v in check.evidence.items()
             if not (k == "table" and table is not None) and not (k == "answer" and check.check == "discussion")}
    return CheckView(
        name=check.name,
        check=check.check,
        status=check.status,
        icon=_STATUS_ICONS.get(check.status, "?"),
        points=_points(check.points),
        max_points=_points(check.max_points),
        message=check.message,
        hidden=check.hidden,
        needs_review=check.needs_review,
        table=table,
        evidence=tuple(Pair(k, _json(v)) for k, v in shown.items()),
    )


def _evidence_table(raw: object) -> EvidenceTable | None:
    """The ``"table"`` evidence, or None when it does not have the documented shape."""
    if not isinstance(raw, Mapping) or set(raw) - {"columns", "rows", "row_ok"}:
        return None
    columns, rows, row_ok = raw.get("columns"), raw.get("rows"), raw.get("row_ok")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        return None
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
        return None
    if row_ok is None:
        flags: list[bool | None] = [None] * len(rows)
    elif isinstance(row_ok, list) and len(row_ok) == len(rows) and all(isinstance(f, bool) for f in row_ok):
        flags = list(row_ok)
    else:
        return None
    return EvidenceTable(
        columns=tuple(columns),
        rows=tuple(EvidenceRow(tuple(_cell(v) for v in row), ok) for row, ok in zip(rows, flags, strict=True)),
        flagged=row_ok is not None,
    )


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return _shorten(value)
    return _json(value)


def _json(value: Any) -> str:
    # default=str: evidence should be JSON already, but a report must not crash on it.
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text) <= EVIDENCE_VALUE_LIMIT:
        return text
    return text[: EVIDENCE_VALUE_LIMIT - 1] + "…"


def _curve_view(name: str, history: Mapping[str, Sequence[float]]) -> CurveView:
    final = []
    for key, values in history.items():
        last = next((v for v in reversed(values) if math.isfinite(v)), None)
        final.append(Pair(key, "—" if last is None else f"{last:.4g}"))
    return CurveView(
        name=name,
        svg=Markup(learning_curve_svg(history, name)),  # built from numbers and escaped text only
        epochs=max((len(v) for v in history.values()), default=0),
        final=tuple(final),
    )


def _execution_view(execution: ExecutionRecord) -> ExecutionView:
    def cell_view(cell: CellRecord) -> CellView:
        return CellView(index=cell.index, status=cell.status, seconds=_seconds(cell.seconds), error=cell.error)

    ran = [c for c in execution.cells if c.status != "not-run"]
    slowest = sorted(ran, key=lambda c: c.seconds, reverse=True)[:SLOWEST_CELLS]
    failed = [c for c in execution.cells if c.status in ("error", "timeout")]
    counts = Counter(c.status for c in execution.cells)
    return ExecutionView(
        seconds=_seconds(execution.seconds),
        cell_count=len(execution.cells),
        status_counts=tuple(Pair(status, str(counts[status])) for status in get_args(CellStatus) if counts[status]),
        cell_seconds=_seconds(sum(c.seconds for c in execution.cells)),
        timed_out=execution.timed_out,
        kernel_died=execution.kernel_died,
        skipped_lines=tuple(SkippedLineView(cell=s.cell, line=s.line, text=s.text, reason=s.reason)
                            for s in execution.skipped_lines[:LISTED_CELLS]),
        skipped_lines_unlisted=max(0, len(execution.skipped_lines) - LISTED_CELLS),
        failed_cells=tuple(cell_view(c) for c in failed[:LISTED_CELLS]),
        failed_cells_unlisted=max(0, len(failed) - LISTED_CELLS),
        slowest_cells=tuple(cell_view(c) for c in slowest),
        failed_imports=tuple(FailedImportView(cell=f.cell, line=f.line, module=f.module, text=f.text,
                                              resumed=f.resumed) for f in execution.failed_imports[:LISTED_CELLS]),
    )


def _points(value: float) -> str:
    """Points without noise: ``2``, ``1.5``, ``0.33``."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _percent(score: float, max_score: float) -> str:
    if max_score <= 0 or not math.isfinite(score / max_score):
        return "—"
    return f"{100 * score / max_score:.1f}%"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value >= 1 else f"{value:.2f} s"
