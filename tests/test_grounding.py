"""Claims an answer makes about the student's run, compared with their real histories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from autograder.artifacts.reader import HistoryData
from autograder.discussion.grounding import Claim, ModelFacts, check_claims, read_history, read_history_option
from autograder.errors import ConfigError

DEEP_GAP = Claim(
    id="deeper-larger-gap", description="the deeper model shows the larger gap", kind="larger-gap",
    first="deep", second="shallow", concept="depth",
    says=[r"deep\w*[^.]*(larger|bigger|wider) gap"], opposite=[r"shallow\w*[^.]*(larger|bigger|wider) gap"],
)
ONSET = Claim(
    id="onset", description="overfitting starts around the epoch named", kind="onset-epoch",
    histories=["deep", "shallow"], tolerance=1, concept="signs",
    says=[r"overfit\w*[^.]*epoch (?P<epoch>\d+)"],
)
WINNER = Claim(
    id="cnn-wins", description="the CNN beat the MLP", kind="higher-metric", first="cnn", second="mlp",
    metric="val_accuracy", says=[r"CNN[^.]*(won|better)"], opposite=[r"MLP[^.]*(won|better)"],
)


def history(loss: list[float], val_loss: list[float], **more: list[float]) -> HistoryData:
    return HistoryData({"loss": loss, "val_loss": val_loss, **more}, {})


RUN = {
    # The deep model's validation loss is lowest at epoch 2 and ends 0.5 above its training loss.
    "deep": history([0.5, 0.3, 0.2, 0.1], [0.4, 0.35, 0.45, 0.6]),
    # The shallow one's is lowest at epoch 4 and ends 0.05 above.
    "shallow": history([0.6, 0.4, 0.3, 0.25], [0.5, 0.4, 0.33, 0.3]),
    "cnn": history([1.0], [1.0], val_accuracy=[0.9, 0.98]),
    "mlp": history([1.0], [1.0], val_accuracy=[0.9, 0.96]),
}


def test_a_claim_the_curves_support_agrees() -> None:
    (check,) = check_claims("In my run the deeper model shows a larger gap.", [DEEP_GAP], RUN)
    assert check.status == "agrees"
    assert "0.500" in check.message and "0.050" in check.message


def test_the_opposite_claim_disagrees_and_names_the_concept() -> None:
    (check,) = check_claims("The shallow network has the bigger gap\nof the two.", [DEEP_GAP], RUN)
    assert check.status == "disagrees" and check.concept == "depth"
    assert "your curves disagree" in check.message


def test_a_claim_wrapped_over_lines_is_still_one_sentence() -> None:
    (check,) = check_claims("The deeper\nmodel shows a\nlarger gap.", [DEEP_GAP], RUN)
    assert check.status == "agrees"


@pytest.mark.parametrize(("epoch", "status"), [(2, "agrees"), (3, "agrees"), (4, "agrees"), (7, "disagrees")])
def test_the_onset_epoch_is_compared_with_the_lowest_validation_loss(epoch: int, status: str) -> None:
    (check,) = check_claims(f"Overfitting starts around epoch {epoch}.", [ONSET], RUN)
    assert check.status == status
    assert "`deep` at epoch 2" in check.message and "`shallow` at epoch 4" in check.message


def test_a_decimal_number_does_not_end_the_claims_sentence() -> None:
    (check,) = check_claims("The MLP reached 98.6% on validation and won by a hair.", [WINNER], RUN)
    assert check.status == "disagrees"


def test_in_a_sentence_matching_both_sides_the_subject_decides() -> None:
    text = "The shallow model has a larger gap than the deep one: the deep model's gap is not the larger gap."
    (check,) = check_claims(text, [DEEP_GAP], RUN)
    assert check.status == "disagrees"
    (check,) = check_claims("The deep model shows a larger gap than the shallow one.", [DEEP_GAP], RUN)
    assert check.status == "agrees"


def test_an_epoch_is_compared_with_the_model_named_before_it() -> None:
    named = ONSET.model_copy(update={"names": {"deep": r"\bdeep\w*", "shallow": r"shallow\w*"}})
    # The deep model's validation loss is lowest at epoch 2, the shallow one's at epoch 4.
    text = "The shallow model overfits first, from epoch 2 on, while the deep one keeps improving."
    (check,) = check_claims(text, [named], RUN)
    assert check.status == "disagrees" and "`shallow` at epoch 4" in check.message
    (check,) = check_claims("The deep model overfits from epoch 2 on.", [named], RUN)
    assert check.status == "agrees"
    # Without names (or a model named), any of the models' epochs will do.
    (check,) = check_claims(text, [ONSET], RUN)
    assert check.status == "agrees"


def test_a_claim_about_a_history_that_was_not_exported_is_unchecked() -> None:
    (check,) = check_claims("The deeper model shows a larger gap.", [DEEP_GAP], {"deep": RUN["deep"]})
    assert check.status == "unchecked" and "`shallow` was not exported" in check.message


def test_a_metric_claim_uses_the_last_epoch() -> None:
    assert check_claims("The CNN won clearly.", [WINNER], RUN)[0].status == "agrees"
    assert check_claims("The MLP was better.", [WINNER], RUN)[0].status == "disagrees"


def test_an_answer_that_makes_no_claim_gets_no_check() -> None:
    assert check_claims("Depth matters for overfitting.", [DEEP_GAP, ONSET, WINNER], RUN) == ()


def test_histories_are_read_from_files_in_either_shape(tmp_path: Path) -> None:
    exported = tmp_path / "a.json"
    exported.write_text(json.dumps({"history": {"loss": [1, 0.5]}, "params": {}}))
    bare = tmp_path / "b.json"
    bare.write_text(json.dumps({"loss": [2.0]}))
    assert read_history(exported).metrics == {"loss": [1.0, 0.5]}
    name, data = read_history_option(f"history_mnist={bare}")
    assert (name, data.metrics) == ("history_mnist", {"loss": [2.0]})
    with pytest.raises(ConfigError, match=r"NAME=FILE\.json"):
        read_history_option(str(bare))
    bad = tmp_path / "c.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="metric name -> list of numbers"):
        read_history(bad)


COUNTS = Claim(
    id="parameter-counts", description="the parameter counts stated are the models'", kind="param-count",
    models=["mlp", "cnn"], concept="parameters",
    says=[r"(?P<count>\d{1,3}(?:,\d{3})+|\d+)\s*(?:parameters|weights)\b"],
)
COUNTED = {"mlp": ModelFacts(params=67.0), "cnn": ModelFacts(params=85066.0)}


@pytest.mark.parametrize(("text", "status", "words"), [
    ("The CNN has 85,066 parameters and the MLP only 67 parameters.", "agrees", "(85,066, 67)"),
    ("I count 67 parameters in the MLP and 85,066 parameters in the CNN.", "agrees", "(67, 85,066)"),
    # The case: a count of another model (or the solution's) about this student's MLP.
    ("My MLP has 131 parameters, the CNN 85,066 parameters.", "disagrees", "`mlp` has 67"),
    ("With 85066 weights it is the larger model.", "agrees", "85,066"),
    ("With 18,986 weights it is the smaller model.", "disagrees", "`mlp` has 67, `cnn` has 85,066"),
])
def test_stated_parameter_counts_are_compared_with_the_exported_models(text: str, status: str, words: str) -> None:
    (check,) = check_claims(text, [COUNTS], {}, COUNTED)
    assert (check.status, check.concept) == (status, "parameters")
    assert words in check.message


def test_parameter_counts_are_checked_only_against_a_run() -> None:
    text = "My MLP has 131 parameters."
    assert check_claims(text, [COUNTS], {}) == ()  # a text graded alone: nothing to compare with
    (check,) = check_claims(text, [COUNTS], {}, {})
    assert check.status == "unchecked" and "not exported" in check.message
    # A count that is not the exported MLP's may be the CNN's, which did not export: not a contradiction.
    (check,) = check_claims("The CNN has 85,066 parameters.", [COUNTS], {}, {"mlp": ModelFacts(params=67.0)})
    assert check.status == "unchecked" and "`cnn` was not exported" in check.message
    assert check_claims("The CNN is deeper.", [COUNTS], {}, COUNTED) == ()


def rubric_claim(lab: str, claim_id: str) -> Claim:
    """The claim ``claim_id`` of the discussion question of ``lab``'s rubric."""
    rubric = yaml.safe_load((Path(__file__).resolve().parents[1] / "rubrics" / f"{lab}.yaml").read_text())
    return next(Claim.model_validate(c) for p in rubric["parts"] for check in p["checks"]
                if check["check"] == "discussion" for c in check["args"].get("claims", []) if c["id"] == claim_id)


