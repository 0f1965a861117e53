"""``autograder lab new LAB --from solution.ipynb``: a lab written from its solution notebook.

The solution's regions say what students write (:mod:`autograder.authoring.solution_regions`);
running the solution once in the sandbox says what each name is (a Keras or PyTorch model,
an array, a training history, a class, an object; anything else is left out) and which
arrays each model takes. From that come:

- ``lab.yaml``: the contract (names and kinds, a PyTorch model's input, the questions by tag),
  without ``reference:``: the solution notebook is the reference, its bars measured on it;
- the rubric: the checks that fit each kind (an array's shape; a model's architecture,
  parameters and accuracy or RMSE on the test arrays it takes, relative to the solution;
  a history's epochs and metrics; a question with the solution's answer as its first
  example), each a line the instructor may edit, drop or add to;
- the student template, with each question stating its rules.

Nothing the notebook says is written again by hand: the values that come from it (shapes,
parameter counts, bars) are read from the solution each time it is graded.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import yaml

from autograder.artifacts.reader import ArtifactBundle, ManifestEntry
from autograder.authoring.release import make_template
from autograder.authoring.solution_regions import Question, SolutionName, SolutionRegions, read_regions
from autograder.authoring.stated_rules import lab_rules
from autograder.course.folder import Course
from autograder.course.labs import load_lab
from autograder.discussion.sentences import split_sentences
from autograder.errors import ConfigError
from autograder.grading.solution_reference import run_solution

# Points per generated check; the total is their sum.
POINTS = {"shape": 2, "architecture": 6, "params": 4, "accuracy": 10, "rmse": 10, "history": 4, "discussion": 10}
_LAB_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Draft:
    """The lab as written, and what the author should know about it."""

    lab_yaml: dict[str, Any]
    rubric: dict[str, Any]
    notes: list[str]


def describe(solution: Path, regions: SolutionRegions, frameworks: tuple[str, ...], out: Path,
             datasets: tuple[str, ...] = ()) -> ArtifactBundle:
    """Run ``solution`` once in the sandbox (on the small profile of ``datasets``) and export each
    region name as what it turns out to be."""
    return run_solution(solution, {n.name: {"kind": "auto"} for n in regions.names}, out, frameworks=frameworks,
                        datasets=datasets, profile="smoke", seed=1)


def _frameworks(packages: tuple[str, ...]) -> list[str]:
    found = {"tensorflow": {"tensorflow", "keras"}, "torch": {"torch"}}
    return [name for name, imports in found.items() if imports & set(packages)]


def _slug(text: str, fallback: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or fallback


def _test_first(name: str) -> tuple[int, str]:
    lowered = name.lower()
    return (0 if "test" in lowered else 1 if "val" in lowered else 3 if "train" in lowered else 2, name)


def _labels_for(x: str, arrays: dict[str, np.ndarray[Any, Any]]) -> list[str]:
    """Arrays with one row per row of ``x``, the one named like it (X_test: y_test) first."""
    twin = re.sub(r"^[xX]", "y", x)
    return sorted((n for n, a in arrays.items() if n != x and a.ndim <= 2 and len(a) == len(arrays[x])),
                  key=lambda n: (n != twin, *_test_first(n)))


def _metric_check(model: str, entry: ManifestEntry, arrays: dict[str, np.ndarray[Any, Any]]) -> dict[str, Any] | None:
    """An accuracy (classes) or RMSE (one number per example) check of ``model`` on the first
    test arrays it takes with labels to go with them; None when there are none."""
    for x in sorted(entry.accepts, key=_test_first):
        outputs = entry.accepts[x]
        for y in _labels_for(x, arrays):
            labels = arrays[y]
            whole = labels.dtype.kind in "iub" or bool(np.all(np.mod(labels, 1) == 0))
            if whole and labels.ndim == 1 and outputs and outputs[-1] > 1 and labels.max() < outputs[-1]:
                margin = max(0.03, round(2 / len(labels), 3))  # two test examples, at least 3 points
                return {"check": "accuracy", "hidden": True, "args": {
                    "name": model, "x": x, "y": y, "metric": f"{model}_accuracy", "margin": margin}}
            if not whole and outputs in ([], [1]):
                return {"check": "rmse", "hidden": True,
                        "args": {"name": model, "x": x, "y": y, "metric": f"{model}_rmse"}}
    return None


def _checks_for(item: SolutionName, entry: ManifestEntry, bundle: ArtifactBundle,
                arrays: dict[str, np.ndarray[Any, Any]], notes: list[str]) -> list[dict[str, Any]]:
    name, kind = item.name, entry.kind
    checks: list[dict[str, Any]] = []
    if kind == "array":
        checks.append({"check": "shape", "args": {"name": name, "like": name}})
    elif kind in ("keras-model", "torch-model"):
        if kind == "keras-model":
            checks.append({"check": "architecture", "args": {"name": name}})
        checks.append({"check": "params", "args": {"name": name, "reference": name}})
        metric = _metric_check(name, entry, arrays)
        if metric is None:
            notes.append(f"`{name}`: no test arrays with labels it could be measured on, so no accuracy check")
        else:
            checks.append(metric)
    elif kind == "history":
        history = bundle.history(name)
        validation = sorted(k for k in history.metrics if k.startswith("val_"))
        checks.append({"check": "history", "args": {
            "name": name, "min_epochs": max(1, history.epochs // 2), "require": validation or sorted(history.metrics)}})
    else:
        notes.append(f"`{name}` ({kind}): exported, but no check fits it by itself; add one (e.g. `function`, "
                     "see docs/checks.md) with a Python reference module for its behaviour")
    slug = _slug(name, name)
    return [{"id": slug if slug.endswith(c["check"]) else f"{slug}-{c['check']}", "check": c["check"],
             "points": POINTS[c["check"]], **c} for c in checks]


def _discussion(question: Question) -> dict[str, Any]:
    """The question's check: each sentence of the solution's answer a concept, worth an equal share."""
    sentences = [s for s in split_sentences(question.answer) if len(s.split()) >= 4][:5] or [question.answer]
    points = POINTS["discussion"]
    words = len(question.answer.split())
    shares = [round(points / len(sentences), 2)] * len(sentences)
    shares[-1] = round(points - sum(shares[:-1]), 2)
    concepts = [{"id": f"point-{i}", "description": sentence, "points": share, "paraphrases": [sentence]}
                for i, (sentence, share) in enumerate(zip(sentences, shares, strict=True), 1)]
    return {"id": question.tag, "check": "discussion", "points": points, "args": {
        "tag": question.tag, "min_words": max(10, min(30, words // 3)), "max_words": max(200, 3 * words),
        "concepts": concepts}}


def draft_lab(lab_id: str, title: str, regions: SolutionRegions, bundle: ArtifactBundle,
              datasets: tuple[str, ...] = ()) -> Draft:
    """The contract and rubric of a lab whose solution defined ``regions`` and exported ``bundle``."""
    notes: list[str] = []
    names: dict[str, Any] = {}
    arrays = {n: bundle.array(n) for n, e in bundle.manifest.items() if e.status == "ok" and e.kind == "array"}
    parts: dict[str, dict[str, Any]] = {}
    for item in regions.names:
        entry = bundle.manifest.get(item.name)
        if entry is None or entry.status != "ok":
            why = ("not exported" if entry is None else f"not a gradable kind ({entry.type})"
                   if entry.status == "skipped" else f"it could not be exported ({entry.message or entry.status})")
            notes.append(f"`{item.name}` left out: {why}")
            continue
        names[item.name] = ({"kind": entry.kind, "input": entry.input, "dtype": entry.dtype}
                            if entry.kind == "torch-model" else entry.kind)
        checks = _checks_for(item, entry, bundle, arrays, notes)
        if checks:
            title_ = item.part or "Solution"
            part = parts.setdefault(title_, {"id": _slug(title_, f"part-{len(parts) + 1}"), "title": title_,
                                             "checks": []})
            part["checks"].extend(checks)
    for question in regions.questions:
        parts[f"q:{question.tag}"] = {"id": f"discussion-{question.tag}", "title": question.heading or question.tag,
                                     "checks": [_discussion(question)]}
    lab_yaml = {
        "id": lab_id, "title": title, "frameworks": _frameworks(regions.packages),
        "packages": list(regions.packages),
        **({"profiles": ["full", "smoke"], "datasets": list(datasets)} if datasets else {}), "names": names,
        "discussions": {q.tag: {"heading": q.heading or q.tag} for q in regions.questions},
    }
    total = sum(c["points"] for p in parts.values() for c in p["checks"])
    return Draft(lab_yaml, {"lab": lab_id, "total": total, "parts": list(parts.values())}, notes)


_HEADER = """\
# The contract of {lab}, written by `autograder lab new` from its solution notebook (docs/authoring.md).
# No `reference:`: the solution notebook is the reference. Narrow or extend `names:` as you like;
# a name's kind says how it is exported from the kernel.
"""
_RUBRIC_HEADER = """\
# Rubric of {lab}, written by `autograder lab new` from its solution: edit points, drop or add checks
# (`autograder checks` lists them). Shapes, parameter counts and bars come from the solution each time:
# an accuracy must reach the solution's worst seed minus `margin` (`autograder lab calibrate {lab}`).
"""


def new_lab(course: Course, lab_id: str, solution: Path, *, title: str = "", datasets: tuple[str, ...] = (),
            force: bool = False) -> Draft:
    """Write lab ``lab_id`` into ``course`` from ``solution`` (which reads the staged ``datasets``);
    nothing is written when it fails."""
    if not _LAB_ID.match(lab_id):
        raise ConfigError(f"{lab_id!r} is not a lab id: use lower-case letters, digits and dashes")
    folder, rubric = course.assignments / lab_id, course.rubrics / f"{lab_id}.yaml"
    if not force and (folder.exists() or rubric.exists()):
        raise ConfigError(f"lab {lab_id} already exists in {course.root}; pass --force to write it again")
    notebook = nbformat.read(solution, as_version=4)
    regions = read_regions(notebook)
    title = title or next((line.lstrip("# ").strip() for c in notebook.cells if c.cell_type == "markdown"
                           for line in c.source.split("\n") if line.startswith("#")), lab_id)
    # Written into a course of its own first: only a lab that loads replaces what was there.
    staging = Course(course.root / f".new-{lab_id}")
    shutil.rmtree(staging.root, ignore_errors=True)
    try:
        bundle = describe(solution, regions, tuple(_frameworks(regions.packages)), staging.root / "exported",
                          datasets)
        draft = draft_lab(lab_id, title, regions, bundle, datasets)
        staged = staging.assignments / lab_id
        staged.mkdir(parents=True)
        staging.rubrics.mkdir()
        nbformat.write(notebook, staged / "solution.ipynb")
        (staged / "lab.yaml").write_text(_HEADER.format(lab=lab_id) + yaml.safe_dump(
            draft.lab_yaml, sort_keys=False, allow_unicode=True), encoding="utf-8")
        (staging.rubrics / rubric.name).write_text(_RUBRIC_HEADER.format(lab=lab_id) + yaml.safe_dump(
            draft.rubric, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
        lab = load_lab(lab_id, staging)
        nbformat.write(make_template(notebook, rules=lab_rules(lab)), staged / "template.ipynb")
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        rubric.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, folder)
        shutil.move(staging.rubrics / rubric.name, rubric)
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)
    return draft
