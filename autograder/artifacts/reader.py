"""Read back, safely, what the kernel exported: the grading side of the trust boundary.

Everything here is untrusted data written by a process that ran student code. Arrays
load without pickle, Keras models with ``safe_mode`` (no Lambda layers, no custom
classes), histories as JSON; file names are the grader's own, never the manifest's.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from autograder.errors import ArtifactError
from autograder.quiet import import_keras

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    status: Literal["ok", "missing", "wrong-type", "error", "skipped"]
    type: str = ""
    message: str = ""
    candidates: str = ""
    # What the export measured in the kernel: trusted only for a course's own solution.
    params: int | None = None
    trainable: int | None = None
    # Set by an authoring run (kind ``auto``): the arrays a model takes, with its output shape on each.
    accepts: dict[str, list[int]] = {}
    input: list[int] | None = None
    dtype: str = ""


@dataclass(frozen=True)
class HistoryData:
    """A training history: per-epoch metrics and the fit parameters Keras recorded."""

    metrics: dict[str, list[float]]
    params: dict[str, Any]

    @property
    def epochs(self) -> int:
        return max((len(v) for v in self.metrics.values()), default=0)


class ArtifactBundle:
    """The exported names of one submission, loaded on demand and cached."""

    def __init__(self, folder: Path | None, *, unavailable: str = "") -> None:
        self.folder = folder
        self.unavailable = unavailable
        self._cache: dict[str, Any] = {}

    @cached_property
    def manifest(self) -> dict[str, ManifestEntry]:
        if self.folder is None or not (self.folder / "manifest.json").is_file():
            return {}
        try:
            raw = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
            return {str(k): ManifestEntry.model_validate(v) for k, v in raw.items()}
        except (ValueError, ValidationError, AttributeError):
            return {}

    def entry(self, name: str) -> ManifestEntry:
        """The manifest entry of ``name``, or an ArtifactError a student can act on."""
        if not _SAFE_NAME.match(name):
            raise ArtifactError(f"{name!r} is not a valid Python name")
        if self.unavailable:
            raise ArtifactError(f"`{name}` could not be read: {self.unavailable}")
        entry = self.manifest.get(name)
        if entry is None:
            raise ArtifactError(f"`{name}` could not be exported from your notebook")
        if entry.status == "missing":
            hint = "did you rename it, or did the cell that defines it fail?"
            candidates = _likely_renames(name, entry)
            if candidates:
                hint += " Your notebook defines " + ", ".join(f"`{c}`" for c in candidates) + "."
            raise ArtifactError(f"`{name}` is not defined: {hint}")
        if entry.status == "wrong-type":
            raise ArtifactError(f"`{name}` has the wrong type ({entry.type}): {entry.message}")
        if entry.status == "error":
            hint = ""
            if entry.kind.startswith("torch"):
                # The grader runs PyTorch models only as torch.export graphs, never the student's Python.
                hint = (". The grader runs your model as a torch.export graph: forward() must work for any batch "
                        "size and must not branch in Python on tensor values or call NumPy/.item() on them.")
            raise ArtifactError(f"`{name}` could not be exported: {entry.message}{hint}")
        return entry

    def _path(self, name: str, suffix: str) -> Path:
        self.entry(name)
        assert self.folder is not None
        path = self.folder / f"{name}{suffix}"
        if not path.is_file() or path.is_symlink():
            raise ArtifactError(f"`{name}` was exported, but its file is missing")
        return path

    def array(self, name: str) -> np.ndarray[Any, Any]:
        if name not in self._cache:
            path = self._path(name, ".npy")
            try:
                # read_array, not np.load: np.load would also open a zip archive posing as .npy.
                with path.open("rb") as handle:
                    self._cache[name] = np.lib.format.read_array(handle, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise ArtifactError(f"`{name}` is not a numeric array: {exc}") from exc
        value: np.ndarray[Any, Any] = self._cache[name]
        return value

    def object_state(self, name: str) -> dict[str, np.ndarray[Any, Any]]:
        """The NumPy array attributes of an exported object (e.g. a from-scratch model)."""
        try:
            with np.load(self._path(name, ".npz"), allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (ValueError, OSError, EOFError) as exc:
            raise ArtifactError(f"the attributes of `{name}` cannot be read as numeric arrays: {exc}") from exc

    def history(self, name: str) -> HistoryData:
        if name not in self._cache:
            try:
                raw = json.loads(self._path(name, ".json").read_text(encoding="utf-8"))
                metrics = {
                    str(k): [float(x) if isinstance(x, (int, float)) else math.nan for x in v]
                    for k, v in raw.get("history", {}).items()
                    if isinstance(v, list)
                }
                params = raw.get("params", {})
            except (ValueError, AttributeError) as exc:
                raise ArtifactError(f"`{name}` is not a readable training history: {exc}") from exc
            self._cache[name] = HistoryData(metrics, params if isinstance(params, dict) else {})
        history: HistoryData = self._cache[name]
        return history

    def keras_model(self, name: str) -> Any:
        if name not in self._cache:
            path = self._path(name, ".keras")
            keras = import_keras()

            try:
                # safe_mode refuses Lambda layers' bytecode; unknown custom classes fail to resolve.
                self._cache[name] = keras.saving.load_model(path, safe_mode=True, compile=False)
            except Exception as exc:  # keras raises many types; all mean "cannot load safely"
                raise ArtifactError(
                    f"`{name}` cannot be loaded by the grader: {_first_line(exc)}. Build the model from Keras's "
                    "own layers (no Lambda layers or custom classes) so it can be checked without running your code."
                ) from exc
        return self._cache[name]

    def keras_config(self, name: str) -> dict[str, Any]:
        """The JSON configuration stored in a ``.keras`` file (read as data, nothing built)."""
        path = self._path(name, ".keras")
        try:
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("config.json")
                if info.file_size > 20 * 1024**2:
                    raise ArtifactError(f"`{name}`'s configuration is implausibly large")
                config = json.loads(archive.read(info))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ArtifactError(f"`{name}` is not a readable .keras file: {exc}") from exc
        if not isinstance(config, dict):
            raise ArtifactError(f"`{name}` has a malformed configuration")
        return config

    def torch_program(self, name: str, variant: str | None = None) -> Path:
        """The exported program file of a PyTorch model (loaded only in a probe process:
        torch's loader unpickles)."""
        entry = self.entry(name)
        if entry.kind == "torch-model":
            return self._path(name, ".pt2")
        if variant is None:
            raise ArtifactError(f"`{name}` has several exported models; the rubric must name a variant")
        if not _SAFE_NAME.match(variant.replace("-", "_")):
            raise ArtifactError(f"{variant!r} is not a valid variant name")
        assert self.folder is not None
        path = self.folder / f"{name}.{variant.lower()}.pt2"
        if not path.is_file() or path.is_symlink():
            found = sorted(p.name.split(".")[1] for p in self.folder.glob(f"{name}.*.pt2"))
            raise ArtifactError(
                f"`{name}` has no model {variant!r}" + (f"; it has {', '.join(found)}" if found else "")
            )
        return path

    def type_name(self, name: str) -> str:
        return self.entry(name).type


def _likely_renames(name: str, entry: ManifestEntry) -> list[str]:
    """Names of the same kind that may be ``name`` renamed. Arrays are everywhere in a
    notebook, so only similar names are suggested for them; models and classes are few."""
    found = [c for c in entry.candidates.split(",") if _SAFE_NAME.match(c)]
    if entry.kind == "array":
        return difflib.get_close_matches(name, found, n=3, cutoff=0.75)
    return found[:3]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
