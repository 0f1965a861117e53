"""Reference implementation of the lab pytorch-fundamentals (seed 004_b0c01fca0d2e953e).

The recipe follows the course notebook (Module 4, Introduction to Deep Learning): a
NumPy perceptron with 0/1 labels (learning rate 0.1, 100 passes); an MLP 20 -> 64 ->
64 -> 2 trained on ``make_classification(n_samples=1000, n_features=20,
n_informative=10, n_redundant=10, n_clusters_per_class=1, random_state=42)``, split
80/20 with ``random_state=42`` and standardised on the training part, 100 full-batch
epochs of Adam (lr 0.001) with cross-entropy; a small CNN for 28x28 images (never
trained in the lab, so no data set is staged); a vertical-edge filter applied by hand;
and a confusion matrix. Nothing here depends on the data profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEEDS = (1, 2, 3)

# Data a student bundle may carry: the notebook's own perceptron points.
PUBLIC_DATA = ("perceptron_X", "perceptron_y")

# Hidden: the linearly separable data a student's Perceptron is trained and tested on
# in the grader's probe process. It never enters the student's kernel.
_PERCEPTRON_STATE = 20231124
_PERCEPTRON_FEATURES = 5
_PERCEPTRON_MARGIN = 0.25


def _separable(n: int, n_features: int, state: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points labelled 0/1 by a hidden hyperplane, none closer to it than the margin
    (so a perceptron converges), the two classes about equally frequent."""
    rng = np.random.default_rng(state)
    normal = rng.normal(size=n_features)
    normal /= np.linalg.norm(normal)
    offset = 0.2
    kept: list[np.ndarray] = []
    while sum(len(k) for k in kept) < n:
        candidates = rng.normal(size=(4 * n, n_features)) * 1.5 + offset * normal
        score = candidates @ normal - offset
        kept.append(candidates[np.abs(score) > _PERCEPTRON_MARGIN])
    x = np.concatenate(kept)[:n]
    return x, (x @ normal - offset > 0).astype(int)


def _seed_points() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's own 2-D perceptron data."""
    rng = np.random.RandomState(42)
    x = rng.randn(100, 2)
    return x, np.where(x[:, 0] + x[:, 1] > 0, 1, 0)


def _mlp_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(n_samples=1000, n_features=20, n_informative=10, n_redundant=10,
                               n_clusters_per_class=1, random_state=42)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    scaler = StandardScaler()
    return (scaler.fit_transform(x_train).astype(np.float32), y_train,
            scaler.transform(x_test).astype(np.float32), y_test)


def _sample_image() -> np.ndarray:
    image = np.zeros((28, 28))
    image[10:18, 10:18] = 1
    return image


VERTICAL_FILTER = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def _evaluation_labels() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's y_true / y_pred (three classes, about 70% agreement)."""
    rng = np.random.RandomState(42)  # the stream of the notebook's np.random.seed(42)
    y_true = rng.randint(0, 3, 100)
    y_pred = rng.randint(0, 3, 100)
    mask = rng.random_sample(100) > 0.3
    y_pred[mask] = y_true[mask]
    return y_true, y_pred


def data(profile: str) -> dict[str, np.ndarray]:
    from scipy.signal import correlate2d
    from sklearn.metrics import confusion_matrix

    points_x, points_y = _seed_points()
    hidden_x, hidden_y = _separable(600, _PERCEPTRON_FEATURES, _PERCEPTRON_STATE)
    _, _, test_x, test_y = _mlp_split()
    y_true, y_pred = _evaluation_labels()
    return {
        "perceptron_X": points_x,
        "perceptron_y": points_y,
        "separable_train_X": hidden_x[:400],
        "separable_train_y": hidden_y[:400],
        "separable_test_X": hidden_x[400:],
        "separable_test_y": hidden_y[400:],
        "test_X": test_x,
        "test_y": test_y,
        "filtered_img": correlate2d(_sample_image(), VERTICAL_FILTER, mode="valid"),
        "cm": confusion_matrix(y_true, y_pred),
    }


class Perceptron:
    """Rosenblatt's perceptron with a step activation and 0/1 labels."""

    def __init__(self, learning_rate: float = 0.1, n_iterations: int = 100) -> None:
        self.learning_rate = learning_rate
        self.n_iterations = n_iterations

    @staticmethod
    def activation(x: np.ndarray) -> np.ndarray:
        return np.where(x >= 0, 1, 0)

    def fit(self, x: np.ndarray, y: np.ndarray) -> Perceptron:
        self.weights = np.zeros(x.shape[1])
        self.bias = 0.0
        for _ in range(self.n_iterations):
            for xi, target in zip(x, y, strict=True):
                update = self.learning_rate * (target - self.activation(xi @ self.weights + self.bias))
                self.weights += update * xi
                self.bias += update
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.activation(x @ self.weights + self.bias)


