"""Where a course's files live: assignments, rubrics, references and report templates.

A course is a folder with ``assignments/``, ``rubrics/`` and ``reference/``. By default
it is the repository this package was installed from; ``$AUTOGRADER_COURSE`` or an
explicit path names another (an instructor's private course with hidden rubrics).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ConfigError


@dataclass(frozen=True)
class Course:
    root: Path

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


def find_course(root: Path | None = None) -> Course:
    """The course at ``root``, ``$AUTOGRADER_COURSE``, beside the package, or around the
    working directory (an assignment repository with a student bundle)."""
    candidates = [root] if root else []
    if os.environ.get("AUTOGRADER_COURSE"):
        candidates.append(Path(os.environ["AUTOGRADER_COURSE"]))
    candidates.append(Path(__file__).resolve().parent.parent)
    # A student's assignment repository: the notebook's folder or one above it.
    candidates.extend([Path.cwd(), *Path.cwd().parents])
    for candidate in candidates:
        if candidate is not None and (candidate / "assignments").is_dir():
            return Course(candidate.resolve())
    raise ConfigError(
        "no course found: pass --course DIR or set AUTOGRADER_COURSE to a folder with assignments/ and rubrics/"
    )
