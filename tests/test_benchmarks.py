"""The benchmark scripts still import after the package moves under them (their figures are
how speed targets are checked, so a broken one hides a regression)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_the_benchmark_imports(script: Path) -> None:
    name = f"benchmark_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the script is imported
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"
