"""Shared fixtures: the bundled course, the session's executed notebooks, and the rule
that a test not marked ``slow`` starts no kernel and no jailed process."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import sysconfig
import tempfile
import venv
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

import autograder.execution.probe
from autograder.course.folder import Course, find_course
from autograder.execution.resources import cpu_count, thread_share
from tests.executions import Executions

REPO = Path(__file__).resolve().parent.parent

# Test workers share the cores as a batch's workers do: each process (its reference trainings,
# the kernels and subprocesses it starts) gets its share of threads. Set before anything
# imports a framework, which reads them once.
for _name, _value in thread_share(cpu_count(), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))).items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def course() -> Course:
    return find_course(REPO)


@pytest.fixture(scope="session", autouse=True)
def _reference_cache() -> None:
    # Reference metrics are trained once and cached; tests share the user's cache when
    # it exists (so a developer trains them once), else a session-local one.
    if not os.environ.get("AUTOGRADER_CACHE"):
        os.environ["AUTOGRADER_CACHE"] = str(Path.home() / ".cache" / "autograder")


@pytest.fixture(scope="session")
def executions(tmp_path_factory: pytest.TempPathFactory) -> Executions:
    """Every notebook the session grades, executed once and rescored as often as tests need."""
    return Executions(tmp_path_factory.mktemp("executions"))


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as a user gets it: a wheel built from this repository and installed (not
    editable) into a new environment outside it, which borrows this one's dependencies
    (installing TensorFlow and PyTorch again would prove nothing). Its ``bin/`` folder."""
    root = tmp_path_factory.mktemp("installed")

    def run(*command: str | Path) -> str:
        return subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True).stdout

    # pip builds in the source tree (build/): two test workers must not build at once.
    with open(Path(tempfile.gettempdir()) / "autograder-tests-wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist", REPO)
    env = root / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    # A path line, not this environment's own .pth files: its editable install of the package stays out.
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q",
        next((root / "dist").glob("autograder-*.whl")))
    return env / "bin"


@pytest.fixture(scope="session")
def demo_out(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`autograder demo` run from the installed wheel, outside the repository: its output
    folder (keras-digits' examples and blank template graded on the full profile), read by
    the demo's test and copied by those that regrade or review a class."""
    work = tmp_path_factory.mktemp("demo")
    done = subprocess.run([str(installed / "autograder"), "demo", "--out", "demo-out"], cwd=work,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (work / "demo.log").write_text(done.stdout + done.stderr)
    return work / "demo-out"


@pytest.fixture(autouse=True)
def _fast_tests_start_no_kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`pytest -m "not slow"` is the developer's fast loop: a kernel or a jailed probe
    started by a test without the marker fails that test, so the marker keeps its meaning."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    started: list[str] = []

    def refuse(what: str) -> Any:
        def _refuse(*args: object, **kwargs: object) -> None:
            started.append(what)
            raise RuntimeError(f"a test not marked slow started {what}")
        return _refuse

    monkeypatch.setattr(LocalProvisioner, "launch_kernel", refuse("a Jupyter kernel"))
    monkeypatch.setattr(autograder.execution.probe, "subprocess",
                        SimpleNamespace(**{**vars(subprocess), "Popen": refuse("a jailed probe")}))
    yield
    assert not started, f"{request.node.nodeid} started {started[0]}: mark it @pytest.mark.slow"


# Under pytest-xdist, scripts/dev test runs `-n 3 --dist loadfile`: each module in one worker,
# so a module's fixtures (a lab's graded solution) are computed once. Modules are handed out
# in collection order (with --no-loadscope-reorder; by default xdist sorts them by their
# number of tests), so the longest go first (measured with --durations; the order changes
# only when the suite finishes). (`--dist loadgroup` would keep modules sharing a session
# fixture together, but pytest-xdist 3.8 cannot tag pytest 9's node ids with the group.)
_LONGEST_FIRST = ("test_grade_pytorch_sequences_attention", "test_grade_keras_mnist_mlp", "test_distribution",
                  "test_grade_keras_digits", "test_hostile", "test_grade_keras_cnn_regularisation", "test_concepts",
                  "test_batch", "test_regrade", "test_validation", "test_new_lab", "test_grade_pytorch_fundamentals")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    # Stable: each module keeps its order, and the rest keep the file order.
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))  # type: ignore[attr-defined]


pytest_plugins = ["pytester"]
