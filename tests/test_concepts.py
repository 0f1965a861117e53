"""Grading written answers on meaning, with the real embedding model (loaded once per session)."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from autograder.artifacts.reader import HistoryData
from autograder.cli import main
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.discussion import embedding
from autograder.discussion.check import discussion_rubric, grade_text, other_questions, question_text
from autograder.discussion.concepts import AnswerGrade, grade_answer, is_prose
from autograder.notebook.answers import find_answer
from autograder.notebook.load import load_notebook
from tests.discussion_set import NEVER_READ, load_answers

CURVES = {
    # The deep model overfits first (lowest validation loss at epoch 3) and ends with the larger gap.
    "history_mnist": HistoryData({"loss": [0.4, 0.2, 0.1, 0.08, 0.06], "val_loss": [0.2, 0.15, 0.12, 0.1, 0.09]}, {}),
    "history_mnist_deep": HistoryData({"loss": [0.3, 0.1, 0.06, 0.04, 0.02],
                                       "val_loss": [0.15, 0.11, 0.09, 0.1, 0.13]}, {}),
}
GOOD = ("Overfitting shows in the deeper network: its validation loss bottoms out around epoch 3 and then rises "
        "while the training loss keeps going down, so the curves drift apart. I would stop with early stopping on "
        "the validation loss (patience 2) and keep the best weights. More layers mean more capacity to memorise, "
        "so the deeper network overfits sooner, with a larger gap.")


@pytest.fixture(scope="module")
def mlp(course: Course) -> Lab:
    return load_lab("keras-mnist-mlp", course)


def grade(lab: Lab, tag: str, text: str, **kwargs: object) -> AnswerGrade:
    return grade_text(lab, tag, text, **kwargs)  # type: ignore[arg-type]


def found(result: AnswerGrade) -> set[str]:
    return {c.id for c in result.concepts if c.earned > 0}


def test_a_paraphrase_without_the_rubrics_words_covers_the_concept(mlp: Lab) -> None:
    text = ("With dropout the validation loss stays close to the training loss. Each training step silences a random "
            "fifth of the neurons, so none of them can lean on a particular partner being there and the network "
            "has to spread what it knows.")
    rubric = discussion_rubric(mlp, "dropout-effect")[0]
    mechanism = next(c for c in rubric.concepts if c.id == "mechanism")
    assert not any(re.search(p, text, re.IGNORECASE) for p in mechanism.any), "the patterns alone would miss it"
    result = grade(mlp, "dropout-effect", text)
    assert result.verdict == "graded" and result.method == "embedding"
    assert found(result) == {"gap", "mechanism"}
    assert grade(mlp, "dropout-effect", text, method="regex").concepts[2].earned == 0


def test_the_same_keywords_as_a_list_earn_nothing(mlp: Lab) -> None:
    text = ("Overfitting, training loss decreases, validation loss increases, gap, divergence, curves. Early "
            "stopping, patience, restore best weights, lowest val_loss, minimum. Depth, deeper network, more "
            "layers, earlier, sooner, larger gap, capacity.")
    result = grade(mlp, "when-to-stop", text)
    assert (result.verdict, result.earned) == ("not-prose", 0.0)
    assert "rather than listing terms" in result.message


def test_keywords_dressed_as_sentences_earn_nothing_and_go_to_review(mlp: Lab) -> None:
    text = ("The validation loss gap of early stopping is the overfitting of deeper layers sooner. Training loss "
            "decreases the patience of the lowest validation loss and the larger gap diverges earlier with more "
            "layers and patience.")
    result = grade(mlp, "when-to-stop", text)
    assert result.earned == 0
    assert result.needs_review(0.75)
    # The same terms in an explanation are not stuffing.
    assert grade(mlp, "when-to-stop", GOOD).earned == 10


def test_a_good_answer_in_its_own_words_gets_full_marks(mlp: Lab) -> None:
    result = grade(mlp, "when-to-stop", GOOD, histories=CURVES)
    assert result.earned == result.max_points == 10
    assert not result.needs_review(0.75)
    assert [c.status for c in result.claims] == ["agrees", "agrees"]
    assert "your curves agree" in result.message


def test_a_claim_the_students_curves_contradict_costs_its_concept(mlp: Lab) -> None:
    text = ("Overfitting means the training loss keeps falling while the validation loss rises. In my run the "
            "single-layer model overfit more and had the larger gap. I would use early stopping on the "
            "validation loss with a patience of three epochs and restore the best weights.")
    result = grade(mlp, "when-to-stop", text, histories=CURVES)
    claim = next(c for c in result.claims if c.id == "deeper-larger-gap")
    assert claim.status == "disagrees"
    assert "depth" not in found(result)
    assert "your own run contradicts it" in result.message and "your curves disagree" in result.message


def test_a_misconception_costs_points(mlp: Lab) -> None:
    right = ("Without a hidden layer the model is linear, so its decision boundary is a straight line, whatever the "
             "weights. The two cosine curves cannot be separated by any straight line: they need a curved boundary. A "
             "hidden layer with a non-linear activation is what lets a network bend its boundary around the curves.")
    wrong = " The baseline fails because it was not trained for enough epochs; with more epochs it would work."
    result = grade(mlp, "baseline-limits", right + wrong)
    assert result.misconceptions == ("training longer or a different learning rate cannot fix a linear model",)
    assert "Careful: training longer" in result.message
    assert result.earned == grade(mlp, "baseline-limits", right).earned - 2
    # Every concept is a clear call, yet a person confirms an answer that makes a misconception.
    assert not grade(mlp, "baseline-limits", right).needs_review(0.75)
    assert result.needs_review(0.75) and result.confidence <= 0.5


def test_each_concept_call_reports_its_margin_and_the_closest_one_sets_the_confidence(mlp: Lab) -> None:
    result = grade(mlp, "when-to-stop", GOOD, histories=CURVES)
    rubric = discussion_rubric(mlp, "when-to-stop")[0]
    assert all(c.margin is not None and (c.earned > 0) == (c.margin >= 0) for c in result.concepts)
    closest = min(abs(c.margin or 0.0) for c in result.concepts)
    assert result.confidence == pytest.approx(1 - math.exp(-closest / rubric.doubt))
    # Asking for more room around every threshold makes the same grade less sure, not different.
    wary = rubric.model_copy(update={"doubt": 4 * closest})
    again = grade_answer(GOOD, wary, total=10, question=question_text(mlp, "when-to-stop"),
                         other_questions=other_questions(mlp, "when-to-stop"), histories=CURVES,
                         statements=mlp.statements("when-to-stop"), memo=mlp.course.memo)
    assert again.earned == result.earned and again.confidence == pytest.approx(1 - math.exp(-0.25))
    assert again.needs_review(0.75)


def test_an_answer_to_another_question_is_recognised(mlp: Lab) -> None:
    text = ("Overfitting shows when the training loss keeps falling while the validation loss stops falling and "
            "starts to rise. A good stopping criterion is early stopping on the validation loss with a patience of "
            "a few epochs, keeping the best weights. Deeper networks overfit sooner.")
    result = grade(mlp, "baseline-limits", text)
    assert (result.verdict, result.earned) == ("other-answer", 0.0)
    assert "`when-to-stop`" in result.message


def test_an_answer_to_another_labs_question_is_recognised(course: Course) -> None:
    # keras-cnn-regularisation asks about padding and stride only; dropout is keras-mnist-mlp's question.
    text = ("Adding dropout after every hidden layer kept the validation loss near the training loss, so the model "
            "overfitted much less. The training loss was higher because random units are dropped in each batch, "
            "and the test accuracy ended slightly better, at 98 percent after ten epochs.")
    result = grade(load_lab("keras-cnn-regularisation", course), "padding-stride", text)
    assert (result.verdict, result.earned) == ("other-answer", 0.0)
    assert "`keras-mnist-mlp/dropout-effect`" in result.message


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("YOUR ANSWER HERE", "placeholder"),
        ("Dropout helps.", "not-prose"),  # graded despite its length, but it has no sentence to grade
        ("I had trouble installing TensorFlow on my laptop, so I used the computers in the lab instead, which "
         "worked fine once I created a fresh conda environment with the right Python version for the course.",
         "off-topic"),
        ("Compare the two pairs of curves. What happened to the gap between the training and validation loss, to "
         "the training loss itself, and to the test accuracy? Why does dropping units at random have this effect?",
         "copied"),
    ],
)
def test_answers_that_are_not_answers_score_nothing(mlp: Lab, text: str, verdict: str) -> None:
    result = grade(mlp, "dropout-effect", text)
    assert (result.verdict, result.earned) == (verdict, 0.0)


def _grade_with(lab: Lab, tag: str, text: str, **limits: int) -> AnswerGrade:
    """``text`` graded as grade_text does, under other word limits."""
    rubric, points = discussion_rubric(lab, tag)
    return grade_answer(text, rubric.model_copy(update=limits), total=points, question=question_text(lab, tag),
                        other_questions=other_questions(lab, tag), histories=CURVES, statements=lab.statements(tag),
                        memo=lab.course.memo)


def test_an_answer_over_the_word_limit_is_graded_and_loses_a_share_of_the_points(mlp: Lab) -> None:
    words = len(GOOD.split())
    within = _grade_with(mlp, "when-to-stop", GOOD, max_words=words + 10)
    assert within.earned == 10 and within.length is None
    over = _grade_with(mlp, "when-to-stop", GOOD, max_words=40)
    assert over.verdict == "graded"
    assert [c.earned for c in over.concepts] == [c.earned for c in within.concepts], "graded on what it says"
    assert over.earned == pytest.approx(8.0)  # 10 less the rubric's default 20%
    assert over.needs_review(0.75) and not within.needs_review(0.75)
    assert over.length is not None and (over.length.side, over.length.limit) == ("long", 40)
    assert f"The answer has {over.length.words} words, over the limit of 40: that cost 20% of the question's " \
           "points. Keep it to 25–40 words." in over.message
    assert over.evidence()["length"] == {"words": over.length.words, "limit": 40, "side": "long", "cost": 2.0}


def test_a_short_correct_answer_is_graded_on_what_it_says(mlp: Lab) -> None:
    # Two sentences, under the rubric's minimum of 25 words: a zero before, whatever they said.
    text = ("The deeper network overfits sooner: its validation loss rises after epoch 3 while its training loss "
            "keeps falling. Stop early on the validation loss.")
    assert len(text.split()) < discussion_rubric(mlp, "when-to-stop")[0].min_words
    content = _grade_with(mlp, "when-to-stop", text, min_words=0)
    short = grade(mlp, "when-to-stop", text, histories=CURVES)
    assert content.earned > 0 and short.verdict == "graded"
    assert short.earned == pytest.approx(max(0.0, content.earned - 2.0))
    assert short.needs_review(0.75)
    assert "under the minimum of 25" in short.message


def test_prose_needs_function_words_or_relations() -> None:
    assert is_prose("The gap between the two curves narrows with dropout.")
    assert not is_prose("Gap narrows, less overfitting, validation loss, training loss higher.")
    assert is_prose("more layers -> more capacity -> overfits sooner")
    assert is_prose("GRU 0.107 < RNN 0.116, LSTM 0.181")


def test_an_answer_in_notes_and_bullets_is_read_item_by_item(mlp: Lab) -> None:
    notes = ("* overfitting: training loss keeps dropping while val loss goes back up\n"
             "* deep net: val loss lowest at epoch 3, then climbs -> gap much bigger than for the small net\n"
             "* stop = early stopping on val loss, patience 2, keep the best weights\n"
             "* more layers -> more capacity -> overfits sooner (epoch 3 vs 9)\n")
    result = grade(mlp, "when-to-stop", notes, histories=CURVES)
    assert (result.verdict, result.earned) == ("graded", 10), result.message


def test_a_notes_style_line_in_an_answer_of_sentences_counts(course: Course) -> None:
    lab = load_lab("pytorch-sequences-attention", course)
    notes = "Test RMSE: GRU best (0.108), RNN next (0.117), LSTM worst (0.184)."
    assert not is_prose(notes)
    prose = ("The LSTM and the GRU have gates that decide what the hidden state keeps and what it forgets, which lets "
             "the gradient flow back through many time steps instead of vanishing as it does in a plain RNN. On "
             "windows of only 20 steps that advantage is small, and the LSTM has the most parameters to fit in the "
             "same number of epochs.")
    assert "results" not in found(grade(lab, "rnn-comparison", prose))
    assert "results" in found(grade(lab, "rnn-comparison", f"{notes} {prose}"))
    # In an answer made mostly of term lists, the lists still earn nothing.
    lists = (f"{notes} Gates, forget gate, cell state, update gate. Vanishing gradients, long windows, BPTT. The LSTM "
             "has the most parameters to fit in the same number of epochs.")
    assert found(grade(lab, "rnn-comparison", lists)) <= {"size-and-training"}


@pytest.mark.parametrize("lab_id", ["keras-digits", "keras-mnist-mlp", "keras-cnn-regularisation",
                                    "pytorch-fundamentals", "pytorch-sequences-attention"])
def test_every_solution_answer_gets_full_marks(course: Course, lab_id: str) -> None:
    # The lab's solution and its example solution, which puts the answers in other words:
    # the end-to-end tests expect full marks of both, and take minutes to say so.
    lab = load_lab(lab_id, course)
    for notebook in [lab.solution, *sorted(lab.examples.glob("*-solution.ipynb"))]:
        node = load_notebook(notebook).node
        for tag, spec in lab.spec.discussions.items():
            result = grade(lab, tag, find_answer(node, tag, spec).text)
            assert result.earned == result.max_points, (notebook.name, tag, result.message)
            assert not result.misconceptions, (notebook.name, tag, result.misconceptions)


@pytest.mark.slow  # grades some 300 answers with the embedding model: a minute or more
def test_the_labelled_set_never_gives_stuffed_or_off_topic_answers_full_marks(course: Course) -> None:
    # Over the parts the grader was developed on. The never-read parts only measure it, in
    # benchmarks/discussion_agreement.py: a test on them would invite tuning on their texts.
    answers = [a for a in load_answers() if a.half not in NEVER_READ]
    assert len(answers) >= 200
    assert all(sum(a.tag == t for a in answers) >= 20 for t in {a.tag for a in answers})
    labs = {lab_id: load_lab(lab_id, course) for lab_id in {a.lab for a in answers}}
    flagged = 0
    for a in answers:
        result = grade(labs[a.lab], a.tag, a.text, histories=a.histories)
        flagged += result.needs_review(0.75)
        if a.kind in ("keyword-stuffed", "off-topic", "copied-question", "placeholder"):
            assert result.earned < a.max_points, a.id
    # Review is asked for where the grade is a close call; at least half are left to the grader.
    assert flagged / len(answers) <= 0.5


def test_a_pattern_in_a_sentence_about_another_concept_does_not_earn_it(course: Course) -> None:
    lab = load_lab("keras-cnn-regularisation", course)
    text = ("With the strided network each epoch took 6 seconds instead of 13, so the time I spent waiting was reduced "
            "by half. The test accuracy was a little lower, about half a point, since some fine detail of the strokes "
            "is skipped.")
    stride = next(c for c in discussion_rubric(lab, "padding-stride")[0].concepts if c.id == "stride-shapes")
    assert any(re.search(p, text, re.IGNORECASE) for p in stride.any), "the stride concept's pattern occurs"
    result = grade(lab, "padding-stride", text)
    assert found(result) == {"speed", "accuracy"}
    assert result.needs_review(0.75), "a pattern hit the grader did not count goes to a person"


def test_without_the_model_the_patterns_grade_with_low_confidence(
    mlp: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if sentence-transformers were not installed: importing it fails for real.
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setattr(embedding, "_LOADED", None)
    text = ("Overfitting shows when the training loss keeps decreasing while the validation loss starts to rise. "
            "Use early stopping on the validation loss. A deeper network overfits sooner.")
    result = grade(mlp, "when-to-stop", text)
    assert result.method == "regex (fallback)"
    assert result.confidence <= 0.3 and result.needs_review(0.75)
    assert "sentence-embedding model is not installed" in result.note
    assert result.earned == 10


def test_the_discussion_command_prints_one_json_line_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.md"
    good.write_text("With dropout the validation loss stays close to the training loss, so the gap narrows and the "
                    "network overfits less. Its training loss is higher. Random units are switched off at every "
                    "step, so no unit can rely on another: a regulariser, like an ensemble of thinned networks.")
    blank = tmp_path / "blank.md"
    blank.write_text("YOUR ANSWER HERE")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"loss": [0.5, 0.1], "val_loss": [0.3, 0.5]}))
    dropout = tmp_path / "d.json"
    dropout.write_text(json.dumps({"history": {"loss": [0.6, 0.3], "val_loss": [0.4, 0.35]}}))
    code = main(["discussion", "--lab", "keras-mnist-mlp", "--tag", "dropout-effect",
                 "--history", f"history_very_deep={history}", "--history", f"history_dropout={dropout}",
                 str(good), str(blank)])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(blank)]
    assert {"file", "score", "max_score", "concepts", "confidence", "needs_review", "close_calls"} <= set(lines[0])
    assert lines[0]["needs_review"] == bool(lines[0]["close_calls"]), "a close call is what flags this answer"
    assert (lines[0]["score"], lines[0]["max_score"]) == (5, 5)
    assert set(lines[0]["concepts"]) == {"gap", "training-loss", "mechanism"}
    assert lines[0]["claims"] == [{"id": "dropout-narrows-gap", "status": "agrees"}]
    assert (lines[1]["score"], lines[1]["verdict"], lines[1]["concepts"]) == (0, "placeholder", [])


def test_the_discussion_command_refuses_an_unknown_tag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    answer = tmp_path / "a.md"
    answer.write_text("text")
    assert main(["discussion", "--lab", "keras-digits", "--tag", "nope", str(answer)]) == 2
    assert "compare-models" in capsys.readouterr().err


def test_swapped_definitions_earn_neither_definition(course: Course) -> None:
    # One misconception contradicts two concepts (`against: [feature-extraction, fine-tuning]`).
    lab = load_lab("pytorch-fundamentals", course)
    text = ("Feature extraction means retraining every layer of the pretrained network on our own images, whereas "
            "fine-tuning freezes the whole network and leaves the weights as they are. Either way the new head "
            "has ten outputs for our classes.")
    result = grade(lab, "transfer-learning", text)
    assert "feature extraction freezes the pre-trained layers; fine-tuning trains them" in result.misconceptions
    assert not found(result) & {"fine-tuning", "feature-extraction"}


@pytest.mark.parametrize(
    ("lab_id", "tag", "misconception", "text", "made"),
    [
        ("keras-cnn-regularisation", "padding-stride", "stride-grows",
         "A larger stride makes the feature maps larger.", True),
        ("keras-cnn-regularisation", "padding-stride", "stride-grows",
         "With stride 1 the maps stay larger, with stride 2 they are halved.", False),
        ("keras-cnn-regularisation", "padding-stride", "no-speed-difference",
         "I did not notice any difference in training time.", True),
        ("keras-cnn-regularisation", "padding-stride", "no-speed-difference",
         "There was no difference in accuracy, but the training time halved.", False),
        ("pytorch-fundamentals", "transfer-learning", "when-reversed",
         "Fine-tuning is the better choice when you only have a small dataset.", True),
        ("pytorch-fundamentals", "transfer-learning", "when-reversed",
         "Feature extraction works better with a small dataset and fine-tuning with a bigger dataset.", False),
        ("keras-mnist-mlp", "when-to-stop", "overfitting-on-training-loss",
         "Overfitting starts when the training loss stops going down.", True),
        ("keras-mnist-mlp", "when-to-stop", "overfitting-on-training-loss",
         "Overfitting starts when the validation loss stops going down while the training loss keeps falling.",
         False),
    ],
)
def test_misconception_patterns_catch_the_mistake_and_spare_the_right_statement_beside_it(
    course: Course, lab_id: str, tag: str, misconception: str, text: str, made: bool
) -> None:
    rubric = discussion_rubric(load_lab(lab_id, course), tag)[0]
    patterns = next(m.any for m in rubric.misconceptions if m.id == misconception)
    assert any(re.search(p, text, re.IGNORECASE) for p in patterns) == made
