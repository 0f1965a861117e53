"""Reading a cell's imports without running it (autograder/imports.py)."""

from __future__ import annotations

import pytest

from autograder.notebook.imports import (
    cell_python,
    failed_import,
    import_statements,
    imported_packages,
    installed,
    missing_module,
    rest_of_cell,
)

COURSE_CELL = """# loading libraries
import numpy as np
import pandas as pd
%matplotlib inline
from plotnine import *
import tensorflow as tf; from tensorflow import keras
try:
    import seaborn as sns
except ImportError:
    sns = None
def f():
    import scipy.signal
from . import sibling
x = 1"""


def test_imports_are_read_from_ipython_cells_with_their_lines() -> None:
    statements = import_statements(COURSE_CELL)
    assert [(s.line, s.text, s.top_level) for s in statements] == [
        (2, "import numpy as np", True),
        (3, "import pandas as pd", True),
        (5, "from plotnine import *", True),
        (6, "import tensorflow as tf", True),
        (6, "from tensorflow import keras", True),
        (8, "import seaborn as sns", False),
        (12, "import scipy.signal", False),
    ]
    assert imported_packages(COURSE_CELL) == ("numpy", "pandas", "plotnine", "tensorflow", "seaborn", "scipy")


def test_a_cell_that_does_not_parse_has_no_imports() -> None:
    assert import_statements("import numpy as np\ndef (:") == ()


@pytest.mark.parametrize(("error", "module"), [
    ("ModuleNotFoundError: No module named 'pandas'", "pandas"),
    ("ModuleNotFoundError: No module named 'tensorflow.keras.foo'", "tensorflow.keras.foo"),
    ("ImportError: No module named 'numpy.core._multiarray_umath'", "numpy.core._multiarray_umath"),
    ("ImportError: cannot import name 'nope' from 'numpy'", None),
    ("NameError: name 'pd' is not defined", None),
    ("", None),
])
def test_a_missing_module_is_read_from_the_cells_error(error: str, module: str | None) -> None:
    assert missing_module(error) == module


def test_installed_finds_top_level_names_only() -> None:
    assert installed("numpy") and installed("os")
    assert not installed("not_a_real_package_xyz")
    assert not installed("numpy.linalg") and not installed("")


def test_the_failed_statement_is_the_one_on_the_errors_line() -> None:
    statements = import_statements(COURSE_CELL)
    assert failed_import(statements, "pandas", 3).text == "import pandas as pd"  # type: ignore[union-attr]
    # A package's own missing dependency fails the statement that imported the package.
    assert failed_import(statements, "statsmodels", 5).text == "from plotnine import *"  # type: ignore[union-attr]
    # Two statements on the line: the first that imports the module (the second never ran).
    assert failed_import(statements, "tensorflow", 6).text == "import tensorflow as tf"  # type: ignore[union-attr]
    assert failed_import(statements, "statsmodels", 6) is None  # which of the two: unknown
    # Without a line, the first top-level import of the module not yet run.
    assert failed_import(statements, "pandas", None).line == 3  # type: ignore[union-attr]
    assert failed_import(statements, "pandas", None, after=(3, 19)) is None


def test_an_import_inside_a_function_or_try_is_not_skipped() -> None:
    statements = import_statements(COURSE_CELL)
    assert failed_import(statements, "seaborn", 8) is None
    assert failed_import(statements, "scipy", 14) is None  # the error came from the call, not an import


def test_the_rest_of_a_cell_keeps_its_line_numbers() -> None:
    python = cell_python(COURSE_CELL)
    assert python is not None
    pandas = failed_import(import_statements(COURSE_CELL), "pandas", 3)
    assert pandas is not None
    rest = rest_of_cell(python, pandas)
    lines = rest.rstrip("\n").split("\n")
    assert lines[:3] == ["#", "#", "#"]
    assert lines[3] == "get_ipython().run_line_magic('matplotlib', 'inline')"
    assert lines[-1] == "x = 1"
    tf = failed_import(import_statements(COURSE_CELL), "tensorflow", 6)
    assert tf is not None
    assert rest_of_cell(python, tf).split("\n")[5] == "from tensorflow import keras"


def test_nothing_is_left_to_run_after_a_last_import() -> None:
    source = "import numpy as np\nimport pandas as pd  # data frames\n# done"
    statement = failed_import(import_statements(source), "pandas", 2)
    assert statement is not None
    assert rest_of_cell(source, statement) == ""
