"""Reading back what the kernel exported: untrusted files, loaded without running anything in them."""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.artifacts.reader import ArtifactBundle
from autograder.errors import ArtifactError
from autograder.execution._child.kernel_export import _autograder_export

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")


class _Touch:
    """Unpickling this creates ``path``: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def _ok(kind: str, type_: str = "") -> dict[str, str]:
    return {"kind": kind, "status": "ok", "type": type_}


def _bundle(folder: Path, manifest: dict[str, dict[str, str]]) -> ArtifactBundle:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return ArtifactBundle(folder)


def _save(model: Any, path: Path) -> None:
    # TensorFlow's variables predate NumPy 2's `copy` keyword; the warning is theirs, and on the kernel side.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning)
        model.save(path)


def _message(call: Any, *args: Any) -> str:
    with pytest.raises(ArtifactError) as info:
        call(*args)
    return str(info.value)


def test_an_exported_array_loads(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"X_train": _ok("array", "numpy.ndarray")})
    np.save(folder / "X_train.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    array = bundle.array("X_train")
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, [[0, 1, 2], [3, 4, 5]])
    assert bundle.array("X_train") is array  # loaded once
    assert bundle.type_name("X_train") == "numpy.ndarray"


def test_a_pickled_object_array_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    marker = tmp_path / "unpickled"
    bundle = _bundle(folder, {"X_train": _ok("array")})
    np.save(folder / "X_train.npy", np.array([_Touch(marker)], dtype=object), allow_pickle=True)
    message = _message(bundle.array, "X_train")
    assert "`X_train` is not a numeric array" in message
    assert not marker.exists()


def test_an_npz_disguised_as_npy_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"X_train": _ok("array")})
    with (folder / "X_train.npy").open("wb") as handle:
        np.savez(handle, a=np.zeros(3))
    with pytest.raises(ArtifactError, match="not a numeric array"):
        value = bundle.array("X_train")
        if hasattr(value, "close"):
            value.close()  # the bug's path: do not leak the file it opened


def test_object_state_loads_its_arrays(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"scratch_mlp": _ok("object", "MLPFromScratch")})
    np.savez(folder / "scratch_mlp.npz", W1=np.ones((2, 2)), b1=np.zeros(2))
    state = bundle.object_state("scratch_mlp")
    assert set(state) == {"W1", "b1"}
    np.testing.assert_array_equal(state["W1"], np.ones((2, 2)))


def test_object_state_with_a_pickled_member_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    marker = tmp_path / "unpickled"
    bundle = _bundle(folder, {"scratch_mlp": _ok("object")})
    np.savez(folder / "scratch_mlp.npz", W1=np.ones(2), evil=np.array([_Touch(marker)], dtype=object))
    try:
        with pytest.raises(ArtifactError):
            bundle.object_state("scratch_mlp")
    finally:
        assert not marker.exists()


def test_a_missing_name_suggests_similar_names(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path / "export",
        {
            "X_train": {"kind": "array", "status": "missing", "candidates": "x_train,X_trian,weights"},
            "mlp_model": {"kind": "keras-model", "status": "missing", "candidates": "model,my net"},
            "cnn_model": {"kind": "keras-model", "status": "missing", "candidates": ""},
        },
    )
    message = _message(bundle.array, "X_train")
    assert message.startswith("`X_train` is not defined: did you rename it")
    assert "`x_train`" in message
    assert "`X_trian`" in message
    assert "weights" not in message  # arrays: only similar names
    message = _message(bundle.keras_model, "mlp_model")
    assert "Your notebook defines `model`." in message  # models are few: any is a likely rename
    assert "my net" not in message  # not a Python name: never echoed
    assert "Your notebook defines" not in _message(bundle.keras_model, "cnn_model")


def test_wrong_type_and_error_entries_explain_themselves(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path / "export",
        {
            "mlp_model": {
                "kind": "keras-model",
                "status": "wrong-type",
                "type": "builtins.str",
                "message": "it is not a Keras model",
            },
            "X_test": {"kind": "array", "status": "error", "message": "TypeError: it holds Python objects (list)"},
        },
    )
    assert _message(bundle.keras_model, "mlp_model") == (
        "`mlp_model` has the wrong type (builtins.str): it is not a Keras model"
    )
    assert _message(bundle.array, "X_test") == (
        "`X_test` could not be exported: TypeError: it holds Python objects (list)"
    )
    assert "could not be exported from your notebook" in _message(bundle.array, "y_test")


def test_an_entry_whose_file_is_missing_or_a_link_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"X_train": _ok("array"), "X_test": _ok("array")})
    np.save(tmp_path / "elsewhere.npy", np.zeros(2))
    (folder / "X_test.npy").symlink_to(tmp_path / "elsewhere.npy")
    assert "its file is missing" in _message(bundle.array, "X_train")
    assert "its file is missing" in _message(bundle.array, "X_test")


@pytest.mark.parametrize("name", ["../x", "x/../../y", "", "1abc", "a.b", "a-b"])
def test_a_name_that_is_not_a_python_name_is_refused(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {name: _ok("array")})
    np.save(tmp_path / "x.npy", np.zeros(2))
    assert "is not a valid Python name" in _message(bundle.array, name)


@pytest.mark.parametrize("manifest", ["{not json", "[1, 2]", '{"X_train": {"kind": "array"}}'])
def test_an_unreadable_manifest_means_no_entries(tmp_path: Path, manifest: str) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "manifest.json").write_text(manifest, encoding="utf-8")
    np.save(folder / "X_train.npy", np.zeros(2))
    bundle = ArtifactBundle(folder)
    assert bundle.manifest == {}
    assert "could not be exported from your notebook" in _message(bundle.array, "X_train")


def test_an_unavailable_bundle_says_why(tmp_path: Path) -> None:
    bundle = ArtifactBundle(None, unavailable="the kernel died before the export")
    assert _message(bundle.array, "X_train") == "`X_train` could not be read: the kernel died before the export"


def test_a_history_loads_with_its_epochs(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"mlp_history": _ok("history"), "bad_history": _ok("history")})
    data = {
        "history": {"loss": [1.0, 0.5, None], "accuracy": [0.5, 0.7, 0.9], "note": "x"},
        "params": {"epochs": 3, "steps": 10},
    }
    (folder / "mlp_history.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "bad_history.json").write_text("{oops", encoding="utf-8")
    history = bundle.history("mlp_history")
    assert history.epochs == 3
    assert set(history.metrics) == {"loss", "accuracy"}
    assert history.metrics["accuracy"] == [0.5, 0.7, 0.9]
    assert history.metrics["loss"][:2] == [1.0, 0.5]
    assert math.isnan(history.metrics["loss"][2])
    assert history.params == {"epochs": 3, "steps": 10}
    assert "not a readable training history" in _message(bundle.history, "bad_history")


def test_a_keras_model_loads(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bundle = _bundle(folder, {"mlp_model": _ok("keras-model", "keras.src.models.sequential.Sequential")})
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    _save(model, folder / "mlp_model.keras")
    loaded = bundle.keras_model("mlp_model")
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense"]
    assert loaded.count_params() == 15
    x = np.ones((2, 4), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert bundle.keras_model("mlp_model") is loaded


def test_a_model_with_a_lambda_layer_is_refused_without_running_it(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    marker = tmp_path / "lambda-ran"
    bundle = _bundle(folder, {"mlp_model": _ok("keras-model")})

    # A real lambda (saved as bytecode, which only safe mode stops), with no closure to serialise.
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Lambda(touch)(inputs)))
    _save(model, folder / "mlp_model.keras")
    marker.unlink()  # building the model ran it once, here; loading must not run it again
    message = _message(bundle.keras_model, "mlp_model")
    assert message.startswith("`mlp_model` cannot be loaded by the grader")
    assert "deserialization of a `Lambda` layer" in message  # refused by safe mode, not by accident
    assert "no Lambda layers" in message
    assert not marker.exists()


def test_what_the_kernel_exports_reads_back(tmp_path: Path) -> None:
    class History:
        history = {"loss": [1.0, float("inf")]}  # noqa: RUF012
        params = {"epochs": 2, "verbose": "auto", "callback": object()}  # noqa: RUF012

    class Scratch:
        def __init__(self) -> None:
            self.W = np.eye(2)
            self.name = "kept out"

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    namespace = {
        "X_train": np.ones((3, 2)),
        "mlp_model": model,
        "mlp_history": History(),
        "scratch": Scratch(),
        "X_tset": np.zeros(1),
        "cnn_model": "not a model",
    }
    spec = {
        "X_train": "array",
        "X_test": "array",
        "mlp_model": "keras-model",
        "mlp_history": "history",
        "scratch": "object",
        "cnn_model": "keras-model",
    }
    folder = tmp_path / "export"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning)
        _autograder_export({k: {"kind": v} for k, v in spec.items()}, str(folder), namespace)
    bundle = ArtifactBundle(folder)
    np.testing.assert_array_equal(bundle.array("X_train"), np.ones((3, 2)))
    assert "`X_tset`" in _message(bundle.array, "X_test")
    assert bundle.keras_model("mlp_model").count_params() == 3
    history = bundle.history("mlp_history")
    assert history.epochs == 2
    assert math.isnan(history.metrics["loss"][1])
    assert history.params == {"epochs": 2, "verbose": "auto"}
    assert set(bundle.object_state("scratch")) == {"W"}
    assert "it is not a Keras model" in _message(bundle.keras_model, "cnn_model")
