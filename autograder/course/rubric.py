"""Rubrics: YAML files naming the parts, points and checks of a lab.

Loading validates everything against the check registry and the lab's contract,
and errors name the file and line, so a broken rubric never reaches grading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autograder.check_registry import RegisteredCheck, get_check
from autograder.errors import RubricError


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    check: str
    points: float = Field(ge=0)
    hidden: bool = False
    description: str = ""
    args: dict[str, Any] = Field(default_factory=dict)


class PartSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    extra_credit: bool = False
    checks: list[CheckSpec]


class RubricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lab: str
    total: float = 100
    parts: list[PartSpec]


@dataclass(frozen=True)
class BoundCheck:
    """A rubric check with its registered function and validated arguments."""

    spec: CheckSpec
    part: str
    registered: RegisteredCheck
    args: BaseModel


@dataclass(frozen=True)
class Rubric:
    spec: RubricSpec
    path: Path
    checks: tuple[BoundCheck, ...]

    @property
    def lab(self) -> str:
        return self.spec.lab

    def names(self) -> set[str]:
        """Every contract name some check reads (its ``name`` argument)."""
        return {str(c.spec.args["name"]) for c in self.checks if "name" in c.spec.args}


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping, so errors can point into the file."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def load_rubric(path: Path) -> Rubric:
    """Parse and validate ``path``; raise RubricError naming the file and line."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise RubricError(f"{path}: cannot read the rubric: {exc}") from exc
    try:
        spec = RubricSpec.model_validate(_strip_lines(raw))
    except ValidationError as exc:
        raise RubricError(f"{path}: {exc}") from exc

    bound: list[BoundCheck] = []
    seen: set[str] = set()
    raw_parts = raw.get("parts", []) if isinstance(raw, dict) else []
    for part, raw_part in zip(spec.parts, raw_parts, strict=True):
        for check, raw_check in zip(part.checks, raw_part.get("checks", []), strict=True):
            where = f"{path}:{raw_check.get('__line__', '?')}"
            if check.id in seen:
                raise RubricError(f"{where}: check id {check.id!r} is used twice; ids must be unique")
            seen.add(check.id)
            try:
                registered = get_check(check.check)
                args = registered.validate_args(check.args)
            except RubricError as exc:
                raise RubricError(f"{where}: {exc}") from exc
            except ValidationError as exc:
                raise RubricError(f"{where}: check {check.id!r} ({check.check}) has bad arguments: {exc}") from exc
            bound.append(BoundCheck(spec=check, part=part.id, registered=registered, args=args))
    total = sum(c.spec.points for c in bound if not _part(spec, c.part).extra_credit)
    if abs(total - spec.total) > 1e-9:
        raise RubricError(f"{path}: the checks' points add up to {total:g}, but the rubric's total is {spec.total:g}")
    return Rubric(spec=spec, path=path, checks=tuple(bound))


def _part(spec: RubricSpec, part_id: str) -> PartSpec:
    return next(p for p in spec.parts if p.id == part_id)
