"""The sentence embedder: the course's phrases are encoded once for every process."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.discussion.embedding import Embedder, load_embedder


def test_the_courses_phrases_are_kept_on_disk_and_students_answers_never(tmp_path: Path) -> None:
    loaded = load_embedder()
    assert isinstance(loaded, Embedder), loaded
    first = Embedder(loaded.model, disk=tmp_path)
    phrase = first.encode(["the validation loss rises while the training loss falls"], course=True)
    first.encode(["my answer: the model overfits after epoch 5"])
    assert len(list(tmp_path.glob("*.npy"))) == 1
    # A new process's embedder (no model at hand, so it could not encode) reads the phrase back.
    again = Embedder(None, disk=tmp_path).encode(["the validation loss rises while the training loss falls"],
                                                  course=True)
    np.testing.assert_array_equal(again, phrase)
