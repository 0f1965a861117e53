"""What is derived from a course's files, kept on the course object that read them.

Other labs' discussion questions, the question texts of a solution notebook, the concept
classifiers fitted on a rubric's example statements: each is costly to derive and asked
for by every submission. A :class:`CourseMemo` rides on each :class:`~autograder.course.folder.Course`,
so whoever loaded the course (a batch worker, the review server, a test) holds the cache
and a new course starts empty; an entry is derived again when a file it came from
changed (an instructor editing a rubric while the review server runs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


FileVersions = tuple[tuple[str, int, int] | None, ...]


def file_versions(files: Iterable[Path]) -> FileVersions:
    """Which version of each file (modified time and size; None: absent): what a memo of
    something read from them is keyed by, so a changed file is read again."""
    stats = ((f, f.stat()) if f.is_file() else (f, None) for f in files)
    return tuple((str(f), st.st_mtime_ns, st.st_size) if st else None for f, st in stats)


class CourseMemo:
    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[Any, Any]] = {}
        self._lock = threading.RLock()  # the warm-up thread fits classifiers while a grading starts

    def get(self, key: Hashable, files: Iterable[Path], derive: Callable[[], T]) -> T:
        """The value under ``key``, derived once while ``files`` are unchanged."""
        stamp = file_versions(files)
        with self._lock:
            kept = self._values.get(key)
            if kept is not None and kept[0] == stamp:
                value: T = kept[1]
                return value
            value = derive()
            self._values[key] = (stamp, value)
            return value

    def __len__(self) -> int:
        return len(self._values)

    # A course crosses to worker processes by pickling: its memo starts empty there.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
