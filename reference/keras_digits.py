"""Reference implementation of the lab keras-digits (seed 000_93a014f82fe769d7).

The recipe follows the course notebook: MinMax-scaled digits, a stratified 80/20
split with random_state=42, the MLP trained 50 epochs and the CNN 30 epochs with Adam
(batch 32, 10% validation split), the from-scratch MLP 500 full-batch epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEEDS = (1, 2, 3)
# The digits are small enough to use whole on every profile: one training serves them all.
PROFILE_INDEPENDENT = True

# Data a student bundle may carry: the public digits split every student computes anyway.
PUBLIC_DATA = ("X_train", "X_test", "y_train", "y_test", "X_train_cnn", "X_test_cnn")

# Hidden: the probe data a student's from-scratch MLP is tried on. It never enters the
# student's kernel, and feedback never shows it.
_PROBE_STATE = 20231123


def data(profile: str) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    digits = load_digits()
    x = MinMaxScaler().fit_transform(digits.data)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=42, stratify=digits.target
    )
    probe_x, probe_y = make_classification(
        n_samples=200, n_features=64, n_informative=24, n_classes=10, n_clusters_per_class=1,
        random_state=_PROBE_STATE,
    )
    probe_x = MinMaxScaler().fit_transform(probe_x)
    return {
        "X_train": x_train,
        "X_test": x_test,
        "y_train": y_train,
        "y_test": y_test,
        "X_train_cnn": x_train.reshape(-1, 8, 8, 1),
        "X_test_cnn": x_test.reshape(-1, 8, 8, 1),
        "probe_X": probe_x,
        "probe_Y": np.eye(10)[probe_y],
    }


def build_mlp() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(64,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def build_cnn() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])


def models() -> dict[str, Callable[[], Any]]:
    return {"mlp_model": build_mlp, "cnn_model": build_cnn}


class MLPFromScratch:
    """One sigmoid hidden layer, MSE-style delta rule, full-batch gradient steps."""

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, learning_rate: float = 0.5) -> None:
        self.learning_rate = learning_rate
        self.weights_ih = np.random.uniform(-0.5, 0.5, (n_inputs, n_hidden))
        self.bias_h = np.random.uniform(-0.5, 0.5, n_hidden)
        self.weights_ho = np.random.uniform(-0.5, 0.5, (n_hidden, n_outputs))
        self.bias_o = np.random.uniform(-0.5, 0.5, n_outputs)

    @staticmethod
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-np.clip(x, -500, 500)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.a_h = self.sigmoid(x @ self.weights_ih + self.bias_h)
        self.a_o = self.sigmoid(self.a_h @ self.weights_ho + self.bias_o)
        return self.a_o

    def backward(self, x: np.ndarray, y: np.ndarray) -> None:
        n = x.shape[0]
        output_delta = (y - self.a_o) * self.a_o * (1 - self.a_o)
        hidden_delta = (output_delta @ self.weights_ho.T) * self.a_h * (1 - self.a_h)
        self.weights_ho += self.learning_rate * self.a_h.T @ output_delta / n
        self.bias_o += self.learning_rate * output_delta.mean(axis=0)
        self.weights_ih += self.learning_rate * x.T @ hidden_delta / n
        self.bias_h += self.learning_rate * hidden_delta.mean(axis=0)

    def train(self, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
        for _ in range(epochs):
            self.forward(x)
            self.backward(x, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.forward(x), axis=1)


def classes() -> dict[str, type]:
    return {"MLPFromScratch": MLPFromScratch}


def train(seed: int, profile: str) -> dict[str, float]:
    import keras

    d = data(profile)
    keras.utils.set_random_seed(seed)
    metrics: dict[str, float] = {}
    for name, build, x_train, x_test, epochs in (
        ("mlp_accuracy", build_mlp, d["X_train"], d["X_test"], 50),
        ("cnn_accuracy", build_cnn, d["X_train_cnn"], d["X_test_cnn"], 30),
    ):
        model = build()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, d["y_train"], epochs=epochs, batch_size=32, validation_split=0.1, verbose=0)
        predicted = np.argmax(model.predict(x_test, verbose=0), axis=1)
        metrics[name] = float(np.mean(predicted == d["y_test"]))
    np.random.seed(seed)
    scratch = MLPFromScratch(64, 32, 10, learning_rate=0.5)
    scratch.train(d["X_train"], np.eye(10)[d["y_train"]], epochs=500)
    metrics["scratch_accuracy"] = float(np.mean(scratch.predict(d["X_test"]) == d["y_test"]))
    return metrics
