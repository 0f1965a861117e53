"""The class summary (autograder/class_report.py), from hand-built results."""

from __future__ import annotations

from pathlib import Path

from autograder.reporting.class_report import render_class_html, render_terminal, summarise
from autograder.reporting.gradebook import read_gradebook, write_gradebook
from autograder.result import CellRecord, ExecutionRecord, FailedImport, Result


def _result(submission: str, *modules: str) -> Result:
    execution = ExecutionRecord(cells=(CellRecord(index=1, status="ok", seconds=1.0),), seconds=1.0,
                                failed_imports=tuple(FailedImport(cell=1, module=m) for m in modules))
    return Result(lab="keras-cnn-regularisation", submission=submission, source=f"{submission}.ipynb",
                  status="graded", score=8.0, max_score=10.0, parts=(), execution=execution)


RESULTS = [_result("ann", "pandas", "plotnine"), _result("ben", "pandas"), _result("cat")]


def test_modules_missing_where_the_grader_runs_are_counted_by_submission() -> None:
    summary = summarise("keras-cnn-regularisation", RESULTS)
    assert summary.missing_modules == (("pandas", 2), ("plotnine", 1))
    assert summary.review_count == 2
    assert [s.missing_modules for s in summary.students] == [("pandas", "plotnine"), ("pandas",), ()]


def test_the_instructor_sees_what_to_install_in_the_terminal_and_the_class_page() -> None:
    summary = summarise("keras-cnn-regularisation", RESULTS)
    text = render_terminal(summary)
    assert "2 flagged for review" in text
    assert "not installed where the grader runs" in text and "pandas 2, plotnine 1" in text
    assert "grade those submissions again with --force" in text
    page = render_class_html(summary)
    assert "Not installed where the grader runs" in page and "<code>plotnine</code>" in page
    assert "(not installed: pandas, plotnine)" in page


def test_nothing_is_said_when_every_import_was_satisfied() -> None:
    summary = summarise("keras-cnn-regularisation", [_result("cat")])
    assert summary.missing_modules == ()
    assert "not installed" not in render_terminal(summary)
    assert "Not installed" not in render_class_html(summary)


def test_the_gradebook_flags_them_for_review(tmp_path: Path) -> None:
    write_gradebook(RESULTS, tmp_path / "gradebook.csv")
    rows = {r["submission"]: r["needs_review"] for r in read_gradebook(tmp_path / "gradebook.csv")}
    assert rows == {"ann": "yes", "ben": "yes", "cat": "no"}
