"""Skip the shell and magic lines that cannot work while grading.

Course notebooks carry habits from Colab: ``!pip install`` (or a bare ``pip install``,
which IPython runs as ``%pip``), ``%tensorboard``, ``!jupyter nbconvert``. In the sandbox
they would fail, hang or reach the network, so they are replaced by ``pass`` (indentation
kept, so blocks stay valid) and recorded, and the report tells the student which lines
were not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.result import SkippedLine

_PACKAGE_MAGICS = {"pip", "conda", "mamba", "micromamba", "uv"}
_SHELL_CELL_MAGICS = {"bash", "sh", "script", "system", "sx", "perl", "ruby"}

_MAGIC = re.compile(
    r"^(?P<indent>\s*)(?:(?P<assign>[\w.\[\]'\" ,]+=\s*))?(?P<sigil>!!?|%%?)(?P<name>[\w.-]*)(?P<rest>.*)$"
)
# IPython runs a line like `pip install tensorflow` as `%pip` (automagic), as the course's
# notebooks have it; as Python it is a syntax error, so nothing valid is mistaken for one
# (a keyword after the name, `pip in names`, is Python).
_AUTOMAGIC = re.compile(
    r"^(?P<indent>[ \t]*)(?P<name>pip|conda|mamba|micromamba|uv)(?P<rest>[ \t]+"
    r"(?!(?:in|is|and|or|not|if|else|for)\b)-*[A-Za-z].*)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class SanitizedCell:
    index: int
    source: str


def _reason(sigil: str, name: str, rest: str) -> str | None:
    """Why a line must be skipped, or None to keep it."""
    if sigil.startswith("!"):
        command = (name + rest).strip().split()
        tool = command[0] if command else "shell"
        if tool in {"pip", "pip3", "conda", "apt", "apt-get"} or "pip install" in rest:
            return "package installs do not run while grading; the grader provides the packages"
        return f"shell commands (`!{tool}`) do not run while grading"
    if name in _PACKAGE_MAGICS:
        return "package installs do not run while grading; the grader provides the packages"
    if name == "tensorboard" or (name == "load_ext" and "tensorboard" in rest):
        return "TensorBoard needs a server and a browser; it does not run while grading"
    if name == "load_ext" and "autoreload" in rest:
        return None
    if name in {"run", "load", "load_ext", "sx", "system", "bash", "sh", "script"}:
        return f"%{name} reaches outside the notebook; it does not run while grading"
    return None


def _logical_lines(source: str) -> list[tuple[int, int]]:
    """(first, last) physical line numbers, from 1, of each logical line, as IPython sees
    them: a line inside brackets or after a backslash is not the start of a command."""
    from IPython.core.inputtransformer2 import make_tokens_by_line

    spans: list[tuple[int, int]] = []
    try:
        token_lines = make_tokens_by_line(source.splitlines(keepends=True))
    except Exception:  # unparseable input: every physical line on its own
        return [(n, n) for n in range(1, source.count("\n") + 2)]
    for tokens in token_lines:
        real = [t for t in tokens if t.string.strip()]
        if real:
            spans.append((real[0].start[0], max(real[-1].end[0], tokens[-1].start[0])))
    return spans


def sanitize_cell(index: int, source: str) -> tuple[SanitizedCell, list[SkippedLine]]:
    """Return the cell with unrunnable lines replaced, and what was skipped."""
    lines = source.split("\n")
    skipped: list[SkippedLine] = []
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split()[0] if len(first) > 2 else ""
        if name in _SHELL_CELL_MAGICS:
            reason = f"%%{name} cells run shell code; they do not run while grading"
            skipped.append(SkippedLine(cell=index, line=1, text=first, reason=reason))
            return SanitizedCell(index, "pass"), skipped
    if "!" not in source and "%" not in source and not _AUTOMAGIC.search(source):
        return SanitizedCell(index, source), skipped
    out = list(lines)
    for start, end in _logical_lines(source):
        if (start == 1 and first.startswith("%%")) or start > len(lines):
            continue
        line = lines[start - 1]
        match = _MAGIC.match(line)
        if match is not None:
            sigil, why = match["sigil"], _reason(match["sigil"], match["name"], match["rest"])
        else:
            match = _AUTOMAGIC.match(line)
            sigil, why = "", _reason("%", match["name"], match["rest"]) if match else None
        if match is None or why is None:
            continue
        text = "\n".join(lines[start - 1 : end]).strip()
        skipped.append(SkippedLine(cell=index, line=start, text=text, reason=why))
        out[start - 1] = f"{match['indent']}pass  # skipped by the autograder: {sigil}{match['name']}"
        for continued in range(start, min(end, len(lines))):
            out[continued] = ""  # the command's continuation lines go with it
    return SanitizedCell(index, "\n".join(out)), skipped
