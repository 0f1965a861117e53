"""What is derived from a course's files is kept on the course object, not in module
globals: a new course starts empty, and a changed file is read again."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import nbformat

from autograder.course.folder import Course, find_course
from autograder.course.labs import load_lab
from autograder.course.memo import CourseMemo
from autograder.discussion.check import question_text
from tests.submissions import FIXTURE_COURSE


def test_a_value_is_derived_once_while_its_files_are_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "rubric.yaml"
    source.write_text("one")
    memo, calls = CourseMemo(), []

    def derive() -> str:
        calls.append(1)
        return source.read_text()

    assert memo.get("k", [source], derive) == memo.get("k", [source], derive) == "one"
    assert len(calls) == 1
    source.write_text("two")
    os.utime(source, ns=(1, 1))  # a different stamp even within the clock's resolution
    assert memo.get("k", [source], derive) == "two" and len(calls) == 2


def test_each_course_object_has_its_own_memo_and_a_pickled_one_starts_empty(tmp_path: Path) -> None:
    one, two = Course(tmp_path), Course(tmp_path)
    one.memo.get("k", [], lambda: 1)
    assert len(one.memo) == 1 and len(two.memo) == 0
    assert one == two  # the memo is not part of what a course is
    assert len(pickle.loads(pickle.dumps(one)).memo) == 0


def test_an_edited_question_is_read_again_by_the_same_course(tmp_path: Path) -> None:
    # The review server keeps one course for hours; an instructor may fix a question meanwhile.
    root = tmp_path / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    lab = load_lab("tiny", find_course(root))
    tag = next(iter(lab.spec.discussions))
    before = question_text(lab, tag)
    nb = nbformat.read(lab.solution, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace(before, before + " Explain with numbers.") if before else cell.source
    nbformat.write(nb, lab.solution)
    os.utime(lab.solution, ns=(1, 1))
    assert before and question_text(lab, tag) == before + " Explain with numbers."