MAPS = rubric_claim("keras-cnn-regularisation", "stride-maps")
STRIDED_SMALLER = {"cnn": ModelFacts(feature_map=(13, 13)), "cnn_strided": ModelFacts(feature_map=(3, 3))}


@pytest.mark.parametrize(("text", "facts", "status"), [
    ("The stride of 2 halved the feature maps, so the strided model computes far less.", STRIDED_SMALLER, "agrees"),
    # The case: the reversed statement, against the student's own strided model.
    ("A larger stride makes the feature maps larger, so the model sees more detail.", STRIDED_SMALLER, "disagrees"),
    # A student whose strided model kept bigger maps (padding changed too) is right to say so.
    ("Using stride made the maps larger in my model.",
     {"cnn": ModelFacts(feature_map=(5, 5)), "cnn_strided": ModelFacts(feature_map=(14, 14))}, "agrees"),
    ("The stride reduced the feature maps.", {"cnn": ModelFacts(feature_map=(5, 5))}, "unchecked"),
])
def test_what_an_answer_says_strides_did_to_the_feature_maps_is_compared_with_its_models(
        text: str, facts: dict[str, ModelFacts], status: str) -> None:
    (check,) = check_claims(text, [MAPS], {}, facts)
    assert (check.status, check.concept) == (status, "stride-shapes"), check.message
    if status != "unchecked":
        assert "`cnn_strided`" in check.message and "x" in check.message
    assert check_claims(text, [MAPS], {}) == ()  # a text graded alone: no models to compare with


