"""Course data sets, offline: found once, served to every sandbox, never downloaded.

A lab names the data sets its notebook loads (``datasets: [mnist]`` in ``lab.yaml``).
Before grading, each is resolved to real files:

1. ``$AUTOGRADER_DATA/<name>/`` (or ``--data-dir``): an instructor's files;
2. the Keras cache (``~/.keras/datasets/``), where ``load_data()`` left them;
3. a system copy (Debian's ``dataset-fashion-mnist`` package for Fashion-MNIST).

MNIST itself cannot be installed offline; with ``allow_stand_in`` (the ``smoke``
profile, tests and the demo) Fashion-MNIST stands in for it (same format and shape),
and results say so. A missing data set is an error before any grading starts.

A profile decides how much is staged: ``full`` everything, ``smoke`` small stratified
subsets. The grader keeps a *hidden* part of the test split that is never staged:
with ``smoke`` the test examples that were not staged; with ``full`` an instructor's
private split (``<name>/hidden.npz`` with ``x`` and ``y``) when there is one.

Staging writes the files where Keras looks (``$KERAS_HOME/datasets``) and the kernel's
preamble makes ``keras.datasets.<name>.load_data()`` read them (Keras checks the
SHA-256 of ``mnist.npz`` and deletes a subset that differs, so a copy alone would fail).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np

from autograder.course.memo import file_versions
from autograder.errors import ConfigError

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")

PROFILE_SIZES: dict[str, tuple[int, int] | None] = {"full": None, "smoke": (6000, 1000)}
"""(train, test) examples staged per profile; None: all."""


@dataclass(frozen=True)
class Dataset:
    """One data set as the grader holds it. Images are uint8 as Keras returns them."""

    name: str
    x_train: np.ndarray[Any, Any]
    y_train: np.ndarray[Any, Any]
    x_test: np.ndarray[Any, Any]
    y_test: np.ndarray[Any, Any]
    hidden_x: np.ndarray[Any, Any] | None
    hidden_y: np.ndarray[Any, Any] | None
    source: str
    stand_in: str = ""
    """The data set that stands in for this one, when the real one is not available."""

    @property
    def grading_test(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The grader's test split: the hidden one (never staged to students) when there is one."""
        if self.hidden_x is not None and self.hidden_y is not None:
            return self.hidden_x, self.hidden_y
        return self.x_test, self.y_test

    @cached_property
    def digest(self) -> str:
        """A digest of every array: what a reference trained on this data is keyed by."""
        digest = hashlib.sha256(self.stand_in.encode())
        for array in (self.x_train, self.y_train, self.x_test, self.y_test, self.hidden_x, self.hidden_y):
            if array is not None:
                digest.update(f"{array.dtype}:{array.shape};".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]


def _data_roots(data_dir: Path | None) -> list[Path]:
    roots = [data_dir] if data_dir else []
    if os.environ.get("AUTOGRADER_DATA"):
        roots.append(Path(os.environ["AUTOGRADER_DATA"]))
    return roots


def _read_idx(folder: Path) -> tuple[np.ndarray[Any, Any], ...]:
    arrays = []
    for name in _IDX:
        with gzip.open(folder / name, "rb") as handle:
            raw = handle.read()
        if "images" in name:
            arrays.append(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28))
        else:
            arrays.append(np.frombuffer(raw, np.uint8, offset=8))
    return tuple(arrays)


def _find_mnist(roots: list[Path]) -> Path | None:
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    for candidate in [*(r / "mnist" / "mnist.npz" for r in roots), *(r / "mnist.npz" for r in roots),
                      keras_home / "datasets" / "mnist.npz"]:
        if candidate.is_file():
            return candidate
    return None


def _find_fashion(roots: list[Path]) -> Path | None:
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    for folder in [*(r / "fashion-mnist" for r in roots), keras_home / "datasets" / "fashion-mnist",
                   SYSTEM_FASHION_MNIST]:
        if all((folder / f).is_file() for f in _IDX):
            return folder
    return None


def _missing(name: str, roots: list[Path]) -> ConfigError:
    where = roots[0] if roots else Path("$AUTOGRADER_DATA")
    if name == "mnist":
        how = (f"put the usual mnist.npz at {where}/mnist/mnist.npz (or point --data-dir / AUTOGRADER_DATA at "
               "its folder); the one Keras downloads to ~/.keras/datasets/mnist.npz works. For a quick run "
               "without it, use --profile smoke, where Fashion-MNIST stands in")
    else:
        how = (f"put its four IDX .gz files in {where}/fashion-mnist/, or install Debian's "
               "dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)")
    return ConfigError(f"the data set {name!r} is not available: {how}")


