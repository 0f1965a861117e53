"""``autograder lab validate``: before a lab meets students, grade its solution, its template
and mutants of its solution, and say whether each scores as it should.

The solution must score at least 95% with no check that could not run (every check works
on the solution's exports), the template at most 20%, and each mutant (the solution with
one thing broken the way students break it) must lose points: a rubric that does not
notice a model trained for one epoch, a layer of another width, unscaled inputs or a
missing model has a hole.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.authoring.release import CODE_BEGIN, CODE_END, make_template
from autograder.config import GradeOptions
from autograder.course.labs import Lab
from autograder.errors import ConfigError
from autograder.grading.pipeline import grade
from autograder.result import Result

SOLUTION_AT_LEAST = 0.95
TEMPLATE_AT_MOST = 0.20


@dataclass(frozen=True)
class Mutant:
    name: str
    notebook: NotebookNode


@dataclass(frozen=True)
class Verdict:
    """One notebook's grading against what it should score."""

    what: str
    result: Result
    ok: bool
    why: str

    @property
    def share(self) -> float:
        return self.result.score / self.result.max_score if self.result.max_score else 0.0


def _in_regions(notebook: NotebookNode, change: Callable[[str], str]) -> NotebookNode | None:
    """``notebook`` with ``change`` applied to the code inside its solution regions, or None
    when that changes nothing (the mutant does not apply to this lab)."""
    mutated = copy.deepcopy(notebook)
    changed = False
    for cell in mutated.cells:
        if cell.cell_type != "code":
            continue
        lines, inside = cell.source.split("\n"), False
        for i, line in enumerate(lines):
            if CODE_BEGIN.match(line):
                inside = True
            elif CODE_END.match(line):
                inside = False
            elif inside:
                new = change(line)
                changed |= new != line
                lines[i] = new
        cell.source = "\n".join(lines)
    return mutated if changed else None


def _one_epoch(line: str) -> str:
    """``epochs=N``, ``num_epochs = N`` or ``for epoch in range(N)`` as one epoch."""
    line = re.sub(r"\b(\w*epochs)\s*=\s*\d+\b", r"\g<1>=1", line)
    return re.sub(r"(\bfor\s+\w*epoch\w*\s+in\s+range\()\s*\d+\s*\)", r"\g<1>1)", line)


def _first_only(pattern: str, replace: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    """A change that applies ``replace`` to the first match in the notebook only."""
    done = False

    def change(line: str) -> str:
        nonlocal done
        if done:
            return line
        new = re.sub(pattern, replace, line, count=1)
        done = new != line
        return new

    return change


def _without(notebook: NotebookNode, name: str) -> NotebookNode | None:
    """The solution with the region that assigns or defines ``name`` left as the template has it."""
    name_ = re.escape(name)
    assigns = re.compile(rf"^\s*(?:{name_}\s*(?::[^=]*)?=(?!=)|(?:class|def)\s+{name_}\b)", re.MULTILINE)
    mutated = copy.deepcopy(notebook)
    for cell in mutated.cells:
        regions = any(CODE_BEGIN.match(line) for line in cell.source.split("\n"))
        if cell.cell_type == "code" and regions and assigns.search(cell.source):
            stubbed = make_template(nbformat.v4.new_notebook(cells=[cell]))
            cell.source = stubbed.cells[0].source
            return mutated
    return None


MODEL_KINDS = ("keras-model", "torch-model", "torch-class", "torch-model-dict")


def mutants(solution: NotebookNode, lab: Lab) -> list[Mutant]:
    """The mutants of ``solution`` that apply to this lab: one epoch, a wider first layer,
    unscaled inputs, its first model missing."""
    candidates: list[tuple[str, NotebookNode | None]] = [
        ("trained for one epoch", _in_regions(solution, _one_epoch)),
        ("first layer twice as wide", _in_regions(solution, _first_only(
            r"\b(Dense|Conv2D|Linear)\((\s*(?:\d+\s*,\s*)?)(\d+)",
            lambda m: f"{m.group(1)}({m.group(2)}{int(m.group(3)) * 2}"))),
        # Pixels divided by their maximum: 255 for images, 16 for scikit-learn's digits.
        ("inputs not scaled", _in_regions(solution, lambda line: re.sub(r"\s*/\s*(?:255|16)(?:\.0*)?\b", "", line))),
    ]
    models = [n for n in lab.spec.names if lab.kind(n) in MODEL_KINDS]
    if models:
        candidates.append((f"`{models[0]}` missing", _without(solution, models[0])))
    return [Mutant(name, notebook) for name, notebook in candidates if notebook is not None]


def _lost(result: Result, baseline: Result) -> list[str]:
    before = {c.name: c.points for p in baseline.parts for c in p.checks}
    return [c.name for p in result.parts for c in p.checks if c.points < before.get(c.name, 0) - 1e-9]


def validate(lab: Lab, options: GradeOptions, progress: Callable[[str], None] = lambda _: None) -> list[Verdict]:
    """Grade the lab's solution, template and the solution's mutants; a verdict for each."""
    if not lab.solution.is_file():
        raise ConfigError(f"lab {lab.id} has no solution notebook at {lab.solution}: validating a lab grades it")
    solution_nb = nbformat.read(lab.solution, as_version=4)
    template_nb = nbformat.read(lab.template, as_version=4) if lab.template.is_file() else make_template(solution_nb)
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as folder:
        def run(name: str, notebook: NotebookNode) -> Result:
            progress(f"grading the {name}...")
            path = Path(folder) / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.ipynb"
            nbformat.write(notebook, path)
            return grade(path, lab, options)

        solution = run("solution", solution_nb)
        broken = [f"{c.name} ({c.message})" for p in solution.parts for c in p.checks if c.status == "error"]
        share = solution.score / solution.max_score if solution.max_score else 0.0
        short = [c.name for p in solution.parts for c in p.checks if c.points < c.max_points - 1e-9]
        verdicts = [Verdict("solution", solution, share >= SOLUTION_AT_LEAST and not broken,
                            f"could not run: {'; '.join(broken)}" if broken else
                            f"needs >= {SOLUTION_AT_LEAST:.0%}; lost: {', '.join(short) or 'nothing'}")]
        template = run("template", template_nb)
        verdicts.append(Verdict("template", template, template.score <= TEMPLATE_AT_MOST * template.max_score,
                                f"needs <= {TEMPLATE_AT_MOST:.0%}"))
        for mutant in mutants(solution_nb, lab):
            result = run(f"mutant {mutant.name}", mutant.notebook)
            lost = _lost(result, solution)
            verdicts.append(Verdict(f"mutant: {mutant.name}", result, bool(lost),
                                    f"lost {', '.join(lost)}" if lost else "lost nothing: the rubric misses it"))
    return verdicts


def render_validation(lab: Lab, verdicts: list[Verdict]) -> str:
    width = max(len(v.what) for v in verdicts)
    lines = [f"{lab.id}: {sum(v.ok for v in verdicts)} of {len(verdicts)} as they should be"]
    for v in verdicts:
        lines.append(f"  {'ok  ' if v.ok else 'FAIL'} {v.what:{width}}  {v.share:6.1%}  {v.why}")
    return "\n".join(lines)
