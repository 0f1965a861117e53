"""The child side of a behaviour probe: runs a student's class or program on given inputs.

Run as ``python -I path/to/probe_main.py --serve FOLDER [MODULE...]`` (the modules imported
before the first query) in a process under limits; it
imports nothing but NumPy and the standard library (and PyTorch for an exported program).
It reads query names from stdin, one a line; each names a folder in FOLDER holding
``definitions.py`` (the student's definitions), ``task.json`` and the input arrays. The
outputs are written back there as ``.npy`` files and ``report.json``, then the name is
written back on the process's original stdout, which the student's code never sees
(its stdout and stderr go to /dev/null). This process never sees expected answers: the
grader compares outputs itself.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Scenario = Callable[[dict[str, Any], dict[str, Any], dict[str, np.ndarray]], dict[str, np.ndarray]]


def _cls(namespace: dict[str, Any], task: dict[str, Any]) -> Any:
    name = task["class"]
    if not isinstance(namespace.get(name), type):
        raise LookupError(f"`{name}` is not defined as a class at the top level of a cell")
    return namespace[name]


def _predict(namespace: dict[str, Any], task: dict[str, Any], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rebuild a trained object from its array attributes and predict."""
    cls = _cls(namespace, task)
    obj = cls.__new__(cls)
    for key, value in inputs.items():
        if key.startswith("state__"):
            setattr(obj, key[len("state__"):], value)
    for key, value in task.get("attributes", {}).items():
        setattr(obj, key, value)
    return {"predictions": np.asarray(obj.predict(inputs["X"]))}


def _train_steps(
    namespace: dict[str, Any], task: dict[str, Any], inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Construct, run forward/backward steps, and report outputs before and after."""
    np.random.seed(int(task.get("seed", 0)))
    obj = _cls(namespace, task)(**task.get("init", {}))
    initial = {k: np.array(v) for k, v in vars(obj).items() if isinstance(v, np.ndarray)}
    x, y = inputs["X"], inputs["Y"]
    before = np.asarray(obj.forward(x), dtype=float)
    for _ in range(int(task.get("steps", 1))):
        obj.forward(x)
        obj.backward(x, y)
    after = np.asarray(obj.forward(x), dtype=float)
    predictions = np.asarray(obj.predict(x))
    out = {"before": before, "after": after, "predictions": predictions}
    out.update({f"initial__{k}": v for k, v in initial.items()})
    return out


def _fit_predict(
    namespace: dict[str, Any], task: dict[str, Any], inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """A student's classifier: fit on the given data, predict the test inputs."""
    np.random.seed(int(task.get("seed", 0)))
    obj = _cls(namespace, task)(**task.get("init", {}))
    obj.fit(inputs["X"], inputs["y"], **task.get("fit_kwargs", {}))
    return {"predictions": np.asarray(obj.predict(inputs["X_test"]))}


def _torch_run(
    namespace: dict[str, Any], task: dict[str, Any], inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Load an exported program (its loader unpickles, so never in the grader), count
    its parameters and run it on the inputs."""
    import torch

    torch.set_num_threads(1)
    if task["program"] not in _PROGRAMS:  # each program is loaded once per session
        _PROGRAMS[task["program"]] = torch.export.load(task["program"])
    program = _PROGRAMS[task["program"]]
    state = program.state_dict
    names = set(program.graph_signature.parameters)
    params = [v for k, v in state.items() if k in names]
    out: dict[str, np.ndarray] = {
        "params": np.array(sum(p.numel() for p in params)),
        "trainable": np.array(sum(p.numel() for p in params if p.requires_grad)),
    }
    if "X" in inputs:
        module = program.module()
        x = inputs["X"]
        dtype = torch.int64 if task.get("dtype") == "int64" else torch.float32
        with torch.no_grad():
            chunks = [module(torch.as_tensor(x[i : i + 512], dtype=dtype)) for i in range(0, len(x), 512)]
        outputs = [c[0] if isinstance(c, (tuple, list)) else c for c in chunks]
        out["outputs"] = torch.cat(outputs).detach().cpu().numpy() if outputs else np.empty((0,))
    return out


_PROGRAMS: dict[str, Any] = {}

SCENARIOS: dict[str, Scenario] = {
    "predict": _predict,
    "train-steps": _train_steps,
    "fit-predict": _fit_predict,
    "torch-run": _torch_run,
}


def answer(folder: Path) -> None:
    """Run the query in ``folder``; the student's definitions are executed afresh for each."""
    task = json.loads((folder / "task.json").read_text(encoding="utf-8"))
    inputs = {p.stem: np.load(p, allow_pickle=False) for p in folder.glob("in__*.npy")}
    inputs = {k[len("in__"):]: v for k, v in inputs.items()}
    report: dict[str, Any] = {"ok": False}
    try:
        namespace: dict[str, Any] = {"__name__": "__student__"}
        source = (folder / "definitions.py").read_text(encoding="utf-8")
        exec(compile(source, "definitions.py", "exec"), namespace)
        outputs = SCENARIOS[task["scenario"]](namespace, task, inputs)
        for key, value in outputs.items():
            if value.dtype == object:
                raise TypeError(f"{key} is not a numeric array")
            np.save(folder / f"out__{key}.npy", value, allow_pickle=False)
        report = {"ok": True}
    except BaseException as exc:  # report whatever the student's code raised, even SystemExit
        report = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}"[:1000],
            "traceback": "".join(traceback.format_exception(exc))[-3000:],
        }
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")


def serve(folder: Path, preload: list[str]) -> int:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # what the student's code prints is not the grader's business
    os.dup2(quiet, 2)
    # Imported before the first query arrives, which the grader sends once the kernel is done:
    # the import (~2 s for torch) overlaps the notebook's run. A failure is left to the queries.
    for module in preload:
        try:
            __import__(module)
        except Exception:
            continue
    for line in sys.stdin:
        name = line.strip()
        if name.startswith("q") and name[1:].isdigit():
            answer(folder / name)
            replies.write(f"{name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[2]), sys.argv[3:]) if sys.argv[1:2] == ["--serve"] else 2)
