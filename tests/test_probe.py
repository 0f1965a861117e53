"""Behaviour probes: a student's class run in a real, fresh, limited process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.config import ExecutionLimits
from autograder.execution._child.isolation import capabilities
from autograder.execution.probe import ProbeSession, run_probe

# Every test starts a real jailed probe process.
pytestmark = pytest.mark.slow

LIMITS = ExecutionLimits()

LINEAR = """
import os
import numpy as np

class Linear:
    def __init__(self, n_inputs, n_outputs, learning_rate=0.1):
        self.W = np.random.randn(n_inputs, n_outputs) * 0.1
        self.b = np.zeros(n_outputs)
        self.learning_rate = learning_rate

    def forward(self, X):
        return X @ self.W + self.b

    def backward(self, X, Y):
        grad = 2 * (self.forward(X) - Y) / len(X)
        self.W -= self.learning_rate * X.T @ grad
        self.b -= self.learning_rate * grad.sum(axis=0)

    def predict(self, X):
        return self.forward(X).argmax(axis=1)
"""


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4))
    y = np.eye(3)[rng.integers(0, 3, size=8)]
    return x, y


def _train_task(cls: str = "Linear", **extra: object) -> dict[str, object]:
    return {
        "scenario": "train-steps",
        "class": cls,
        "init": {"n_inputs": 4, "n_outputs": 3},
        "steps": 5,
        "seed": 7,
        **extra,
    }


def test_train_steps_runs_the_class_and_returns_its_outputs() -> None:
    x, y = _data()
    result = run_probe(LINEAR, _train_task(), {"X": x, "Y": y}, limits=LIMITS)
    assert result.error == ""
    assert result.ok
    out = result.outputs
    assert set(out) == {"before", "after", "predictions", "initial__W", "initial__b"}
    assert out["before"].shape == out["after"].shape == (8, 3)
    assert out["predictions"].shape == (8,)
    # The seed is the task's, so the initial weights are reproducible here.
    np.random.seed(7)
    np.testing.assert_array_equal(out["initial__W"], np.random.randn(4, 3) * 0.1)
    np.testing.assert_array_equal(out["initial__b"], np.zeros(3))
    assert np.mean((out["after"] - y) ** 2) < np.mean((out["before"] - y) ** 2)
    np.testing.assert_array_equal(out["predictions"], out["after"].argmax(axis=1))


def test_predict_rebuilds_the_object_from_its_arrays() -> None:
    x, _ = _data()
    w = np.arange(12, dtype=float).reshape(4, 3) * np.array([1.0, -1.0, 0.5])
    b = np.array([0.0, 1.0, -1.0])
    task = {"scenario": "predict", "class": "Linear", "attributes": {"learning_rate": 0.1}}
    result = run_probe(LINEAR, task, {"X": x, "state__W": w, "state__b": b}, limits=LIMITS)
    assert result.ok, result.error
    assert set(result.outputs) == {"predictions"}
    np.testing.assert_array_equal(result.outputs["predictions"], (x @ w + b).argmax(axis=1))


def test_a_class_that_is_not_defined_is_reported() -> None:
    x, y = _data()
    result = run_probe(LINEAR, _train_task("MLP"), {"X": x, "Y": y}, limits=LIMITS)
    assert not result.ok
    assert "`MLP` is not defined as a class" in result.error
    assert result.outputs == {}


def test_an_error_in_init_is_reported_with_its_text() -> None:
    source = "class Linear:\n    def __init__(self, **kwargs):\n        raise ValueError('n_hidden is missing')\n"
    x, y = _data()
    result = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=LIMITS)
    assert not result.ok
    assert result.error == "ValueError: n_hidden is missing"
    assert result.outputs == {}


def test_system_exit_while_defining_is_reported() -> None:
    x, y = _data()
    result = run_probe("raise SystemExit(3)\n" + LINEAR, _train_task(), {"X": x, "Y": y}, limits=LIMITS)
    assert not result.ok
    assert result.error == "SystemExit: 3"


def test_a_process_that_dies_without_a_report_is_reported() -> None:
    x, y = _data()
    result = run_probe("import os\nos._exit(0)\n", _train_task(), {"X": x, "Y": y}, limits=LIMITS)
    assert not result.ok
    assert "crashed" in result.error


def test_an_endless_forward_is_stopped_at_the_timeout() -> None:
    source = LINEAR.replace("return X @ self.W + self.b", "while True:\n            pass")
    x, y = _data()
    start = time.monotonic()
    result = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=LIMITS, timeout=2)
    assert time.monotonic() - start < 10
    assert not result.ok
    assert result.error == "it did not finish within 2 seconds"


def test_a_memory_bomb_hits_the_memory_limit() -> None:
    source = LINEAR.replace("return X @ self.W + self.b", "return bytearray(10**11)")
    x, y = _data()
    result = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=ExecutionLimits(memory_bytes=2 * 1024**3))
    assert not result.ok
    assert result.error.startswith("MemoryError")


def test_the_memory_limit_is_the_one_given() -> None:
    # 3 GiB of untouched zeros costs nothing without a limit; only the probe's limit refuses it.
    source = LINEAR.replace(
        "self.learning_rate = learning_rate",
        "self.learning_rate = learning_rate\n        self.buffer = [np.zeros(3 * 1024**3, dtype=np.uint8)]",
    )
    x, y = _data()
    roomy = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=ExecutionLimits(memory_bytes=8 * 1024**3))
    assert roomy.ok, roomy.error
    tight = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=ExecutionLimits(memory_bytes=2 * 1024**3))
    assert not tight.ok
    assert tight.error.startswith("MemoryError")


def test_the_probe_cannot_see_the_graders_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOGRADER_TEST_SECRET", "hunter2-hidden-answers")
    source = LINEAR.replace(
        "return self.forward(X).argmax(axis=1)",
        "return np.array([len(os.environ.get('AUTOGRADER_TEST_SECRET', ''))])",
    )
    x, _ = _data()
    task = {"scenario": "predict", "class": "Linear"}
    result = run_probe(source, task, {"X": x, "state__W": np.zeros((4, 3)), "state__b": np.zeros(3)}, limits=LIMITS)
    assert result.ok, result.error
    np.testing.assert_array_equal(result.outputs["predictions"], [0])


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its parent has not reaped it


def _with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_processes_started_by_the_probe_end_with_it() -> None:
    # Found by a marker in its command line: a jailed probe cannot write outside its folder.
    marker = f"time.sleep(60.{os.getpid()})"
    source = LINEAR.replace(
        "return X @ self.W + self.b",
        "import subprocess, sys\n"
        f"        child = subprocess.Popen([sys.executable, '-c', 'import time; {marker}'])\n"
        "        while True:\n"
        "            pass",
    )
    x, y = _data()
    result = run_probe(source, _train_task(), {"X": x, "Y": y}, limits=LIMITS, timeout=2)
    assert not result.ok
    pids = _with_marker(marker)
    try:
        deadline = time.monotonic() + 1
        while any(_running(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _running(p)]
    finally:
        for pid in pids:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)  # the test started it; do not leave it behind


SNOOP = """
import os

