"""Concept probes learnt from a question's example statements, with the real embedding model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.course.folder import Course
from autograder.course.labs import load_lab
from autograder.discussion.check import discussion_rubric, other_questions, question_text
from autograder.discussion.classifiers import load_statements
from autograder.discussion.concepts import grade_answer
from autograder.errors import ConfigError

SALAD = ("The straight hidden layer of the cosine boundary activates the linear curve, so the ReLU separates the "
         "non-linear line of the weights and the classes bend the sigmoid. The linear boundary of the hidden curves "
         "is a non-linear straight line because the ReLU of the two classes separates the activation of the cosine "
         "weights into a bent layer.")


def test_keyword_salad_the_rules_credit_is_not_read_as_the_concepts(course: Course) -> None:
    lab = load_lab("keras-mnist-mlp", course)
    rubric, points = discussion_rubric(lab, "baseline-limits")
    settings = {"total": points, "question": question_text(lab, "baseline-limits"),
                "other_questions": other_questions(lab, "baseline-limits")}
    assert grade_answer(SALAD, rubric, **settings).earned == points, "the rules alone give it full marks"  # type: ignore[arg-type]
    probed = grade_answer(SALAD, rubric, statements=lab.statements("baseline-limits"), memo=lab.course.memo, **settings)  # type: ignore[arg-type]
    assert probed.earned <= 2


def test_every_discussion_question_of_the_course_has_statements_for_its_concepts(course: Course) -> None:
    for lab_id in course.lab_ids():
        lab = load_lab(lab_id, course)
        for tag in lab.spec.discussions:
            path = lab.statements(tag)
            assert path is not None, (lab_id, tag)
            concepts = [c.id for c in discussion_rubric(lab, tag)[0].concepts]
            statements = load_statements(path, concepts)
            assert set(statements.concepts) == set(concepts), (lab_id, tag)
            assert all(len(e.right) >= 10 and len(e.wrong) >= 10 for e in statements.concepts.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concepts:\n  nonsense: {right: [a sentence]}\n", "nonsense, which is not a concept of the question"),
        ("concepts:\n  gap: {wrong: [a sentence]}\n", "malformed"),
        ("concepts: [unclosed\n", "cannot read"),
    ],
)
def test_statements_that_do_not_fit_the_question_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "dropout-effect.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_statements(path, ["gap", "training-loss", "mechanism"])
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_labs_fingerprint_follows_its_statements(course: Course, tmp_path: Path) -> None:
    rubric = tmp_path / "keras-mnist-mlp.yaml"
    shutil.copy(course.rubrics / "keras-mnist-mlp.yaml", rubric)
    shutil.copytree(course.rubrics / "statements" / "keras-mnist-mlp", tmp_path / "statements" / "keras-mnist-mlp")
    before = load_lab("keras-mnist-mlp", course, rubric_path=rubric).fingerprint()
    statements = tmp_path / "statements" / "keras-mnist-mlp" / "dropout-effect.yaml"
    statements.write_text(statements.read_text(encoding="utf-8") + "\n# revised\n", encoding="utf-8")
    assert load_lab("keras-mnist-mlp", course, rubric_path=rubric).fingerprint() != before
