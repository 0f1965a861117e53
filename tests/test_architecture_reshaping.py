"""A model is judged by what it computes: a Flatten in front of the required layers, or a
model that takes images where the grader's data are flat, is the same network."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from keras import layers

from autograder.artifacts.reader import ArtifactBundle
from autograder.checks.architecture import _layers
from autograder.checks.context import CheckContext, fit_input
from autograder.config import ExecutionLimits
from autograder.course.folder import Course
from autograder.course.labs import Lab, NameSpec, load_lab
from autograder.course.reference import ReferenceMetrics
from autograder.notebook.load import load_notebook
from tests import submissions
from tests.test_checks import Export, run


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    # Its `mlp` reference takes flat (784,) vectors: Dense(256), Dropout, Dense(128), Dropout, Dense(10).
    return load_lab("pytorch-sequences-attention", course)


def context(lab: Lab, bundle: ArtifactBundle, data: dict[str, np.ndarray]) -> CheckContext:
    ctx = CheckContext(lab=lab, profile="full", artifacts=bundle, notebook=load_notebook(submissions.SOLUTION),
                       cells=[], limits=ExecutionLimits(), cache_dir=None)
    ctx.__dict__["data"] = data
    ctx.__dict__["metrics"] = ReferenceMetrics(median={"mlp_accuracy": 0.9}, low={"mlp_accuracy": 0.9},
                                               high={"mlp_accuracy": 0.9}, seeds=(1,))
    return ctx


def image_mlp(*, hidden: int = 256, shape: tuple[int, ...] = (28, 28, 1)) -> Any:
    """The reference MLP, taking images through a Flatten as the course's notebook builds it."""
    return keras.Sequential([
        layers.Input(shape), layers.Flatten(), layers.Dense(hidden, activation="relu"), layers.Dropout(0.3),
        layers.Dense(128, activation="relu"), layers.Dropout(0.3), layers.Dense(10, activation="softmax"),
    ])


def test_a_flatten_in_front_of_the_dense_layers_matches_the_flat_reference(lab: Lab, tmp_path: Path) -> None:
    export = Export(tmp_path)
    export.model("mlp", image_mlp())
    ctx = context(lab, export.bundle(), {})
    outcome = run("architecture", ctx, name="mlp")
    assert outcome.status == "passed", outcome.message
    assert "Flatten" in outcome.evidence["note"]
    rows = outcome.evidence["table"]["rows"]
    assert rows[0][1:] == ["Dense(256, relu)", "Dense(256, relu)", "(None, 256) / (None, 256)", "200960 / 200960"]
    assert run("params", ctx, name="mlp", expected=235146).status == "passed"


def test_expected_layers_from_an_older_bundle_that_list_a_flatten_still_match(lab: Lab, tmp_path: Path) -> None:
    export = Export(tmp_path)
    export.model("mlp", image_mlp())
    ctx = context(lab, export.bundle(), {})
    expected = [{"layer": "Flatten", "output": "(None, 784)", "params": 0}, *_layers(ctx.reference_model("mlp"))]
    outcome = run("architecture", ctx, name="mlp", expected_layers=expected)
    assert outcome.status == "passed", outcome.message


def test_a_reshaping_layer_does_not_hide_a_wrong_layer(lab: Lab, tmp_path: Path) -> None:
    export = Export(tmp_path)
    export.model("mlp", image_mlp(hidden=200))
    outcome = run("architecture", context(lab, export.bundle(), {}), name="mlp")
    assert outcome.status == "failed"
    assert "layer 1 is Dense(200, relu) with output (None, 200), expected Dense(256, relu)" in outcome.message


