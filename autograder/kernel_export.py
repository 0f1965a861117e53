"""Kernel-side code that writes the graded names out as plain data files.

This module's *source* is sent to the student's kernel after the notebook ran (it is
never imported by the grader for its effects). It writes only data: ``.keras`` model
files, ``.npy`` / ``.npz`` arrays without pickle, JSON histories, and a manifest that
says for each name what was found. The grader treats all of it as untrusted input.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any


def _autograder_export(spec: dict[str, str], outdir: str, namespace: dict[str, Any]) -> None:
    import numpy as np

    os.makedirs(outdir, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}

    def as_array(value: Any) -> Any:
        if hasattr(value, "detach"):  # torch tensors
            value = value.detach().cpu().numpy()
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"it holds Python objects ({type(value).__name__}), not numbers")
        return array

    def finite(values: Any) -> list[float]:
        out = []
        for v in list(values):
            f = float(v)
            out.append(f if math.isfinite(f) else float("nan"))
        return out

    def matches(kind: str, value: Any) -> bool:
        keras = sys.modules.get("keras")
        if kind == "keras-model":
            return keras is not None and isinstance(value, keras.Model)
        if kind == "history":
            return isinstance(getattr(value, "history", None), dict)
        if kind == "array":
            return isinstance(value, np.ndarray)
        if kind == "class":
            return isinstance(value, type) and value.__module__ == "__main__"
        return type(value).__module__ == "__main__" and not isinstance(value, type)

    def candidates(kind: str) -> str:
        # Names of the same kind the student did define: likely a renamed answer.
        found = [n for n, v in list(namespace.items()) if not n.startswith("_") and matches(kind, v)]
        return ",".join(found[:5])

    def export_one(name: str, kind: str) -> dict[str, str]:
        if name not in namespace:
            return {"status": "missing", "candidates": candidates(kind)}
        value = namespace[name]
        typename = f"{type(value).__module__}.{type(value).__qualname__}"
        base = os.path.join(outdir, name)
        if kind == "array":
            np.save(base + ".npy", as_array(value), allow_pickle=False)
        elif kind == "keras-model":
            keras = sys.modules.get("keras")
            if keras is None or not isinstance(value, keras.Model):
                return {"status": "wrong-type", "type": typename, "message": "it is not a Keras model"}
            value.save(base + ".keras")
        elif kind == "history":
            history = getattr(value, "history", value)
            if not isinstance(history, dict):
                return {"status": "wrong-type", "type": typename, "message": "it is not a Keras History"}
            params = getattr(value, "params", None) or {}
            data = {
                "history": {str(k): finite(v) for k, v in history.items()},
                "params": {str(k): v for k, v in params.items() if isinstance(v, (int, float, str, bool))},
            }
            with open(base + ".json", "w", encoding="utf-8") as handle:
                json.dump(data, handle)
        elif kind == "class":
            if not isinstance(value, type):
                return {"status": "wrong-type", "type": typename, "message": "it is not a class"}
            typename = value.__qualname__
        elif kind == "object":
            arrays = {}
            for attr, attr_value in vars(value).items():
                if isinstance(attr_value, np.ndarray) and attr_value.dtype != object:
                    arrays[attr] = attr_value
            np.savez(base + ".npz", **arrays)  # type: ignore[arg-type]
            typename = type(value).__qualname__
        else:
            return {"status": "error", "message": f"unknown export kind {kind!r}"}
        return {"status": "ok", "type": typename}

    for name, kind in spec.items():
        try:
            manifest[name] = {"kind": kind, **export_one(name, kind)}
        except Exception as exc:  # one bad name must not stop the others
            manifest[name] = {"kind": kind, "status": "error", "message": f"{type(exc).__name__}: {exc}"[:500]}
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
