"""The sandbox a submission runs in: a private working directory, a clean
environment, resource limits, isolation and seeds.

Nothing of the grader's (rubrics, references, hidden data, expected answers) is put
in the working directory or the environment; only the notebook's own data is staged.
Where the grader may (as root), the kernel also runs in a jail (``isolation.py``): a
user of its own, no network, and a filesystem holding only Python and this folder.

Layout of ``root`` (the grader's, ``rwx--x--x``: the kernel may pass through it only
into the folders handed to its user)::

    kernels/        the kernelspec (the grader's)
    jail/           empty; the kernel's filesystem root is assembled on it
    channel/        the connection file and the kernel's IPC sockets (the kernel's user)
    work/           the kernel's working directory and HOME, with the staged data (the kernel's user)
    export-<hex>/   where the export cell writes the graded names (the kernel's user)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from autograder import bundled
from autograder.config import Device, ExecutionLimits
from autograder.course import datasets
from autograder.execution._child import isolation

PACKAGE = Path(__file__).resolve().parents[1]
"""The ``autograder`` package folder (bound read-only into the jail)."""

KERNEL_NAME = "autograder-sandbox"

# Variables a kernel may inherit: enough to find executables and libraries, nothing
# that could carry the grader's secrets or configuration.
_INHERITED = (
    "PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH",
    # A batch worker's share of the cores (autograder/execution/resources.py).
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
)


@dataclass(frozen=True)
class SandboxPolicy:
    """How the kernel's process is set up."""

    limits: ExecutionLimits
    seed: int
    device: Device
    threads: tuple[tuple[str, str], ...] = ()
    """Thread settings for the frameworks when kernels share the cores (see ``resources.thread_share``)."""


class Sandbox:
    """A temporary working directory with a kernelspec that launches under limits.

    Use as a context manager; the directory is removed on exit unless ``keep`` is set.
    """

    def __init__(self, policy: SandboxPolicy, *, keep: bool = False) -> None:
        self.policy = policy
        self.keep = keep
        self.capabilities = isolation.capabilities()
        self.uid = isolation.new_uid() if self.capabilities.isolate else -1
        self.root = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.root.chmod(0o711)
        self.workdir = self.root / "work"
        self.channel = self.root / "channel"
        self.kernel_dir = self.root / "kernels"
        for folder in (self.workdir, self.channel, self.root / "jail"):
            folder.mkdir(mode=0o700)
        self.connection_file = self.channel / "kernel.json"
        self._datasets: tuple[str, ...] = ()
        self._write_kernelspec()

    def _write_kernelspec(self) -> None:
        limits = self.policy.limits
        # The kernel may import the autograder (a notebook's self-check cells do, and stand
        # down): the same package as the grader's, and nothing else of its repository.
        package = PACKAGE
        jail = isolation.Jail(
            memory_bytes=limits.memory_bytes,
            file_size_bytes=limits.file_size_bytes,
            processes=limits.processes,
            isolate=self.capabilities.isolate,
            uid=self.uid,
            root=str(self.root / "jail"),
            readonly=(*isolation.system_paths(), str(package)),
            writable=(str(self.root),),
            hidden=tuple(str(p) for p in bundled.packaged_copies()),
            devices=self._devices(),
            cwd=str(self.workdir),
        )
        jail.write(self.root / "jail.json")
        spec_dir = self.kernel_dir / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        argv = isolation.jailed(self.root / "jail.json",
                                [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                own="{connection_file}")
        spec = {"argv": argv, "display_name": "autograder sandbox", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")

    def _devices(self) -> tuple[str, ...]:
        if self.policy.device == "cpu":
            return ()
        dev = Path("/dev")
        return tuple(str(p) for p in sorted(dev.glob("nvidia*"))) + (("/dev/dri",) if (dev / "dri").exists() else ())

    def hand_over(self) -> None:
        """Give the kernel's user its folders, once everything is staged in them."""
        if self.uid < 0:
            return
        for folder in (self.workdir, self.channel):
            for path in (folder, *folder.rglob("*")):
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def new_export_dir(self) -> Path:
        """A fresh folder for the export cell, made by the grader so the kernel cannot
        put a link to somewhere else in its place."""
        path = self.root / f"export-{secrets.token_hex(8)}"
        path.mkdir(mode=0o700)
        if self.uid >= 0:
            os.chown(path, self.uid, self.uid)
        return path

    def kill_leftovers(self) -> int:
        """Kill whatever the student's code left running (daemons that left the kernel's
        process group too); returns how many processes there were."""
        return isolation.kill_user(self.uid) if self.uid >= 0 else 0

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment (it inherits nothing else)."""
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ} | dict(self.policy.threads)
        home = self.workdir
        env.update(
            HOME=str(home),
            USER="student",  # getpass.getuser() (torch's caches) needs a name; the uid has none
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
        if self.uid >= 0:
            # Import the grader's own autograder package (bound alone into the jail), not
            # whatever an editable install points to outside it.
            env["PYTHONPATH"] = str(PACKAGE.parent)
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
        self.kill_leftovers()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