class Snoop:
    def __init__(self):
        pass

    def fit(self, X, y):
        pass

    def predict(self, X):
        import numpy as np
        readable = []
        for path in TARGETS:
            try:
                with open(path, "rb"):
                    readable.append(1)
            except OSError:
                readable.append(0)
        return np.array(readable)
"""


def test_a_probe_cannot_read_the_graders_files(tmp_path: Path) -> None:
    from autograder.execution._child.isolation import capabilities

    rubric = Path(__file__).resolve().parent.parent / "rubrics" / "keras-digits.yaml"
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    definitions = f"TARGETS = {[str(rubric), str(secret), '/etc/hostname']!r}\n" + SNOOP
    task = {"scenario": "fit-predict", "class": "Snoop"}
    inputs = {"X": np.zeros((2, 2)), "y": np.zeros(2), "X_test": np.zeros((2, 2))}
    result = run_probe(definitions, task, inputs, limits=LIMITS)
    assert result.ok, result.error
    if capabilities().isolate:
        assert result.outputs["predictions"].tolist() == [0, 0, 1]
    else:
        pytest.skip(f"no isolation here: {capabilities().reason}")


def test_a_link_posing_as_the_probes_report_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "report.json"
    secret.write_text('{"ok": false, "error": "a secret of the grader"}')
    definitions = f"""
