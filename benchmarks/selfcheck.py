"""How long an in-notebook ``check("part")`` takes, in a real kernel, after the part ran.

    .venv/bin/python benchmarks/selfcheck.py [--repeat 5]

Runs the keras-digits solution up to the CNN (fewer epochs: training time is not what is
measured), then times each structure self-check ``--repeat`` times inside the kernel and
prints the median per part. Target: under 2 s per structure check.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

TIMER = """
import time, statistics, json
from autograder import check
_times = {}
for _part in PARTS:
    _runs = []
    for _ in range(REPEAT):
        _t = time.perf_counter(); _out = check(_part); _runs.append(time.perf_counter() - _t)
    _times[_part] = {"median": statistics.median(_runs), "first": _runs[0], "passed": _out.passed}
print("TIMES " + json.dumps(_times))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    solution = nbformat.read(ROOT / "assignments/keras-digits/solution.ipynb", as_version=4)
    cells = []
    for cell in solution.cells:
        if cell.cell_type != "code" or cell.source.startswith("check("):
            continue
        quicker = cell.source.replace("epochs=50", "epochs=10").replace("epochs=30", "epochs=10")
        cells.append(nbformat.v4.new_code_cell(quicker))
        if "# Compile and train the CNN" in cell.source:
            break
    parts = ["data", "mlp", "cnn"]
    cells.append(nbformat.v4.new_code_cell(TIMER.replace("PARTS", repr(parts)).replace("REPEAT", str(args.repeat))))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_SANDBOX"}
    env["MPLBACKEND"] = "Agg"
    with tempfile.TemporaryDirectory() as workdir:
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": workdir}})
        client.km = client.create_kernel_manager()
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    times = json.loads(text.split("TIMES ", 1)[1])
    print(f"{'part':8} {'median s':>9} {'first s':>8}  passed")
    for part, figures in times.items():
        print(f"{part:8} {figures['median']:9.3f} {figures['first']:8.3f}  {figures['passed']}")


if __name__ == "__main__":
    main()
