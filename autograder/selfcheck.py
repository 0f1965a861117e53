"""``check("part")``: a student's instant self-check, inside their own running notebook.

It runs the public checks of one part on the kernel's live variables: the names are
exported exactly as the grader exports them (same code), checked by the same check
functions, and shown as HTML in Jupyter or as text in a terminal. Nothing is retrained
and nothing hidden is used. Failures of the toolkit itself are shown as a friendly
message, never a traceback. While the grader runs the notebook it does nothing.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.artifacts.reader import ArtifactBundle
from autograder.checks.context import CheckContext
from autograder.checks.scoring import score
from autograder.config import ExecutionLimits
from autograder.course.folder import find_course
from autograder.course.labs import Lab, load_lab
from autograder.errors import AutograderError
from autograder.execution._child.kernel_export import _autograder_export
from autograder.notebook.load import LoadedNotebook, load_notebook
from autograder.notebook.sanitize import SanitizedCell
from autograder.reporting.feedback import render_selfcheck_html, render_summary
from autograder.result import Result

_lab: str | None = None


def use_lab(lab: str) -> None:
    """Name the lab of this notebook once; ``check(part)`` then needs only the part."""
    global _lab
    _lab = lab


@dataclass(frozen=True)
class SelfCheck:
    """The outcome of a self-check; Jupyter shows its HTML, a terminal its text."""

    result: Result | None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.result is not None and all(c.status == "passed" for p in self.result.parts for c in p.checks)

    def _repr_html_(self) -> str:
        if self.result is None:
            return f"<p><b>check:</b> {_escape(self.message)}</p>"
        return render_selfcheck_html(self.result)

    def __repr__(self) -> str:
        return self.message if self.result is None else render_summary(self.result).strip()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _resolve_lab(part: str, lab: str | None) -> Lab:
    course = find_course()
    wanted = lab or _lab
    if wanted:
        return load_lab(wanted, course)
    owners = [i for i in course.lab_ids() if any(p.id == part for p in load_lab(i, course).rubric.spec.parts)]
    if len(owners) == 1:
        return load_lab(owners[0], course)
    raise AutograderError(
        f"say which lab this notebook is for: check({part!r}, lab=...) or autograder.use_lab(...) once; "
        f"labs with a part {part!r}: {', '.join(owners) or 'none'}"
    )


def _notebook_file(namespace: dict[str, Any]) -> Path | None:
    # Jupyter and VS Code tell the kernel which notebook it runs, in different ways.
    for candidate in (namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"),
                      os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    return None


def run_self_check(part: str, namespace: dict[str, Any], lab: str | None = None) -> SelfCheck:
    """The public checks of ``part`` on the variables in ``namespace``."""
    if os.environ.get("AUTOGRADER_SANDBOX"):
        return SelfCheck(None, "self-checks do not run while the notebook is being graded")
    lab_obj = _resolve_lab(part, lab)
    if part not in {p.id for p in lab_obj.rubric.spec.parts}:
        known = ", ".join(p.id for p in lab_obj.rubric.spec.parts)
        return SelfCheck(None, f"lab {lab_obj.id} has no part {part!r}; its parts are: {known}")
    checks = [c for c in lab_obj.rubric.checks if c.part == part and not c.spec.hidden]
    names = {str(c.spec.args["name"]) for c in checks if "name" in c.spec.args} & set(lab_obj.spec.names)
    notebook_file = _notebook_file(namespace)
    notebook = load_notebook(notebook_file) if notebook_file else _empty_notebook()
    history = namespace.get("In", [])
    cells = [SanitizedCell(i, src) for i, src in enumerate(history) if isinstance(src, str)]
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as folder:
        spec = {name: lab_obj.export_spec()[name] for name in sorted(names)}
        _autograder_export(spec, folder, namespace)
        ctx = CheckContext(lab=lab_obj, profile="full", artifacts=ArtifactBundle(Path(folder)), notebook=notebook,
                           cells=cells, limits=ExecutionLimits(), cache_dir=None)
        try:
            parts = score(lab_obj.rubric, ctx, public_only=True, parts={part})
        finally:
            ctx.close()
    notes = () if notebook_file or not any(c.spec.check == "discussion" for c in checks) else (
        "Save the notebook and run `autograder check` to check written answers: this kernel does not know its file.",)
    result = Result(lab=lab_obj.id, submission="self-check", source=str(notebook_file or ""), status="graded",
                    score=sum(p.score for p in parts), max_score=sum(p.max_score for p in parts), parts=parts,
                    notes=notes)
    return SelfCheck(result)


def _empty_notebook() -> LoadedNotebook:
    import nbformat

    return LoadedNotebook(path=Path(""), submission="self-check", sha256="", node=nbformat.v4.new_notebook(),
                          notes=())


def check(part: str, lab: str | None = None) -> SelfCheck:
    """Check one part of your notebook now: ``check("mlp")`` in a cell after the exercise."""
    caller = inspect.currentframe()
    namespace = caller.f_back.f_globals if caller is not None and caller.f_back is not None else {}
    try:
        return run_self_check(part, namespace, lab)
    except AutograderError as exc:
        return SelfCheck(None, str(exc))
    except Exception as exc:  # the student must never see a traceback of the toolkit's
        return SelfCheck(None, f"the self-check could not run ({type(exc).__name__}: {exc}); "
                               "run `autograder check` on the saved notebook instead")
