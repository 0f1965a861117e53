"""What an instructor points the grader at becomes one notebook per student, safely."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.intake.archive import ArchiveLimits, UnsafeArchiveError, extract_zip
from autograder.intake.submissions import collect

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def make_zip(path: Path, members: dict[str, bytes], *, dates: dict[str, tuple[int, ...]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(dates or {}).get(name, (2026, 11, 1, 12, 0, 0)))  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def test_canvas_zip_takes_ids_from_names_and_the_latest_resubmission_wins(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "submissions.zip", {
        "smithjane_1001_5001_lab1.ipynb": NB,
        "smithjane_LATE_1001_5090_lab1-1.ipynb": NB,
        "doejohn_1002_5002_Lab 1 (final).ipynb": NB,
        "notes.txt": b"not a notebook",
    })
    intake = collect([archive], tmp_path / "unpacked")
    assert [(s.id, s.lms_id, s.origin) for s in intake.submissions] == [
        ("doejohn", "1002", "canvas"), ("smithjane", "1001", "canvas")]
    jane = intake.submissions[1]
    assert jane.path.name == "smithjane_LATE_1001_5090_lab1-1.ipynb"
    assert len(intake.superseded) == 1
    assert intake.superseded[0].kept == jane.path
    assert [p.name for p in intake.superseded[0].dropped] == ["smithjane_1001_5001_lab1.ipynb"]


def test_a_wrapping_folder_in_the_zip_is_looked_through(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "export.zip", {"submissions/doejohn_1002_5002_lab.ipynb": NB})
    intake = collect([archive], tmp_path / "unpacked")
    assert [(s.id, s.origin) for s in intake.submissions] == [("doejohn", "canvas")]


def test_moodle_zip_of_folders_uses_the_archive_dates_for_latest(tmp_path: Path) -> None:
    folder = "Jane Smith_4242_assignsubmission_file_"
    archive = make_zip(tmp_path / "moodle.zip", {
        f"{folder}/lab1.ipynb": NB,
        f"{folder}/lab1-old.ipynb": NB,
        "Ali Kaya_4243_assignsubmission_file_lab1.ipynb": NB,
    }, dates={f"{folder}/lab1.ipynb": (2026, 11, 2, 9, 0, 0), f"{folder}/lab1-old.ipynb": (2026, 10, 1, 9, 0, 0)})
    intake = collect([archive], tmp_path / "unpacked")
    ids = {s.id: s for s in intake.submissions}
    assert set(ids) == {"Jane_Smith", "Ali_Kaya"}
    assert ids["Jane_Smith"].lms_id == "4242" and ids["Jane_Smith"].path.name == "lab1.ipynb"
    assert ids["Ali_Kaya"].origin == "moodle"
    assert [p.name for p in intake.superseded[0].dropped] == ["lab1-old.ipynb"]


def test_gradescope_export_folder_reads_student_ids_from_metadata(tmp_path: Path) -> None:
    export = tmp_path / "export"
    for sub in ("submission_111", "submission_222"):
        (export / sub).mkdir(parents=True)
        (export / sub / "lab.ipynb").write_bytes(NB)
    (export / "submission_metadata.yml").write_text(
        "submission_111:\n  :submitters:\n  - :name: Jane Smith\n    :sid: 's123'\n    :email: jane@uni.edu\n"
        "submission_222:\n  :submitters:\n  - :name: Ali Kaya\n    :email: ali@uni.edu\n",
        encoding="utf-8")
    intake = collect([export], tmp_path / "unpacked")
    assert [(s.id, s.student, s.origin) for s in intake.submissions] == [
        ("ali", "Ali Kaya", "gradescope"), ("s123", "Jane Smith", "gradescope")]


def test_per_student_folders_name_the_student_and_the_latest_notebook_wins(tmp_path: Path) -> None:
    for student in ("alice", "bob"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "lab.ipynb").write_bytes(NB)
    old = tmp_path / "class" / "bob" / "lab-draft.ipynb"
    old.write_bytes(NB)
    os.utime(old, (1_000_000, 1_000_000))
    intake = collect([tmp_path / "class"], tmp_path / "unpacked")
    assert [s.id for s in intake.submissions] == ["alice", "bob"]
    assert intake.submissions[1].path.name == "lab.ipynb" and intake.superseded[0].dropped == (old,)


def test_namesakes_with_different_lms_ids_keep_separate_rows(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "submissions.zip", {
        "smithjane_1001_5001_lab1.ipynb": NB, "smithjane_2002_5002_lab1.ipynb": NB})
    intake = collect([archive], tmp_path / "unpacked")
    assert [s.id for s in intake.submissions] == ["smithjane", "smithjane-2002"]
    assert not intake.superseded


@pytest.mark.parametrize("name", ["../escape.ipynb", "/etc/cron.d/evil.ipynb", "a/../../escape.ipynb",
                                  "C:/Windows/evil.ipynb", "..\\escape.ipynb"])
def test_path_tricks_are_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "evil.zip", {"good.ipynb": NB, name: NB})
    with pytest.raises(UnsafeArchiveError, match="refusing to unpack"):
        collect([archive], tmp_path / "unpacked")
    assert not (tmp_path / "escape.ipynb").exists()
    assert not (tmp_path / "unpacked" / "evil" / "good.ipynb").exists()


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("secret.ipynb")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="link or special file"):
        extract_zip(archive, tmp_path / "out")


def test_an_archive_bomb_is_stopped_by_its_real_size_and_leaves_nothing(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"a.ipynb": NB, "bomb.ipynb": b"\0" * (30 * 1024**2)})
    with pytest.raises(UnsafeArchiveError, match="archive bomb"):
        extract_zip(archive, tmp_path / "out", ArchiveLimits(max_ratio=100))
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "class.zip"
    fake.write_bytes(b"PK not really")
    with pytest.raises(Exception, match="not a readable zip"):
        collect([fake], tmp_path / "unpacked")
