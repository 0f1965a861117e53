"""The child side of a behaviour probe: runs a student's class on given inputs.

Run as ``python -I path/to/probe_main.py FOLDER`` in a fresh process under limits; it
imports nothing but NumPy and the standard library.
FOLDER holds ``definitions.py`` (the student's definitions), ``task.json`` and the
input arrays; the outputs are written back as ``.npy`` files and ``report.json``.
This process never sees expected answers: the grader compares outputs itself.
"""

from __future__ import annotations

import json
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
    program = torch.export.load(task["program"])
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


SCENARIOS: dict[str, Scenario] = {
    "predict": _predict,
    "train-steps": _train_steps,
    "fit-predict": _fit_predict,
    "torch-run": _torch_run,
}


def main(folder: Path) -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
