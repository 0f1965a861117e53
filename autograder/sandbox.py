"""The sandbox a submission runs in: a private working directory, a clean
environment, resource limits and seeds.

Nothing of the grader's (rubrics, references, hidden data, expected answers) is put
in the working directory or the environment; only the notebook's own data is staged.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from autograder import datasets
from autograder.config import Device, ExecutionLimits

KERNEL_NAME = "autograder-sandbox"

# Variables a kernel may inherit: enough to find executables and libraries, nothing
# that could carry the grader's secrets or configuration.
_INHERITED = (
    "PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH",
    # A batch worker's share of the cores (autograder/resources.py).
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
)


@dataclass(frozen=True)
class SandboxPolicy:
    """How the kernel's process is set up."""

    limits: ExecutionLimits
    seed: int
    device: Device


class Sandbox:
    """A temporary working directory with a kernelspec that launches under limits.

    Use as a context manager; the directory is removed on exit unless ``keep`` is set.
    """

    def __init__(self, policy: SandboxPolicy, *, keep: bool = False) -> None:
        self.policy = policy
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.workdir = self.root / "work"
        self.workdir.mkdir()
        self.kernel_dir = self.root / "kernels"
        self._datasets: tuple[str, ...] = ()
        self._write_kernelspec()

    def _write_kernelspec(self) -> None:
        limits = self.policy.limits
        spec_dir = self.kernel_dir / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        argv = [
            sys.executable,
            "-m",
            "autograder.kernel_launcher",
            "--memory",
            str(limits.memory_bytes),
            "--fsize",
            str(limits.file_size_bytes),
            "--",
            "-f",
            "{connection_file}",
        ]
        spec = {"argv": argv, "display_name": "autograder sandbox", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment (it inherits nothing else)."""
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        home = self.workdir
        env.update(
            HOME=str(home),
            PYTHONHASHSEED=str(self.policy.seed),
            PYTHONNOUSERSITE="1",
            MPLBACKEND="Agg",
            # Quieter frameworks: their warnings are recorded anyway, never scored.
            TF_CPP_MIN_LOG_LEVEL="2",
            KERAS_HOME=str(home / ".keras"),
            KERAS_BACKEND="tensorflow",
            JUPYTER_PLATFORM_DIRS="1",
            AUTOGRADER_SANDBOX="1",  # in-notebook self-checks stand down while grading
        )
        if self.policy.device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
        else:
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
            if "CUDA_VISIBLE_DEVICES" in os.environ:
                env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        return env

    def stage_datasets(self, names: tuple[str, ...], profile: str) -> None:
        """Put the lab's data sets where the kernel's Keras looks, offline."""
        if names:
            datasets.stage(names, profile, self.workdir / ".keras")
        self._datasets = names

    def preamble(self, frameworks: tuple[str, ...]) -> str:
        """Code run in the kernel before the student's first cell: seeds everything.

        Frameworks the lab uses are imported here so they are seeded; the student's
        own import of them then costs nothing.
        """
        seed = self.policy.seed
        lines = [
            "import random as _ag_random, numpy as _ag_np",
            f"_ag_random.seed({seed}); _ag_np.random.seed({seed})",
        ]
        if "tensorflow" in frameworks:
            lines.append(f"import keras as _ag_keras; _ag_keras.utils.set_random_seed({seed})")
        if "torch" in frameworks:
            lines.append(f"import torch as _ag_torch; _ag_torch.manual_seed({seed})")
        if "mnist" in self._datasets:
            lines.append(datasets.KERNEL_LOADER)
        lines.append("del _ag_random, _ag_np" + (", _ag_keras" if "tensorflow" in frameworks else "")
                     + (", _ag_torch" if "torch" in frameworks else ""))
        return "\n".join(lines)

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
