"""Grading in CI: `autograder ci` (as the bundled GitHub workflow runs it), JUnit XML,
the step summary, exit codes, and the pytest plugin on passing and failing notebooks.

The plumbing, not a lab's content, is under test: the notebooks are of the fixture lab
tiny-keras (a real Keras model graded in seconds, with public and hidden checks); the
real labs' notebooks are graded end to end in the test_grade_* modules."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests import submissions

pytestmark = pytest.mark.slow

WORKFLOW = submissions.REPO / "docs" / "autograde-workflow.yml"


def grading_step() -> tuple[str, dict[str, str]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["grade"]["steps"]
    command = next(s["run"] for s in steps if "autograder ci" in s.get("run", ""))
    return command, {k: str(v) for k, v in workflow["env"].items()}


def run_step(notebook: Path, summary: Path) -> subprocess.CompletedProcess[str]:
    command, env = grading_step()
    env = {**os.environ, **env, "LAB": "tiny-keras", "AUTOGRADER_COURSE": str(submissions.FIXTURE_COURSE),
           "NOTEBOOK": notebook.name, "MIN_SCORE": "90", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_ACTIONS": "true", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", command], cwd=notebook.parent, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def validate_junit(path: Path) -> ET.Element:
    """The shape CI tools read: testsuites > testsuite > testcase, counts that add up."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases = 0
    for suite in root.findall("testsuite"):
        found = suite.findall("testcase")
        assert int(suite.get("tests", -1)) == len(found)
        assert int(suite.get("failures", -1)) == sum(c.find("failure") is not None for c in found)
        assert int(suite.get("errors", -1)) == sum(c.find("error") is not None for c in found)
        assert all(c.get("name") and c.get("classname") for c in found)
        cases += len(found)
    assert int(root.get("tests", -1)) == cases > 0
    return root


def test_the_workflows_grading_step_fails_a_wrong_notebook_with_annotations(tmp_path: Path) -> None:
    notebook = submissions.write(submissions.tiny_keras(hidden_units=9), tmp_path / "lab.ipynb")
    summary = tmp_path / "summary.md"
    done = run_step(notebook, summary)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "::error file=lab.ipynb,title=1. The model: model-architecture::" in done.stdout
    assert "FAILED: score" in done.stdout
    assert "model-architecture" in summary.read_text()
    root = validate_junit(tmp_path / "reports" / "junit.xml")
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"model-architecture", "model-params"}
    assert not any(c.get("name") == "model-accuracy" for c in root.iter("testcase"))  # hidden: not in CI
    assert (tmp_path / "reports" / "lab" / "report.html").is_file()


def test_ci_passes_the_solution(tmp_path: Path) -> None:
    from autograder.cli import main

    notebook = submissions.write(submissions.tiny_keras(), tmp_path / "lab.ipynb")
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    code = main(["--course", str(submissions.FIXTURE_COURSE), "ci", "--lab", "tiny-keras", "--min-score", "95",
                 "--junit", str(junit), "--summary", str(summary), str(notebook)])
    assert code == 0
    root = validate_junit(junit)
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert "tiny-keras" in summary.read_text()


def test_the_pytest_plugin_makes_each_public_check_a_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = submissions.write(submissions.tiny_keras(), pytester.path / "good.ipynb")
    bad = submissions.write(submissions.tiny_keras(hidden_units=9), pytester.path / "bad.ipynb")
    monkeypatch.setenv("AUTOGRADER_COURSE", str(submissions.FIXTURE_COURSE))
    result = pytester.runpytest_subprocess("--autograder-lab=tiny-keras", "-p", "no:cacheprovider", "-v",
                                           good.name, bad.name, timeout=600)
    public = 3  # the public checks of tests/fixtures/course/rubrics/tiny-keras.yaml
    result.assert_outcomes(passed=2 * public - 2, failed=2)
    result.stdout.fnmatch_lines(["*good.ipynb::model::model-params PASSED*",
                                 "*bad.ipynb::model::model-architecture FAILED*"])
    result.stdout.fnmatch_lines(["*`model` has 65 parameters, expected 58*"])
