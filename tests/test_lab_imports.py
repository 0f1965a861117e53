"""The grading environment provides what the course's notebooks import (autograder/lab_imports.py).

Fast: nothing is imported or run; imports are read with ``ast`` and looked up on the path.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.folder import Course, find_course
from autograder.course.labs import load_lab
from autograder.errors import ConfigError
from autograder.execution.packages import (
    check_lab_imports,
    lab_import_problems,
    missing_packages,
    source_import_problems,
)
from autograder.notebook.imports import import_statements
from tests import submissions

BUNDLED = find_course(submissions.REPO)

# The import lines of each lab's course notebook (its lab.yaml's `seed_notebook`), copied
# from the notebooks as the course hands them out: a student who keeps them must find
# every package in the grading environment.
SEED_IMPORTS = {
    "keras-digits": """
import numpy as np
import matplotlib.pyplot as plt
import warnings
import os
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler
""",
    "keras-mnist-mlp": """
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
import matplotlib.pyplot as plt
import os, datetime
from sklearn.metrics import confusion_matrix
import seaborn as sns
""",
    "keras-cnn-regularisation": """
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from plotnine import *
import tensorflow as tf
from tensorflow import keras
import warnings
""",
    "pytorch-sequences-attention": """
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import TensorDataset, DataLoader
import matplotlib.pyplot as plt
import random
import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
from torch import nn
from sklearn.metrics import mean_squared_error, mean_absolute_error
import os, multiprocessing, numpy as np, tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
import os, keras
from scipy import signal
from PIL import Image
""",
    "pytorch-fundamentals": """
import numpy as np
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import confusion_matrix, classification_report
import seaborn as sns
""",
}


def _statements(source: str) -> set[str]:
    return {" ".join(s.text.split()) for s in import_statements(source)}


def test_every_lab_of_the_course_has_its_seeds_imports() -> None:
    assert set(SEED_IMPORTS) == set(BUNDLED.lab_ids())


@pytest.mark.parametrize("lab_id", BUNDLED.lab_ids())
def test_the_environment_provides_what_the_labs_notebooks_import(lab_id: str) -> None:
    lab = load_lab(lab_id, BUNDLED)
    assert lab.spec.packages, f"{lab_id}: declare `packages:` in its lab.yaml"
    check_lab_imports(lab)  # raises naming every import the lab or the environment does not provide


@pytest.mark.parametrize("lab_id", find_course(submissions.FIXTURE_COURSE).lab_ids())
def test_the_fixture_labs_import_only_what_is_installed(lab_id: str) -> None:
    assert lab_import_problems(load_lab(lab_id, find_course(submissions.FIXTURE_COURSE))) == []


@pytest.mark.parametrize("lab_id", sorted(SEED_IMPORTS))
def test_the_course_notebooks_import_lines_are_declared_and_installed(lab_id: str) -> None:
    lab = load_lab(lab_id, BUNDLED)
    assert [str(p) for p in source_import_problems(SEED_IMPORTS[lab_id], lab.spec.packages, "seed")] == []


@pytest.mark.parametrize("lab_id", sorted(SEED_IMPORTS))
def test_each_example_solution_keeps_its_course_notebooks_import_lines(lab_id: str) -> None:
    # The end-to-end test that grades the example at full marks then proves that a student
    # who kept the course's imports is graded in full.
    lab = load_lab(lab_id, BUNDLED)
    (example,) = lab.examples.glob("*-solution.ipynb")
    cells = nbformat.read(example, as_version=4).cells
    kept = set().union(*(_statements(c.source) for c in cells if c.cell_type == "code"))
    assert _statements(SEED_IMPORTS[lab_id]) - kept == set(), f"{example.name} lost the course's imports"


def test_checking_imports_imports_nothing() -> None:
    if "plotnine" in sys.modules:
        pytest.skip("plotnine was imported by another test in this process")
    assert source_import_problems("from plotnine import *\nimport pandas as pd", ("plotnine", "pandas"), "c") == []
    assert "plotnine" not in sys.modules


def test_an_import_not_declared_or_not_installed_is_named_with_its_cell_and_line() -> None:
    source = "%matplotlib inline\nimport numpy as np\nfrom not_a_real_package_xyz.sub import thing"
    problems = source_import_problems(source, ("numpy",), "lab/solution.ipynb cell 3")
    assert [str(p) for p in problems] == [
        "lab/solution.ipynb cell 3 line 3: imports not_a_real_package_xyz, which the lab's `packages:` does not "
        "list; add it there (and to the grading environment), or drop the import"]
    assert not problems[0].installed
    # The standard library and the grader's own package need no declaring.
    assert source_import_problems("import os, json\nfrom autograder import check", ("numpy",), "c") == []
    assert missing_packages(("numpy", "os", "not_a_real_package_xyz")) == ("not_a_real_package_xyz",)


def _course_copy(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    shutil.copytree(submissions.FIXTURE_COURSE, root)
    return find_course(root)


def test_a_lab_whose_notebooks_need_what_it_lacks_is_refused_with_every_problem(tmp_path: Path) -> None:
    course = _course_copy(tmp_path)
    meta = course.assignments / "tiny" / "lab.yaml"
    meta.write_text(meta.read_text() + "packages: [numpy, not_a_real_package_xyz]\n")
    example = nbformat.v4.new_notebook()
    example.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport json\nimport scipy")]
    (course.assignments / "tiny" / "examples").mkdir()
    nbformat.write(example, course.assignments / "tiny" / "examples" / "ann.ipynb")
    with pytest.raises(ConfigError) as raised:
        check_lab_imports(load_lab("tiny", course))
    message = str(raised.value)
    assert "assignments/tiny/examples/ann.ipynb cell 0 line 3: imports scipy, which the lab's `packages:`" in message
    assert "assignments/tiny/lab.yaml `packages:`: not_a_real_package_xyz is not installed where the grader " \
           "runs; pip install 'autograder[course]'" in message


def test_a_declared_package_must_be_an_import_name(tmp_path: Path) -> None:
    course = _course_copy(tmp_path)
    meta = course.assignments / "tiny" / "lab.yaml"
    meta.write_text(meta.read_text() + "packages: [scikit-learn]\n")
    with pytest.raises(ConfigError, match="packages"):
        load_lab("tiny", course)


def test_autograder_labs_says_what_the_environment_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from autograder.cli import main

    course = _course_copy(tmp_path)
    meta = course.assignments / "tiny" / "lab.yaml"
    meta.write_text(meta.read_text() + "packages: [numpy, not_a_real_package_xyz]\n")
    assert main(["--course", str(course.root), "labs"]) == 0
    out = capsys.readouterr().out
    assert "its notebooks import not_a_real_package_xyz, not installed here: pip install 'autograder[course]'" in out
    assert out.count("not installed here") == 1  # tiny-keras lacks nothing
