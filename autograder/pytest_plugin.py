"""A pytest plugin: a lab's public checks over a student's notebook, one test per check.

In an assignment repository::

    # pyproject.toml
    [tool.pytest.ini_options]
    autograder_lab = "keras-digits"

    $ pytest lab.ipynb            # or set autograder_notebooks = ["lab.ipynb"] and run `pytest`

The notebook is graded once (public checks only); each check is then a test item named
after its part, passing or failing with the check's message. Without ``autograder_lab``
the plugin does nothing, so it is safe to have installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder.config import GradeOptions
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.grading.pipeline import grade
from autograder.result import CheckResult, Result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--autograder-lab", default=None, help="grade notebooks for this lab")
    group.addoption("--autograder-profile", default=None, help="data profile (default: full)")
    parser.addini("autograder_lab", "the lab the notebooks are graded for", default="")
    parser.addini("autograder_profile", "data profile for grading", default="full")
    parser.addini("autograder_notebooks", "notebooks to grade when running plain `pytest`", type="args", default=[])


def _lab_id(config: pytest.Config) -> str:
    return str(config.getoption("--autograder-lab") or config.getini("autograder_lab") or "")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    config = parent.config
    if file_path.suffix != ".ipynb" or not _lab_id(config):
        return None
    wanted = [Path(p) for p in config.getini("autograder_notebooks")]
    named = any(Path(a).resolve() == file_path.resolve() for a in config.args)
    if named or any((config.rootpath / w).resolve() == file_path.resolve() for w in wanted):
        notebook: pytest.Collector = NotebookFile.from_parent(parent, path=file_path)
        return notebook
    return None


class NotebookFile(pytest.File):
    """A notebook: one item per public check of its lab's rubric."""

    _result: Result | None = None

    @property
    def lab(self) -> Lab:
        return load_lab(_lab_id(self.config), find_course(near=self.path.parent))

    def collect(self) -> Iterator[pytest.Item]:
        for check in self.lab.rubric.checks:
            if not check.spec.hidden:
                yield CheckItem.from_parent(self, name=f"{check.part}::{check.spec.id}", check_id=check.spec.id)

    def result(self) -> Result:
        if self._result is None:
            profile = self.config.getoption("--autograder-profile") or self.config.getini("autograder_profile")
            self._result = grade(self.path, self.lab, GradeOptions(public_only=True, profile=str(profile)))
        return self._result


class CheckFailed(Exception):
    def __init__(self, check: CheckResult) -> None:
        super().__init__(check.message)
        self.check = check


class CheckItem(pytest.Item):
    def __init__(self, *, check_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_id = check_id

    def runtest(self) -> None:
        assert isinstance(self.parent, NotebookFile)
        result = self.parent.result()
        check = next((c for p in result.parts for c in p.checks if c.name == self.check_id), None)
        if check is None:
            raise CheckFailed(CheckResult(name=self.check_id, check="?", status="error", points=0, max_points=0,
                                          message=result.message or "the check did not run"))
        if check.status != "passed":
            raise CheckFailed(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            check = excinfo.value.check
            evidence = "".join(f"\n  {k}: {v}" for k, v in check.evidence.items() if k != "table")
            return f"{check.message} ({check.points:g}/{check.max_points:g} points){evidence}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.name}"
