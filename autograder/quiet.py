"""Keep the frameworks' start-up lines out of the grader's terminal.

Importing TensorFlow prints from C++ straight to the process's stderr (absl's "before
InitializeLog" warning, oneDNN's notice, cpu_feature_guard), several lines per grading
process among the grader's own progress and summaries. The grader imports Keras through
:func:`import_keras`, which silences them; the student's kernel is another process with
an environment of its own, so what it prints still goes to the execution record.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

_lock = threading.Lock()


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null meanwhile: C++ code writes there, not to ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras() -> ModuleType:
    """``import keras`` (and TensorFlow under it) without their C++ start-up lines.

    Only the import itself is silenced, a few seconds once per process; TensorFlow's later
    C++ logging is limited to errors (``TF_CPP_MIN_LOG_LEVEL``, unless already set).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        silenced = contextlib.nullcontext() if "tensorflow" in sys.modules else _stderr_silenced()
        with silenced:
            return importlib.import_module("keras")
