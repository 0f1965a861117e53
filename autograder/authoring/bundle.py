"""The student's bundle of a lab: what a student may have, and nothing hidden.

``autograder release --lab LAB --student-bundle DIR`` writes a course folder for an
assignment repository: the template, the lab's contract, a rubric with the public
checks only, and a generated reference that carries data instead of code. Whatever a
public check needs from the reference is resolved into the rubric now (parameter
counts, layer tables, shapes); data it reads is shipped only when the reference
declares it public (``PUBLIC_DATA``), otherwise replaced by random arrays of the same
shape and type. Hidden checks, hidden data, expected answers and the reference's code
never leave the instructor's course. Relation checks call reference code, so they run
only when the instructor grades.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import yaml

from autograder.authoring.stated_rules import lab_rules, state_rules
from autograder.checks.architecture import _layers
from autograder.course.labs import Lab
from autograder.course.reference import load_reference_module

_DATA_ARGS = ("x", "y", "x_test", "y_test")

_PUBLIC_REFERENCE = '''"""Public reference of {lab} for students' self-checks (generated: do not edit).

It holds data only; the real reference and the hidden checks stay with the instructor.
"""

from pathlib import Path

import numpy as np

SEEDS = ()


def data(profile):
    with np.load(Path(__file__).with_suffix(".npz"), allow_pickle=False) as arrays:
        return {{key: arrays[key] for key in arrays.files}}


def models():
    return {{}}


def classes():
    return {{}}


def relations():
    return {{}}


def train(seed, profile):
    raise RuntimeError("reference metrics are computed when the instructor grades")
'''


def _stand_in(array: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    labels = array.dtype.kind in "iub"
    drawn = rng.choice(np.unique(array), size=array.shape) if labels else rng.random(array.shape)
    return np.asarray(drawn, dtype=array.dtype)


def _public_args(check_type: str, args: dict[str, Any], module: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The check's arguments with every reference lookup replaced by its value."""
    args = dict(args)
    if check_type == "architecture":
        args["expected_layers"] = _layers(module.models()[args.pop("reference", None) or args["name"]]())
    if check_type == "params" and "reference" in args:
        reference = args.pop("reference")
        counted = getattr(module, "param_count", None)  # a solution notebook counts its own models
        if counted is not None:
            args["expected"] = int(counted(reference, trainable=bool(args.get("trainable"))))
        else:
            model = module.models()[reference]()
            weights = model.trainable_weights if args.get("trainable") else model.weights
            args["expected"] = int(sum(int(w.numpy().size) for w in weights))
    if check_type == "shape" and "like" in args:
        # The number of examples depends on the data profile; the rest does not.
        args["shape"] = [None, *data[args.pop("like")].shape[1:]]
    return args


def write_student_bundle(lab: Lab, out: Path, profile: str = "full") -> Path:
    """Write the student bundle of ``lab`` under ``out``; return the rubric's path."""
    module = load_reference_module(lab.reference_path)
    try:
        data = module.data(profile)
    except Exception:  # e.g. MNIST itself is not here: shapes and public data come from smoke
        data = module.data("smoke")
    public = set(getattr(module, "PUBLIC_DATA", ()))
    rng = np.random.default_rng(0)
    folder = out / "assignments" / lab.id
    folder.mkdir(parents=True, exist_ok=True)
    # The committed template, stating the rubric's rules as they are now (as `release` would).
    template = nbformat.read(lab.template, as_version=4)
    state_rules(template, lab_rules(lab))
    nbformat.write(template, folder / "template.ipynb")

    shipped: dict[str, np.ndarray[Any, Any]] = {}
    parts = []
    for part in lab.rubric.spec.parts:
        checks = []
        for check in part.checks:
            if check.hidden or check.check == "relation":
                continue
            args = _public_args(check.check, check.args, module, data)
            for key in (args.get(a) for a in _DATA_ARGS):
                if isinstance(key, str) and key in data and key not in shipped:
                    shipped[key] = data[key] if key in public else _stand_in(np.asarray(data[key]), rng)
            checks.append({**check.model_dump(exclude_defaults=True), "args": args})
        if checks:
            parts.append({**part.model_dump(exclude_defaults=True, exclude={"checks"}), "checks": checks})
    total = sum(c["points"] for p in parts if not p.get("extra_credit") for c in p["checks"])
    rubric = out / "rubrics" / f"{lab.id}.yaml"
    rubric.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Public checks of {lab.id} (generated by `autograder release --student-bundle`).\n"
    rubric.write_text(header + yaml.safe_dump({"lab": lab.id, "total": total, "parts": parts}, sort_keys=False))

    name = f"{lab.spec.reference or lab.id.replace('-', '_')}_public"
    meta = lab.spec.model_dump(mode="json", exclude_defaults=True)
    meta["reference"] = name
    (folder / "lab.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    reference = out / "reference"
    reference.mkdir(exist_ok=True)
    (reference / f"{name}.py").write_text(_PUBLIC_REFERENCE.format(lab=lab.id))
    np.savez(reference / f"{name}.npz", **shipped)  # type: ignore[arg-type]
    return rubric



