"""How a written answer is cut into sentences: one splitter for the concepts it makes and
the claims it states, so both read the same sentences."""

from __future__ import annotations

import re

# After . ! ? or ; at a paragraph break, or before a list item. A single line break is
# only Markdown wrapping; a colon introduces the rest of its point ("gap train/val: ~0.15
# without dropout, ~0 with it"), so neither ends a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?;])\s+|\n\s*\n|\n\s*(?=[-*+]\s|\d+[.)]\s)")


def split_sentences(text: str) -> list[str]:
    """The sentences, list items and paragraphs of ``text``, each on one line (bullets kept)."""
    return [" ".join(part.split()) for part in _BOUNDARY.split(text) if part.strip()]