def _torch_classes() -> dict[str, type]:
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self, input_size: int = 20, hidden_size: int = 64, num_classes: int = 2) -> None:
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(hidden_size, hidden_size)
            self.fc3 = nn.Linear(hidden_size, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))
            return out

    class SimpleCNN(nn.Module):
        def __init__(self, num_classes: int = 10) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(64 * 7 * 7, 128)
            self.fc2 = nn.Linear(128, num_classes)
            self.relu = nn.ReLU()
            self.dropout = nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool(self.relu(self.conv1(x)))
            x = self.pool(self.relu(self.conv2(x)))
            x = x.flatten(1)
            out: torch.Tensor = self.fc2(self.dropout(self.relu(self.fc1(x))))
            return out

    return {"MLP": MLP, "SimpleCNN": SimpleCNN}


def build_frozen_cnn() -> Any:
    cnn = _torch_classes()["SimpleCNN"]()
    for layer in (cnn.conv1, cnn.conv2):
        for parameter in layer.parameters():
            parameter.requires_grad = False
    return cnn


def models() -> dict[str, Callable[[], Any]]:
    """PyTorch builders of the reference models (this lab has no Keras model)."""
    torch_classes = _torch_classes()
    return {
        "MLP": lambda: torch_classes["MLP"](20, 64, 2),
        "model": lambda: torch_classes["MLP"](20, 64, 2),
        "SimpleCNN": lambda: torch_classes["SimpleCNN"](),
        "frozen_cnn": build_frozen_cnn,
    }


def classes() -> dict[str, type]:
    return {"Perceptron": Perceptron, **_torch_classes()}


def train(seed: int, profile: str) -> dict[str, float]:
    import torch

    x_train, y_train, x_test, y_test = _mlp_split()
    threads = torch.get_num_threads()
    # One thread: a model this small gains nothing from two, and on a busy machine two
    # threads spin against each other (100 epochs take 15 s instead of 0.2 s).
    torch.set_num_threads(1)
    try:
        return _train(seed, profile, x_train, y_train, x_test, y_test)
    finally:
        torch.set_num_threads(threads)


def _train(seed: int, profile: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
           y_test: np.ndarray) -> dict[str, float]:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = _torch_classes()["MLP"](20, 64, 2)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    inputs, targets = torch.from_numpy(x_train), torch.from_numpy(y_train).long()
    for _ in range(100):  # full-batch epochs, as the notebook
        loss = criterion(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
    d = data(profile)
    perceptron = Perceptron().fit(d["separable_train_X"], d["separable_train_y"])
    return {
        "mlp_accuracy": float(np.mean(predicted == y_test)),
        "perceptron_accuracy": float(np.mean(perceptron.predict(d["separable_test_X"]) == d["separable_test_y"])),
    }


def _correlate(filtered_img: Any, sample_img: Any, vertical_filter: Any) -> tuple[bool, str]:
    from scipy.signal import correlate2d

    image, kernel, found = (np.asarray(a, dtype=float) for a in (sample_img, vertical_filter, filtered_img))
    if image.ndim != 2 or kernel.ndim != 2:
        return False, "`sample_img` and `vertical_filter` should be 2-D arrays."
    expected = correlate2d(image, kernel, mode="valid")
    if found.shape != expected.shape:
        return False, (f"`filtered_img` has shape {found.shape}; sliding a {kernel.shape[0]}x{kernel.shape[1]} "
                       f"filter over a {image.shape[0]}x{image.shape[1]} image without padding gives "
                       f"{expected.shape}.")
    if not np.any(expected):
        return False, "the filter finds no edge in `sample_img`: keep the notebook's square image."
    if np.allclose(found, expected):
        return True, "`filtered_img` equals SciPy's correlate2d(sample_img, vertical_filter, mode='valid')."
    if np.allclose(found, -expected):
        return False, ("`filtered_img` has the opposite sign of the expected result: multiply each 3x3 patch by "
                       "the filter as it is (no flipping), as a CNN layer does.")
    if np.allclose(found, correlate2d(image, kernel, mode="same")[1:-1, 1:-1]):
        return False, "`filtered_img` is off by one pixel: patch (i, j) starts at row i, column j."
    return False, ("`filtered_img` differs from sliding the filter over the image: each value should be the sum "
                   "of the 3x3 patch at (i, j) multiplied element-wise by the filter.")


def _confusion(cm: Any, y_true: Any, y_pred: Any) -> tuple[bool, str]:
    from sklearn.metrics import confusion_matrix

    truth, predicted, found = np.asarray(y_true), np.asarray(y_pred), np.asarray(cm)
    if truth.shape != predicted.shape or truth.ndim != 1:
        return False, "`y_true` and `y_pred` should be 1-D arrays of the same length."
    expected = confusion_matrix(truth, predicted)
    if found.shape != expected.shape:
        return False, f"`cm` has shape {found.shape}; with {expected.shape[0]} classes it should be {expected.shape}."
    if np.array_equal(found, expected):
        return True, "`cm` equals scikit-learn's confusion_matrix(y_true, y_pred)."
    if np.array_equal(found, expected.T):
        return False, "`cm` is transposed: rows are the true classes, columns the predicted ones."
    return False, ("`cm` differs from confusion_matrix(y_true, y_pred): entry (i, j) counts the examples of "
                   "true class i predicted as class j.")


def relations() -> dict[str, Callable[..., tuple[bool, str]]]:
    return {"correlate2d": _correlate, "confusion-matrix": _confusion}
