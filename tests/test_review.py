"""An instructor's review file merged into graded results, reports and the gradebook.

The results are graded for real: the discussion check runs on real notebooks with the
real embedding model, and the slow test grades through `autograder grade`. Then a review
file is applied with `autograder review` and everything on disk is read back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.batch.outputs import OutputFolder
from autograder.batch.review import ReviewError, apply_review, load_review
from autograder.cli import main
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.reporting.gradebook import read_gradebook, write_gradebook
from autograder.result import Result
from tests.review_class import graded
from tests.test_batch import COURSE, GOOD, notebook

# The rubric's terms packed far denser than an explanation has them: the grader is not sure, and flags it.
FLAGGED = (
    "The CNN wins with spatial weight sharing, local patterns, edges and neighbouring pixels, more parameters "
    "(85,066 vs 18,986) and the Adam optimiser instead of gradient descent with a fixed learning rate."
)


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-digits", course)


@pytest.fixture
def out(lab: Lab, tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    results = [graded(lab, tmp_path, "alice", FLAGGED), graded(lab, tmp_path, "bob", None)]
    for result in results:
        OutputFolder(folder).write(result)
    write_gradebook(results, folder / "gradebook.csv")
    return folder


def _discussion(result: Result) -> tuple[float, bool]:
    check = next(c for p in result.parts for c in p.checks if c.name == "compare-models")
    return check.points, check.needs_review


def test_a_flagged_answer_is_reviewed_end_to_end(out: Path, lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    alice = Result.read(out / "alice" / "result.json")
    suggested, flagged = _discussion(alice)
    assert flagged, "the keyword-list answer should be flagged for review"
    assert read_gradebook(out / "gradebook.csv")[0]["needs_review"] == "yes"
    bob_before = (out / "bob" / "result.json").read_bytes()
    bob_mtime = os.stat(out / "bob" / "result.json").st_mtime_ns

    review = out.parent / "review.csv"
    review.write_text("submission,part,points,comment,reviewer\n"
                      "alice,discussion,9,Names the ideas but explains none of them,Dr. Ng\n", encoding="utf-8")
    assert main(["review", "--lab", lab.id, "--out", str(out), str(review)]) == 0
    assert "alice: compare-models" in capsys.readouterr().out

    after = Result.read(out / "alice" / "result.json")
    check = next(c for p in after.parts for c in p.checks if c.name == "compare-models")
    assert (check.points, check.needs_review) == (9.0, False)
    assert check.review is not None
    assert check.review.suggested_points == suggested
    assert check.review.reviewer == "Dr. Ng" and "explains none" in check.review.comment
    assert check.review.source.endswith("review.csv:2")
    assert after.score == pytest.approx(alice.score - suggested + 9)
    assert not after.needs_review
    # Nothing else was regraded: the other checks, the timestamps and the other submission are as they were.
    assert [c for p in after.parts for c in p.checks if c.name != "compare-models"] == [
        c for p in alice.parts for c in p.checks if c.name != "compare-models"]
    assert after.graded_at == alice.graded_at
    assert (out / "bob" / "result.json").read_bytes() == bob_before
    assert os.stat(out / "bob" / "result.json").st_mtime_ns == bob_mtime

    row = next(r for r in read_gradebook(out / "gradebook.csv") if r["submission"] == "alice")
    assert row["discussion"] == "9" and row["needs_review"] == "no"
    assert float(row["total"]) == pytest.approx(after.score)
    for report in ("report.md", "report.html"):
        text = (out / "alice" / report).read_text(encoding="utf-8")
        assert "Reviewed by Dr. Ng" in text and "the grader suggested" in text

    # Applying the same file again changes nothing, and keeps the grader's first suggestion.
    assert main(["review", "--lab", lab.id, "--out", str(out), str(review)]) == 0
    again = Result.read(out / "alice" / "result.json")
    again_check = next(c for p in again.parts for c in p.checks if c.name == "compare-models")
    assert again_check.review is not None and again_check.review.suggested_points == suggested
    assert again.score == after.score


def test_a_yaml_review_names_the_check_itself(out: Path, lab: Lab) -> None:
    review = out.parent / "review.yaml"
    review.write_text("- {submission: bob, part: compare-models, points: 14.5, comment: fine}\n", encoding="utf-8")
    apply_review(out, load_review(review, out, lab), lab)
    assert _discussion(Result.read(out / "bob" / "result.json")) == (14.5, False)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("submission,part,points,comment\ncarol,discussion,3,x\n", r"review.csv:2: unknown submission 'carol'"),
        ("submission,part,points,comment\nalice,essay,3,x\n", r"review.csv:2: alice has no part 'essay'"),
        ("submission,part,points,comment\nalice,discussion,16,x\n", r"review.csv:2: 16 points is out of range"),
        ("submission,part,points,comment\nalice,discussion,lots,x\n", r"review.csv:2: points 'lots' is not a number"),
        ("submission,part,points,comment\nalice,discussion,3,x\nalice,discussion,4,y\n", r"review.csv:3: .*twice"),
        ("submission,part,points,comment\nalice,mlp,3,x\n", r"review.csv:2: part 'mlp' has several checks"),
        ("submission,part,score\nalice,discussion,3\n", r"review.csv:1: unknown column"),
        ("submission,part,points,comment,check\nalice,mlp,3,x,nope\n", r"review.csv:2: part 'mlp' has no check 'nope'"),
    ],
)
def test_a_bad_review_file_is_refused_with_its_line(out: Path, lab: Lab, content: str, error: str) -> None:
    review = out.parent / "review.csv"
    review.write_text(content, encoding="utf-8")
    before = (out / "alice" / "result.json").read_bytes()
    with pytest.raises(ReviewError, match=error):
        load_review(review, out, lab)
    assert (out / "alice" / "result.json").read_bytes() == before


def test_a_yaml_entry_error_names_its_line(out: Path, lab: Lab) -> None:
    review = out.parent / "review.yaml"
    review.write_text("- submission: alice\n  part: discussion\n  points: 3\n- submission: alice\n  part: discussion\n",
                      encoding="utf-8")
    with pytest.raises(ReviewError, match=r"review.yaml:4: `points` is missing"):
        load_review(review, out, lab)


def test_the_cli_reports_a_bad_review_file_as_a_usage_error(
    out: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    review = out.parent / "review.txt"
    review.write_text("alice 3", encoding="utf-8")
    assert main(["review", "--lab", lab.id, "--out", str(out), str(review)]) == 2
    assert "a review file is .csv or .yaml" in capsys.readouterr().err


@pytest.mark.slow
def test_review_after_a_real_grading_run(tmp_path: Path) -> None:
    """`autograder grade` on a real submission (of the fixture lab tiny), then `autograder review`:
    nothing is executed again."""
    notebook(tmp_path / "inbox" / "dana.ipynb", *GOOD, answer="no idea")
    out = tmp_path / "out"
    course = ["--course", str(COURSE)]
    assert main([*course, "grade", "--lab", "tiny", "--fast", "--out", str(out), str(tmp_path / "inbox")]) == 0
    graded = Result.read(out / "dana" / "result.json")
    review = tmp_path / "review.csv"
    review.write_text("submission,part,points,comment\ndana,written,2,fine in person\n", encoding="utf-8")
    assert main([*course, "review", "--lab", "tiny", "--out", str(out), str(review)]) == 0
    after = Result.read(out / "dana" / "result.json")
    check = next(c for p in after.parts for c in p.checks if c.name == "why-answer")
    assert (check.points, check.needs_review) == (2.0, False)
    assert after.execution == graded.execution and after.timings == graded.timings
    row = read_gradebook(out / "gradebook.csv")[0]
    assert row["written"] == "2" and float(row["total"]) == pytest.approx(after.score)
