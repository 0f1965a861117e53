"""The `autograder` command: argument handling, outputs on disk, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.reporting.gradebook import read_gradebook
from tests import submissions

FIXTURES = submissions.FIXTURE_COURSE


def test_labs_lists_the_bundled_lab(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["labs"]) == 0
    assert "keras-digits" in capsys.readouterr().out


def test_an_unknown_lab_is_a_clear_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["grade", "--lab", "no-such-lab", "--out", str(tmp_path), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown lab 'no-such-lab'" in err and "keras-digits" in err


def test_release_writes_the_template(tmp_path: Path) -> None:
    out = tmp_path / "template.ipynb"
    assert main(["release", "--lab", "keras-digits", "--out", str(out)]) == 0
    assert out.read_text() == (submissions.REPO / "assignments/keras-digits/template.ipynb").read_text()


def test_a_missing_path_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["grade", "--lab", "keras-digits", "--out", str(tmp_path / "o"), str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_grade_writes_every_output_and_survives_broken_files(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken json.ipynb").write_text("{not json")
    (inbox / "empty.ipynb").write_text("")
    (inbox / "good.ipynb").write_bytes((FIXTURES / "assignments/tiny/solution.ipynb").read_bytes())
    out = tmp_path / "out"
    assert main(["--course", str(FIXTURES), "grade", "--lab", "tiny", "--out", str(out), str(inbox)]) == 0
    rows = read_gradebook(out / "gradebook.csv")
    assert [(r["submission"], r["status"]) for r in rows] == [
        ("broken_json", "invalid-notebook"), ("empty", "invalid-notebook"), ("good", "graded"),
    ]
    for sub in ("good", "broken_json", "empty"):
        assert {p.name for p in (out / sub).iterdir()} == {
            "result.json", "report.html", "report.md", "execution.json", "gradescope"}
    broken = json.loads((out / "broken_json" / "result.json").read_text())
    assert broken["score"] == 0 and "not valid JSON" in broken["message"]
    assert broken["schema_version"] == "1.0"


@pytest.mark.slow
def test_check_exits_non_zero_when_a_public_check_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = submissions.write(submissions.tiny_keras(hidden_units=9), tmp_path / "mine.ipynb")
    assert main(["--course", str(FIXTURES), "check", "--lab", "tiny-keras", str(path)]) == 1
    out = capsys.readouterr().out
    assert "model-architecture" in out and "Dense(9, relu)" in out
    assert "model-accuracy" not in out  # hidden checks are not part of a self-check


def test_a_course_that_is_not_there_is_an_error_not_the_bundled_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--course", str(tmp_path / "my-cuorse"), "labs"]) == 2
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("AUTOGRADER_COURSE", str(tmp_path))
    assert main(["labs"]) == 2
    assert "is not a course" in capsys.readouterr().err


def test_a_course_around_the_notebook_comes_before_the_bundled_one(tmp_path: Path) -> None:
    from autograder.course.folder import find_course

    repo = tmp_path / "assignment-repo"
    (repo / "assignments").mkdir(parents=True)
    (repo / "rubrics").mkdir()
    (repo / "work").mkdir()
    assert find_course(near=repo / "work").root == repo.resolve()
    assert find_course(near=tmp_path).root != repo.resolve()
