"""Checks that run or inspect models: PyTorch programs (exported by the real kernel-side
code, run only in a probe process), Keras structure, relations and classifiers."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import torch
from keras import layers
from torch import nn

from autograder.artifacts.reader import ArtifactBundle
from autograder.checks.context import CheckContext
from autograder.config import ExecutionLimits
from autograder.course.folder import Course
from autograder.course.labs import Lab, NameSpec, load_lab
from autograder.course.reference import ReferenceMetrics
from autograder.execution._child.kernel_export import _autograder_export
from autograder.notebook.load import load_notebook
from autograder.notebook.sanitize import SanitizedCell
from tests import submissions
from tests.test_checks import run

# Each PyTorch query starts a probe process that imports torch (1-3 s).
pytestmark = pytest.mark.slow


class Recurrent(nn.Module):
    def __init__(self, kind: str = "LSTM", hidden_size: int = 50) -> None:
        super().__init__()
        self.rnn = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind](1, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])  # type: ignore[no-any-return]


NAMES: dict[str, Any] = {
    "net": NameSpec(kind="torch-model", input=(4,)),
    "Recurrent": NameSpec(kind="torch-class", input=(20, 1), variants={
        "lstm": {"args": ["LSTM"], "kwargs": {"hidden_size": 50}}, "gru": {"args": ["GRU"]}}),
    "models": NameSpec(kind="torch-model-dict", input=(20, 1)),
    "clf": "keras-model",
    "cnn": "keras-model",
    "cnn_strided": "keras-model",
    "Majority": "class",
    "points": "array",
}


@pytest.fixture(scope="module")
def lab(course: Course) -> Lab:
    base = load_lab("keras-digits", course)
    return dataclasses.replace(base, spec=base.spec.model_copy(update={"names": NAMES}))


def export(lab: Lab, folder: Path, namespace: dict[str, Any], cells: list[str] | None = None) -> CheckContext:
    spec = {name: lab.export_spec()[name] for name in namespace if name in lab.spec.names}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        _autograder_export(spec, str(folder), {**namespace, "__name__": "__main__"})
    ctx = CheckContext(lab=lab, profile="full", artifacts=ArtifactBundle(folder),
                       notebook=load_notebook(submissions.SOLUTION),
                       cells=[SanitizedCell(i, s) for i, s in enumerate(cells or [])],
                       limits=ExecutionLimits(), cache_dir=None)
    ctx.__dict__["metrics"] = ReferenceMetrics(median={"rmse": 0.2}, low={"rmse": 0.2}, high={"rmse": 0.2}, seeds=(1,))
    return ctx


def test_torch_params_output_shape_and_frozen_layers(lab: Lab, tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    net[0].weight.requires_grad_(False)
    ctx = export(lab, tmp_path, {"net": net, "Recurrent": Recurrent})
    assert json.loads((tmp_path / "manifest.json").read_text())["net"]["status"] == "ok"
    assert run("params", ctx, name="net", expected=67).status == "passed"
    assert run("params", ctx, name="net", expected=35, trainable=True).status == "passed"
    assert run("params", ctx, name="Recurrent", variant="lstm", expected=10651).status == "passed"
    gru = run("params", ctx, name="Recurrent", variant="gru", expected=10651)
    assert gru.status == "failed" and "8,001" in gru.message
    shape = run("output-shape", ctx, name="Recurrent", variant="lstm", input=[5, 20, 1], expected=[None, 1])
    assert shape.status == "passed", shape.message
    assert run("output-shape", ctx, name="net", input=[7, 4], expected=[7, 2]).status == "failed"
    missing = run("params", ctx, name="Recurrent", variant="rnn", expected=1)
    assert missing.status == "error" and "has no model 'rnn'" in missing.message


def test_rmse_of_each_model_in_a_dict(lab: Lab, tmp_path: Path) -> None:
    torch.manual_seed(0)
    ctx = export(lab, tmp_path, {"models": {"LSTM": Recurrent("LSTM", 8)}})
    x = np.zeros((30, 20, 1), np.float32)
    ctx.__dict__["data"] = {"x": x, "y_close": np.asarray(ctx.predict("models", x, "lstm")).reshape(-1) + 0.1,
                            "y_far": np.full(30, 50.0)}
    assert run("rmse", ctx, name="models", variant="lstm", x="x", y="y_close", metric="rmse").status == "passed"
    far = run("rmse", ctx, name="models", variant="lstm", x="x", y="y_far", metric="rmse")
    assert far.status == "failed" and "above" in far.message


def test_loss_layers_and_conv_shapes(lab: Lab, tmp_path: Path) -> None:
    clf = keras.Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")])
    clf.compile(optimizer="adam", loss="binary_crossentropy")
    cnn = keras.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(8, 3, padding="same"), layers.MaxPooling2D(),
                            layers.Flatten(), layers.Dense(10)])
    strided = keras.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(8, 3, strides=2, padding="valid"),
                                layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)])
    ctx = export(lab, tmp_path, {"clf": clf, "cnn": cnn, "cnn_strided": strided})
    assert run("loss", ctx, name="clf", expected="binary_crossentropy").status == "passed"
    wrong = run("loss", ctx, name="clf", expected="mse")
    assert wrong.status == "failed" and "binary_crossentropy" in wrong.message
    assert run("loss", ctx, name="cnn", expected="mse").message.startswith("`cnn` was not compiled")
    assert run("layers", ctx, name="cnn", require=["Conv2D", "MaxPooling2D"], input_shape=[28, 28, 1],
               output_units=10).status == "passed"
    assert "no Conv2D" in run("layers", ctx, name="clf", require=["Conv2D"]).message
    good = run("conv-shapes", ctx, name="cnn_strided", compare_to="cnn")
    assert good.status == "passed", good.message
    assert good.evidence["table"]["rows"][0][-1] == "(13, 13)"
    same = run("conv-shapes", ctx, name="cnn", compare_to="cnn")
    assert same.status == "failed" and "same strides and padding" in same.message


MAJORITY = '''
import numpy as np

class Majority:
    def fit(self, X, y):
        self.label = np.bincount(y).argmax()
        return self

    def predict(self, X):
        return np.full(len(X), self.label)
'''


def test_classifier_runs_the_students_class_in_a_probe(lab: Lab, tmp_path: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(MAJORITY, "cell", "exec"), namespace)
    ctx = export(lab, tmp_path, {"Majority": namespace["Majority"]}, cells=[MAJORITY])
    y = np.array([1, 1, 1, 0])
    ctx.__dict__["data"] = {"X": np.zeros((4, 2)), "y": y, "Xt": np.zeros((4, 2)), "yt": np.array([1, 1, 0, 0])}
    args = {"name": "Majority", "x": "X", "y": "y", "x_test": "Xt", "y_test": "yt"}
    assert run("classifier", ctx, min_accuracy=0.5, **args).status == "passed"
    failed = run("classifier", ctx, min_accuracy=0.9, **args)
    assert failed.status == "failed" and "50.0%" in failed.message


def test_relation_uses_the_reference_modules_function(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    ctx = export(lab, tmp_path, {"points": np.array([[0.0, 1.0], [1.0, 1.0]])})
    module = type("Reference", (), {"relations": staticmethod(lambda: {
        "unit": lambda points: (bool(np.all(points[:, 1] == 1)), "every point has y = 1")})})
    ctx.__dict__["reference_module"] = module
    assert run("relation", ctx, names=["points"], fn="unit").message == "every point has y = 1"


class Branchy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum().item() > 0:  # Python control flow on a tensor's value: no graph can hold it
            return x
        return -x


def test_a_model_that_cannot_be_exported_says_what_to_change(lab: Lab, tmp_path: Path) -> None:
    ctx = export(lab, tmp_path, {"net": Branchy()})
    outcome = run("output-shape", ctx, name="net", input=[2, 4], expected=[2, 4])
    assert outcome.status == "error"
    assert "could not be exported" in outcome.message and "must not branch in Python" in outcome.message


def test_exporting_leaves_a_live_kernels_models_and_random_state_as_they_were(lab: Lab, tmp_path: Path) -> None:
    # check() exports from the student's own running kernel: training mode and the
    # random stream must be untouched afterwards.
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    export(lab, tmp_path, {"net": net, "Recurrent": Recurrent})
    assert net.training
    assert torch.equal(torch.rand(3), expected_next)