def test_the_reference_without_its_flatten_matches_a_student_model_without_one(lab: Lab, tmp_path: Path) -> None:
    # The reverse: the reference CNN has a Flatten; a student's Reshape-then-Flatten twin still matches.
    export = Export(tmp_path)
    export.model("cnn", keras.Sequential([
        layers.Input((784,)), layers.Reshape((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]))
    outcome = run("architecture", context(lab, export.bundle(), {}), name="cnn")
    assert outcome.status == "passed", outcome.message
    assert "Reshape, Flatten" in outcome.evidence["note"]


def test_dropout_is_still_compared(lab: Lab, tmp_path: Path) -> None:
    export = Export(tmp_path)
    export.model("mlp", keras.Sequential([
        layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ]))
    outcome = run("architecture", context(lab, export.bundle(), {}), name="mlp")
    assert outcome.status == "failed" and "layer 2 is Dense(128, relu)" in outcome.message


@pytest.mark.parametrize(("model_shape", "data_shape"), [((28, 28, 1), (784,)), ((28, 28), (784,)),
                                                         ((784,), (28, 28, 1))])
def test_the_test_data_are_fed_in_the_shape_the_model_declares(
    lab: Lab, tmp_path: Path, model_shape: tuple[int, ...], data_shape: tuple[int, ...]
) -> None:
    model = image_mlp(shape=model_shape)
    x = np.random.default_rng(0).random((50, *data_shape), dtype=np.float32)
    # Labels the model itself gives the images: only a model fed its own layout gets them all.
    y = np.argmax(np.asarray(model(x.reshape(50, *model_shape), training=False)), axis=1)
    export = Export(tmp_path)
    export.model("mlp", model)
    outcome = run("accuracy", context(lab, export.bundle(), {"x": x, "y": y}), name="mlp", x="x", y="y",
                  metric="mlp_accuracy")
    assert outcome.status == "passed", outcome.message
    assert "100.00%" in outcome.message
    declared = ", ".join(str(d) for d in model_shape) + ("," if len(model_shape) == 1 else "")
    assert f"Your model takes ({declared}) inputs; the test data" in outcome.message
    assert "reshaped to it" in outcome.evidence["note"]


def test_data_with_another_number_of_values_is_still_a_clear_error(lab: Lab, tmp_path: Path) -> None:
    export = Export(tmp_path)
    export.model("mlp", image_mlp())
    x = np.zeros((4, 100), np.float32)
    outcome = run("accuracy", context(lab, export.bundle(), {"x": x, "y": np.zeros(4, np.int64)}), name="mlp",
                  x="x", y="y", metric="mlp_accuracy")
    assert outcome.status == "error" and outcome.fraction == 0
    assert "cannot be run on the test data of shape (4, 100) (your model takes (28, 28, 1) inputs)" in outcome.message


def test_fit_input_reshapes_only_a_different_layout_of_the_same_values() -> None:
    x = np.arange(2 * 784, dtype=np.float32).reshape(2, 784)
    fitted, note = fit_input(x, (28, 28, 1))
    assert fitted.shape == (2, 28, 28, 1) and np.array_equal(fitted.reshape(2, -1), x)
    assert note == "Your model takes (28, 28, 1) inputs; the test data, (784,) per example, were reshaped to it."
    for declared in [(784,), (100,), (None, 28), None]:
        same, none = fit_input(x, declared)
        assert same is x and none == ""


@pytest.mark.slow  # the exported program runs in a probe process
def test_a_torch_model_that_flattens_in_forward_gets_the_data_in_its_declared_shape(
    lab: Lab, tmp_path: Path
) -> None:
    import torch
    from torch import nn

    from autograder.execution._child.kernel_export import _autograder_export

    names = {"net": NameSpec(kind="torch-model", input=(1, 28, 28))}
    torch_lab = dataclasses.replace(lab, spec=lab.spec.model_copy(update={"names": names}))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        _autograder_export(torch_lab.export_spec(), str(tmp_path), {"net": net, "__name__": "__main__"})
    assert json.loads((tmp_path / "manifest.json").read_text())["net"]["status"] == "ok"
    x = np.random.default_rng(0).random((30, 784), dtype=np.float32)
    with torch.no_grad():
        y = net(torch.from_numpy(x.reshape(30, 1, 28, 28))).argmax(dim=1).numpy()
    ctx = context(torch_lab, ArtifactBundle(tmp_path), {"x": x, "y": y})
    outcome = run("accuracy", ctx, name="net", x="x", y="y", metric="mlp_accuracy")
    assert outcome.status == "passed", outcome.message
    assert "Your model takes (1, 28, 28) inputs" in outcome.message
