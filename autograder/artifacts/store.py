"""What each execution produced, kept so that checks and scoring can run again without it.

Files are stored once by content (``DIR/.store/objects/ab/cdef...``, sha256): twenty
students who submitted the same notebook cost one copy. Each graded submission gets
``DIR/<submission>/execution.json`` (:class:`StoredExecution`): its notebook, its
exported files, the names the lab exported then, and the options it ran with.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError

from autograder.config import ExecutionLimits, GradeOptions
from autograder.errors import ConfigError
from autograder.files import write_atomic
from autograder.intake.submissions import Submission

STORE_FORMAT = 1
"""Bumped when what is exported, or how, changes: stored executions of another format are not reused."""


class StoredExecution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = STORE_FORMAT
    grader_version: str
    notebook: str
    """sha256 of the submitted notebook."""
    filename: str
    student: str = ""
    lms_id: str = ""
    origin: str = "file"
    exported_names: tuple[str, ...]
    """The names the lab exported at the time (a rubric reading another needs a new execution)."""
    files: dict[str, str]
    """Exported file (relative path) -> sha256; empty when nothing could be exported."""
    profile: str
    seed: int
    public_only: bool
    device: str
    limits: dict[str, int | float]

    def options(self, cache_dir: Path | None = None) -> GradeOptions:
        return GradeOptions(
            limits=ExecutionLimits(**self.limits),  # type: ignore[arg-type]
            profile=self.profile, seed=self.seed, public_only=self.public_only,
            device=self.device,  # type: ignore[arg-type]
            cache_dir=cache_dir,
        )


class StaleExecutionError(ConfigError):
    """The stored execution cannot be reused (missing, damaged or from another format)."""


class ArtifactStore:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.objects = out_dir / ".store" / "objects"

    def _path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return digest

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StaleExecutionError(f"the stored file {digest[:12]} is missing from {self.objects}") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise StaleExecutionError(f"the stored file {digest[:12]} in {self.objects} is damaged")
        return data

    def record(self, sub: Submission, notebook: bytes, files: Mapping[str, bytes],
               exported_names: tuple[str, ...], options: GradeOptions, grader_version: str) -> StoredExecution:
        stored = StoredExecution(
            grader_version=grader_version, notebook=self.put(notebook), filename=sub.path.name,
            student=sub.student, lms_id=sub.lms_id, origin=sub.origin,
            exported_names=exported_names, files={name: self.put(data) for name, data in files.items()},
            profile=options.profile, seed=options.seed, public_only=options.public_only, device=options.device,
            limits=asdict(options.limits),
        )
        write_atomic(self.out_dir / sub.id / "execution.json", stored.model_dump_json(indent=2))
        return stored

    def load(self, submission: str) -> StoredExecution:
        path = self.out_dir / submission / "execution.json"
        if not path.is_file():
            raise StaleExecutionError(f"{submission}: no stored execution ({path} is missing)")
        try:
            stored = StoredExecution.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, ValidationError) as exc:
            raise StaleExecutionError(f"{submission}: the stored execution {path} is unreadable: {exc}") from exc
        if stored.format != STORE_FORMAT:
            raise StaleExecutionError(f"{submission}: the stored execution has format {stored.format}, "
                                      f"this grader reads {STORE_FORMAT}")
        return stored

    def submission(self, submission: str, stored: StoredExecution) -> Submission:
        """The submission as the batch took it in (for the LMS exports)."""
        return Submission(id=submission, path=Path(stored.filename), student=stored.student, lms_id=stored.lms_id,
                          origin=stored.origin)  # type: ignore[arg-type]

    def materialise(self, stored: StoredExecution, folder: Path) -> Path:
        """Write the stored exported files into ``folder`` (a fresh one) and return it."""
        for name, digest in stored.files.items():
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise StaleExecutionError(f"the stored execution names a file outside its folder: {name!r}")
            target = folder.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.get(digest))
        return folder


def read_tree(folder: Path) -> dict[str, bytes]:
    """The regular files under ``folder`` by relative path (links are not followed)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files
