"""Each check type on real artifacts (real Keras models saved to .keras, real .npy files),
written by hand into an export folder, so no kernel is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from keras import layers
from pydantic import create_model

from autograder.artifacts.reader import ArtifactBundle
from autograder.check_registry import Outcome, RegisteredCheck, get_check
from autograder.checks.context import CheckContext
from autograder.checks.scoring import run_check
from autograder.config import ExecutionLimits
from autograder.course.folder import Course
from autograder.course.labs import Lab, load_lab
from autograder.course.reference import ReferenceMetrics
from autograder.course.rubric import BoundCheck, CheckSpec
from autograder.discussion.check import DiscussionArgs, _model_facts
from autograder.discussion.grounding import Claim
from autograder.notebook.load import load_notebook
from tests import submissions


class Export:
    """An export folder as the kernel writes it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest: dict[str, dict[str, str]] = {}

    def model(self, name: str, model: Any) -> None:
        model.save(self.folder / f"{name}.keras")
        self.manifest[name] = {"kind": "keras-model", "status": "ok", "type": "keras.Sequential"}

    def array(self, name: str, value: np.ndarray) -> None:
        np.save(self.folder / f"{name}.npy", value, allow_pickle=False)
        self.manifest[name] = {"kind": "array", "status": "ok", "type": "numpy.ndarray"}

    def history(self, name: str, metrics: dict[str, list[float]]) -> None:
        (self.folder / f"{name}.json").write_text(json.dumps({"history": metrics, "params": {}}))
        self.manifest[name] = {"kind": "history", "status": "ok", "type": "keras.History"}

    def bundle(self) -> ArtifactBundle:
        (self.folder / "manifest.json").write_text(json.dumps(self.manifest))
        return ArtifactBundle(self.folder)


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    return load_lab("keras-digits", course)


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return Export(tmp_path)


def context(lab: Lab, bundle: ArtifactBundle, notebook: Path = submissions.SOLUTION) -> CheckContext:
    ctx = CheckContext(
        lab=lab, profile="full", artifacts=bundle, notebook=load_notebook(notebook), cells=[],
        limits=ExecutionLimits(), cache_dir=None,
    )
    # Fixed reference figures: these tests are about the checks, not about training.
    ctx.__dict__["metrics"] = ReferenceMetrics(
        median={"mlp_accuracy": 0.97}, low={"mlp_accuracy": 0.96}, high={"mlp_accuracy": 0.98}, seeds=(1,)
    )
    return ctx


def run(check_type: str, ctx: CheckContext, **args: Any) -> Outcome:
    check = get_check(check_type)
    spec = CheckSpec(id="t", check=check_type, points=1)
    return run_check(BoundCheck(spec, "p", check, check.validate_args(args)), ctx)


