"""The registry of check types (the core of the rubric's vocabulary: course files are
validated against it, the ``checks`` and ``discussion`` packages register into it).

A check is a small function ``fn(ctx, *, arg=..., ...) -> Outcome`` registered under a
name. Its keyword arguments, with their type hints, are the arguments a rubric may
give it: they are turned into a pydantic model when the check registers, and every
rubric is validated against those models when it is loaded, so a typo fails at load
time with the rubric's line instead of in the middle of grading a class.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from autograder.errors import RubricError

if TYPE_CHECKING:
    from autograder.checks.context import CheckContext


@dataclass(frozen=True)
class Outcome:
    """What a check found. ``fraction`` of the check's points is awarded."""

    status: Literal["passed", "failed", "error"]
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fraction: float = 0.0
    needs_review: bool = False

    @classmethod
    def passed(cls, message: str, **evidence: Any) -> Outcome:
        return cls("passed", message, evidence, 1.0)

    @classmethod
    def failed(cls, message: str, **evidence: Any) -> Outcome:
        return cls("failed", message, evidence, 0.0)

    @classmethod
    def error(cls, message: str, **evidence: Any) -> Outcome:
        """The check could not run: it scores zero (fail closed) with a reason."""
        return cls("error", message, evidence, 0.0)


CheckFn = Callable[..., Outcome]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    fn: CheckFn
    args: type[BaseModel]
    doc: str

    def validate_args(self, args: dict[str, Any]) -> BaseModel:
        return self.args.model_validate(args)

    def run(self, ctx: CheckContext, args: BaseModel) -> Outcome:
        return self.fn(ctx, **dict(args))


_REGISTRY: dict[str, RegisteredCheck] = {}


def register(name: str, args: type[BaseModel] | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check type ``name``. Its arguments are its keyword-only
    parameters, or the fields of ``args``, a model for a check whose settings are a
    model of their own (with its own cross-field validation)."""

    def decorator(fn: CheckFn) -> CheckFn:
        if name in _REGISTRY:
            raise ValueError(f"check {name!r} is registered twice")
        _REGISTRY[name] = RegisteredCheck(name, fn, args or _args_model(name, fn), inspect.getdoc(fn) or "")
        return fn

    return decorator


def _args_model(name: str, fn: CheckFn) -> type[BaseModel]:
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints[param.name], default)
    return create_model(f"{name}_args", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


def get_check(name: str) -> RegisteredCheck:
    _load_builtin_checks()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise RubricError(f"unknown check {name!r}; the known checks are: {known}") from None


def registered_checks() -> dict[str, RegisteredCheck]:
    _load_builtin_checks()
    return dict(_REGISTRY)


ENTRY_POINT_GROUP = "autograder.checks"
"""The entry-point group check types are registered through: the built-in ones (this
package's ``pyproject.toml``), and any a course's own package ships the same way."""


@cache
def _load_builtin_checks() -> None:
    # Importing a check's module registers it. Through entry points, so that this module
    # imports none of them (they import it) and a course's package can add its own. Once per
    # process: reading the installed packages' entry points costs ~10 ms, and every check of
    # every rubric loaded asked again (0.8 s of a PyTorch lab's 1.7 s of checks).
    found = entry_points(group=ENTRY_POINT_GROUP)
    if not found:
        raise RubricError("no check types are registered: the autograder package is not installed "
                          "(`pip install -e .` in a checkout), so its entry points are missing")
    for entry in found:
        if entry.module in sys.modules:
            continue
        try:
            entry.load()
        except Exception as exc:
            raise RubricError(f"the check types {entry.name!r} ({entry.value}, entry point group "
                              f"{ENTRY_POINT_GROUP}) failed to load: {exc}") from exc
