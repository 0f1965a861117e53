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


def _autograder_export(spec: dict[str, dict[str, Any]], outdir: str, namespace: dict[str, Any]) -> None:
    import numpy as np

    os.makedirs(outdir, exist_ok=True)
    manifest: dict[str, dict[str, Any]] = {}

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
        torch = sys.modules.get("torch")
        if kind in ("torch-model", "torch-class") and torch is not None:
            module_type = torch.nn.Module
            return isinstance(value, module_type) if kind == "torch-model" else (
                isinstance(value, type) and issubclass(value, module_type) and value.__module__ == "__main__")
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

    def export_torch(module: Any, path: str, entry: dict[str, Any]) -> None:
        # A graph without the student's Python: eval mode fixes dropout, the batch is dynamic.
        import torch
        from torch.export import Dim

        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"it is a {type(module).__name__}, not a torch.nn.Module")
        shape = [2, *(entry.get("input") or [])]
        dtype = torch.int64 if entry.get("dtype") == "int64" else torch.float32
        example = torch.zeros(shape, dtype=dtype)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                program = torch.export.export(
                    module, (example,), dynamic_shapes=({0: Dim("batch", min=1, max=1 << 20)},), strict=False
                )
        finally:
            module.train(was_training)  # a self-check in the student's live kernel changes nothing
        torch.export.save(program, path)

    def describe_kind(value: Any) -> str:
        # An authoring run (``auto``) asks what each name is; the order matters: a model
        # instance is also an object, a tensor is exported as an array.
        for kind in ("torch-model", "keras-model", "history", "array", "class", "object"):
            if matches(kind, value) or (kind == "array" and hasattr(value, "detach") and hasattr(value, "shape")):
                return kind
        return ""

    def try_model(kind: str, model: Any, array: Any) -> tuple[list[int], str] | None:
        # The model's output shape on two rows of ``array`` (and the dtype fed), or None.
        rows = as_array(array)[:2]
        try:
            if kind == "keras-model":
                out = model(rows.astype("float32"), training=False)
                return list(np.asarray(out).shape[1:]), "float32"
            import torch

            dtype = "int64" if rows.dtype.kind in "iu" else "float32"
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    out = model(torch.as_tensor(rows.astype(dtype)))
            finally:
                model.train(was_training)
            return list(out.shape[1:]), dtype
        except Exception:
            return None

    def describe_model(kind: str, model: Any) -> dict[str, Any]:
        # Which of the other names' arrays the model takes, for its data checks and export
        # (with the dtype it took the first of them in: what a PyTorch model is exported for).
        accepts: dict[str, list[int]] = {}
        dtypes: list[str] = []
        for other in spec:
            value = namespace.get(other)
            if value is None or describe_kind(value) != "array" or len(getattr(value, "shape", ())) < 2:
                continue
            tried = try_model(kind, model, value)
            if tried is not None:
                accepts[other] = tried[0]
                dtypes.append(tried[1])
        return {"accepts": accepts, "dtype": dtypes[0] if dtypes else "float32"}

    def export_one(name: str, entry: dict[str, Any]) -> dict[str, Any]:
        kind = entry["kind"]
        described: dict[str, Any] = {}
        if kind == "auto" and name in namespace:
            kind = describe_kind(namespace[name])
            if not kind:
                return {"status": "skipped", "type": f"{type(namespace[name]).__module__}."
                        f"{type(namespace[name]).__qualname__}"}
            if kind in ("torch-model", "keras-model"):
                described = describe_model(kind, namespace[name])
                if kind == "torch-model":
                    taken = next(iter(described["accepts"]), None)
                    if taken is None:
                        return {"status": "skipped", "type": "torch model taking none of the arrays"}
                    entry = {**entry, "input": list(np.shape(namespace[taken])[1:]), "dtype": described["dtype"]}
                    described["input"] = entry["input"]
            described["kind"] = kind
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
        elif kind == "torch-model":
            export_torch(value, base + ".pt2", entry)
            # Read by the grader only for a course's own solution (its reference), never a student's.
            described["params"] = int(sum(p.numel() for p in value.parameters()))
            described["trainable"] = int(sum(p.numel() for p in value.parameters() if p.requires_grad))
        elif kind == "torch-class":
            if not isinstance(value, type):
                return {"status": "wrong-type", "type": typename, "message": "it is not a class"}
            import torch

            for variant, how in (entry.get("variants") or {"default": {}}).items():
                with torch.random.fork_rng():  # leaves the student's random state as it was
                    torch.manual_seed(0)
                    instance = value(*how.get("args", ()), **how.get("kwargs", {}))
                export_torch(instance, f"{base}.{variant}.pt2", entry)
            typename = value.__qualname__
        elif kind == "torch-model-dict":
            if not isinstance(value, dict):
                return {"status": "wrong-type", "type": typename, "message": "it is not a dict of models"}
            for key, module in value.items():
                export_torch(module, f"{base}.{str(key).lower()}.pt2", entry)
        else:
            return {"status": "error", "message": f"unknown export kind {kind!r}"}
        return {"status": "ok", "type": typename, **described}

    for name, entry in spec.items():
        try:
            manifest[name] = {"kind": entry["kind"], **export_one(name, entry)}
        except Exception as exc:  # one bad name must not stop the others
            message = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
            manifest[name] = {"kind": entry["kind"], "status": "error", "message": message}
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
