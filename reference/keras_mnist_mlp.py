"""Reference implementation of the lab keras-mnist-mlp (seed 001_5b62558461296fd1, mlp_week09).

Part 1 generates two classes on the curves x2 = cos(x1) and x2 = 1 + cos(x1) and fits a
logistic regression and a 2-2-1 network to them. Part 2 follows the course notebook on
MNIST: images flattened to 784 floats in [0, 1], one-hot labels, and three ReLU MLPs
(one, two and ten hidden layers of 128) trained with Adam and categorical
cross-entropy, batch 128, a 10% validation split, 10 / 10 / 20 epochs.

Accuracy is measured on the hidden test split (examples never staged to students)
when the profile has one, else on the staged test split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEEDS = (1, 2, 3)

N_PER_CLASS = 1000
OFFSET = 1.0  # the `a` of x2 = a + cos(x1)
HIDDEN = 128
VERY_DEEP_LAYERS = 10


def _flatten(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype("float32") / 255.0


def data(profile: str) -> dict[str, np.ndarray]:
    from autograder.course.datasets import load_dataset

    d = load_dataset("mnist", profile)
    test_x, test_y = d.grading_test
    eye = np.eye(10, dtype="float32")
    return {
        "x_train": _flatten(d.x_train),
        "x_test": _flatten(d.x_test),
        "y_train": d.y_train.astype("int64"),
        "y_train_oh": eye[d.y_train],
        "y_test_oh": eye[d.y_test],
        "test_X": _flatten(test_x),
        "test_y": np.asarray(test_y, dtype="int64"),
    }


def build_baseline() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])


def build_hidden() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(2,)),
        layers.Dense(2, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])


def _mlp(hidden_layers: int, dropout: float = 0.0) -> Any:
    import keras
    from keras import layers

    stack: list[Any] = [layers.Input(shape=(784,))]
    for _ in range(hidden_layers):
        stack.append(layers.Dense(HIDDEN, activation="relu"))
        if dropout:
            stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(10, activation="softmax"))
    return keras.Sequential(stack)


def build_mnist() -> Any:
    return _mlp(1)


def build_mnist_deep() -> Any:
    return _mlp(2)


def build_very_deep() -> Any:
    return _mlp(VERY_DEEP_LAYERS)


def build_dropout() -> Any:
    return _mlp(VERY_DEEP_LAYERS, dropout=0.2)


def models() -> dict[str, Callable[[], Any]]:
    return {
        "model_baseline": build_baseline,
        "model_hidden": build_hidden,
        "model_mnist": build_mnist,
        "model_mnist_deep": build_mnist_deep,
        "model_very_deep": build_very_deep,
        "model_dropout": build_dropout,
    }


def classes() -> dict[str, type]:
    return {}


# Relations: trusted checks of what a student's arrays must satisfy together.

def on_curves(X: np.ndarray, y: np.ndarray) -> tuple[bool, str]:
    """Every point of class 0 lies on x2 = cos(x1), of class 1 on x2 = 1 + cos(x1),
    with x1 in [-pi, pi]."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        return False, f"`X` should have one row (x1, x2) per point; its shape is {X.shape}."
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.shape != (len(X),):
        return False, f"`y` should hold one label per row of `X`: {y.shape} labels for {len(X)} points."
    if not (np.issubdtype(X.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        return False, "`X` and `y` should hold numbers."
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1}:
        return False, f"the labels should be 0 and 1; `y` holds {sorted(labels)[:5]}."
    x1, x2 = X[:, 0].astype(float), X[:, 1].astype(float)
    if not (np.all(np.isfinite(x1)) and np.all(np.isfinite(x2))):
        return False, "`X` contains NaN or infinite values."
    if x1.min() < -np.pi - 1e-9 or x1.max() > np.pi + 1e-9:
        return False, f"x1 should lie in [-pi, pi]; it ranges over [{x1.min():.3f}, {x1.max():.3f}]."
    off = np.abs(x2 - (OFFSET * y.astype(float) + np.cos(x1))) > 1e-5
    if off.any():
        first = int(np.flatnonzero(off)[0])
        return False, (f"{int(off.sum())} of {len(X)} points are not on their class's curve, e.g. row {first}: "
                       f"x1={x1[first]:.3f}, x2={x2[first]:.3f}, class {int(y[first])}.")
    return True, f"all {len(X)} points lie on their class's curve, with x1 in [-pi, pi]."


def balanced(y: np.ndarray) -> tuple[bool, str]:
    """1000 points of each class."""
    y = np.asarray(y).reshape(-1)
    counts = {int(c): int((y == c).sum()) for c in np.unique(y)} if y.size else {}
    if counts == {0: N_PER_CLASS, 1: N_PER_CLASS}:
        return True, f"{N_PER_CLASS} points of each class."
    return False, f"expected {N_PER_CLASS} points of class 0 and of class 1; found {counts}."


def flat_float32(x_train: np.ndarray, x_test: np.ndarray) -> tuple[bool, str]:
    """Both image arrays flattened to 784 columns of float32."""
    for name, array in (("x_train", x_train), ("x_test", x_test)):
        if array.ndim != 2 or array.shape[1] != 784:
            return False, f"`{name}` should be flattened to (N, 784); its shape is {array.shape}."
        if array.dtype != np.float32:
            return False, f"`{name}` is {array.dtype}; convert it with .astype('float32')."
    return True, "both image arrays are flat float32."


def one_hot(y_train_oh: np.ndarray, y_test_oh: np.ndarray) -> tuple[bool, str]:
    """Each row of the label arrays is a one-hot vector over 10 classes."""
    for name, array in (("y_train_oh", y_train_oh), ("y_test_oh", y_test_oh)):
        if array.ndim != 2 or array.shape[1] != 10:
            return False, f"`{name}` should have 10 columns, one per class; its shape is {array.shape}."
        values = array.astype(float)
        if not (np.all((values == 0) | (values == 1)) and np.all(values.sum(axis=1) == 1)):
            return False, f"`{name}` is not one-hot: every row needs a single 1 and nine 0s."
    return True, "both label arrays are one-hot over 10 classes."


def relations() -> dict[str, Callable[..., tuple[bool, str]]]:
    return {"on_curves": on_curves, "balanced": balanced, "flat_float32": flat_float32, "one_hot": one_hot}


def train(seed: int, profile: str) -> dict[str, float]:
    import keras

    d = data(profile)
    metrics: dict[str, float] = {}
    for name, build, epochs in (
        ("mnist_accuracy", build_mnist, 10),
        ("deep_accuracy", build_mnist_deep, 10),
        ("very_deep_accuracy", build_very_deep, 20),
    ):
        keras.utils.set_random_seed(seed)
        model = build()
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(d["x_train"], d["y_train_oh"], validation_split=0.1, epochs=epochs, batch_size=128, verbose=0)
        predicted = np.argmax(model.predict(d["test_X"], verbose=0), axis=1)
        metrics[name] = float(np.mean(predicted == d["test_y"]))
    return metrics
