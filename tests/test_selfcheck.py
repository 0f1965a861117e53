"""``check("part")`` inside a real running kernel, as a student uses it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

SETUP = """
import numpy as np, keras
from keras import layers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler
digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    MinMaxScaler().fit_transform(digits.data), digits.target, test_size=0.2, random_state=42, stratify=digits.target)
mlp_model = keras.Sequential([layers.Input(shape=(64,)), layers.Dense(FIRST, activation='relu'),
    layers.Dense(64, activation='relu'), layers.Dense(32, activation='relu'), layers.Dense(10, activation='softmax')])
mlp_model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
mlp_history = mlp_model.fit(X_train[:200], y_train[:200], epochs=10, validation_split=0.1, verbose=0)
"""

CHECK = """
import time
from autograder import check
started = time.perf_counter()
outcome = check("mlp", lab="keras-digits")
print(f"SECONDS {time.perf_counter() - started:.2f}")
outcome
"""


def run_notebook(first_units: int, tmp_path: Path) -> tuple[str, str, str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.replace("FIRST", str(first_units))), nbformat.v4.new_code_cell(CHECK)]
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_SANDBOX"}
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.km = client.create_kernel_manager()
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    outputs = nb.cells[1].outputs
    stdout = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    result = next(o for o in outputs if o.output_type == "execute_result")
    return stdout, result.data["text/html"], result.data["text/plain"]


def test_a_correct_part_passes_in_the_notebook(tmp_path: Path) -> None:
    stdout, html, text = run_notebook(128, tmp_path)
    assert "✔ mlp-architecture" in text and "✔ mlp-params" in text and "✔ mlp-history" in text
    assert "mlp-accuracy" not in text  # hidden checks are not part of a self-check
    assert "<table" in html and "Traceback" not in html
    seconds = float(re.search(r"SECONDS ([\d.]+)", stdout).group(1))  # type: ignore[union-attr]
    assert seconds < 60  # a sanity bound only; the 2-second target is measured in benchmarks/


def test_a_wrong_architecture_is_explained_with_the_diff(tmp_path: Path) -> None:
    _, html, text = run_notebook(100, tmp_path)
    assert "✘ mlp-architecture" in text and "Dense(100, relu)" in text
    assert "15,374 parameters, expected 18,986" in text
    assert "#ffebe9" in html  # the differing layer rows are highlighted


def test_outside_a_notebook_a_wrong_part_is_a_message_not_a_traceback() -> None:
    from autograder import check

    outcome = check("no-such-part", lab="keras-digits")
    assert outcome.result is None and "has no part 'no-such-part'" in repr(outcome)
