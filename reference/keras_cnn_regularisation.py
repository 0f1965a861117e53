"""Reference implementation of the lab keras-cnn-regularisation (seed 002_d26e59a4218e4055).

The recipe follows the course notebook: MNIST scaled to [0, 1] (flat 784-vectors for the
MLP, 28x28x1 images for the CNNs), one-hot labels, categorical cross-entropy, Adam with
its default learning rate, 5 epochs of batch 128.

The seed leaves both CNNs to the student; the references are a sensible small design
(the Keras "simple MNIST convnet": two 3x3 convolutions with 2x2 max pooling, dropout
before the softmax layer) and the same design with ``same`` padding and a stride of 2
in the first convolution. Students' designs differ, so the rubric's margins on the CNN
accuracies are generous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEEDS = (1, 2, 3)

EPOCHS = 5
BATCH_SIZE = 128


def data(profile: str) -> dict[str, np.ndarray]:
    """The grader's test data: the hidden split (never staged to students) when there is one."""
    from autograder.course.datasets import load_dataset

    x, y = load_dataset("mnist", profile).grading_test
    x = np.asarray(x, dtype="float32") / 255.0
    return {
        "test_X_flat": x.reshape(-1, 28 * 28),
        "test_X_img": x.reshape(-1, 28, 28, 1),
        "test_y": np.asarray(y, dtype="int64"),
    }


def build_mlp_dropout() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(784,)),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])


def build_cnn() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def build_cnn_strided() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), strides=2, padding="same", activation="relu"),  # 28 -> 14
        layers.MaxPooling2D((2, 2)),  # 14 -> 7
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),  # 7 -> 7
        layers.MaxPooling2D((2, 2)),  # 7 -> 3
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def models() -> dict[str, Callable[[], Any]]:
    return {"mlp_dropout": build_mlp_dropout, "cnn": build_cnn, "cnn_strided": build_cnn_strided}


def classes() -> dict[str, type]:
    return {}


def train(seed: int, profile: str) -> dict[str, float]:
    import keras

    from autograder.course.datasets import load_dataset

    d = load_dataset("mnist", profile)
    images = np.asarray(d.x_train, dtype="float32").reshape(-1, 28, 28, 1) / 255.0
    labels = keras.utils.to_categorical(d.y_train, num_classes=10)
    test = data(profile)
    metrics: dict[str, float] = {}
    for name, build, x_train, x_test in (
        ("mlp_accuracy", build_mlp_dropout, images.reshape(-1, 28 * 28), test["test_X_flat"]),
        ("cnn_accuracy", build_cnn, images, test["test_X_img"]),
        ("cnn_strided_accuracy", build_cnn_strided, images, test["test_X_img"]),
    ):
        keras.utils.set_random_seed(seed)
        model = build()
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        model.fit(x_train, labels, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
        predicted = np.argmax(np.asarray(model(x_test, training=False)), axis=1)
        metrics[name] = float(np.mean(predicted == test["test_y"]))
    return metrics
