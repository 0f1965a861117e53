"""The package as users install it: a wheel outside the repository carries the course and
the report templates, grades and writes reports, and says its version."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.execution._child.isolation import capabilities
from autograder.grading.pipeline import grader_version
from autograder.reporting.gradebook import read_gradebook
from tests.submissions import FIXTURE_COURSE

REPO = Path(__file__).resolve().parent.parent


def test_nothing_in_the_project_points_outside_it() -> None:
    # Users get the repository (or the wheel), never the team's working folders beside it.
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix in {".py", ".md", ".yaml", ".yml", ".j2", ".toml", ".txt", ""} and path.is_file():
            text = path.read_text(encoding="utf-8", errors="ignore")
            if any(f"{where}{what}" in text for where in ("shared/", "../shared/") for what in ("labs.md", "seeds")):
                offenders.append(name)
    assert offenders == []


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_outside_the_repository(demo_out: Path) -> None:
    rows = {r["submission"]: r for r in read_gradebook(demo_out / "gradebook.csv")}
    assert set(rows) == {"alice-solution", "bob-partial", "carol-blank"}
    assert float(rows["alice-solution"]["total"]) >= 95
    assert 20 < float(rows["bob-partial"]["total"]) < 90
    assert float(rows["carol-blank"]["total"]) <= 20
    assert "<svg" in (demo_out / "alice-solution" / "report.html").read_text()
    assert "alice-solution" in (demo_out / "index.html").read_text()
    result = json.loads((demo_out / "alice-solution" / "result.json").read_text())
    assert result["profile"] == "full" and result["grader_version"] == grader_version()
    # The student's report names the file handed in, not where the grader kept it.
    assert str(demo_out.parent) not in (demo_out / "alice-solution" / "report.md").read_text()
    # The grader's own terminal shows no TensorFlow start-up lines.
    log = (demo_out.parent / "demo.log").read_text()
    assert "oneDNN" not in log and "cpu_feature_guard" not in log, log[:2000]


def run(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(installed / "autograder"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.slow
def test_the_installed_wheel_lists_copies_and_versions_its_course(installed: Path, tmp_path: Path) -> None:
    assert run(installed, "--version", cwd=tmp_path).stdout.strip() == f"autograder {grader_version()}"
    labs = run(installed, "labs", cwd=tmp_path)
    assert labs.returncode == 0 and "keras-digits" in labs.stdout and "pytorch-fundamentals" in labs.stdout
    done = run(installed, "course", "init", "my-course", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    course = tmp_path / "my-course"
    assert (course / "rubrics" / "keras-digits.yaml").is_file()
    assert (course / "assignments" / "keras-digits" / "solution.ipynb").is_file()
    assert (course / "reference" / "keras_digits.py").is_file()
    # The copy is the course from inside it: an edited title shows.
    lab_yaml = course / "assignments" / "keras-digits" / "lab.yaml"
    lab_yaml.write_text(lab_yaml.read_text().replace('title: "', 'title: "EDITED '))
    assert "EDITED" in run(installed, "labs", cwd=course).stdout
    again = run(installed, "course", "init", "my-course", cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr


@pytest.mark.slow
@pytest.mark.skipif(not capabilities().isolate, reason="the sandbox cannot isolate kernels here (not root)")
def test_the_sandbox_of_an_installed_wheel_cannot_read_the_course_it_ships(installed: Path, tmp_path: Path) -> None:
    # Looks for the shipped rubrics beside the package, which the sandbox binds read-only.
    snoop = ("import os, sys, autograder, numpy as np\n"
             "folder = os.path.join(os.path.dirname(autograder.__file__), 'bundled', 'rubrics')\n"
             "print('SEEN', sorted(os.listdir(folder)) if os.path.isdir(folder) else 'nothing', file=sys.stderr)\n"
             "weights = np.ones(4) / 4\nscores = np.arange(5, dtype=float)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(snoop)]
    nbformat.write(nb, tmp_path / "snoop.ipynb")
    done = run(installed, "--course", str(FIXTURE_COURSE), "check", "--lab", "tiny", "--out", "reports",
               "snoop.ipynb", cwd=tmp_path)
    result = json.loads((tmp_path / "reports" / "snoop" / "result.json").read_text())
    stderr = result["execution"]["cells"][0]["stderr"]
    assert "SEEN []" in stderr, (stderr, done.stderr[-2000:])
    assert (tmp_path / "reports" / "snoop" / "report.html").is_file()
    # ...where the grader itself does find them.
    shipped = subprocess.run([str(installed / "python"), "-c", "from autograder import bundled; "
                              "print(sorted(p.name for p in bundled.shipped('rubrics').iterdir()))"],
                             capture_output=True, text=True, check=True).stdout
    assert "keras-digits.yaml" in shipped
