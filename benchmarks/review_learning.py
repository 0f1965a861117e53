"""A simulated instructor reviewing written answers with the tool's proposals, against the
same number of reviews picked at random.

    PYTHONPATH=. .venv/bin/python benchmarks/review_learning.py [--random-runs 5]

Each question's class is every labelled answer to it (tests/discussion_answers/: the tuned
halves, fresh-dev, fresh-test and fresh-test-2, see tests/discussion_set.py). The instructor
reviews one answer at a time, the one the tool ranks first (autograder.discussion.learning),
and every unreviewed answer is estimated again from the labels so far. Printed per part
(`never-read`, the two fresh-test parts together, is the figure to quote) and overall:

* reviews to full agreement: how many answers of the class the instructor reviewed before
  every answer of the part is within one point of its label (grading by hand: all);
* the share of the part within one point after 0, 10, 20 and 30% of the class reviewed;
* before any review: the answers the grader did not flag, their agreement, how many are 3
  or more points off, and false full marks;
* the same with random picks (median over ``--random-runs`` orders);
* the time from a decision to the review app's answer in a class of 300: stored in the
  class's files, the question estimated and ranked again.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course.folder import find_course
from autograder.course.labs import load_lab
from autograder.discussion.check import discussion_rubric, grade_text
from autograder.discussion.embedding import Embedder, load_embedder
from autograder.discussion.learning import Answer, estimate
from tests.discussion_set import NEVER_READ, LabelledAnswer, load_answers

REPO = Path(__file__).resolve().parent.parent
STEPS = (0.0, 0.1, 0.2, 0.3)
PARTS = {"never-read": NEVER_READ, "fresh-test": {"fresh-test"}, "fresh-test-2": {"fresh-test-2"},
         "fresh-dev": {"fresh-dev"}, "held-out": {"held-out"}, "tune": {"tune"}, "all": None}
"""Each printed part: the answers' parts it covers (None: all of them)."""


@dataclass(frozen=True)
class Question:
    tag: str
    max_points: float
    answers: list[LabelledAnswer]
    suggested: list[float]
    confidence: list[float]
    flagged: list[bool]
    vectors: np.ndarray


def _questions(embedder: Embedder) -> list[Question]:
    course = find_course(REPO)
    by_tag: dict[tuple[str, str], list[LabelledAnswer]] = {}
    for a in load_answers():
        by_tag.setdefault((a.lab, a.tag), []).append(a)
    questions = []
    for (lab_id, tag), answers in sorted(by_tag.items()):
        lab = load_lab(lab_id, course)
        rubric, _ = discussion_rubric(lab, tag)
        grades = [grade_text(lab, tag, a.text, histories=a.histories) for a in answers]
        scale = answers[0].max_points / (grades[0].max_points or 1.0)
        questions.append(Question(
            tag=tag, max_points=answers[0].max_points, answers=answers,
            suggested=[g.earned * scale for g in grades], confidence=[g.confidence for g in grades],
            flagged=[g.needs_review(rubric.confidence_bar) for g in grades],
            vectors=embedder.encode([a.text for a in answers]),
        ))
    return questions


def _replay(q: Question, pick: Callable[[list[int], list[int]], int]) -> list[list[float]]:
    """The points of every answer after 0, 1, ... n reviews; ``pick(open, ranks)`` chooses."""
    labels: dict[int, float] = {}
    history = []
    for _ in range(len(q.answers) + 1):
        ests = estimate([Answer(a.text, s, c, labels.get(i)) for i, (a, s, c) in
                         enumerate(zip(q.answers, q.suggested, q.confidence, strict=True))], q.max_points, q.vectors)
        history.append([e.points for e in ests])
        open_ = [i for i in range(len(q.answers)) if i not in labels]
        if not open_:
            break
        chosen = pick(open_, [e.review_rank for e in ests])
        labels[chosen] = q.answers[chosen].points
    return history


def _tool(open_: list[int], ranks: list[int]) -> int:
    return min(open_, key=lambda i: ranks[i])


def _in(answer: LabelledAnswer, part: str) -> bool:
    halves = PARTS[part]
    return halves is None or answer.half in halves


