"""Shared fixtures: the bundled course, and a per-session cache for reference metrics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.course import Course, find_course

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return find_course(REPO)


@pytest.fixture(scope="session", autouse=True)
def _reference_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Reference metrics are trained once and cached; tests share the user's cache when
    # it exists (so a developer trains them once), else a session-local one.
    if not os.environ.get("AUTOGRADER_CACHE"):
        os.environ["AUTOGRADER_CACHE"] = str(Path.home() / ".cache" / "autograder")


pytest_plugins = ["pytester"]
