"""Unpack a submissions archive (an LMS export) without trusting a single name in it.

Archives come from students' file names and from LMS exports nobody here controls.
Every member is checked before anything is written: no absolute names, no ``..``, no
links or device files, and bounded sizes and counts, read from the actual bytes rather
than the sizes the archive claims (a zip bomb lies about them).
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.errors import ConfigError


class UnsafeArchiveError(ConfigError):
    """The archive tries to write outside its folder, or is too big to be a class's submissions."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 10_000
    max_member_bytes: int = 200 * 1024**2
    """A notebook with a few plots is a few MB; 200 MB is far beyond any honest one."""
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0
    """Uncompressed size over compressed size; notebooks (JSON) compress ~5-20x."""


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(f"the archive holds an absolute path {name!r}; refusing to unpack it")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"the archive holds a path leaving its folder {name!r}; refusing to unpack it")
    return path


def _is_link_or_special(info: zipfile.ZipInfo) -> bool:
    # Archives made on Windows carry no Unix file type: those are plain files.
    kind = stat.S_IFMT(info.external_attr >> 16)
    return kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def extract_zip(archive: Path, dest: Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract the regular files of ``archive`` under ``dest``; return them.

    Raises :class:`UnsafeArchiveError` before writing anything for a path trick or a
    link, and stops (removing what it wrote) when the real bytes exceed the limits.
    """
    limits = limits or ArchiveLimits()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{archive} is not a readable zip archive: {exc}") from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > limits.max_members:
            raise UnsafeArchiveError(f"{archive} holds {len(members)} files; at most {limits.max_members} are unpacked")
        for info in members:
            _safe_name(info.filename)
            if _is_link_or_special(info):
                raise UnsafeArchiveError(
                    f"{archive}: {info.filename!r} is a link or special file; only regular files are unpacked"
                )
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        total = 0
        try:
            for info in members:
                target = dest.joinpath(*_safe_name(info.filename).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                budget = min(limits.max_member_bytes, limits.max_total_bytes - total,
                             int(limits.max_ratio * max(info.compress_size, 1024)))
                size = _copy_bounded(zf, info, target, budget, archive)
                total += size
                # The archive's own dates order a student's resubmissions ("latest wins").
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
                written.append(target)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    return written


def _copy_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, archive: Path) -> int:
    size = 0
    with zf.open(info) as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            size += len(chunk)
            if size > budget:
                raise UnsafeArchiveError(
                    f"{archive}: {info.filename!r} unpacks to more than {budget // 1024**2} MB "
                    "(an archive bomb, or not a class's notebooks); refusing to unpack it"
                )
            out.write(chunk)
    return size
