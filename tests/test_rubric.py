"""Rubrics and lab contracts are validated when they load, with the file and line of a mistake."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from autograder.check_registry import get_check, registered_checks
from autograder.course.folder import Course
from autograder.course.labs import load_lab
from autograder.course.rubric import load_rubric
from autograder.errors import RubricError, UnknownLabError

VALID = """\
lab: demo
total: 10
parts:
  - id: data
    title: Data
    checks:
      - {id: x-shape, check: shape, points: 4, args: {name: X, shape: [2, 3]}}
      - id: x-range
        check: range
        points: 6
        args: {name: X, min: 0, max: 1}
"""


def _write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_the_bundled_rubric_loads_with_a_total_of_100(course: Course) -> None:
    rubric = load_rubric(course.rubrics / "keras-digits.yaml")
    assert rubric.lab == "keras-digits"
    assert rubric.spec.total == 100
    assert sum(c.spec.points for c in rubric.checks) == 100
    assert len({c.spec.id for c in rubric.checks}) == len(rubric.checks)
    assert {"X_train", "mlp_model", "cnn_model", "MLPFromScratch", "scratch_mlp"} <= rubric.names()


def test_a_valid_rubric_binds_each_check_to_its_registered_function(tmp_path: Path) -> None:
    rubric = load_rubric(_write(tmp_path, VALID))
    assert [(c.spec.id, c.part, c.registered.name) for c in rubric.checks] == [
        ("x-shape", "data", "shape"),
        ("x-range", "data", "range"),
    ]
    assert rubric.checks[0].registered is get_check("shape")
    assert dict(rubric.checks[0].args)["shape"] == [2, 3]
    assert dict(rubric.checks[1].args) == {"name": "X", "min": 0.0, "max": 1.0}
    assert rubric.names() == {"X"}


def test_an_unknown_check_names_the_file_the_line_and_the_known_checks(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("check: range", "check: ranges"))
    message = _error(path)
    assert f"{path}:8:" in message  # the line of `- id: x-range`
    assert "unknown check 'ranges'" in message
    known = sorted(registered_checks())
    assert {"shape", "range", "accuracy", "discussion"} <= set(known)
    assert ", ".join(known) in message


def test_a_flow_mapping_check_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("check: shape", "check: shapes"))
    message = _error(path)
    assert f"{path}:7:" in message
    assert "unknown check 'shapes'" in message


def test_a_wrong_argument_name_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("{name: X, min: 0", "{nam: X, min: 0"))
    message = _error(path)
    assert f"{path}:8:" in message
    assert "'x-range' (range) has bad arguments" in message
    assert "nam" in message
    assert re.search(r"name\s+Field required", message)


def test_a_wrong_argument_type_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("shape: [2, 3]", "shape: wide"))
    message = _error(path)
    assert f"{path}:7:" in message
    assert "'x-shape' (shape) has bad arguments" in message
    assert "shape" in message


def test_points_that_do_not_add_up_to_the_total_are_refused(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, VALID.replace("total: 10", "total: 100")))
    assert "add up to 10" in message
    assert "total is 100" in message


def test_a_check_id_used_twice_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("id: x-range", "id: x-shape"))
    message = _error(path)
    assert f"{path}:8:" in message
    assert "'x-shape' is used twice" in message


def test_extra_credit_points_are_not_counted_in_the_total(tmp_path: Path) -> None:
    bonus = VALID + (
        "  - id: bonus\n"
        "    title: Bonus\n"
        "    extra_credit: true\n"
        "    checks:\n"
        "      - {id: x-bonus, check: shape, points: 5, args: {name: X, shape: [2, 3]}}\n"
    )
    rubric = load_rubric(_write(tmp_path, bonus))
    assert rubric.spec.total == 10
    assert [c.spec.id for c in rubric.checks if c.part == "bonus"] == ["x-bonus"]
    # Counting the bonus towards the total would be the mistake.
    counted = _error(_write(tmp_path, bonus.replace("total: 10", "total: 15"), "counted.yaml"))
    assert "add up to 10" in counted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lab: demo\ntotal: 10\nparts: [\n", "cannot read the rubric"),
        ("lab: demo\nparts:\n  - id: p\n    title: P\n    checks: []\n    weight: 2\n", "weight"),
        ("!!python/object/apply:os.system ['true']\n", "cannot read the rubric"),
    ],
    ids=["bad-yaml", "unknown-field", "python-tag"],
)
def test_malformed_rubric_files_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(_write(tmp_path, text))


# --- labs: the rubric is checked against the lab's contract -------------------------------------

LAB = """\
id: demo
title: Demo lab
reference: demo_ref
names:
  X: array
