"""Load what checking a lab will need while the lab's first notebook is still running.

A grading process otherwise pays for these right after its first kernel finishes:
Keras (importing TensorFlow, ~5 s) to read exported models, and the sentence-embedding
model (~3 s) for discussion answers. The kernel is another process and the grader mostly
waits on it meanwhile, so loading them on a side thread takes them off the batch's
critical path; measured on keras-digits, a worker's first submission went from ~35 s
to ~26 s, the others take ~25 s (``benchmarks/batch.py``).

Nothing here is needed for correctness: the checks load the same things on first use
(each loader is safe to call from two threads), and a failure here is left for them to
report.
"""

from __future__ import annotations

import contextlib
import threading

from autograder.course.labs import Lab
from autograder.discussion.embedding import load_embedder
from autograder.quiet import import_keras

_started: set[str] = set()
_lock = threading.Lock()


def _load(keras: bool, embedder: bool) -> None:
    with contextlib.suppress(Exception):
        if keras:
            import_keras()
        if embedder:
            load_embedder()


def warm_up(lab: Lab) -> threading.Thread | None:
    """Start loading, once per process and lab, what grading ``lab`` needs; the thread, if started."""
    keras = any(lab.kind(name) == "keras-model" for name in lab.spec.names)
    embedder = any(c.spec.check == "discussion" and c.spec.args.get("method", "embedding") == "embedding"
                   for c in lab.rubric.checks)
    with _lock:
        if lab.id in _started or not (keras or embedder):
            return None
        _started.add(lab.id)
    thread = threading.Thread(target=_load, args=(keras, embedder), name="autograder-warm-up", daemon=True)
    thread.start()
    return thread
