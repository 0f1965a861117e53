"""Rebuild a notebook's definitions (imports, functions, classes) as a module source.

Behaviour checks call a student's class in a separate fresh process. That process
must not re-run the notebook (training, hidden-data-free kernel state), so it gets
only the notebook's top-level definitions, taken from the cells' syntax trees, in
cell order, so a later definition wins as it does in the notebook. Nothing here runs
student code: it only parses it.
"""

from __future__ import annotations

import ast

from autograder.sanitize import SanitizedCell

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_constant_assignment(node: ast.stmt) -> bool:
    """``N_HIDDEN = 32`` style constants that definitions often refer to."""
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    return False


def extract_definitions(cells: list[SanitizedCell]) -> str:
    """The top-level definitions of ``cells`` as one module's source."""
    chunks: list[str] = []
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):
            continue  # that cell's error is reported by execution; its definitions are lost
        kept = [n for n in tree.body if isinstance(n, _KEPT) or _is_constant_assignment(n)]
        if kept:
            chunks.append(f"# cell {cell.index}\n" + "\n".join(ast.unparse(n) for n in kept))
    return "\n\n".join(chunks) + "\n"