discussions:
  why:
    heading: Why does it work?
"""


def _course(tmp_path: Path, rubric: str, lab: str = LAB) -> Course:
    root = tmp_path / "course"
    (root / "assignments" / "demo").mkdir(parents=True)
    (root / "rubrics").mkdir()
    (root / "reference").mkdir()
    (root / "assignments" / "demo" / "lab.yaml").write_text(lab, encoding="utf-8")
    (root / "rubrics" / "demo.yaml").write_text(rubric, encoding="utf-8")
    return Course(root)


def test_a_lab_and_its_rubric_load_together(tmp_path: Path) -> None:
    course = _course(tmp_path, VALID)
    lab = load_lab("demo", course)
    assert lab.id == "demo"
    assert lab.folder == course.assignments / "demo"
    assert lab.export_spec() == {"X": {"kind": "array", "input": None, "dtype": "float32", "variants": {}}}
    assert [c.spec.id for c in lab.rubric.checks] == ["x-shape", "x-range"]


def test_an_unknown_lab_lists_the_known_ones(tmp_path: Path, course: Course) -> None:
    with pytest.raises(UnknownLabError) as info:
        load_lab("nope", course)
    assert "'nope'" in str(info.value)
    assert "keras-digits" in str(info.value)
    with pytest.raises(UnknownLabError, match=r"the labs of this course are: demo$"):
        load_lab("nope", _course(tmp_path, VALID))


def test_a_rubric_reading_a_name_outside_the_contract_is_refused(tmp_path: Path) -> None:
    course = _course(tmp_path, VALID.replace("{name: X, min: 0", "{name: X_scaled, min: 0"))
    with pytest.raises(RubricError) as info:
        load_lab("demo", course)
    assert str(course.rubrics / "demo.yaml") in str(info.value)
    assert "names the lab does not define: X_scaled" in str(info.value)


def test_a_rubric_for_another_lab_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="the rubric is for lab 'other', not 'demo'"):
        load_lab("demo", _course(tmp_path, VALID.replace("lab: demo", "lab: other")))


DISCUSSION = VALID.replace("total: 10", "total: 20") + (
    "  - id: talk\n"
    "    title: Discussion\n"
    "    checks:\n"
    "      - id: why-answer\n"
    "        check: discussion\n"
    "        points: 10\n"
    "        args:\n"
    "          tag: TAG\n"
    "          concepts: [{id: c, description: d, any: [x]}]\n"
)


def test_a_discussion_check_of_a_known_tag_loads(tmp_path: Path) -> None:
    lab = load_lab("demo", _course(tmp_path, DISCUSSION.replace("TAG", "why")))
    assert [c.spec.id for c in lab.rubric.checks][-1] == "why-answer"


def test_a_discussion_check_of_an_unknown_tag_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="whyy"):
        load_lab("demo", _course(tmp_path, DISCUSSION.replace("TAG", "whyy")))


def test_a_misconception_against_an_unknown_concept_is_refused_at_load(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        lab: demo
        total: 4
        parts:
          - id: discussion
            title: Discussion
            checks:
              - id: why
                check: discussion
                points: 4
                args:
                  tag: why
                  concepts:
                    - {id: gap, description: the gap narrows, points: 4, paraphrases: [The gap narrows.]}
                  misconceptions:
                    - {id: wider, description: the gap does not widen, against: [gap, gaps], any: [wider]}
        """)
    message = _error(path)
    assert ":7:" in message and "misconception 'wider' is against gaps" in message and "(gap)" in message