import os
os.symlink({str(secret)!r}, "report.json")
os._exit(0)
"""
    result = run_probe(definitions, {"scenario": "predict", "class": "X"}, {"X": np.zeros(1)}, limits=LIMITS)
    assert not result.ok
    assert "secret" not in result.error


def test_a_session_answers_every_query_from_one_process_and_restarts_after_a_crash() -> None:
    x, y = _data()
    crash = LINEAR.replace("return self.forward(X).argmax(axis=1)", "import os\n        os._exit(1)")
    hang = LINEAR.replace("return X @ self.W + self.b", "while True:\n            pass")
    flood = LINEAR.replace("def predict(self, X):", "def predict(self, X):\n        print('x' * 10**7)")
    with ProbeSession(LIMITS) as session:
        first = session.run(LINEAR, _train_task(), {"X": x, "Y": y})
        second = session.run(flood, _train_task(seed=8), {"X": x, "Y": y})
        assert first.ok and second.ok and session.starts == 1
        assert not np.array_equal(first.outputs["initial__W"], second.outputs["initial__W"])
        crashed = session.run(crash, _train_task(), {"X": x, "Y": y})
        assert not crashed.ok and "crashed" in crashed.error
        hung = session.run(hang, _train_task(), {"X": x, "Y": y}, timeout=2)
        assert hung.error == "it did not finish within 2 seconds"
        after = session.run(LINEAR, _train_task(), {"X": x, "Y": y})
        assert after.ok and session.starts == 3  # one more after the crash, one more after the hang
        np.testing.assert_array_equal(after.outputs["after"], first.outputs["after"])


def test_one_submissions_probe_state_never_reaches_the_next() -> None:
    # A student's code that leaves a mark in a module every probe imports (NumPy) and in
    # the process's files, and a next student's class that looks for both.
    leave = "import numpy\nnumpy.LEFT_BEHIND = 41\nopen('/tmp/left-behind', 'w').write('x')\n" + LINEAR
    look = LINEAR.replace("return self.forward(X).argmax(axis=1)", (
        "import numpy, os\n        "
        "return numpy.full(len(X), getattr(numpy, 'LEFT_BEHIND', 0) + os.path.exists('/tmp/left-behind'))"))
    x, y = _data()
    with ProbeSession(LIMITS) as first:
        assert first.run(leave, _train_task(), {"X": x, "Y": y}).ok
        same = first.run(look, _train_task(), {"X": x, "Y": y})
        assert same.ok and same.outputs["predictions"][0] >= 41  # the same student's process keeps it
    with ProbeSession(LIMITS) as second:
        other = second.run(look, _train_task(), {"X": x, "Y": y})
    assert other.ok, other.error
    seen = int(other.outputs["predictions"][0])
    if not capabilities().isolate:
        os.remove("/tmp/left-behind")
    assert seen == (0 if capabilities().isolate else 1)  # without a jail, /tmp is shared; NumPy never is


def _program(path: Path) -> Path:
    import torch
    from torch.export import Dim

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3))
    program = torch.export.export(module, (torch.zeros(2, 4),), dynamic_shapes=({0: Dim("b", min=1, max=64)},),
                                  strict=False)
    torch.export.save(program, path)
    return path


def test_a_session_started_before_the_export_loads_programs_written_after_it_and_refuses_links(
        tmp_path: Path) -> None:
    # The pipeline starts a PyTorch lab's probe (importing torch) while the kernel still runs:
    # the programs do not exist yet, so each is copied in when a query needs it.
    with ProbeSession(LIMITS, preload=("torch", "torch._export.serde.serialize")) as session:
        session.start()
        program = _program(tmp_path / "model.pt2")
        ran = session.run("", {"scenario": "torch-run", "program": str(program)}, {"X": np.ones((5, 4), np.float32)})
        assert ran.ok, ran.error
        assert int(ran.outputs["params"]) == 15 and ran.outputs["outputs"].shape == (5, 3)
        (tmp_path / "link.pt2").symlink_to(program)
        linked = session.run("", {"scenario": "torch-run", "program": str(tmp_path / "link.pt2")}, {})
        assert not linked.ok and "cannot be read" in linked.error
        assert session.starts == 1
