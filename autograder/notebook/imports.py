"""What a notebook cell imports, read from its source without running it.

Two places need it: the lab check (:mod:`autograder.execution.packages`), which makes sure the
grading environment provides every package a lab's own notebooks import, and the
executor, which runs the rest of a student's cell again when one of its imports failed
because the grading environment lacks the package.

Cells are IPython, not Python (``%matplotlib inline``), so a cell is read as IPython
turns it into Python before running it; line numbers are those of that Python, which
IPython keeps equal to the cell's own. A cell that still does not parse has no imports
that can be read. Reading never imports anything: :func:`installed` only searches the
import path for a top-level name.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass

__all__ = [
    "ALWAYS_IMPORTABLE",
    "ImportStatement",
    "cell_python",
    "failed_import",
    "import_statements",
    "imported_packages",
    "installed",
    "missing_module",
    "rest_of_cell",
    "standard_library",
]

ALWAYS_IMPORTABLE = frozenset({"autograder", "__future__"})
"""Importable in every kernel without being a course package: the grader's own package
(bound into the sandbox for the self-check cells) and the compiler's directives."""

_NO_MODULE = re.compile(r"No module named '([^']+)'")


@dataclass(frozen=True)
class ImportStatement:
    """One ``import`` or ``from ... import`` statement of a cell."""

    line: int
    """First line of the statement, from 1."""
    end_line: int
    end_column: int
    """Characters (not bytes) of ``end_line`` up to the statement's end."""
    modules: tuple[str, ...]
    """The modules it imports, dotted: ``("os", "datetime")``, ``("tensorflow.keras",)``."""
    text: str
    top_level: bool
    """A statement of the cell itself, not inside a function, class, loop or ``try``."""

    @property
    def packages(self) -> tuple[str, ...]:
        """The top-level packages it imports: ``tensorflow`` for ``from tensorflow.keras import layers``."""
        return tuple(dict.fromkeys(m.split(".")[0] for m in self.modules))

    def imports(self, module: str) -> bool:
        """Whether running this statement imports ``module`` (or a package above or below it)."""
        return any(m == module or m.startswith(module + ".") or module.startswith(m + ".") for m in self.modules)


def cell_python(source: str) -> str | None:
    """The Python that IPython runs for a cell, or None when IPython cannot transform it."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return str(TransformerManager().transform_cell(source))
    except Exception:  # IPython raises several types on malformed input; such a cell has no readable imports
        return None


def import_statements(source: str) -> tuple[ImportStatement, ...]:
    """Every absolute import statement of a cell, in source order (none when it does not parse)."""
    python = cell_python(source)
    if python is None:
        return ()
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return ()
    lines = python.split("\n")
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = tuple(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = (node.module,)
        else:  # a relative import names a module of the notebook's own package: nothing to provide
            continue
        end_line = node.end_lineno or node.lineno
        end_bytes = node.end_col_offset or 0
        end_column = len(lines[end_line - 1].encode("utf-8")[:end_bytes].decode("utf-8", errors="ignore"))
        found.append(ImportStatement(
            line=node.lineno, end_line=end_line, end_column=end_column, modules=modules,
            text=ast.get_source_segment(python, node) or "", top_level=id(node) in top,
        ))
    return tuple(sorted(found, key=lambda s: (s.line, s.end_column)))


def imported_packages(source: str) -> tuple[str, ...]:
    """The top-level packages a cell imports, in order of first import."""
    return tuple(dict.fromkeys(p for s in import_statements(source) for p in s.packages))


def standard_library(package: str) -> bool:
    """Whether ``package`` ships with Python itself (``os``, ``warnings``, ``datetime``)."""
    return package in sys.stdlib_module_names


def installed(package: str) -> bool:
    """Whether a top-level ``package`` can be imported here; searches the path, imports nothing.

    The kernel runs this interpreter with the same site-packages (see autograder/execution/sandbox.py),
    so what the grader finds here the student's kernel finds too.
    """
    if not package.isidentifier():
        return False
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken finder on the path: as good as missing
        return False


def missing_module(error: str) -> str | None:
    """The module a cell could not import, from its recorded error
    (``ModuleNotFoundError: No module named 'pandas'``), or None for any other error.

    ``ImportError: cannot import name ...`` is a name missing from an installed package
    (another version), not a missing package, so it is not one.
    """
    kind, _, message = error.partition(":")
    if kind.strip() not in ("ModuleNotFoundError", "ImportError"):
        return None
    match = _NO_MODULE.search(message)
    return match.group(1) if match else None


def rest_of_cell(python: str, statement: ImportStatement) -> str:
    """The part of a cell after ``statement`` (a top-level statement of ``python``), with the
    lines before it made comments so that line numbers in errors stay the cell's own (IPython
    drops leading blank lines); "" when nothing but comments follows it."""
    lines = python.split("\n")
    tail = lines[statement.end_line - 1][statement.end_column:].lstrip(" \t;") or "#"
    rest = "#\n" * (statement.end_line - 1) + "\n".join([tail, *lines[statement.end_line:]])
    try:
        return rest if ast.parse(rest).body else ""
    except SyntaxError:  # not expected of what follows a top-level statement; the kernel will say what is wrong
        return rest


def failed_import(
    statements: tuple[ImportStatement, ...], module: str, line: int | None, after: tuple[int, int] = (0, 0)
) -> ImportStatement | None:
    """The top-level statement of a cell whose import of ``module`` failed, or None when
    that is not one statement for sure (an import inside a function or a ``try``).

    ``line``: the cell's line the error came from (None where the traceback did not say);
    ``after``: (line, column) the cell already ran up to, when its rest ran again.
    """
    candidates = [s for s in statements if s.top_level and (s.end_line, s.end_column) > after]
    if line is not None:
        candidates = [s for s in candidates if s.line <= line <= s.end_line]
        if len(candidates) == 1:  # the failing statement, whatever it imports (a package's missing dependency)
            return candidates[0]
    # Of several statements importing it, the first ran first and failed (the rest never ran).
    return next((s for s in candidates if s.imports(module)), None)