FASTER = rubric_claim("keras-cnn-regularisation", "stride-speed")
STRIDED_FASTER = {"cnn": ModelFacts(seconds=41.0), "cnn_strided": ModelFacts(seconds=12.5)}
STRIDED_SLOWER = {"cnn": ModelFacts(seconds=12.5), "cnn_strided": ModelFacts(seconds=41.0)}


@pytest.mark.parametrize(("text", "facts", "status"), [
    ("The strided model trained much faster, since it computes a quarter of the positions.", STRIDED_FASTER,
     "agrees"),
    ("With a stride of 2 the training was slower.", STRIDED_FASTER, "disagrees"),
    ("A larger stride made every epoch take more time.", STRIDED_FASTER, "disagrees"),
    # A student whose strided model really was slower (wider filters, say) is right to say so.
    ("The strided model took longer to train in my run.", STRIDED_SLOWER, "agrees"),
    ("The strided model trained faster.", STRIDED_SLOWER, "disagrees"),
    # The grader's run times both models: a difference within the margin contradicts nothing.
    ("With a stride of 2 the training was slower.",
     {"cnn": ModelFacts(seconds=10.0), "cnn_strided": ModelFacts(seconds=10.9)}, "unchecked"),
    ("The strided model trained faster.", {"cnn": ModelFacts(seconds=10.0), "cnn_strided": ModelFacts()}, "unchecked"),
])
def test_what_an_answer_says_about_training_speed_is_compared_with_the_recorded_times(
        text: str, facts: dict[str, ModelFacts], status: str) -> None:
    (check,) = check_claims(text, [FASTER], {}, facts)
    assert (check.status, check.concept) == (status, "speed"), check.message
    if status == "unchecked":
        assert "too close" in check.message or "`cnn_strided_time`" in check.message
    else:
        assert "`cnn_strided` " in check.message and " s" in check.message
    assert check_claims(text, [FASTER], {}) == ()  # a text graded alone: no times to compare with


@pytest.mark.parametrize("text", [
    # Another subject in the speed clause, or no strided subject at all: no claim about the strided model.
    "The strided model was less accurate, but the other one took longer to train.",
    "The non-strided model was slower.",
    "Training was quicker overall.",
    "The strided model was not faster at all.",
])
def test_speed_said_of_something_else_is_no_claim_about_the_strided_model(text: str) -> None:
    assert check_claims(text, [FASTER], {}, STRIDED_FASTER) == ()


LOWEST_RMSE = rubric_claim("pytorch-sequences-attention", "lowest-rmse")
# The reference's test RMSEs: the GRU best, the RNN within the tie margin, the LSTM far behind.
RMSES = {f"models[{m}]": ModelFacts(scores={"rmse": r})
         for m, r in (("rnn", 0.1165), ("lstm", 0.1844), ("gru", 0.1075))}


@pytest.mark.parametrize(("text", "status", "named"), [
    ("In my run the GRU had the lowest test RMSE, with the RNN close behind.", "agrees", "GRU"),
    ("The plain RNN reached the lowest error, 0.117.", "agrees", "plain RNN"),  # within 0.02 of the best: a tie
    # The misconception the question is after, against the student's own results.
    ("The LSTM performed best because it has the most gates.", "disagrees", "LSTM"),
    ("The lowest RMSE was reached by the LSTM.", "disagrees", "LSTM"),
    # Markdown emphasis is read as the words it shows.
    ("In this run the **LSTM** reached the lowest test **RMSE** (about 0.1086).", "disagrees", "LSTM"),
    # The model a negation or another model's name stands between is not the one named the winner.
    ("The LSTM did not perform best; the GRU won.", "agrees", "GRU"),
    ("The RNN is the smallest model, yet the LSTM won.", "disagrees", "LSTM"),
])
def test_the_model_an_answer_names_the_best_is_compared_with_the_scores_of_its_run(
        text: str, status: str, named: str) -> None:
    (check,) = check_claims(text, [LOWEST_RMSE], {}, RMSES)
    assert (check.status, check.concept) == (status, "results"), check.message
    assert f"the {named} did best" in check.message and "`models[gru]` 0.1075" in check.message
    if status == "disagrees":
        assert "in your run `models[gru]` did" in check.message