def _figures(q: Question, history: list[list[float]], part: str) -> tuple[int, dict[float, float]]:
    members = [i for i, a in enumerate(q.answers) if _in(a, part)]
    within = [sum(abs(points[i] - q.answers[i].points) <= 1.0 + 1e-9 for i in members) / len(members)
              for points in history]
    full = next(n for n, share in enumerate(within) if share == 1.0)
    n = len(q.answers)
    return full, {step: within[min(n, round(step * n))] for step in STEPS}


def _decision_timing(size: int = 300, decisions: int = 5) -> list[float]:
    """Seconds from posting a decision to the review app's answer, in a class of ``size``
    students: stored in the folder (result, report, gradebook, LMS file), the question's
    answers estimated and ranked again, and the progress counted."""
    from starlette.testclient import TestClient

    from autograder.review_app.server import ReviewApp
    from tests.review_class import write_class

    lab = load_lab("keras-digits", find_course(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        app = ReviewApp(write_class(lab, Path(tmp), size), lab)
        client = TestClient(app.app)
        client.get("/question/compare-models")  # the model loaded and the answers embedded once
        times = []
        for item in app.current().question("compare-models").items[:decisions]:
            started = time.perf_counter()
            response = client.post("/api/decisions", json={"decisions": [
                {"key": item.key, "version": item.version, "points": item.max_points}]})
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"the decision was refused: {response.text}")
    return times


def _print(rows: Sequence[tuple[Question, list[list[float]], list[list[list[float]]]]], part: str) -> None:
    tool_full, random_full, size = 0, 0.0, 0
    tool_steps = {s: [] for s in STEPS}
    random_steps = {s: [] for s in STEPS}
    weights = []
    for q, history, randoms in rows:
        members = sum(_in(a, part) for a in q.answers)
        if not members:
            continue
        full, steps = _figures(q, history, part)
        tool_full += full
        size += len(q.answers)
        random_results = [_figures(q, h, part) for h in randoms]
        random_full += statistics.median(r[0] for r in random_results)
        weights.append(members)
        for s in STEPS:
            tool_steps[s].append(steps[s])
            random_steps[s].append(statistics.median(r[1][s] for r in random_results))

    def mean(values: list[float]) -> float:
        return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)

    print(f"{part:12} reviews to full agreement: tool {tool_full}/{size} ({tool_full / size:.0%}), "
          f"random {random_full:.0f}/{size} ({random_full / size:.0%})")
    print(f"{'':12} within 1 point after " + ", ".join(
        f"{s:.0%}: tool {mean(tool_steps[s]):.0%} random {mean(random_steps[s]):.0%}" for s in STEPS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random-runs", type=int, default=5)
    args = parser.parse_args()
    embedder = load_embedder()
    if not isinstance(embedder, Embedder):
        raise SystemExit(f"no embedding model: {embedder.reason}")
    started = time.monotonic()
    questions = _questions(embedder)
    print(f"graded {sum(len(q.answers) for q in questions)} answers of {len(questions)} questions "
          f"in {time.monotonic() - started:.0f} s")
    rows = []
    for q in questions:
        randoms = []
        for run in range(args.random_runs):
            order = list(range(len(q.answers)))
            random.Random(run).shuffle(order)
            randoms.append(_replay(q, lambda open_, _ranks, o=order: next(i for i in o if i in open_)))
        rows.append((q, _replay(q, _tool), randoms))
    for part in PARTS:
        _print(rows, part)
    for part in ("never-read", "fresh-test", "fresh-test-2", "all"):
        picked = [(q, i) for q in questions for i, a in enumerate(q.answers) if _in(a, part)]
        unflagged = [(q, i) for q, i in picked if not q.flagged[i]]
        off = [abs(q.suggested[i] - q.answers[i].points) for q, i in unflagged]
        false_full = [(q, i) for q, i in picked if q.suggested[i] >= q.max_points - 1e-9
                      and q.answers[i].points < q.max_points]
        print(f"{part:12} before any review: {len(unflagged)}/{len(picked)} unflagged "
              f"({len(unflagged) / len(picked):.0%}), {sum(o <= 1 for o in off) / max(1, len(off)):.0%} of them within "
              f"1 point, {sum(o >= 3 for o in off)} 3+ points off; false full marks {len(false_full)} "
              f"({sum(not q.flagged[i] for q, i in false_full)} of them unflagged)")
    times = _decision_timing()
    print(f"a decision in a class of 300, stored and its question estimated and ranked again: median "
          f"{statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms (of {len(times)})")


if __name__ == "__main__":
    main()
