"""The executor against a real sandboxed kernel: small notebooks, one behaviour each."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from autograder.config import ExecutionLimits
from autograder.execution.executor import ExecutionOutcome, execute, memory_peaks
from autograder.execution.sandbox import Sandbox, SandboxPolicy
from autograder.notebook.sanitize import sanitize_cell

# Every test starts a real sandboxed kernel.
pytestmark = pytest.mark.slow


def run(sources: list[str], export: dict[str, str], **limits: float) -> tuple[ExecutionOutcome, Sandbox]:
    cells, skipped = [], []
    for index, source in enumerate(sources):
        cell, lines = sanitize_cell(index, source)
        cells.append(cell)
        skipped.extend(lines)
    sandbox = Sandbox(SandboxPolicy(ExecutionLimits(**limits), seed=7, device="cpu"))  # type: ignore[arg-type]
    spec = {name: {"kind": kind} for name, kind in export.items()}
    return execute(cells, skipped, sandbox, frameworks=(), export_spec=spec), sandbox


@pytest.fixture
def cleanup() -> list[Sandbox]:
    boxes: list[Sandbox] = []
    yield boxes  # type: ignore[misc]
    for box in boxes:
        box.close()


def test_an_error_is_recorded_and_later_cells_still_run(cleanup: list[Sandbox]) -> None:
    outcome, box = run(
        ["import numpy as np\nx = np.arange(4)", "1 / 0", "import sys\nprint('careful', file=sys.stderr)\ny = x * 2"],
        {"x": "array", "y": "array", "z": "array"},
    )
    cleanup.append(box)
    statuses = [c.status for c in outcome.record.cells]
    assert statuses == ["ok", "error", "ok"]
    assert outcome.record.cells[1].error.startswith("ZeroDivisionError")
    assert "careful" in outcome.record.cells[2].stderr
    assert outcome.exported
    assert np.load(outcome.export_dir / "y.npy").tolist() == [0, 2, 4, 6]
    manifest = (outcome.export_dir / "manifest.json").read_text()
    assert '"z": {"kind": "array", "status": "missing"' in manifest


def test_skipped_shell_lines_do_not_run(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["!touch made_by_shell\nimport os\nmade = os.path.exists('made_by_shell')"], {})
    cleanup.append(box)
    assert outcome.record.cells[0].status == "ok"
    assert [s.text for s in outcome.record.skipped_lines] == ["!touch made_by_shell"]
    assert not (box.workdir / "made_by_shell").exists()


def test_a_cell_over_its_time_limit_is_interrupted_and_the_next_runs(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["import time\nwhile True:\n    time.sleep(0.1)", "after = [1]"], {"after": "array"},
                       cell_timeout=2)
    cleanup.append(box)
    assert [c.status for c in outcome.record.cells] == ["timeout", "ok"]
    assert outcome.record.cells[0].seconds < 10
    assert outcome.exported


def test_the_total_time_limit_stops_the_notebook_but_still_exports(cleanup: list[Sandbox]) -> None:
    sources = ["first = [1]", "import time\ntime.sleep(3)", "import time\ntime.sleep(3)", "last = [1]"]
    outcome, box = run(sources, {"first": "array", "last": "array"}, total_timeout=4, cell_timeout=10)
    cleanup.append(box)
    statuses = [c.status for c in outcome.record.cells]
    assert statuses[0] == "ok" and statuses[-1] == "not-run"
    assert outcome.record.timed_out
    assert outcome.exported and (outcome.export_dir / "first.npy").exists()


def test_a_kernel_that_exits_is_recorded_as_died(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["a = [1]", "import os\nos._exit(3)", "b = [2]"], {"a": "array"})
    cleanup.append(box)
    assert outcome.record.kernel_died
    assert [c.status for c in outcome.record.cells] == ["ok", "error", "not-run"]
    assert not outcome.exported


def test_memory_over_the_limit_fails_the_cell_not_the_grader(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["big = bytearray(3 * 1024**3)", "small = [1]"], {"small": "array"},
                       memory_bytes=2 * 1024**3)
    cleanup.append(box)
    assert outcome.record.cells[0].status == "error"
    assert "MemoryError" in outcome.record.cells[0].error
    assert outcome.record.cells[1].status == "ok"


def test_the_kernel_sees_none_of_the_graders_environment(
    cleanup: list[Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_SECRET", "hidden-answers")
    outcome, box = run(
        ["import os, numpy as np\nleak = np.array([len(os.environ.get('GRADER_SECRET', ''))])\n"
         "home = np.array([os.path.expanduser('~') == os.getcwd()])"],
        {"leak": "array", "home": "array"},
    )
    cleanup.append(box)
    assert np.load(outcome.export_dir / "leak.npy").tolist() == [0]
    assert np.load(outcome.export_dir / "home.npy").tolist() == [True]


def test_the_kernel_is_seeded(cleanup: list[Sandbox]) -> None:
    draws = []
    for _ in range(2):
        outcome, box = run(["import numpy as np\nr = np.random.rand(3)"], {"r": "array"})
        cleanup.append(box)
        draws.append(np.load(outcome.export_dir / "r.npy"))
    assert np.array_equal(draws[0], draws[1])


def test_output_past_the_limit_is_dropped_as_it_arrives(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["for _ in range(20):\n    print('x' * 10_000)", "print('later')", "kept = [1]"],
                       {"kept": "array"}, notebook_output_chars=50_000)
    cleanup.append(box)
    assert outcome.record.output_truncated_cells == (0,)  # the short line after still fits under the cap
    assert outcome.exported and [c.status for c in outcome.record.cells] == ["ok", "ok", "ok"]


def test_a_memory_error_is_recorded_as_memory_exhaustion_with_the_kernels_peak(cleanup: list[Sandbox]) -> None:
    outcome, box = run(["import numpy as np\nbig = np.ones((1 << 34,))", "fine = [1]"], {"fine": "array"},
                       memory_bytes=1024**3)
    cleanup.append(box)
    assert outcome.record.memory_exceeded and not outcome.record.kernel_died
    assert 10 * 2**20 < outcome.record.kernel_peak_rss_bytes < 1024**3


def test_a_process_peak_is_its_own_not_its_parents() -> None:
    # A batch worker started from a big process (pytest, an instructor's notebook) must not
    # report that process's size as its own: getrusage's ru_maxrss does, across fork and exec.
    held = bytearray(600 * 2**20)
    held[::4096] = b"\1" * len(held[::4096])  # touch every page, so it is resident
    code = "from autograder.execution.executor import memory_peaks; print(memory_peaks('self')[0])"
    child = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 0 < child < 300 * 2**20 < 600 * 2**20 < memory_peaks("self")[0]
    del held


def test_a_missing_package_does_not_take_the_rest_of_its_import_cell_with_it(cleanup: list[Sandbox]) -> None:
    # The course's import cell, with packages this environment lacks: the imports after a
    # failed one still run, and what failed is recorded for the course to fix.
    outcome, box = run(
        ["import numpy as np\nimport not_a_package_xyz as nap\n%matplotlib inline\n"
         "from also_missing.sub import thing; import json\nx = np.arange(3)\ny = json.dumps([1])",
         "def f():\n    import inner_missing\nf()\nz = 1",
         "w = np.ones(2)"],
        {"x": "array", "w": "array"},
    )
    cleanup.append(box)
    record = outcome.record
    assert [c.status for c in record.cells] == ["error", "error", "ok"]
    assert record.cells[0].error == "ModuleNotFoundError: No module named 'also_missing'"
    assert [(f.cell, f.module, f.line, f.text, f.resumed) for f in record.failed_imports] == [
        (0, "not_a_package_xyz", 2, "import not_a_package_xyz as nap", True),
        (0, "also_missing", 4, "from also_missing.sub import thing", True),
        (1, "inner_missing", 0, "", False),  # inside a function: the cell's own logic, not skipped
    ]
    assert record.missing_modules == ("also_missing", "inner_missing", "not_a_package_xyz")
    assert np.load(outcome.export_dir / "x.npy").tolist() == [0, 1, 2]
