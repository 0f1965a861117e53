"""Rebuild a notebook's definitions (imports, functions, classes) as a module source.

Behaviour checks call a student's class in a separate fresh process. That process
must not re-run the notebook (it would retrain everything), so it gets only the
top-level definitions, taken from the cells' syntax trees in cell order (a later
definition wins, as in the notebook), and of those only what the wanted names need:
a NumPy class does not drag in the notebook's ``import tensorflow`` (seconds).
Nothing here runs student code: it only parses it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from autograder.notebook.sanitize import SanitizedCell

_DEFINITIONS = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True)
class _Statement:
    cell: int
    node: ast.stmt
    binds: frozenset[str]
    uses: frozenset[str]


def _is_constant_assignment(node: ast.stmt) -> bool:
    """``N_HIDDEN = 32`` style constants that definitions often refer to."""
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    return False


def _binds(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, _DEFINITIONS):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _statements(cells: Iterable[SanitizedCell]) -> list[_Statement]:
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()
    found = []
    for cell in cells:
        try:
            # Magics the sanitizer kept (``%matplotlib inline``) become plain calls, which are
            # dropped below, instead of making the whole cell, and its definitions, unparseable.
            tree = ast.parse(transformer.transform_cell(cell.source))
        except (SyntaxError, ValueError):
            continue  # that cell's error is reported by execution; its definitions are lost
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom | _DEFINITIONS) or _is_constant_assignment(node):
                uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                found.append(_Statement(cell.index, node, frozenset(_binds(node)), frozenset(uses)))
    return found


def extract_definitions(cells: Iterable[SanitizedCell], wanted: Iterable[str] | None = None) -> str:
    """The top-level definitions of ``cells`` as one module's source; with ``wanted``,
    only those the wanted names need, directly or through each other."""
    statements = _statements(cells)
    if wanted is not None:
        needed: set[str] = set()
        todo = list(wanted)
        while todo:
            name = todo.pop()
            if name in needed:
                continue
            needed.add(name)
            for statement in statements:
                if name in statement.binds:
                    todo.extend(statement.uses - needed)
        statements = [s for s in statements if s.binds & needed]
    chunks: dict[int, list[str]] = {}
    for statement in statements:
        chunks.setdefault(statement.cell, []).append(ast.unparse(statement.node))
    return "\n\n".join(f"# cell {cell}\n" + "\n".join(lines) for cell, lines in chunks.items()) + "\n"
