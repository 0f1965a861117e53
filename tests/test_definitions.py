"""A notebook's top-level definitions, rebuilt as a module source without running anything."""

from __future__ import annotations

import ast
from typing import Any

from autograder.notebook.definitions import extract_definitions
from autograder.notebook.sanitize import SanitizedCell, sanitize_cell

IMPORTS = "import numpy as np\nfrom math import sqrt as root\n"
CLASS = (
    "class Scaler:\n"
    "    factor = 2\n"
    "    def __init__(self, n=N_HIDDEN):\n"
    "        self.n = n\n"
    "    def apply(self, x):\n"
    "        return np.asarray(x) * self.factor + root(self.n)\n"
)
TRAINING = (
    "model = Scaler()\n"
    "history = model.fit(X_train, y_train, epochs=10)\n"
    "print('accuracy', history)\n"
    "x = train()\n"
    "model.fit(X, y)\n"
    "results = [train() for _ in range(3)]\n"
    "for i in range(3):\n    print(i)\n"
    "if __name__ == '__main__':\n    train()\n"
)
CONSTANTS = "N_HIDDEN = 16\nSIZES = (64, 16, 10)\nRATE: float = -0.5\nNAME = 'mlp'\nCONFIG = {'a': [1, 2]}\n"


def _cells(*sources: str) -> list[SanitizedCell]:
    return [SanitizedCell(i, s) for i, s in enumerate(sources)]


def _run(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "definitions.py", "exec"), namespace)
    return namespace


def _top_level(source: str) -> list[str]:
    return [ast.unparse(n) for n in ast.parse(source).body]


def test_imports_functions_classes_and_constants_are_kept() -> None:
    source = extract_definitions(_cells(IMPORTS, CONSTANTS, CLASS, "def helper(a, b=SIZES):\n    return a + len(b)\n"))
    namespace = _run(source)
    assert namespace["N_HIDDEN"] == 16
    assert namespace["SIZES"] == (64, 16, 10)
    assert namespace["RATE"] == -0.5
    assert namespace["NAME"] == "mlp"
    assert namespace["CONFIG"] == {"a": [1, 2]}
    assert namespace["Scaler"]().apply([1.0]).tolist() == [6.0]
    assert namespace["helper"](1) == 4
    assert "# cell 0" in source
    assert "# cell 3" in source


def test_calls_and_training_statements_are_dropped() -> None:
    source = extract_definitions(_cells(IMPORTS + CONSTANTS + TRAINING + "async def fetch():\n    return 1\n", CLASS))
    kept = _top_level(source)
    assert kept == [
        "import numpy as np",
        "from math import sqrt as root",
        "N_HIDDEN = 16",
        "SIZES = (64, 16, 10)",
        "RATE: float = -0.5",
        "NAME = 'mlp'",
        "CONFIG = {'a': [1, 2]}",
        "async def fetch():\n    return 1",
        ast.unparse(ast.parse(CLASS)),
    ]
    for dropped in ("fit", "print", "train()", "model =", "for i", "__main__"):
        assert dropped not in source.replace(ast.unparse(ast.parse(CLASS)), "")
    _run(source)  # nothing in it needs the training data


def test_later_definitions_come_after_earlier_ones_so_they_win() -> None:
    source = extract_definitions(
        _cells("def f():\n    return 'first'\n", "x = f()\n", "def f():\n    return 'second'\n", "RATE = 1\n")
    )
    assert source.index("# cell 0") < source.index("# cell 2") < source.index("# cell 3")
    assert "# cell 1" not in source  # nothing kept from it, so no header either
    assert _run(source)["f"]() == "second"


def test_a_cell_with_a_syntax_error_is_skipped_and_the_rest_kept() -> None:
    source = extract_definitions(_cells("def ok():\n    return 1\n", "def broken(:\n    pass\nK = 3\n", "K2 = 4\n"))
    assert "broken" not in source
    assert "K = 3" not in source
    namespace = _run(source)
    assert namespace["ok"]() == 1
    assert namespace["K2"] == 4


def test_no_definitions_give_an_empty_module() -> None:
    source = extract_definitions(_cells("print(1)\n", "model.fit(X, y)\n"))
    assert source.strip() == ""
    compile(source, "definitions.py", "exec")


def test_sanitized_shell_lines_do_not_lose_a_cells_definitions() -> None:
    cell, skipped = sanitize_cell(0, "!pip install numpy\nimport numpy as np\ndef f():\n    return np.zeros(2)\n")
    assert len(skipped) == 1
    namespace = _run(extract_definitions([cell]))
    assert namespace["f"]().tolist() == [0.0, 0.0]


def test_a_kept_magic_does_not_lose_a_cells_definitions() -> None:
    # `%matplotlib inline` is kept by sanitize (it is harmless in the kernel), but it is not Python.
    imports, skipped = sanitize_cell(0, "%matplotlib inline\nimport numpy as np\n")
    assert skipped == []
    net = SanitizedCell(1, "class Net:\n    def predict(self, x):\n        return np.zeros(2)\n")
    namespace = _run(extract_definitions([imports, net], wanted=["Net"]))
    assert namespace["Net"]().predict(None).tolist() == [0.0, 0.0]  # NameError: np, when the import is lost


def test_wanted_keeps_only_what_the_class_needs() -> None:
    cells = _cells(
        "import tensorflow as tf\nimport numpy as np\nfrom math import sqrt as root\n",
        "N_HIDDEN = 16\nOTHER = 3\nSCALE = 0.5\n",
        "def unused():\n    return tf.constant(OTHER)\n",
        "def _act(z):\n    return z * 0\n",
        CLASS.replace("np.asarray(x) * self.factor", "_act(np.asarray(x)) * self.factor"),
        "def _act(z):\n    return z * SCALE\n",
        "model = Scaler()\nmodel.fit()\n",
    )
    source = extract_definitions(cells, wanted=["Scaler"])
    assert _top_level(source) == [
        "import numpy as np",
        "from math import sqrt as root",
        "N_HIDDEN = 16",
        "SCALE = 0.5",
        "def _act(z):\n    return z * 0",
        ast.unparse(ast.parse(CLASS.replace("np.asarray(x) * self.factor", "_act(np.asarray(x)) * self.factor"))),
        "def _act(z):\n    return z * SCALE",
    ]
    assert "tensorflow" not in source  # a NumPy class does not import TensorFlow in the probe
    # The later `_act` wins, as in the notebook.
    assert _run(source)["Scaler"]().apply([2.0]).tolist() == [6.0]  # 2 * SCALE * factor + sqrt(16)


def test_wanted_follows_base_classes_and_decorators() -> None:
    cells = _cells(
        "import functools\nimport os\n",
        "class Base:\n    def predict(self, x):\n        return x\n",
        "def logged(f):\n    return functools.wraps(f)(f)\n",
        "class Child(Base):\n    @logged\n    def forward(self, x):\n        return x\n",
    )
    source = extract_definitions(cells, wanted=["Child"])
    assert "import os" not in source
    namespace = _run(source)
    assert namespace["Child"]().predict(3) == 3


def test_a_wanted_name_that_is_not_defined_gives_an_empty_module() -> None:
    source = extract_definitions(_cells("import numpy as np\nclass A:\n    pass\n"), wanted=["MLP"])
    assert source.strip() == ""
