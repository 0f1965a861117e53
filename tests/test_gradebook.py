"""The CSV gradebook, written from hand-built results and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.errors import ConfigError
from autograder.reporting.gradebook import read_gradebook, write_gradebook
from autograder.result import CheckResult, PartResult, Result


def part(part_id: str, score: float, max_score: float = 5.0, *, needs_review: bool = False) -> PartResult:
    check = CheckResult(
        name=f"{part_id}-check",
        check="params",
        status="passed" if score == max_score else "failed",
        points=score,
        max_points=max_score,
        message="",
        needs_review=needs_review,
    )
    return PartResult(id=part_id, title=part_id.upper(), score=score, max_score=max_score, checks=(check,))


def result(submission: str, *parts: PartResult, status: str = "graded", max_score: float | None = None) -> Result:
    return Result(
        lab="keras-digits",
        submission=submission,
        source=f"{submission}.ipynb",
        status=status,  # type: ignore[arg-type]  # a Literal; the tests pass valid ones
        score=sum(p.score for p in parts),
        max_score=sum(p.max_score for p in parts) if max_score is None else max_score,
        parts=parts,
    )


def header(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


def test_columns_are_parts_in_order_of_first_appearance(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    write_gradebook(
        [
            result("carol", part("ex1", 5), part("ex2", 3)),
            result("alice", part("ex1", 4), part("ex3", 1, 2), part("ex2", 5)),
        ],
        path,
    )
    assert header(path) == [
        "submission",
        "status",
        "ex1",
        "ex2",
        "ex3",
        "total",
        "max_score",
        "percent",
        "needs_review",
    ]


def test_rows_are_sorted_and_hold_the_scores(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    write_gradebook(
        [
            result("carol", part("ex1", 5), part("ex2", 2.5)),
            result("alice", part("ex1", 4), part("ex2", 5, needs_review=True)),
            result("bob", status="invalid-notebook", max_score=10.0),
        ],
        path,
    )
    rows = read_gradebook(path)
    assert [r["submission"] for r in rows] == ["alice", "bob", "carol"]
    alice, bob, carol = rows
    assert alice == {
        "submission": "alice",
        "status": "graded",
        "ex1": "4",
        "ex2": "5",
        "total": "9",
        "max_score": "10",
        "percent": "90",
        "needs_review": "yes",
    }
    # A submission that never ran has no part scores: empty cells, not zeros that look graded.
    assert (bob["status"], bob["ex1"], bob["ex2"], bob["total"], bob["percent"]) == (
        "invalid-notebook",
        "",
        "",
        "0",
        "0",
    )
    assert (carol["ex2"], carol["total"], carol["percent"], carol["needs_review"]) == ("2.5", "7.5", "75", "no")


def test_percent_is_rounded_and_empty_without_a_maximum(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    write_gradebook([result("a", part("ex1", 2, 3)), result("b", status="error", max_score=0.0)], path)
    a, b = read_gradebook(path)
    assert a["percent"] == "66.6667"
    assert b["percent"] == ""


def test_spreadsheet_formulas_in_submission_ids_are_neutralised(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    write_gradebook(
        [result('=HYPERLINK("http://x")', part("ex1", 1)), result("plain, with comma", part("ex1", 1))], path
    )
    assert [r["submission"] for r in read_gradebook(path)] == ['\'=HYPERLINK("http://x")', "plain, with comma"]


def test_empty_gradebook_has_the_fixed_columns(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    write_gradebook([], path)
    assert header(path) == ["submission", "status", "total", "max_score", "percent", "needs_review"]
    assert read_gradebook(path) == []


def test_part_id_clashing_with_a_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.csv"
    with pytest.raises(ConfigError, match="total"):
        write_gradebook([result("a", part("total", 1))], path)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "gradebook.csv"
    write_gradebook([result("a", part("ex1", 1))], path)
    first = path.read_text(encoding="utf-8")
    write_gradebook([result("b", part("ex1", 2)), result("c", part("ex1", 3))], path)
    assert [p.name for p in path.parent.iterdir()] == ["gradebook.csv"]
    assert path.read_text(encoding="utf-8") != first
    assert [r["submission"] for r in read_gradebook(path)] == ["b", "c"]
