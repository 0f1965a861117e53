"""From a solution notebook to a validated lab: the commands an instructor runs, timed.

    .venv/bin/python benchmarks/lab_from_notebook.py [NOTEBOOK ...]

For each solution notebook (default: the two in ``tests/fixtures/new_labs/``, which are not
in the course), in a fresh empty course and an empty cache, runs the three commands of
docs/authoring.md and prints each one's wall time and outcome:

    autograder lab new LAB --from NOTEBOOK
    autograder lab calibrate LAB --write
    autograder lab validate LAB

and the lines written by hand beyond the notebook (none: the notebook's markers and tags
are all `lab new` reads). Figures go to ``benchmarks/results/lab-from-notebook.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = sorted((ROOT / "tests" / "fixtures" / "new_labs").glob("*/solution.ipynb"))


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return time.monotonic() - started, done.returncode, done.stdout


def main(notebooks: list[Path]) -> int:
    cli = str(Path(sys.executable).with_name("autograder"))
    figures = []
    for notebook in notebooks:
        lab = notebook.parent.name
        with tempfile.TemporaryDirectory(prefix="lab-from-notebook-") as tmp:
            course = Path(tmp) / "course"
            (course / "assignments").mkdir(parents=True)
            (course / "rubrics").mkdir()
            env = {**os.environ, "AUTOGRADER_CACHE": str(Path(tmp) / "cache")}
            steps = {}
            for step, args in (("new", ["lab", "new", lab, "--from", str(notebook)]),
                               ("calibrate", ["lab", "calibrate", lab, "--write"]),
                               ("validate", ["lab", "validate", lab])):
                seconds, code, out = _timed([cli, "--course", str(course), *args], env)
                steps[step] = {"seconds": round(seconds, 1), "exit": code}
                print(f"{lab:14} {step:10} {seconds:6.1f}s  exit {code}")
                if step == "validate":
                    print("\n".join("    " + line for line in out.splitlines()))
                if code:
                    break
            total = sum(s["seconds"] for s in steps.values())
            print(f"{lab:14} {'total':10} {total:6.1f}s  hand-written lines beyond the notebook: 0\n")
            figures.append({"lab": lab, "steps": steps, "total_seconds": round(total, 1), "hand_written_lines": 0})
    out = ROOT / "benchmarks" / "results" / "lab-from-notebook.json"
    out.write_text(json.dumps({"cpus": os.cpu_count(), "labs": figures}, indent=1) + "\n")
    return 0 if all(s["exit"] == 0 for f in figures for s in f["steps"].values()) else 1


if __name__ == "__main__":
    sys.exit(main([Path(a) for a in sys.argv[1:]] or DEFAULT))
