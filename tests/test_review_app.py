"""The review app's queue and decisions, through its HTTP API (Starlette's test client; the
pages in a real browser are tests/test_review_browser.py). The class is graded for real
(tests/review_class.py) and every decision is read back from disk."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autograder.batch.learned import relearn
from autograder.batch.review import replace_check
from autograder.cli import main
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.errors import ConfigError
from autograder.reporting.gradebook import read_gradebook
from autograder.result import Result
from autograder.review_app.decisions import LOG
from autograder.review_app.queue import NONE_OF_THEM, Item
from autograder.review_app.server import ReviewApp, check_port, open_class
from tests.review_class import REWORDED, write_class


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-digits", course)


@pytest.fixture(scope="module")
def graded_class(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_class(lab, tmp_path_factory.mktemp("class"))


@pytest.fixture
def app(graded_class: Path, tmp_path: Path, course: Course) -> ReviewApp:
    out = tmp_path / "out"
    shutil.copytree(graded_class, out)
    return open_class(out, course)


@pytest.fixture
def client(app: ReviewApp) -> TestClient:
    return TestClient(app.app)


def _check(out: Path, submission: str, name: str = "compare-models") -> tuple[Result, object]:
    result = Result.read(out / submission / "result.json")
    return result, next(c for p in result.parts for c in p.checks if c.name == name)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_answers_are_grouped_by_the_points_they_make(app: ReviewApp) -> None:
    review = app.current()
    (question,) = review.questions
    assert question.tag == "compare-models" and len(question.items) == 11
    def points_made(item: Item) -> set[str]:
        # The concepts the grader found in it, and those it could not decide on (close calls).
        return {c.id for c in item.concepts if c.suggested > 0 or c.close_call}

    for group in question.groups:
        for item in group.items:
            # An answer is in the group of each of its points, or in "none" when it has none.
            assert group.concept in points_made(item) if group.concept != NONE_OF_THEM else not points_made(item)
    for item in question.items:
        assert {g.concept for g in question.groups if item in g.items} == (points_made(item) or {NONE_OF_THEM})
    assert any(c.close_call and c.suggested == 0 for i in question.items for c in i.concepts), \
        "some group holds an answer for a point the grader could not decide on"
    ranks = [g.unreviewed * (0.5 + g.uncertainty) for g in question.groups]
    assert ranks == sorted(ranks, reverse=True), "the biggest and least certain groups come first"
    # Names are hidden behind stable aliases; the flagged params check is on its own list.
    assert sorted(i.alias for i in question.items) == sorted(f"Student {n}" for n in range(1, 12))
    assert [i.check for i in review.flagged] == ["mlp-params"]
    assert review.progress.total == 12 and review.progress.reviewed == 0


def test_pages_render_with_names_hidden(client: TestClient, app: ReviewApp) -> None:
    page = client.get("/question/compare-models")
    assert page.status_code == 200
    item = app.current().questions[0].items[0]
    assert f'data-key="{item.key}"' in page.text and item.alias in page.text
    assert item.answer[:40].replace("'", "&#39;") in page.text
    overview = client.get("/").text
    assert app.lab.spec.discussions["compare-models"].heading in overview and "/question/compare-models" in overview
    flagged = client.get("/flagged")
    assert flagged.status_code == 200 and "mlp-params" in flagged.text
    assert client.get("/question/nope").status_code == 404
    assert client.get("/static/review.js").status_code == 200


def test_accepting_a_suggestion_is_merged_like_a_review_file(client: TestClient, app: ReviewApp) -> None:
    out = app.out_dir
    item = app.current().questions[0].items[0]
    other = app.current().questions[0].items[1]
    other_before = (out / other.submission / "result.json").read_bytes()
    response = client.post("/api/decisions", json={"decisions": [
        {"key": item.key, "version": item.version, "accept": True, "comment": "fine", "reviewer": "Dr. Ng"}]})
    assert response.status_code == 200, response.text
    result, check = _check(out, item.submission)
    assert check.review is not None and check.review.points == item.suggested
    assert (check.review.comment, check.review.reviewer, check.needs_review) == ("fine", "Dr. Ng", False)
    assert response.json()["versions"] == {item.key: app.current().items[item.key].version}
    row = next(r for r in read_gradebook(out / "gradebook.csv") if r["submission"] == item.submission)
    assert float(row["total"]) == pytest.approx(result.score)
    assert "Reviewed by Dr. Ng: fine" in (out / item.submission / "report.md").read_text(encoding="utf-8")
    assert (out / other.submission / "result.json").read_bytes() == other_before
    assert '"action": "decide"' in (out / LOG).read_text(encoding="utf-8")
    assert response.json()["progress"]["reviewed"] == 1


def test_points_per_concept_add_up_and_undo_restores_the_check(client: TestClient, app: ReviewApp) -> None:
    out = app.out_dir
    item = next(i for i in app.current().questions[0].items if any(c.suggested > 0 for c in i.concepts))
    _, before = _check(out, item.submission)
    found = next(c for c in item.concepts if c.suggested > 0)
    response = client.post("/api/decisions", json={"decisions": [
        {"key": item.key, "version": item.version, "concepts": {found.id: 0}}]})
    assert response.status_code == 200, response.text
    _, check = _check(out, item.submission)
    assert check.points == pytest.approx(max(0.0, item.suggested - found.suggested))
    assert check.review.concepts[found.id] == 0
    assert app.current().items[item.key].concepts[item.concepts.index(found)].given == 0

    version = response.json()["versions"][item.key]
    assert client.post("/api/undo", json={"key": item.key, "version": version}).status_code == 200
    _, restored = _check(out, item.submission)
    assert restored == before
    assert client.post("/api/undo", json={"key": item.key, "version": version}).status_code == 409


def test_a_stale_or_bad_decision_changes_nothing(client: TestClient, app: ReviewApp) -> None:
    out = app.out_dir
    first, second = app.current().questions[0].items[:2]
    assert client.post("/api/decisions", json={"decisions": [
        {"key": first.key, "version": first.version, "points": 3}]}).status_code == 200
    snapshot = _snapshot(out)
    # The same answer decided from a page loaded before: refused, with the reason.
    stale = client.post("/api/decisions", json={"decisions": [
        {"key": second.key, "version": second.version, "accept": True},
        {"key": first.key, "version": first.version, "points": 5}]})
    assert stale.status_code == 409 and "changed after this page was loaded" in stale.json()["error"]
    assert "3/" in stale.json()["error"]
    cases = [
        ({"key": second.key, "version": second.version, "points": second.max_points + 1}, 400, "out of range"),
        ({"key": second.key, "version": second.version, "points": -1}, 400, "out of range"),
        ({"key": "nobody/compare-models", "version": "x", "accept": True}, 404, "unknown"),
        ({"key": second.key, "version": second.version, "concepts": {"telepathy": 1}}, 400, "no concept"),
        ({"key": second.key, "version": second.version, "accept": True, "points": 2}, 400, "exactly one"),
    ]
    for decision, status, words in cases:
        response = client.post("/api/decisions", json={"decisions": [decision]})
        assert (response.status_code, words in response.json()["error"]) == (status, True), response.text
    assert client.post("/api/decisions", content=b"not json").status_code == 400
    assert _snapshot(out) == snapshot, "a refused decision wrote nothing"


def test_a_folder_that_is_not_a_graded_class_and_a_busy_port_are_clear_errors(
        tmp_path: Path, course: Course, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="no graded submissions"):
        open_class(tmp_path, course)
    assert main(["review", "--serve", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigError, match="in use"):
            check_port(busy.getsockname()[1])


def test_learned_points_follow_the_reviews_and_never_touch_a_reviewed_answer(client: TestClient,
                                                                               app: ReviewApp) -> None:
    out = app.out_dir
    question = app.current().questions[0]
    assert all(i.basis == "rubric" and i.estimate == pytest.approx(i.suggested, abs=0.01) for i in question.items)
    # The instructor gives the first student 0 where the rubric suggested more: the student who
    # handed in the same answer reworded follows; answers that say other things keep the rubric's.
    first = next(i for i in question.items if i.submission.startswith("student-00"))
    assert first.suggested > 1
    assert client.post("/api/decisions", json={"decisions": [
        {"key": first.key, "version": first.version, "points": 0}]}).status_code == 200
    after = app.current().questions[0]
    open_items = [i for i in after.items if not i.reviewed]
    copy = next(i for i in open_items if i.submission == REWORDED)
    assert copy.basis == "reviewed-neighbours" and copy.estimate is not None and copy.estimate < copy.suggested - 1
    others = [i for i in open_items if i.basis == "rubric"]
    assert others and all(i.estimate == pytest.approx(i.suggested, abs=0.01) for i in others)
    reviewed = {i.key: (out / i.submission / "result.json").read_bytes() for i in after.items if i.reviewed}

    response = client.post("/api/apply-learned", json={"tag": "compare-models"})
    assert response.status_code == 200, response.text
    assert set(response.json()["versions"]) == {i.key for i in open_items if abs(i.estimate - i.points) >= 0.01}
    for item in open_items:
        _, check = _check(out, item.submission)
        assert check.points == pytest.approx(item.estimate) and check.review is None
        moved = abs(item.estimate - item.points) >= 0.01  # type: ignore[operator]
        assert ("learned" in check.evidence) == moved
    _, copied = _check(out, REWORDED)
    assert copied.evidence["learned"]["rubric_points"] == copy.suggested
    assert {k: (out / k.split("/")[0] / "result.json").read_bytes() for k in reviewed} == reviewed
    # The grader's own suggestion is still what learning starts from, also once a learned answer is reviewed.
    assert [i.suggested for i in app.current().questions[0].items] == [i.suggested for i in after.items]
    learned = next(i for i in app.current().questions[0].items if i.submission == REWORDED)
    assert client.post("/api/decisions", json={"decisions": [
        {"key": learned.key, "version": learned.version, "points": 1}]}).status_code == 200
    _, reviewed_copy = _check(out, REWORDED)
    assert reviewed_copy.review.suggested_points == copy.suggested != copy.estimate
    assert f"the grader suggested {copy.suggested:g})" in reviewed_copy.message
    assert client.post("/api/apply-learned", json={"tag": "nope"}).status_code == 404


def test_a_regrade_gives_the_learned_points_again(client: TestClient, app: ReviewApp) -> None:
    out = app.out_dir
    first = next(i for i in app.current().questions[0].items if i.submission.startswith("student-00"))
    client.post("/api/decisions", json={"decisions": [{"key": first.key, "version": first.version, "points": 0}]})
    graded = [Result.read(p) for p in sorted(out.glob("*/result.json"))]
    assert relearn(graded, graded) == graded, "no learned points written yet: nothing to give again"
    assert client.post("/api/apply-learned", json={"tag": "compare-models"}).status_code == 200
    before = [Result.read(p) for p in sorted(out.glob("*/result.json"))]

    def regraded(result: Result) -> Result:
        # What a regrade under the same rubric writes: the grader's suggestion, reviews carried.
        check = next(c for p in result.parts for c in p.checks if c.name == "compare-models")
        if check.review is not None or "learned" not in check.evidence:
            return result
        evidence = {k: v for k, v in check.evidence.items() if k != "learned"}
        return replace_check(result, check.model_copy(update={"points": check.evidence["learned"]["rubric_points"],
                                                              "evidence": evidence}))

    after = [regraded(r) for r in before]
    assert after != before
    assert relearn(before, after) == before


def test_a_flagged_answer_shows_the_close_calls_that_flagged_it(client: TestClient, app: ReviewApp) -> None:
    items = app.current().questions[0].items
    close = {i.key for i in items if any(c.close_call for c in i.concepts)}
    assert close and close != {i.key for i in items}
    assert all(i.needs_review for i in items if i.key in close), "a close call is below the confidence bar"
    html = client.get("/question/compare-models").text
    articles = re.findall(r'<article .*?data-key="([^"]+)".*?</article>', html, re.DOTALL)
    shown = {key for key, body in zip(articles, re.findall(r"<article .*?</article>", html, re.DOTALL), strict=True)
             if "close call</span>" in body}
    assert shown == close
