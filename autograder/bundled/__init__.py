"""The course and report templates this package ships with.

In a source checkout they are the repository's top-level folders (``assignments/``,
``rubrics/``, ``reference/``, ``reports/``), edited there. A wheel or sdist carries copies
of them inside this package (``pyproject.toml`` maps each folder to a subpackage of this
one), so an installed grader grades, reports and runs its demo without a checkout.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent.parent

FOLDERS = ("assignments", "rubrics", "reference", "reports")
"""What is shipped: the course (its labs, rubrics and reference implementations) and the report templates."""


def shipped(name: str) -> Path:
    """The shipped folder ``name`` (one of :data:`FOLDERS`): the installed copy, else the checkout's."""
    if name not in FOLDERS:
        raise ValueError(f"nothing named {name!r} is shipped; one of {', '.join(FOLDERS)}")
    packaged = _HERE / name
    return packaged if packaged.is_dir() else _CHECKOUT / name


def course_root() -> Path | None:
    """The root of the shipped course, or None when this copy of the package has none."""
    root = shipped("assignments").parent
    return root if (root / "assignments").is_dir() and (root / "rubrics").is_dir() else None


def packaged_copies() -> tuple[Path, ...]:
    """The shipped folders that lie inside the installed package (none in a checkout):
    a sandbox binds the package, so it must blank these out (see ``Jail.hidden``)."""
    return tuple(_HERE / name for name in FOLDERS if (_HERE / name).is_dir())
