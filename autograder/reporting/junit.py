"""A result as JUnit XML, so any CI shows each check as a test case."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from autograder.result import Result


def junit_xml(result: Result) -> str:
    """One ``testsuite`` per part, one ``testcase`` per check; a failed check is a
    ``failure``, a check that could not run an ``error``."""
    suites = ET.Element("testsuites", name=f"autograder {result.lab}")
    total = failures = errors = 0
    for part in result.public().parts:
        checks = part.checks
        part_failures = sum(c.status == "failed" for c in checks)
        part_errors = sum(c.status == "error" for c in checks)
        suite = ET.SubElement(
            suites, "testsuite", name=f"{result.lab}.{part.id}", tests=str(len(checks)),
            failures=str(part_failures), errors=str(part_errors), skipped="0",
        )
        for check in checks:
            case = ET.SubElement(suite, "testcase", classname=f"{result.lab}.{part.id}", name=check.name)
            ET.SubElement(case, "system-out").text = f"{check.points:g}/{check.max_points:g} points: {check.message}"
            if check.status != "passed":
                tag = "failure" if check.status == "failed" else "error"
                detail = ET.SubElement(case, tag, message=check.message, type=check.check)
                if check.evidence and not check.hidden:
                    detail.text = "\n".join(f"{k}: {v}" for k, v in check.evidence.items() if k != "table")
        total += len(checks)
        failures += part_failures
        errors += part_errors
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(result: Result, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(result), encoding="utf-8")