def _subset(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], n: int, offset: int = 0) -> tuple[Any, Any]:
    """``n`` examples with every class in proportion, deterministic: the first of each class."""
    classes = np.unique(y)
    per_class = max(1, n // len(classes))
    picked = np.sort(np.concatenate([np.flatnonzero(y == c)[offset * per_class:(offset + 1) * per_class]
                                     for c in classes]))
    return x[picked], y[picked]


def load_dataset(name: str, profile: str, *, allow_stand_in: bool | None = None,
                 data_dir: Path | None = None) -> Dataset:
    """The grader's copy of ``name`` for ``profile``. The files are found anew on every call
    (``$AUTOGRADER_DATA`` may have changed) and read once per process while unchanged."""
    if profile not in PROFILE_SIZES:
        raise ConfigError(f"unknown data profile {profile!r}; profiles: {', '.join(PROFILE_SIZES)}")
    roots = _data_roots(data_dir)
    stand_in_ok = profile != "full" if allow_stand_in is None else allow_stand_in
    if name == "mnist":
        path = _find_mnist(roots)
        if path is not None:
            files = (path, path.parent / "hidden.npz")
            return _read(name, profile, path, "", file_versions(files))
        folder = _find_fashion(roots) if stand_in_ok else None
        if folder is None:
            raise _missing(name, roots)
        return _read(name, profile, folder, "fashion-mnist", file_versions(folder / f for f in _IDX))
    if name == "fashion-mnist":
        folder = _find_fashion(roots)
        if folder is None:
            raise _missing(name, roots)
        return _read(name, profile, folder, "", file_versions(folder / f for f in _IDX))
    raise ConfigError(f"unknown data set {name!r}; known: mnist, fashion-mnist")


@cache
def _read(name: str, profile: str, source: Path, stand_in: str, stamp: tuple[Any, ...]) -> Dataset:
    """Read the files found for ``name`` (an MNIST ``.npz``, or a folder of IDX files) and keep
    ``profile``'s share; ``stamp`` keys the process-wide memo by the files' versions."""
    hidden: tuple[Any, Any] | None = None
    if source.suffix == ".npz":
        with np.load(source, allow_pickle=False) as f:
            x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        hidden_file = source.parent / "hidden.npz"
        if hidden_file.is_file():
            with np.load(hidden_file, allow_pickle=False) as f:
                hidden = (f["x"], f["y"])
    else:
        x_train, y_train, x_test, y_test = _read_idx(source)
    sizes = PROFILE_SIZES[profile]
    if sizes is not None:
        n_train, n_test = sizes
        all_test = (x_test, y_test)
        x_train, y_train = _subset(x_train, y_train, n_train)
        x_test, y_test = _subset(*all_test, n_test)
        if hidden is None:
            hidden = _subset(*all_test, n_test, offset=1)  # test examples never staged
    return Dataset(name, x_train, y_train, x_test, y_test, hidden[0] if hidden else None,
                   hidden[1] if hidden else None, str(source), stand_in)


def check_available(names: tuple[str, ...], profile: str, data_dir: Path | None = None) -> list[str]:
    """Resolve every data set before grading starts; return notes about stand-ins."""
    notes = []
    for name in names:
        dataset = load_dataset(name, profile, data_dir=data_dir)
        if dataset.stand_in:
            notes.append(f"The data set {name} was not available; {dataset.stand_in} stood in for it "
                         f"(same format and shapes), so figures differ from the course's.")
    return notes


def stage(names: tuple[str, ...], profile: str, keras_home: Path, data_dir: Path | None = None) -> None:
    """Write the staged (public) part of each data set where the kernel's Keras reads it."""
    folder = keras_home / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        d = load_dataset(name, profile, data_dir=data_dir)
        if name == "mnist":
            np.savez(folder / "mnist.npz", x_train=d.x_train, y_train=d.y_train, x_test=d.x_test, y_test=d.y_test)
        else:
            target = folder / "fashion-mnist"
            target.mkdir(exist_ok=True)
            for file, array, header in zip(_IDX, (d.x_train, d.y_train, d.x_test, d.y_test), (16, 8, 16, 8),
                                           strict=True):
                with gzip.open(target / file, "wb", compresslevel=1) as handle:
                    handle.write(b"\0" * header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


KERNEL_LOADER = '''
def _ag_serve_staged_datasets():
    """Make keras.datasets.mnist.load_data() read the staged file: Keras would check its
    hash, find a subset or a stand-in, and try to download the original."""
    import os
    import keras.src.datasets.mnist as _mnist
    staged = os.path.join(os.environ["KERAS_HOME"], "datasets", "mnist.npz")
    original = _mnist.get_file
    def get_file(fname=None, origin=None, *args, **kwargs):
        if fname in ("mnist.npz", None) and os.path.exists(staged):
            return staged
        return original(fname, origin, *args, **kwargs)
    _mnist.get_file = get_file
_ag_serve_staged_datasets()
del _ag_serve_staged_datasets
'''
"""Kernel-side code, run by the preamble when the lab stages MNIST."""
