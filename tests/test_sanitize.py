"""Shell and magic lines that cannot run while grading are skipped; everything else is kept."""

from __future__ import annotations

import pytest

from autograder.notebook.sanitize import sanitize_cell
from autograder.result import SkippedLine

PACKAGE = "package installs do not run while grading; the grader provides the packages"
TENSORBOARD = "TensorBoard needs a server and a browser; it does not run while grading"


def _skip(source: str, *, cell: int = 3) -> tuple[str, list[SkippedLine]]:
    sanitized, skipped = sanitize_cell(cell, source)
    assert sanitized.index == cell
    return sanitized.source, skipped


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("!pip install x", PACKAGE),
        ("%pip install x", PACKAGE),
        ("!jupyter nbconvert --to pdf a.ipynb", "shell commands (`!jupyter`) do not run while grading"),
        ("%load_ext tensorboard", TENSORBOARD),
        ("%tensorboard --logdir logs", TENSORBOARD),
    ],
)
def test_an_unrunnable_line_is_replaced_and_recorded(line: str, reason: str) -> None:
    source, skipped = _skip(f"import numpy as np\n{line}\ny = 2")
    lines = source.split("\n")
    assert lines[0] == "import numpy as np"
    assert lines[1].startswith("pass  # skipped by the autograder")
    assert lines[2] == "y = 2"
    assert skipped == [SkippedLine(cell=3, line=2, text=line, reason=reason)]
    compile(source, "<cell>", "exec")


def test_a_shell_line_in_a_block_keeps_its_indentation() -> None:
    source, skipped = _skip("if True:\n    !ls\nx = 1")
    assert source.split("\n")[1].startswith("    pass  # skipped by the autograder: !ls")
    assert [(s.cell, s.line, s.text) for s in skipped] == [(3, 2, "!ls")]
    assert skipped[0].reason == "shell commands (`!ls`) do not run while grading"
    compile(source, "<cell>", "exec")


def test_an_assigned_shell_command_is_skipped() -> None:
    source, skipped = _skip("files = !ls\nprint(len(files))")
    assert source.split("\n")[0].startswith("pass  # skipped by the autograder")
    assert source.split("\n")[1] == "print(len(files))"
    assert skipped == [
        SkippedLine(cell=3, line=1, text="files = !ls", reason="shell commands (`!ls`) do not run while grading")
    ]


def test_a_bash_cell_is_skipped_whole() -> None:
    source, skipped = _skip("%%bash\npip install x\nls -la")
    assert source == "pass"
    assert skipped == [
        SkippedLine(cell=3, line=1, text="%%bash", reason="%%bash cells run shell code; they do not run while grading")
    ]


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nimport matplotlib.pyplot as plt",
        "%time x = 1",
        "%%time\nx = sum(range(10))\ny = x % 3",
        "a = 5 % 2\nb = 3\nif a != b:\n    print(f'{a % b}')",
        "%load_ext autoreload\n%autoreload 2",
    ],
)
def test_runnable_magics_and_operators_are_kept(source: str) -> None:
    kept, skipped = _skip(source)
    assert kept == source
    assert skipped == []


def test_plain_python_with_operators_still_compiles() -> None:
    kept, skipped = _skip("a = 5 % 2\nb = 3\nif a != b:\n    c = a % b")
    assert skipped == []
    namespace: dict[str, int] = {}
    exec(compile(kept, "<cell>", "exec"), namespace)
    assert namespace["c"] == 1


def test_an_operator_opening_a_continuation_line_is_kept() -> None:
    # Black's formatting: a long condition is split before its operators.
    source = "if (\n    a\n    != b\n):\n    c = 1\nd = (\n    a\n    % b\n)"
    kept, skipped = _skip(source)
    assert skipped == []
    assert kept == source


def test_a_shell_command_continued_with_a_backslash_is_skipped_whole() -> None:
    source, skipped = _skip("!pip install tensorflow \\\n    keras\nimport os")
    assert len(skipped) == 1
    assert skipped[0].reason == PACKAGE
    compile(source, "<cell>", "exec")


@pytest.mark.parametrize("line", ["pip install tensorflow", "pip install -q plotnine pandas", "pip -q install x",
                                  "conda install -c conda-forge seaborn", "uv pip install numpy"])
def test_a_bare_package_install_that_ipython_runs_as_a_magic_is_skipped(line: str) -> None:
    # The course's notebook has `pip install tensorflow` alone in a cell: IPython runs it as %pip.
    source, skipped = _skip(line)
    assert source.startswith("pass  # skipped by the autograder: ")
    assert skipped == [SkippedLine(cell=3, line=1, text=line, reason=PACKAGE)]


@pytest.mark.parametrize("source", ["pip in names", "uv = 3\nuv + 1", "conda if ready else None",
                                    "s = '''\npip install x\n'''"])
def test_python_that_starts_with_a_package_tools_name_is_kept(source: str) -> None:
    assert _skip(source) == (source, [])
