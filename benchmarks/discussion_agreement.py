"""Agreement of the discussion grader with an instructor's points, per method and half.

    PYTHONPATH=. .venv/bin/python benchmarks/discussion_agreement.py [--tune] [--details] [--by-kind] [--probe-cv]

Grades every labelled answer of tests/discussion_answers/ with the regex method and the
embedding method (each question's rubric as it is in rubrics/), and prints for each
part (`tune`: what the thresholds were chosen on; `held-out`: not looked at while tuning;
`fresh-dev` and `fresh-test`: written by authors who never saw the rubrics or the grader, the
first read to improve it, the second never, see tests/discussion_set.py):
exact points (the same whole number), within one point, false full marks (full marks
for an answer the instructor did not give them), full marks given to keyword-stuffed
or off-topic answers, the share flagged for review, and the time per answer.
``--tune`` searches the embedding thresholds (confirm, match, specificity) on the tune half only;
``--probe-cv`` prints how well each concept's probe tells its right example statements from
its wrong ones (rubrics/statements/, cross-validated).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.discussion.check import discussion_rubric, other_questions, question_text
from autograder.discussion.classifiers import load_statements
from autograder.discussion.concepts import grade_answer
from autograder.discussion.embedding import EmbedderUnavailable, load_embedder
from tests.discussion_set import LabelledAnswer, load_answers

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Graded:
    answer: LabelledAnswer
    points: float
    flagged: bool
    seconds: float


def grade_all(answers: Iterable[LabelledAnswer], labs: dict[str, Lab], method: str,
              overrides: dict[str, float] | None = None) -> list[Graded]:
    graded = []
    for a in answers:
        lab = labs[a.lab]
        rubric, points = discussion_rubric(lab, a.tag)
        if overrides:
            rubric = rubric.model_copy(update=overrides)
        started = time.perf_counter()
        grade = grade_answer(
            a.text, rubric, total=points, question=question_text(lab, a.tag),
            placeholder=lab.spec.discussions[a.tag].placeholder, other_questions=other_questions(lab, a.tag),
            histories=a.histories, statements=lab.statements(a.tag), method=method,  # type: ignore[arg-type]
            memo=lab.course.memo,
        )
        graded.append(Graded(a, grade.earned, grade.needs_review(rubric.confidence_bar),
                             time.perf_counter() - started))
    return graded


def summary(graded: list[Graded]) -> dict[str, float]:
    n = len(graded) or 1
    diffs = [abs(g.points - g.answer.points) for g in graded]
    full = [g for g in graded if g.points >= g.answer.max_points - 1e-9]
    return {
        "n": len(graded),
        "exact": sum(d < 0.5 for d in diffs) / n,
        "within1": sum(d <= 1.0 + 1e-9 for d in diffs) / n,
        "false_full": sum(g.answer.points < g.answer.max_points for g in full) / n,
        "stuffed_or_offtopic_full": sum(g.answer.kind in ("keyword-stuffed", "off-topic") for g in full),
        "flagged": sum(g.flagged for g in graded) / n,
        "ms_per_answer": 1000 * sum(g.seconds for g in graded) / n,
        "mean_abs_error": sum(diffs) / n,
    }


def print_table(rows: list[tuple[str, str, dict[str, float]]]) -> None:
    print(f"{'method':10} {'half':9} {'n':>4} {'exact':>6} {'<=1pt':>6} {'falseFull':>9} {'stuff/off full':>14} "
          f"{'flagged':>7} {'MAE':>5} {'ms/ans':>7}")
    for method, half, s in rows:
        print(f"{method:10} {half:9} {int(s['n']):4d} {s['exact']:6.1%} {s['within1']:6.1%} {s['false_full']:9.1%} "
              f"{int(s['stuffed_or_offtopic_full']):14d} {s['flagged']:7.1%} {s['mean_abs_error']:5.2f} "
              f"{s['ms_per_answer']:7.1f}")


def print_probe_cv(labs: dict[str, Lab]) -> None:
    embedder = load_embedder()
    assert not isinstance(embedder, EmbedderUnavailable), embedder.reason
    accuracies = []
    for lab in labs.values():
        for tag in lab.spec.discussions:
            path = lab.statements(tag)
            if path is None:
                continue
            rubric = discussion_rubric(lab, tag)[0]
            for concept_id, examples in load_statements(path, [c.id for c in rubric.concepts]).concepts.items():
                vectors = embedder.encode(examples.right + examples.wrong)
                labels = np.array([1] * len(examples.right) + [0] * len(examples.wrong))
                model = LogisticRegression(class_weight="balanced", max_iter=2000)
                accuracy = float(cross_val_score(model, vectors, labels, cv=5).mean())
                accuracies.append(accuracy)
                print(f"{tag:18} {concept_id:20} right vs wrong {accuracy:.2f}")
    print(f"median {float(np.median(accuracies)):.2f} over {len(accuracies)} concepts (0.5 is chance)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", action="store_true", help="search match/partial thresholds on the tune half")
    parser.add_argument("--details", action="store_true", help="list the answers off by more than one point")
    parser.add_argument("--by-kind", action="store_true", help="also break the embedding method down by kind")
    parser.add_argument("--probe-cv", action="store_true", help="how well a concept's probe tells its right "
                        "statements from its wrong ones (5-fold cross-validated accuracy; 0.5 is chance)")
    args = parser.parse_args()

    course = find_course(REPO)
    answers = load_answers()
    labs = {lab_id: load_lab(lab_id, course) for lab_id in {a.lab for a in answers}}
    started = time.perf_counter()
    load_embedder()
    print(f"{len(answers)} labelled answers over {len({a.tag for a in answers})} questions; "
          f"model loaded in {time.perf_counter() - started:.1f}s")

    if args.probe_cv:
        print_probe_cv(labs)
        return

    if args.tune:
        tune = [a for a in answers if a.half == "tune"]
        results = []
        grid = itertools.product([0.33, 0.36, 0.39, 0.42], [0.5, 0.53, 0.56, 0.6], [0.0, 0.04, 0.08, 0.12, 0.16])
        for confirm, match, specificity in grid:
            overrides = {"confirm": confirm, "match": match, "specificity": specificity}
            s = summary(grade_all(tune, labs, "embedding", overrides))
            results.append((s["within1"], -s["mean_abs_error"], s["exact"], s["flagged"], overrides))
        for within1, mae, exact, flagged, overrides in sorted(results, key=lambda r: r[:2], reverse=True)[:8]:
            print(f"{overrides}: within1 {within1:.1%} exact {exact:.1%} MAE {-mae:.2f} flagged {flagged:.1%}")
        return

    rows = []
    details = []
    for method in ("regex", "embedding"):
        graded = grade_all(answers, labs, method)
        for half in ("tune", "held-out", *sorted({a.half for a in answers} - {"tune", "held-out"}), "all"):
            part = [g for g in graded if half == "all" or g.answer.half == half]
            rows.append((method, half, summary(part)))
        details += [(method, g) for g in graded if abs(g.points - g.answer.points) > 1.0]
    print_table(rows)
    if args.by_kind:
        graded = grade_all(answers, labs, "embedding")
        kinds = sorted({a.kind for a in answers})
        print_table([("embedding", kind[:9], summary([g for g in graded if g.answer.kind == kind])) for kind in kinds])
    if args.details:
        for method, g in details:
            print(f"{method:9} {g.answer.half:8} {g.answer.id:20} {g.answer.kind:18} "
                  f"label {g.answer.points:g} got {g.points:g}")


if __name__ == "__main__":
    main()
