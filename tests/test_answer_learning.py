"""An instructor's labels carried to the answers nobody reviewed, and what to review next
(autograder.discussion.learning), on real sentence embeddings of labelled answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.cli import main
from autograder.discussion.embedding import Embedder, load_embedder
from autograder.discussion.learning import Answer, estimate
from tests.discussion_set import load_answers

GOOD = [a for a in load_answers() if a.tag == "compare-models" and a.kind == "good"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = load_embedder()
    assert isinstance(loaded, Embedder), loaded
    return loaded


def test_a_decision_carries_to_an_answer_that_says_the_same(embedder: Embedder) -> None:
    first = GOOD[0].text
    reworded = first.replace("My convolutional network", "The convolutional network I trained").replace(
        "came out on top", "was the winner")
    far = "Training took longer than I expected and I had to restart the kernel twice."
    texts = [first, reworded, far]
    vectors = embedder.encode(texts)
    # The instructor gave the first 6 where the rubric said 15: the reworded copy follows,
    # the unrelated answer keeps the rubric's suggestion.
    ests = estimate([Answer(first, 15, 0.9, 6.0), Answer(reworded, 14, 0.9), Answer(far, 2, 0.9)], 15.0, vectors)
    assert (ests[0].points, ests[0].basis, ests[0].review_rank) == (6.0, "reviewed", 0)
    assert ests[1].basis == "reviewed-neighbours" and ests[1].points < 8
    assert (ests[2].basis, ests[2].points) == ("rubric", 2.0)
    assert sorted(e.review_rank for e in ests[1:]) == [1, 2]


def test_without_labels_the_rubric_stands_and_the_least_certain_cluster_comes_first(embedder: Embedder) -> None:
    texts = [a.text for a in GOOD[:4]] + ["I do not know."]
    confidence = [0.95, 0.95, 0.95, 0.95, 0.2]
    ests = estimate([Answer(t, 10, c) for t, c in zip(texts, confidence, strict=True)], 15.0, embedder.encode(texts))
    assert [e.points for e in ests] == [10.0] * 5
    assert all(e.basis == "rubric" for e in ests)
    assert ests[4].uncertainty == pytest.approx(0.8)
    assert sorted(e.review_rank for e in ests) == [1, 2, 3, 4, 5]
    assert ests[4].review_rank == 1


def test_ranking_spreads_over_different_answers() -> None:
    # Two identical pairs and a loner, all equally uncertain: the first two picks cover both pairs.
    vectors = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    ests = estimate([Answer("", 5, 0.5) for _ in range(5)], 10.0, vectors)
    first_two = {i for i, e in enumerate(ests) if e.review_rank <= 2}
    assert len(first_two & {0, 1}) == 1 and len(first_two & {2, 3}) == 1


def test_the_discussion_command_learns_from_labels_and_proposes(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                ) -> None:
    files = []
    for n, answer in enumerate(GOOD[:4]):
        path = tmp_path / f"a{n}.md"
        path.write_text(answer.text, encoding="utf-8")
        files.append(str(path))
    labels = tmp_path / "labels.csv"
    labels.write_text(f"file,points\n{files[0]},4\n", encoding="utf-8")
    args = ["discussion", "--lab", "keras-digits", "--tag", "compare-models", "--labels", str(labels),
            "--propose", "2", *files]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == files
    assert (lines[0]["score"], lines[0]["basis"], lines[0]["review_rank"], lines[0]["proposed"]) == (4.0, "reviewed",
                                                                                                     0, False)
    assert sum(line["proposed"] for line in lines) == 2
    assert all("suggested_score" in line for line in lines)

    for bad, words in ((f"file,points\n{tmp_path / 'nope.md'},4\n", "not one of the answer files"),
                       (f"file,points\n{files[1]},99\n", "out of range")):
        labels.write_text(bad, encoding="utf-8")
        assert main(args) == 2
        assert words in capsys.readouterr().err
