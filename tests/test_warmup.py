"""Loading what a lab's checks need ahead of them, each in a fresh process (as a batch worker is)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

# Each test warms a lab up in a fresh interpreter (TensorFlow and the embedding model: seconds).
pytestmark = pytest.mark.slow

COURSE = REPO / "tests" / "fixtures" / "course"


def _warm(lab: str, course: Path | None = None) -> str:
    """Warm ``lab`` up in a new interpreter; what it holds then: "keras? embedder-type second-call"."""
    code = f"""
        import sys
        from pathlib import Path
        from autograder.discussion import embedding
        from autograder.course.folder import find_course
        from autograder.course.labs import load_lab
        from autograder.grading.warmup import warm_up
        lab = load_lab({lab!r}, find_course(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
        assert "keras" not in sys.modules and embedding._LOADED is None
        thread = warm_up(lab)
        if thread is not None:
            thread.join()
        print("keras" in sys.modules, type(embedding._LOADED).__name__, warm_up(lab))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *([str(course)] if course else [])],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_keras_lab_with_discussions_gets_keras_and_the_embedding_model_once() -> None:
    assert _warm("keras-digits") == "True Embedder None"


def test_a_numpy_lab_gets_the_embedding_model_only() -> None:
    assert _warm("tiny", COURSE) == "False Embedder None"


def test_a_numpy_lab_graded_by_patterns_loads_nothing(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    rubric = course / "rubrics" / "tiny.yaml"
    rubric.write_text(rubric.read_text().replace("tag: why\n", "tag: why\n          method: regex\n"))
    assert _warm("tiny", course) == "False NoneType None"
