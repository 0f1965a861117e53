"""Turn what an instructor points the grader at into one notebook per student.

Accepted, in any mix: notebooks; a folder of notebooks; a folder of per-student
folders; the zip an LMS exports (Canvas and Moodle name each file after the student);
a Gradescope export folder (``submission_metadata.yml`` beside ``submission_<id>/``).
When a student appears more than once, the latest submission is graded and the rest are
reported, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from autograder.errors import ConfigError
from autograder.intake.archive import extract_zip

Origin = Literal["file", "student-folder", "canvas", "moodle", "gradescope"]

# Canvas: lastfirst[_LATE]_<user id>_<attachment id>_<original name>; resubmissions
# of the same file get "-1", "-2" before the extension.
_CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9]+?)(?:_LATE)?_(?P<user>\d+)_(?P<attempt>\d+)_(?P<file>.+)$")
# Moodle: "Full Name_<participant id>_assignsubmission_file_" as a folder or a prefix.
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)$")


@dataclass(frozen=True)
class Submission:
    """One student's notebook to grade."""

    id: str
    """File-system-safe and unique in the batch: names the output folder and gradebook row."""
    path: Path
    student: str = ""
    """The student's name where the LMS gives one."""
    lms_id: str = ""
    """The LMS's id of the student (Canvas user id, Moodle participant id, Gradescope SID)."""
    origin: Origin = "file"
    order: tuple[float, ...] = ()
    """Sort key among one student's submissions: larger is later."""


@dataclass(frozen=True)
class Superseded:
    """A student submitted more than once: which file was graded and which were not."""

    student: str
    kept: Path
    dropped: tuple[Path, ...]
    rule: str = "latest wins"


@dataclass
class Intake:
    submissions: list[Submission] = field(default_factory=list)
    superseded: list[Superseded] = field(default_factory=list)


def safe_id(text: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._-")
    return stem or "submission"


def _notebooks(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "__MACOSX" not in p.parts and p.is_file() and not p.is_symlink()
    )


def _resubmission(name: str) -> int:
    match = re.search(r"-(\d+)\.ipynb$", name)
    return int(match.group(1)) if match else 0


def _from_file(path: Path) -> Submission:
    mtime = path.stat().st_mtime
    if match := _CANVAS.match(path.name):
        return Submission(
            id=safe_id(match["name"]), path=path, student=match["name"], lms_id=match["user"], origin="canvas",
            order=(int(match["attempt"]), _resubmission(path.name), mtime),
        )
    if match := _MOODLE.match(path.name):
        return Submission(id=safe_id(match["name"]), path=path, student=match["name"], lms_id=match["user"],
                          origin="moodle", order=(mtime,))
    return Submission(id=safe_id(path.stem), path=path, order=(mtime,))


def _from_student_folder(folder: Path) -> list[Submission]:
    if match := _MOODLE.match(folder.name):
        base = Submission(id=safe_id(match["name"]), path=folder, student=match["name"], lms_id=match["user"],
                          origin="moodle")
    else:
        base = Submission(id=safe_id(folder.name), path=folder, student=folder.name, origin="student-folder")
    return [replace(base, path=nb, order=(nb.stat().st_mtime,)) for nb in _notebooks(folder)]


def _symbol_keys(value: Any) -> Any:
    """Gradescope writes Ruby symbols (``:name``) as keys; read them as plain names."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _symbol_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_symbol_keys(v) for v in value]
    return value


def _from_gradescope(folder: Path) -> list[Submission]:
    meta_path = folder / "submission_metadata.yml"
    try:
        meta = _symbol_keys(yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{meta_path} is not readable YAML: {exc}") from exc
    found = []
    for key, info in meta.items():
        sub_folder = folder / str(key)
        submitters = (info or {}).get("submitters") or [{}]
        who = submitters[0]
        sid = str(who.get("sid") or "")
        email = str(who.get("email") or "")
        student_id = safe_id(sid or email.split("@")[0] or str(key))
        for nb in _notebooks(sub_folder) if sub_folder.is_dir() else []:
            found.append(Submission(id=student_id, path=nb, student=str(who.get("name") or ""), lms_id=sid or email,
                                    origin="gradescope", order=(nb.stat().st_mtime,)))
    return found


def _from_folder(folder: Path) -> list[Submission]:
    if (folder / "submission_metadata.yml").is_file():
        return _from_gradescope(folder)
    found: list[Submission] = []
    for child in sorted(folder.iterdir()):
        if child.is_symlink() or child.name.startswith(".") or child.name == "__MACOSX":
            continue
        if child.is_dir():
            found.extend(_from_student_folder(child))
        elif child.suffix == ".ipynb":
            found.append(_from_file(child))
    return found


def _key(sub: Submission) -> tuple[str, str]:
    # An LMS id identifies a student better than a name two students may share. Loose
    # files say nothing of who wrote them: each is its own submission, never superseded.
    if sub.lms_id:
        return (sub.origin, sub.lms_id)
    return ("file", str(sub.path)) if sub.origin == "file" else ("", sub.id)


def _latest_wins(found: Iterable[Submission]) -> Intake:
    groups: dict[tuple[str, str], list[Submission]] = {}
    for sub in found:
        groups.setdefault(_key(sub), []).append(sub)
    intake = Intake()
    for subs in groups.values():
        ordered = sorted(subs, key=lambda s: s.order)
        latest = ordered[-1]
        intake.submissions.append(latest)
        if len(ordered) > 1:
            intake.superseded.append(Superseded(latest.id, latest.path, tuple(s.path for s in ordered[:-1])))
    intake.submissions = _unique(sorted(intake.submissions, key=lambda s: (s.id, s.lms_id)))
    return intake


def _unique(subs: Sequence[Submission]) -> list[Submission]:
    """Two students with the same name keep separate rows: -2, -3... or their LMS id."""
    seen: dict[str, int] = {}
    out = []
    for sub in subs:
        seen[sub.id] = seen.get(sub.id, 0) + 1
        if seen[sub.id] > 1:
            sub = replace(sub, id=f"{sub.id}-{sub.lms_id or seen[sub.id]}")
        out.append(sub)
    return out


def _export_root(folder: Path) -> Path:
    """Where an unpacked export starts: past a lone wrapping folder (``submissions/``)."""
    entries = [p for p in folder.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and not _MOODLE.match(entries[0].name):
        return _export_root(entries[0])
    return folder


def collect(paths: Iterable[Path], unpack_dir: Path) -> Intake:
    """The submissions in ``paths``; archives are unpacked (safely) under ``unpack_dir``."""
    found: list[Submission] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
        if path.is_dir():
            found.extend(_from_folder(path))
        elif path.suffix.lower() == ".zip":
            target = unpack_dir / safe_id(path.stem)
            extract_zip(path, target)
            found.extend(_from_folder(_export_root(target)))
        else:
            found.append(_from_file(path))
    return _latest_wins(found)
