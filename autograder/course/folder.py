"""Where a course's files live: assignments, rubrics and references.

A course is a folder with ``assignments/``, ``rubrics/`` and ``reference/``. Which one
grades, first match wins: the folder passed (``--course``), ``$AUTOGRADER_COURSE``, a
course in the notebook's folder (or the working folder) or one above it (an instructor's
course repository, a student's assignment repository with its bundle), and last the
course shipped with this package (:mod:`autograder.bundled`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder import bundled
from autograder.course.memo import CourseMemo
from autograder.errors import ConfigError


@dataclass(frozen=True)
class Course:
    root: Path
    memo: CourseMemo = field(default_factory=CourseMemo, compare=False, repr=False)
    """What is derived from the course's files, kept while they are unchanged."""

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    @property
    def rubrics(self) -> Path:
        return self.root / "rubrics"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    def lab_ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.assignments.glob("*/lab.yaml"))


def _is_course(folder: Path) -> bool:
    return (folder / "assignments").is_dir() and (folder / "rubrics").is_dir()


def _named(folder: Path, where: str) -> Course:
    if not folder.is_dir():
        raise ConfigError(f"{where} names {folder}, which does not exist: give the folder of a course "
                          "(with assignments/ and rubrics/), or leave it out for the course found from here")
    if not _is_course(folder):
        raise ConfigError(f"{where} names {folder}, which is not a course: it needs assignments/ and rubrics/ "
                          "(`autograder course init DIR` writes one to start from)")
    return Course(folder.resolve())


def find_course(root: Path | None = None, *, near: Path | None = None) -> Course:
    """The course that grades: ``root``, ``$AUTOGRADER_COURSE``, one found from ``near`` (a
    notebook's folder; default the working folder) upward, else the bundled one. A course
    named explicitly that is not there is an error, never a silent fall-back."""
    if root is not None:
        return _named(Path(root), "--course")
    if os.environ.get("AUTOGRADER_COURSE"):
        return _named(Path(os.environ["AUTOGRADER_COURSE"]), "$AUTOGRADER_COURSE")
    start = (near or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_course(folder):
            return Course(folder)
    shipped = bundled.course_root()
    if shipped is None:
        raise ConfigError("no course found: pass --course DIR or set AUTOGRADER_COURSE to a folder with "
                          "assignments/ and rubrics/")
    return Course(shipped)


COURSE_FOLDERS = ("assignments", "rubrics", "reference")


def init_course(dest: Path) -> Course:
    """Copy the shipped course to ``dest`` (new or empty) for an instructor to edit; its labs
    grade from there with ``--course DEST`` or from inside it."""
    shipped = bundled.course_root()
    if shipped is None:
        raise ConfigError("this copy of autograder ships no course to copy; reinstall it from its wheel or sdist")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"{dest} already exists and is not empty: choose a new folder, nothing was written")
    dest.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FOLDERS:
        shutil.copytree(shipped / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return Course(dest.resolve())
