"""Lab metadata (``assignments/<lab>/lab.yaml``): the contract of one lab.

It lists the names a student defines and of what kind they are (which decides how
they are exported from the kernel), the discussion cells by tag with the heading of
their question (used when a student's notebook lost the tag), the frameworks the
kernel seeds, and the packages the lab's notebooks import (checked against the grading
environment by :mod:`autograder.execution.packages`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from autograder.course.folder import Course
from autograder.course.reference import ReferenceMetrics, data_digest, reference_metrics
from autograder.course.rubric import Rubric, load_rubric
from autograder.errors import ConfigError, RubricError, UnknownLabError

NameKind = Literal[
    "array", "keras-model", "history", "class", "object", "torch-model", "torch-class", "torch-model-dict"
]


class VariantSpec(BaseModel):
    """One way to construct a class for export: ``cls(*args, **kwargs)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = Field(default_factory=dict)


class NameSpec(BaseModel):
    """A contract name with what its export needs: the example input of a PyTorch model
    (without the batch dimension, which is exported as dynamic) and, for a class, the
    constructions to export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NameKind
    input: tuple[int, ...] | None = None
    dtype: Literal["float32", "int64"] = "float32"
    variants: dict[str, VariantSpec] = Field(default_factory=dict)


class DiscussionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str = Field(description="the question's heading, to find an answer whose tag was lost")
    placeholder: str = "YOUR ANSWER HERE"


class LabResources(BaseModel):
    """What one kernel of this lab needs; sets how many submissions grade at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_gib: float = Field(default=3.0, gt=0, description="resident memory of a kernel running the lab")
    gpu_memory_gib: float = Field(default=2.0, gt=0, description="GPU memory of a kernel (memory growth on)")


_IMPORT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class LabSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    seed_notebook: str = ""
    frameworks: tuple[str, ...] = ()
    packages: tuple[Annotated[str, StringConstraints(pattern=_IMPORT_NAME)], ...] = Field(
        default=(), description="top-level import names (`sklearn`, `PIL`) the lab's notebooks may import besides "
        "the standard library; empty: not declared, and only checked against the environment")
    reference: str | None = Field(default=None, description="module in the course's reference/ folder; "
                                  "none: the lab's solution notebook is its reference")
    seeds: tuple[int, ...] = Field(default=(1, 2, 3), min_length=1, description="the seeds a solution "
                                   "notebook reference runs under; its bars use the spread over them")
    profiles: tuple[str, ...] = ("full",)
    datasets: tuple[Literal["mnist", "fashion-mnist"], ...] = ()
    names: dict[str, NameKind | NameSpec]
    discussions: dict[str, DiscussionSpec] = Field(default_factory=dict)
    resources: LabResources = LabResources()


@dataclass(frozen=True)
class Lab:
    """A lab ready to grade: its contract, its rubric, and its folder."""

    spec: LabSpec
    rubric: Rubric
    folder: Path
    course: Course

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def solution(self) -> Path:
        return self.folder / "solution.ipynb"

    @property
    def template(self) -> Path:
        return self.folder / "template.ipynb"

    @property
    def examples(self) -> Path:
        return self.folder / "examples"

    def name_spec(self, name: str) -> NameSpec:
        value = self.spec.names[name]
        return value if isinstance(value, NameSpec) else NameSpec(kind=value)

    def kind(self, name: str) -> NameKind | None:
        return self.name_spec(name).kind if name in self.spec.names else None

    @property
    def reference_path(self) -> Path:
        """The course's reference implementation of this lab: a module, or its solution notebook."""
        if self.spec.reference is None:
            return self.solution
        return self.course.reference / f"{self.spec.reference}.py"

    def reference_metrics(self, profile: str, cache_dir: Path | None = None,
                          data: Mapping[str, np.ndarray[Any, Any]] | None = None) -> ReferenceMetrics:
        """The reference's metrics on this lab's data for ``profile``: cached, calibrated or
        trained now (``data``: the reference's ``data(profile)`` when already loaded)."""
        digest = data_digest(self.reference_path, profile, self.spec.datasets, data)
        return reference_metrics(self.reference_path, self.id, profile, digest, cache_dir)

    @property
    def bars_from_reference(self) -> bool:
        """Whether a rubric check's bar derives from a reference metric (an accuracy, an RMSE)."""
        return any("metric" in check.spec.args for check in self.rubric.checks)

    @property
    def statements_folder(self) -> Path:
        """The example statements of the lab's discussion questions, next to its rubric."""
        return self.rubric.path.parent / "statements" / self.id

    def statements(self, tag: str) -> Path | None:
        """The example statements of the question ``tag`` (None where it has none)."""
        path = self.statements_folder / f"{tag}.yaml"
        return path if path.is_file() else None

    def fingerprint(self) -> str:
        """A hash of the lab's contract, rubric, example statements and reference: a result
        graded under another fingerprint may differ, so a batch rerun regrades it."""
        digest = hashlib.sha256()
        statements = sorted(self.statements_folder.glob("*.yaml"))
        for path in (self.folder / "lab.yaml", self.rubric.path, *statements, self.reference_path):
            digest.update(path.name.encode())
            digest.update(path.read_bytes() if path.is_file() else b"-")
        return digest.hexdigest()

    def export_spec(self) -> dict[str, dict[str, Any]]:
        """What the kernel exports, as plain JSON data."""
        return {name: self.name_spec(name).model_dump(mode="json") for name in self.spec.names}


def load_lab(lab_id: str, course: Course, *, rubric_path: Path | None = None) -> Lab:
    """Load and cross-check a lab's metadata and rubric (the course's, or ``rubric_path``)."""
    folder = course.assignments / lab_id
    meta = folder / "lab.yaml"
    if not meta.is_file():
        known = ", ".join(course.lab_ids()) or "none"
        raise UnknownLabError(f"unknown lab {lab_id!r}; the labs of this course are: {known}")
    try:
        spec = LabSpec.model_validate(yaml.safe_load(meta.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{meta}: {exc}") from exc
    rubric = load_rubric(rubric_path or course.rubrics / f"{lab_id}.yaml")
    if rubric.lab != lab_id:
        raise RubricError(f"{rubric.path}: the rubric is for lab {rubric.lab!r}, not {lab_id!r}")
    unknown = sorted(rubric.names() - set(spec.names) - set(spec.discussions))
    if unknown:
        raise RubricError(f"{rubric.path}: checks read names the lab does not define: {', '.join(unknown)}")
    tags = {str(c.spec.args["tag"]) for c in rubric.checks if "tag" in c.spec.args}
    unknown_tags = sorted(tags - set(spec.discussions))
    if unknown_tags:
        raise RubricError(f"{rubric.path}: discussion checks name tags the lab does not define: "
                          f"{', '.join(unknown_tags)} (add them under `discussions:` in {meta})")
    if spec.profiles and "full" not in spec.profiles:
        raise ConfigError(f"{meta}: every lab needs the 'full' profile")
    return Lab(spec=spec, rubric=rubric, folder=folder, course=course)
