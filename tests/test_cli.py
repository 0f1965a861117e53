"""The `autograder` command: argument handling, outputs on disk, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.gradebook import read_gradebook
from tests import submissions


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
    template = submissions.REPO / "assignments/keras-digits/template.ipynb"
    (inbox / "blank.ipynb").write_bytes(template.read_bytes())
    out = tmp_path / "out"
    assert main(["grade", "--lab", "keras-digits", "--out", str(out), str(inbox)]) == 0
    rows = read_gradebook(out / "gradebook.csv")
    assert [(r["submission"], r["status"]) for r in rows] == [
        ("blank", "graded"), ("broken_json", "invalid-notebook"), ("empty", "invalid-notebook"),
    ]
    for sub in ("blank", "broken_json", "empty"):
        assert {p.name for p in (out / sub).iterdir()} == {
            "result.json", "report.html", "report.md", "execution.json", "gradescope"}
    broken = json.loads((out / "broken_json" / "result.json").read_text())
    assert broken["score"] == 0 and "not valid JSON" in broken["message"]
    assert broken["schema_version"] == "1.0"


@pytest.mark.slow
def test_check_exits_non_zero_when_a_public_check_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = submissions.write(submissions.wrong_mlp_architecture(), tmp_path / "mine.ipynb")
    assert main(["check", "--lab", "keras-digits", str(path)]) == 1
    out = capsys.readouterr().out
    assert "mlp-architecture" in out and "Dense(100, relu)" in out
    assert "mlp-accuracy" not in out  # hidden checks are not part of a self-check


@pytest.mark.slow
def test_the_demo_grades_the_bundled_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    rows = {r["submission"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert set(rows) == {"alice-solution", "bob-partial", "carol-blank"}
    assert float(rows["alice-solution"]["total"]) >= 95
    assert 20 < float(rows["bob-partial"]["total"]) < 90
    assert float(rows["carol-blank"]["total"]) <= 20
    assert "<svg" in (out / "alice-solution" / "report.html").read_text()
