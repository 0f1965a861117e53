"""The class at a glance: score histogram, pass rate of every check, the most common
failure messages, the slowest submissions, and a link to every student's report.

:func:`summarise` computes it from the results; the HTML page and the terminal table
are two renderings of that one :class:`ClassSummary`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.execution.packages import INSTALL_HINT
from autograder.files import write_atomic
from autograder.intake.submissions import Superseded
from autograder.reporting.feedback import template_environment
from autograder.result import Result

BINS = 10


@dataclass(frozen=True)
class CheckRate:
    part: str
    name: str
    passed: int
    graded: int
    hidden: bool

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class StudentRow:
    submission: str
    score: float
    max_score: float
    status: str
    needs_review: bool
    seconds: float
    link: str
    missing_modules: tuple[str, ...] = ()
    """Modules the notebook imported that the grading environment lacks (why it needs review)."""


@dataclass(frozen=True)
class ClassSummary:
    lab: str
    students: tuple[StudentRow, ...]
    histogram: tuple[int, ...]
    """Submissions per tenth of the maximum score; the last bin includes full marks."""
    checks: tuple[CheckRate, ...]
    failures: tuple[tuple[str, int], ...]
    """Most common failure messages of checks, with how many submissions got each."""
    statuses: tuple[tuple[str, int], ...]
    superseded: tuple[Superseded, ...]
    missing_modules: tuple[tuple[str, int], ...] = ()
    """Modules submissions imported that the grading environment lacks (the course's to provide),
    with how many submissions did, most first."""

    @property
    def count(self) -> int:
        return len(self.students)

    @property
    def mean_percent(self) -> float:
        return statistics.fmean(_percent(s) for s in self.students) if self.students else 0.0

    @property
    def median_percent(self) -> float:
        return statistics.median(_percent(s) for s in self.students) if self.students else 0.0

    @property
    def slowest(self) -> tuple[StudentRow, ...]:
        return tuple(sorted(self.students, key=lambda s: -s.seconds)[:5])

    @property
    def review_count(self) -> int:
        return sum(s.needs_review for s in self.students)


def _percent(row: StudentRow) -> float:
    return 100 * row.score / row.max_score if row.max_score else 0.0


def summarise(lab: str, results: Sequence[Result], superseded: Sequence[Superseded] = ()) -> ClassSummary:
    students = tuple(
        StudentRow(r.submission, r.score, r.max_score, r.status, r.needs_review, r.timings.get("total", 0.0),
                   f"{r.submission}/report.html", r.execution.missing_modules if r.execution else ())
        for r in sorted(results, key=lambda r: r.submission)
    )
    missing = Counter(module for row in students for module in row.missing_modules)
    histogram = [0] * BINS
    for row in students:
        histogram[min(BINS - 1, int(_percent(row) // (100 / BINS)))] += 1
    passed: Counter[tuple[str, str]] = Counter()
    graded: Counter[tuple[str, str]] = Counter()
    hidden: dict[tuple[str, str], bool] = {}
    failures: Counter[str] = Counter()
    for result in results:
        messages: set[str] = set()
        for part in result.parts:
            for check in part.checks:
                key = (part.title, check.name)
                graded[key] += 1
                hidden[key] = check.hidden
                if check.status == "passed":
                    passed[key] += 1
                else:
                    messages.add(check.message if not check.hidden else f"{check.name} (hidden check) failed")
        failures.update(messages)
    checks = tuple(CheckRate(part, name, passed[(part, name)], n, hidden[(part, name)])
                   for (part, name), n in graded.items())
    statuses = Counter(r.status for r in results)
    return ClassSummary(
        lab=lab, students=students, histogram=tuple(histogram), checks=checks,
        failures=tuple(failures.most_common(10)), statuses=tuple(sorted(statuses.items())),
        superseded=tuple(superseded), missing_modules=tuple(sorted(missing.items(), key=lambda m: (-m[1], m[0]))),
    )


def render_class_html(summary: ClassSummary) -> str:
    env = template_environment(html=True)
    return env.get_template("class.html.j2").render(summary=summary, bins=BINS, install_hint=INSTALL_HINT)


def write_class_report(summary: ClassSummary, out_dir: Path) -> Path:
    path = out_dir / "index.html"
    write_atomic(path, render_class_html(summary))
    return path


def render_terminal(summary: ClassSummary) -> str:
    """The table printed at the end of a batch."""
    lines = [f"{summary.lab}: {summary.count} submission(s), mean {summary.mean_percent:.1f}%, "
             f"median {summary.median_percent:.1f}%, {summary.review_count} flagged for review"]
    lines.append("score distribution:")
    peak = max(summary.histogram, default=0) or 1
    for i, n in enumerate(summary.histogram):
        low = i * 100 // BINS
        label = f"{low:3d}-{low + 100 // BINS if i < BINS - 1 else 100:3d}%"
        lines.append(f"  {label} {'#' * round(30 * n / peak):30} {n}")
    not_graded = [(s, n) for s, n in summary.statuses if s != "graded"]
    if not_graded:
        lines.append("not fully graded: " + ", ".join(f"{s} {n}" for s, n in not_graded))
    if summary.missing_modules:
        lines.append("not installed where the grader runs (the course's to provide; those submissions are flagged "
                     "for review): " + ", ".join(f"{module} {n}" for module, n in summary.missing_modules))
        lines.append(f"  install them where the grader runs: {INSTALL_HINT}; then grade those submissions again "
                     "with --force")
    if summary.failures:
        lines.append("most common failures:")
    for message, n in summary.failures[:5]:
        lines.append(f"  {n:4d} x {message[:100]}")
    if summary.slowest:
        lines.append("slowest: " + ", ".join(f"{s.submission} {s.seconds:.0f}s" for s in summary.slowest))
    for item in summary.superseded:
        lines.append(f"{item.student} submitted {len(item.dropped) + 1} times; graded {item.kept.name} "
                     f"({item.rule})")
    return "\n".join(lines)