def mlp(first: int = 128, *, split_activations: bool = False) -> Any:
    if split_activations:
        return keras.Sequential([
            layers.Input((64,)), layers.Dense(first), layers.Activation("relu"), layers.Dense(64), layers.ReLU(),
            layers.Dense(32, activation="relu"), layers.Dense(10), layers.Softmax(),
        ])
    return keras.Sequential([
        layers.Input((64,)), layers.Dense(first, activation="relu"), layers.Dense(64, activation="relu"),
        layers.Dense(32, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def test_architecture_accepts_separate_activation_layers(lab: Lab, export: Export) -> None:
    export.model("mlp_model", mlp(split_activations=True))
    outcome = run("architecture", context(lab, export.bundle()), name="mlp_model")
    assert outcome.status == "passed", outcome.message


def test_architecture_names_the_first_differing_layer_and_tables_all(lab: Lab, export: Export) -> None:
    export.model("mlp_model", mlp(first=100))
    outcome = run("architecture", context(lab, export.bundle()), name="mlp_model")
    assert outcome.status == "failed"
    assert "layer 1 is Dense(100, relu)" in outcome.message
    assert outcome.evidence["table"]["row_ok"] == [False, False, True, True]


def test_architecture_reports_a_missing_layer(lab: Lab, export: Export) -> None:
    short = keras.Sequential([layers.Input((64,)), layers.Dense(128, activation="relu"),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    export.model("mlp_model", short)
    outcome = run("architecture", context(lab, export.bundle()), name="mlp_model")
    assert outcome.status == "failed" and "layer 3" in outcome.message


def test_params_against_the_reference(lab: Lab, export: Export) -> None:
    export.model("mlp_model", mlp())
    export.model("cnn_model", mlp(first=100))
    ctx = context(lab, export.bundle())
    assert run("params", ctx, name="mlp_model", reference="mlp_model").status == "passed"
    failed = run("params", ctx, name="cnn_model", expected=18986)
    assert failed.status == "failed" and failed.evidence == {"expected": 18986, "found": 15374}


def test_shape_follows_the_graders_data_and_range_catches_unscaled_inputs(lab: Lab, export: Export) -> None:
    export.array("X_train", np.arange(1437 * 64, dtype=float).reshape(1437, 64))
    export.array("X_test", np.zeros((359, 64)))
    ctx = context(lab, export.bundle())
    assert run("shape", ctx, name="X_train", like="X_train").status == "passed"
    assert run("shape", ctx, name="X_test", like="X_test").message == (
        "`X_test` has the shape (359, 64), expected (360, 64)."
    )
    unscaled = run("range", ctx, name="X_train", min=0, max=1)
    assert unscaled.status == "failed" and "scaled" in unscaled.message


def test_range_rejects_nan(lab: Lab, export: Export) -> None:
    export.array("X_train", np.array([0.5, np.nan]))
    assert run("range", context(lab, export.bundle()), name="X_train", min=0, max=1).status == "failed"


def test_history_without_validation_says_how_to_fix(lab: Lab, export: Export) -> None:
    export.history("mlp_history", {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]})
    outcome = run("history", context(lab, export.bundle()), name="mlp_history", min_epochs=1)
    assert outcome.status == "failed" and "validation_split" in outcome.message


def test_accuracy_is_measured_by_the_grader(lab: Lab, export: Export) -> None:
    keras.utils.set_random_seed(0)
    export.model("mlp_model", mlp())  # untrained: about chance
    outcome = run("accuracy", context(lab, export.bundle()), name="mlp_model", x="X_test", y="y_test",
                  metric="mlp_accuracy", margin=0.03, floor=0.5)
    assert outcome.status == "failed"
    assert "93.00%" in outcome.message  # the reference's worst seed (96%) minus 3 points


def test_a_missing_name_is_an_error_that_scores_zero(lab: Lab, export: Export) -> None:
    export.manifest["mlp_model"] = {"kind": "keras-model", "status": "missing", "candidates": "my_mlp"}
    outcome = run("params", context(lab, export.bundle()), name="mlp_model", expected=1)
    assert outcome.status == "error" and outcome.fraction == 0
    assert "`mlp_model` is not defined" in outcome.message and "`my_mlp`" in outcome.message


def test_a_check_that_breaks_scores_zero_and_is_flagged_for_review(lab: Lab, export: Export) -> None:
    # Not the student's doing (a grader bug, a course's reference that cannot train): the 0
    # stands only once an instructor has seen it.
    def broken(ctx: CheckContext) -> Outcome:
        raise ZeroDivisionError("division by zero")

    check = RegisteredCheck("broken", broken, create_model("broken_args"), "")
    spec = CheckSpec(id="t", check="broken", points=1)
    outcome = run_check(BoundCheck(spec, "p", check, check.validate_args({})), context(lab, export.bundle()))
    assert (outcome.status, outcome.fraction, outcome.needs_review) == ("error", 0, True)
    assert "ZeroDivisionError" in outcome.message and "until reviewed" in outcome.message


def _with_answer(tmp_path: Path, text: str) -> Path:
    nb = submissions.student_solution()
    cell = next(c for c in nb.cells if "compare-models" in c.metadata.get("tags", []))
    cell.source = text
    return submissions.write(nb, tmp_path / "answer.ipynb")


# The pattern method, so these tests pin its behaviour; the embedding method is tested in test_concepts.py.
DISCUSSION = {
    "tag": "compare-models",
    "method": "regex",
    "min_words": 10,
    "concepts": [
        {"id": "spatial", "description": "spatial structure", "any": ["spatial"]},
        {"id": "params", "description": "parameter counts", "any": ["param"]},
    ],
}


@pytest.mark.parametrize(
    ("text", "status", "fraction", "phrase", "review"),
    [
        ("YOUR ANSWER HERE", "failed", 0.0, "placeholder", False),
        # Under min_words: graded on what it says (nothing here), and a person looks at it.
        ("The CNN won.", "failed", 0.0, "The answer has 3 words, under the minimum of 10", True),
        ("The CNN uses the spatial structure of the digit images, and it has more parameters than the MLP.",
         "passed", 1.0, "covers every point", False),
        ("The CNN uses the spatial structure of the digit images well, so it beats the flat MLP easily.",
         "failed", 0.5, "parameter counts", True),
        # Both points, in 7 words: less the length penalty (20% of the points by default).
        ("CNN: spatial structure, more params than MLP.", "failed", 0.8, "that cost 20% of the question's points",
         True),
    ],
)
def test_discussion(lab: Lab, export: Export, tmp_path: Path, text: str, status: str, fraction: float,
                    phrase: str, review: bool) -> None:
    ctx = context(lab, export.bundle(), _with_answer(tmp_path, text))
    outcome = run("discussion", ctx, **DISCUSSION)
    assert outcome.status == status and outcome.fraction == pytest.approx(fraction)
    assert phrase in outcome.message
    assert outcome.needs_review == review


def test_discussion_over_the_word_limit_keeps_its_points_less_the_stated_share(
    lab: Lab, export: Export, tmp_path: Path
) -> None:
    text = "The CNN uses the spatial structure of the digit images, and it has more parameters than the MLP."
    ctx = context(lab, export.bundle(), _with_answer(tmp_path, text))
    outcome = run("discussion", ctx, **{**DISCUSSION, "max_words": 12, "length_penalty": 0.1})
    assert outcome.status == "failed" and outcome.needs_review
    assert outcome.fraction == pytest.approx(0.9)
    assert "The answer has 18 words, over the limit of 12: that cost 10% of the question's points." in outcome.message
    assert outcome.evidence["length"] == {"words": 18, "limit": 12, "side": "long", "cost": 0.1}


def test_discussion_that_copies_the_question_scores_nothing(lab: Lab, export: Export, tmp_path: Path) -> None:
    nb = submissions.student_solution()
    question = next(c.source for c in nb.cells if "Which model wins" in c.source and c.cell_type == "markdown")
    ctx = context(lab, export.bundle(), _with_answer(tmp_path, question.split("\n", 1)[1]))
    outcome = run("discussion", ctx, **DISCUSSION)
    assert outcome.status == "failed" and "repeats the question" in outcome.message


@pytest.mark.parametrize(("cnn_time", "seconds"), [
    (np.float64(31.5), 31.5),
    (np.array([31.5]), 31.5),
    # Not one positive number of seconds: not a training time the claim can be compared with.
    (np.array([1.0, 2.0]), None),
    (np.float64(np.nan), None),
    (np.float64(-3.0), None),
    (np.array(["31.5"]), None),
])
def test_a_speed_claim_reads_the_training_times_the_run_recorded(
        course: Course, export: Export, cnn_time: np.ndarray, seconds: float | None) -> None:
    cnn_lab = load_lab("keras-cnn-regularisation", course)
    (claim,) = (c for check in cnn_lab.rubric.checks if isinstance(check.args, DiscussionArgs)
                for c in check.args.claims if c.kind == "faster")
    export.array("cnn_time", np.asarray(cnn_time))
    facts = _model_facts(context(cnn_lab, export.bundle()), [claim])
    assert facts["cnn"].seconds == seconds
    assert facts["cnn_strided"].seconds is None  # not exported


def constant_classifier(label: int) -> Any:
    """A real Keras CNN-shaped model that predicts ``label`` for every image."""
    model = keras.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    kernel = model.layers[-1].get_weights()[0]
    model.layers[-1].set_weights([np.zeros_like(kernel), np.eye(10, dtype="float32")[label] * 5])
    return model


def test_a_claim_about_accuracy_scores_each_model_on_the_graders_test_data(course: Course, export: Export) -> None:
    cnn_lab = load_lab("keras-cnn-regularisation", course)
    (claim,) = (c for check in cnn_lab.rubric.checks if isinstance(check.args, DiscussionArgs)
                for c in check.args.claims if c.kind == "higher-score")
    export.model("cnn", constant_classifier(3))
    export.model("cnn_strided", constant_classifier(5))
    ctx = context(cnn_lab, export.bundle())
    ctx.__dict__["data"] = {"test_X_img": np.zeros((8, 28, 28, 1), "float32"),
                            "test_y": np.array([3, 3, 3, 5, 0, 1, 2, 4])}
    facts = _model_facts(ctx, [claim])
    assert facts["cnn"].scores == {"accuracy": 3 / 8} and facts["cnn_strided"].scores == {"accuracy": 1 / 8}
    # The accuracy check reads the same outputs: the model runs once per submission.
    assert ctx.outputs_on("cnn", "test_X_img") is ctx.outputs_on("cnn", "test_X_img")


def test_a_model_whose_outputs_are_not_numbers_has_no_score(course: Course, export: Export) -> None:
    cnn_lab = load_lab("keras-cnn-regularisation", course)
    claim = Claim(id="c", description="d", kind="higher-score", measure="rmse", x="test_X_img", y="test_y",
                  first="cnn", second="cnn_strided", says=["x"])
    broken = constant_classifier(3)
    kernel = broken.layers[-1].get_weights()[0]
    broken.layers[-1].set_weights([kernel, np.full(10, np.nan, "float32")])
    export.model("cnn", constant_classifier(3))
    export.model("cnn_strided", broken)
    ctx = context(cnn_lab, export.bundle())
    ctx.__dict__["data"] = {"test_X_img": np.zeros((4, 28, 28, 1), "float32"), "test_y": np.zeros((4, 10))}
    facts = _model_facts(ctx, [claim])
    assert facts["cnn_strided"].scores == {}  # NaN outputs: no score, so the claim stays unchecked
    assert facts["cnn"].scores["rmse"] > 0