def test_naming_no_winner_is_no_claim_and_an_unscored_model_leaves_it_unchecked() -> None:
    for text in ("The RNN has the fewest parameters.", "The LSTM didn't do best.", "Gates help with long sequences."):
        assert check_claims(text, [LOWEST_RMSE], {}, RMSES) == ()
    partial = {k: v for k, v in RMSES.items() if k != "models[rnn]"}
    (check,) = check_claims("The GRU had the lowest test RMSE.", [LOWEST_RMSE], {}, partial)
    assert check.status == "unchecked" and "`models[rnn]` could not be run" in check.message


STRIDE_ACCURACY = rubric_claim("keras-cnn-regularisation", "stride-accuracy")
STRIDED_LESS_ACCURATE = {"cnn": ModelFacts(scores={"accuracy": 0.985}),
                         "cnn_strided": ModelFacts(scores={"accuracy": 0.97})}


@pytest.mark.parametrize(("text", "facts", "status"), [
    ("With a stride of 2 the test accuracy dropped a little.", STRIDED_LESS_ACCURATE, "agrees"),
    ("The test accuracy dropped a little with the larger stride.", STRIDED_LESS_ACCURATE, "agrees"),
    ("The strided model was more accurate.", STRIDED_LESS_ACCURATE, "disagrees"),
    ("The accuracy improved slightly for the strided model.", STRIDED_LESS_ACCURATE, "disagrees"),
    ("The strided model was more accurate.",
     {"cnn": ModelFacts(scores={"accuracy": 0.97}), "cnn_strided": ModelFacts(scores={"accuracy": 0.98})}, "agrees"),
    # Within half a point, another training run could have ranked them the other way.
    ("The strided model was more accurate.",
     {"cnn": ModelFacts(scores={"accuracy": 0.981}), "cnn_strided": ModelFacts(scores={"accuracy": 0.979})},
     "unchecked"),
])
def test_what_an_answer_says_strides_did_to_the_accuracy_is_compared_with_its_models_scores(
        text: str, facts: dict[str, ModelFacts], status: str) -> None:
    (check,) = check_claims(text, [STRIDE_ACCURACY], {}, facts)
    assert (check.status, check.concept) == (status, "accuracy"), check.message
    assert "test accuracy: `cnn`" in check.message


@pytest.mark.parametrize(("fields", "words"), [
    ({"kind": "best-score", "names": {"a": "A", "b": "B"}}, "`x` and `y`"),
    ({"kind": "best-score", "names": {"a": "A"}, "x": "X", "y": "Y"}, "at least two"),
    ({"kind": "higher-score", "first": "a", "x": "X", "y": "Y"}, "`first` and `second`"),
    ({"kind": "higher-score", "first": "a", "second": "models[gru", "x": "X", "y": "Y"}, "name[variant]"),
])
def test_a_score_claim_says_what_it_lacks(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Claim.model_validate({"id": "c", "description": "d", "says": ["x"], **fields})


def test_patterns_read_markdown_as_the_words_it_shows() -> None:
    from autograder.discussion.grounding import pattern_text

    assert pattern_text("the **LSTM** won, *clearly*, and `cnn_strided` was __faster__") == (
        "the LSTM won, clearly, and cnn_strided was faster")
    # A product and a name with underscores are not markup; a decimal point ends no sentence.
    text = "a 28*28 image, 3 * 3 kernels, cnn_time 0.5"
    assert pattern_text(text) == text.replace("0.5", "0\u00b75")


def test_parameter_counts_may_be_of_a_variant_of_a_model() -> None:
    claim = rubric_claim("pytorch-sequences-attention", "parameter-counts")
    assert claim.models == ["models[rnn]", "models[lstm]", "models[gru]"]
    facts = {f"models[{m}]": ModelFacts(params=p) for m, p in (("rnn", 2701.0), ("lstm", 10651.0), ("gru", 8001.0))}
    (check,) = check_claims("The LSTM is the largest model, with 10,651 parameters.", [claim], {}, facts)
    assert check.status == "agrees"
    (check,) = check_claims("The LSTM is the largest model, with 40,000 parameters.", [claim], {}, facts)
    assert check.status == "disagrees" and "`models[lstm]` has 10,651" in check.message
