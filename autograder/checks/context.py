"""What a check can read: the exported artifacts, the grader's own data, the reference.

Everything is loaded lazily and cached, so a rubric pays only for what it uses.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from autograder.artifacts.reader import ArtifactBundle
from autograder.config import ExecutionLimits
from autograder.course.labs import Lab
from autograder.course.reference import ReferenceMetrics, load_reference_module
from autograder.errors import ArtifactError, ConfigError
from autograder.execution.probe import ProbeResult, ProbeSession
from autograder.notebook.answers import DiscussionAnswer, find_answer
from autograder.notebook.definitions import extract_definitions
from autograder.notebook.load import LoadedNotebook
from autograder.notebook.sanitize import SanitizedCell
from autograder.quiet import import_keras


@dataclass(frozen=True)
class Prediction:
    """A model's outputs on data the grader gave it, and how the data were fed."""

    outputs: np.ndarray[Any, Any]
    note: str = ""
    """Set when the data were reshaped to the input the model declares (say so to the student)."""


def _shape(dims: Sequence[int | None]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def fit_input(x: np.ndarray[Any, Any], declared: Sequence[int | None] | None) -> tuple[np.ndarray[Any, Any], str]:
    """``x`` (batch first) in the per-example shape a model declares, with a note for the student.

    A model that flattens its images itself takes (28, 28, 1) where the grader's copy of
    the data is flat (784,), or the other way round: the same values in another layout, so
    the model is judged by what it computes, not by how the course happened to store the
    data. Where the number of values per example differs, or the model leaves a dimension
    open, ``x`` is returned as it is (and running the model reports the mismatch).
    """
    if declared is None or x.ndim < 1:
        return x, ""
    if any(d is None for d in declared):
        return x, ""
    wanted = tuple(int(d) for d in declared if d is not None)
    given = tuple(int(d) for d in x.shape[1:])
    if given == wanted or math.prod(wanted) != math.prod(given):
        return x, ""
    return x.reshape(len(x), *wanted), (
        f"Your model takes {_shape(wanted)} inputs; the test data, {_shape(given)} per example, were reshaped to it."
    )


def _keras_input(model: Any) -> tuple[int | None, ...] | None:
    """The per-example input shape a Keras model declares (None: several inputs, or not known)."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model that was never built on an Input
        return None
    if not inputs or len(inputs) != 1:
        return None
    return tuple(None if d is None else int(d) for d in inputs[0].shape[1:])


TORCH_KINDS = ("torch-model", "torch-class", "torch-model-dict")


def probe_preload(lab: Lab) -> tuple[str, ...]:
    """What a probe process of ``lab`` imports before its first query: PyTorch and what loading an
    exported program imports on first use (~1,600 modules, 1.1 s; 0.04 s left after these) when
    the lab exports PyTorch programs, which its queries load. A module another PyTorch version
    lacks costs only the time it would have saved."""
    if not any(lab.kind(name) in TORCH_KINDS for name in lab.spec.names):
        return ()
    return ("torch", "torch._export.serde.serialize", "torch._functorch.aot_autograd")


class CheckContext:
    """One submission's view for the checks. Never holds or calls student code."""

    def __init__(
        self,
        *,
        lab: Lab,
        profile: str,
        artifacts: ArtifactBundle,
        notebook: LoadedNotebook,
        cells: list[SanitizedCell],
        limits: ExecutionLimits,
        cache_dir: Path | None,
        probes: ProbeSession | None = None,
    ) -> None:
        self.lab = lab
        self.profile = profile
        self.artifacts = artifacts
        self.notebook = notebook
        self.cells = cells
        self.limits = limits
        self.cache_dir = cache_dir
        self._probes: dict[str, ProbeResult] = {}
        self._session = probes  # started by the pipeline while the kernel ran, or None
        self._answers: dict[str, DiscussionAnswer] = {}
        self._outputs: dict[tuple[str, str, str | None], Prediction] = {}

    @property
    def probes(self) -> ProbeSession:
        """The submission's probe process (started by the first query that needs it, unless the
        pipeline started it early); exported programs are copied in for it (links refused)."""
        if self._session is None:
            self._session = ProbeSession(self.limits, preload=probe_preload(self.lab))
        return self._session

    def close(self) -> None:
        """Stop what the checks started (the probe process); the context is done."""
        if self._session is not None:
            self._session.close()

    @cached_property
    def reference_path(self) -> Path:
        return self.lab.reference_path

    @cached_property
    def reference_module(self) -> Any:
        return load_reference_module(self.reference_path)

    @cached_property
    def data(self) -> dict[str, np.ndarray[Any, Any]]:
        data: dict[str, np.ndarray[Any, Any]] = self.reference_module.data(self.profile)
        return data

    def data_array(self, key: str) -> np.ndarray[Any, Any]:
        if key not in self.data:
            raise ConfigError(f"the lab's data has no array {key!r}; it has: {', '.join(sorted(self.data))}")
        return self.data[key]

    @cached_property
    def metrics(self) -> ReferenceMetrics:
        return self.lab.reference_metrics(self.profile, self.cache_dir, self.data)

    def reference_model(self, name: str) -> Any:
        builders = self.reference_module.models()
        if name not in builders:
            raise ConfigError(f"the reference has no model {name!r}; it has: {', '.join(sorted(builders))}")
        if "tensorflow" in self.lab.spec.frameworks:
            import_keras()  # before the course's builder imports it, so its start-up stays quiet
        return builders[name]()

    def reference_param_count(self, name: str, *, trainable: bool = False) -> int:
        """Parameters of the reference model ``name``: counted by the reference where it can
        (a solution notebook's PyTorch models), else from its Keras builder."""
        counted = getattr(self.reference_module, "param_count", None)
        if counted is not None:
            return int(counted(name, trainable=trainable))
        model = self.reference_model(name)
        weights = model.trainable_weights if trainable else model.weights
        return int(sum(int(np.prod(w.shape)) for w in weights))

    def reference_class(self, name: str) -> Any:
        classes = self.reference_module.classes()
        if name not in classes:
            raise ConfigError(f"the reference has no class {name!r}")
        return classes[name]

    def answer(self, tag: str) -> DiscussionAnswer:
        if tag not in self._answers:
            spec = self.lab.spec.discussions.get(tag)
            if spec is None:
                raise ConfigError(f"lab {self.lab.id} has no discussion {tag!r}")
            self._answers[tag] = find_answer(self.notebook.node, tag, spec)
        return self._answers[tag]

    def probe(
        self, task: dict[str, Any], inputs: dict[str, np.ndarray[Any, Any]], definitions: str | None = None
    ) -> ProbeResult:
        """Run a probe once per distinct task (checks sharing one reuse it)."""
        # Same task on other data is another probe: the key covers the inputs' bytes too.
        digest = hashlib.sha256()
        for name in sorted(inputs):
            digest.update(name.encode() + inputs[name].tobytes() + str(inputs[name].shape).encode())
        key = json.dumps(task, sort_keys=True) + digest.hexdigest()
        if key not in self._probes:
            if definitions is None:
                definitions = extract_definitions(self.cells, wanted=[task["class"]])
            self._probes[key] = self.probes.run(definitions, task, inputs)
        return self._probes[key]

    def torch_run(
        self, name: str, variant: str | None = None, x: np.ndarray[Any, Any] | None = None
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Parameter counts (and outputs on ``x``) of an exported PyTorch model, from a probe."""
        program = self.artifacts.torch_program(name, variant)
        task = {"scenario": "torch-run", "program": str(program), "dtype": self.lab.name_spec(name).dtype}
        if x is None:
            # Parameter counts come with every run of this model: reuse one if there is one.
            for key, done in self._probes.items():
                if done.ok and key.startswith(json.dumps(task, sort_keys=True)[:-1]) and "params" in done.outputs:
                    return done.outputs
        result = self.probe(task, {} if x is None else {"X": x}, definitions="")
        if not result.ok:
            what = f"`{name}`" + (f" ({variant})" if variant else "")
            raise ArtifactError(f"{what} could not be run by the grader: {result.error}")
        return result.outputs

    def param_count(self, name: str, variant: str | None = None, *, trainable: bool = False) -> int:
        if self.lab.kind(name) == "keras-model":
            model = self.artifacts.keras_model(name)
            weights = model.trainable_weights if trainable else model.weights
            return int(sum(int(np.prod(w.shape)) for w in weights))
        counts = self.torch_run(name, variant)
        return int(counts["trainable" if trainable else "params"])

    def predict(self, name: str, x: np.ndarray[Any, Any], variant: str | None = None) -> np.ndarray[Any, Any]:
        """The outputs of the student's model ``name`` on ``x``, computed outside the kernel."""
        return self.run_model(name, x, variant).outputs

    def outputs_on(self, name: str, x: str, variant: str | None = None) -> Prediction:
        """:meth:`run_model` on the grader's array ``x`` (a key of the lab's data), once per
        submission: a check and a discussion claim about the same model read the same outputs."""
        key = (name, x, variant)
        if key not in self._outputs:
            self._outputs[key] = self.run_model(name, self.data_array(x), variant)
        return self._outputs[key]

    def run_model(self, name: str, x: np.ndarray[Any, Any], variant: str | None = None) -> Prediction:
        """The outputs of ``name`` on ``x``, with ``x`` fed in the input shape the model declares
        where only its layout differs (:func:`fit_input`): the note says so."""
        kind = self.lab.kind(name)
        if kind in TORCH_KINDS:
            # The program was exported for the contract's input shape (batch dynamic): that is
            # the shape it declares, and the only one it accepts.
            fitted, note = fit_input(x, self.lab.name_spec(name).input)
            return Prediction(self.torch_run(name, variant, fitted)["outputs"], note)
        if kind == "keras-model":
            model = self.artifacts.keras_model(name)
            declared = _keras_input(model)
            fitted, note = fit_input(x, declared)
            try:
                # Calling the model directly: predict() builds a new tf.function per model.
                batches = [np.asarray(model(fitted[i : i + 1024], training=False))
                           for i in range(0, len(fitted), 1024)]
                out = np.concatenate(batches) if batches else np.empty((0,))
            except Exception as exc:  # a wrong input shape is the usual cause
                takes = f" (your model takes {_shape(declared)} inputs)" if declared is not None else ""
                raise ArtifactError(
                    f"`{name}` cannot be run on the test data of shape {x.shape}{takes}: "
                    f"{str(exc).splitlines()[0][:200]}"
                ) from exc
            return Prediction(out, note)
        if kind == "object":
            state = self.artifacts.object_state(name)
            inputs = {f"state__{k}": v for k, v in state.items()}
            inputs["X"] = x
            result = self.probe({"scenario": "predict", "class": self.artifacts.type_name(name)}, inputs)
            if not result.ok:
                raise ArtifactError(f"`{name}.predict` failed when the grader called it: {result.error}")
            return Prediction(result.outputs["predictions"])
        raise ConfigError(f"`{name}` is a {kind}; only models and objects can predict")
