"""Data sets offline: found, subset per profile, staged, and served to an unchanged
``keras.datasets.mnist.load_data()`` in a real sandboxed kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.config import ExecutionLimits
from autograder.course import datasets
from autograder.errors import ConfigError
from autograder.execution.executor import execute
from autograder.execution.sandbox import Sandbox, SandboxPolicy
from autograder.notebook.sanitize import sanitize_cell

needs_fashion = pytest.mark.skipif(
    not datasets.SYSTEM_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No instructor data and an empty Keras cache, whatever the developer's machine has.
    monkeypatch.delenv("AUTOGRADER_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


def fake_mnist(folder: Path, n_train: int = 300, n_test: int = 100) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 255, (n_train, 28, 28), dtype=np.uint8), y_train=np.arange(n_train) % 10,
             x_test=rng.integers(0, 255, (n_test, 28, 28), dtype=np.uint8), y_test=np.arange(n_test) % 10)
    return path


def test_missing_mnist_is_a_clear_error_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"mnist\.npz.*--profile smoke"):
        datasets.load_dataset("mnist", "full")


def test_an_instructors_mnist_and_hidden_split_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = fake_mnist(tmp_path / "data" / "mnist")
    np.savez(path.parent / "hidden.npz", x=np.zeros((7, 28, 28), np.uint8), y=np.zeros(7, np.int64))
    monkeypatch.setenv("AUTOGRADER_DATA", str(tmp_path / "data"))
    full = datasets.load_dataset("mnist", "full")
    assert full.x_train.shape == (300, 28, 28) and full.stand_in == ""
    assert full.hidden_x is not None and full.hidden_x.shape == (7, 28, 28)
    assert full.grading_test[0] is full.hidden_x  # references score on the hidden split


def test_without_a_hidden_split_the_full_profile_grades_on_the_test_split(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_mnist(tmp_path / "data" / "mnist")
    monkeypatch.setenv("AUTOGRADER_DATA", str(tmp_path / "data"))
    full = datasets.load_dataset("mnist", "full")
    assert full.hidden_x is None
    x, y = full.grading_test
    assert x is full.x_test and y is full.y_test


@needs_fashion
def test_the_smoke_profile_uses_stratified_subsets_and_keeps_a_hidden_part() -> None:
    smoke = datasets.load_dataset("mnist", "smoke")
    assert smoke.stand_in == "fashion-mnist"
    assert smoke.x_train.shape == (6000, 28, 28) and smoke.x_test.shape == (1000, 28, 28)
    assert np.bincount(smoke.y_train).tolist() == [600] * 10
    assert smoke.hidden_x is not None and smoke.hidden_x.shape == (1000, 28, 28)
    # The hidden examples are not among the staged ones.
    staged = {x.tobytes() for x in smoke.x_test}
    assert not any(x.tobytes() in staged for x in smoke.hidden_x)
    assert any("stood in" in n for n in datasets.check_available(("mnist",), "smoke"))


@pytest.mark.slow
@needs_fashion
def test_an_unchanged_load_data_call_reads_the_staged_subset_offline() -> None:
    source = ("import keras\n(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()\n"
              "from tensorflow import keras as tfk\n(a, b), (c, d) = tfk.datasets.mnist.load_data()\n"
              "import numpy as np\nsizes = np.array([len(x_train), len(x_test), len(a)])")
    cell, _ = sanitize_cell(0, source)
    with Sandbox(SandboxPolicy(ExecutionLimits(), seed=1, device="cpu")) as box:
        box.stage_datasets(("mnist",), "smoke")
        outcome = execute([cell], [], box, frameworks=("tensorflow",), export_spec={"sizes": {"kind": "array"}})
        assert outcome.record.cells[0].status == "ok", outcome.record.cells[0].error
        assert np.load(outcome.export_dir / "sizes.npy").tolist() == [6000, 1000, 6000]
