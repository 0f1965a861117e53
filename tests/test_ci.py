"""Grading in CI: `autograder ci` (as the bundled GitHub workflow runs it), JUnit XML,
the step summary, exit codes, and the pytest plugin on passing and failing notebooks."""

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
    env = {**os.environ, **env, "NOTEBOOK": notebook.name, "MIN_SCORE": "90", "GITHUB_STEP_SUMMARY": str(summary),
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
    notebook = submissions.write(submissions.wrong_mlp_architecture(), tmp_path / "lab.ipynb")
    summary = tmp_path / "summary.md"
    done = run_step(notebook, summary)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "::error file=lab.ipynb,title=2. Deep MLP with Keras: mlp-architecture::" in done.stdout
    assert "FAILED: score" in done.stdout
    assert "| mlp-architecture |" in summary.read_text() or "mlp-architecture" in summary.read_text()
    root = validate_junit(tmp_path / "reports" / "junit.xml")
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"mlp-architecture", "mlp-params"}
    assert not any(c.get("name") == "mlp-accuracy" for c in root.iter("testcase"))  # hidden: not in CI
    assert (tmp_path / "reports" / "lab" / "report.html").is_file()


def test_ci_passes_the_solution(tmp_path: Path) -> None:
    from autograder.cli import main

    notebook = submissions.write(submissions.student_solution(), tmp_path / "lab.ipynb")
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    code = main(["ci", "--lab", "keras-digits", "--min-score", "95", "--junit", str(junit), "--summary", str(summary),
                 str(notebook)])
    assert code == 0
    root = validate_junit(junit)
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert "keras-digits" in summary.read_text()


def test_the_pytest_plugin_makes_each_public_check_a_test(pytester: pytest.Pytester) -> None:
    good = submissions.write(submissions.student_solution(), pytester.path / "good.ipynb")
    bad = submissions.write(submissions.wrong_mlp_architecture(), pytester.path / "bad.ipynb")
    result = pytester.runpytest_subprocess("--autograder-lab=keras-digits", "-p", "no:cacheprovider", "-v",
                                           good.name, bad.name, timeout=900)
    public = 14  # the public checks of rubrics/keras-digits.yaml
    result.assert_outcomes(passed=2 * public - 2, failed=2)
    result.stdout.fnmatch_lines(["*good.ipynb::mlp::mlp-params PASSED*", "*bad.ipynb::mlp::mlp-architecture FAILED*"])
    result.stdout.fnmatch_lines(["*`mlp_model` has 15,374 parameters, expected 18,986*"])
