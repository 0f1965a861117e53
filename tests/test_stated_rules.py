"""The rules a discussion answer is graded by are stated in the question, from the rubric."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from autograder.authoring.bundle import write_student_bundle
from autograder.authoring.release import make_template, state_solution_rules
from autograder.authoring.stated_rules import StatedRules, lab_rules, state_rules
from autograder.course.folder import Course
from autograder.course.labs import DiscussionSpec, load_lab
from autograder.discussion.check import discussion_rubric, grade_text
from autograder.errors import ConfigError
from autograder.notebook.answers import RULES_LINE, find_answer, question_cell

SPEC = DiscussionSpec(heading="Which model wins, and why?")
RULES = {"compare": StatedRules("compare", SPEC, 25, 400, 0.2)}
LABS = ["keras-digits", "keras-mnist-mlp", "keras-cnn-regularisation", "pytorch-fundamentals",
        "pytorch-sequences-attention"]


def _solution() -> NotebookNode:
    nb: NotebookNode = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Lab"),
        nbformat.v4.new_markdown_cell("### Question: Which model wins, and why?\n\nAnswer below (about 80 words).\n"),
        nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->\nThe CNN, because...\n<!-- END SOLUTION -->",
                                      metadata={"tags": ["compare"]}),
    ]
    return nb


def _limits(line: str) -> tuple[int, int, int]:
    found = re.search(r"(\d+)–(\d+) words\. .* loses (\d+)% of", line)
    assert found, line
    return int(found[1]), int(found[2]), int(found[3])


def test_the_rules_line_says_the_limits_and_what_breaking_them_costs() -> None:
    line = RULES["compare"].line
    assert RULES_LINE.fullmatch(line)
    assert _limits(line) == (25, 400, 20)
    assert "list of terms" in line and "question copied" in line
    free = StatedRules("compare", SPEC, 10, 50, 0.0).line
    assert "10–50 words" in free and "a person reviews it" in free and "%" not in free


def test_the_template_states_the_rules_under_the_question_and_keeps_the_placeholder() -> None:
    template = make_template(_solution(), rules=RULES)
    question, answer = template.cells[1].source, template.cells[2].source
    assert question == ("### Question: Which model wins, and why?\n\nAnswer below (about 80 words).\n\n"
                        + RULES["compare"].line)
    assert answer == "YOUR ANSWER HERE"
    # Stating them again changes nothing; a stale line is replaced, not added to.
    assert state_rules(template, RULES) == []
    newer = {"compare": StatedRules("compare", SPEC, 30, 300, 0.1)}
    assert state_rules(template, newer) == ["compare"]
    assert len(RULES_LINE.findall(template.cells[1].source)) == 1
    assert _limits(template.cells[1].source) == (30, 300, 10)
    # Without rules, a template keeps the lines its solution has.
    assert make_template(template).cells[1].source == template.cells[1].source


def test_rules_for_a_question_whose_heading_is_missing_are_refused() -> None:
    lost = {"compare": StatedRules("compare", DiscussionSpec(heading="Which optimiser?"), 25, 400, 0.2)}
    with pytest.raises(ConfigError, match=r"heading “Which optimiser\?”.*lab\.yaml"):
        make_template(_solution(), rules=lost)


def test_a_rules_line_copied_into_the_answer_is_not_part_of_it() -> None:
    template = make_template(_solution(), rules=RULES)
    cell = template.cells[2]
    cell.source = f"{RULES['compare'].line}\n\nYOUR ANSWER HERE"
    assert find_answer(template, "compare", SPEC).text == "YOUR ANSWER HERE"
    cell.source = f"The CNN wins: it sees neighbouring pixels.\n\n{RULES['compare'].line}"
    assert find_answer(template, "compare", SPEC).text == "The CNN wins: it sees neighbouring pixels."
    # Nor when the tag was lost and the answer is read under the heading.
    cell.metadata["tags"] = []
    assert find_answer(template, "compare", SPEC).text == "The CNN wins: it sees neighbouring pixels."


@pytest.mark.parametrize("lab_id", LABS)
def test_every_question_states_its_rubrics_word_limits(course: Course, lab_id: str) -> None:
    lab = load_lab(lab_id, course)
    solution = nbformat.read(lab.solution, as_version=4)
    template = nbformat.read(lab.template, as_version=4)
    assert lab.spec.discussions
    for tag, spec in lab.spec.discussions.items():
        rubric, _ = discussion_rubric(lab, tag)
        for name, notebook in (("template", template), ("solution", solution)):
            index = question_cell(notebook.cells, spec)
            assert index is not None, (name, tag)
            lines = RULES_LINE.findall(notebook.cells[index].source)
            assert len(lines) == 1, (name, tag, "run `autograder release --lab " + lab_id + "`")
            assert _limits(lines[0]) == (rubric.min_words, rubric.max_words, round(100 * rubric.length_penalty)), (
                name, tag, "run `autograder release --lab " + lab_id + "`")
        # The blank template's answer is still the placeholder, and grades as one.
        answer = find_answer(template, tag, spec)
        assert answer.text == spec.placeholder
        assert grade_text(lab, tag, answer.text).verdict == "placeholder"
    # The committed template is the one release writes from the rubric.
    fresh = make_template(solution, rules=lab_rules(lab))
    assert nbformat.writes(fresh) == nbformat.writes(template)


def test_release_brings_a_solutions_rules_up_to_date_and_writes_nothing_else(course: Course, tmp_path: Path) -> None:
    lab = load_lab("keras-mnist-mlp", course)
    path = tmp_path / "solution.ipynb"
    shutil.copyfile(lab.solution, path)
    rules = lab_rules(lab)
    assert state_solution_rules(path, rules) == []
    assert path.read_bytes() == lab.solution.read_bytes()
    stale = {tag: StatedRules(tag, r.spec, 1, 2, 0.5) for tag, r in rules.items()}
    assert state_solution_rules(path, stale) == ["baseline-limits", "when-to-stop", "dropout-effect"]
    assert path.read_bytes() != lab.solution.read_bytes()
    assert state_solution_rules(path, rules) == list(rules)
    assert path.read_bytes() == lab.solution.read_bytes()


def test_the_student_bundles_template_states_the_rubrics_rules(course: Course, tmp_path: Path) -> None:
    lab = load_lab("keras-digits", course)
    write_student_bundle(lab, tmp_path)
    shipped = tmp_path / "assignments" / "keras-digits" / "template.ipynb"
    assert shipped.read_bytes() == lab.template.read_bytes()
    # A template left behind by a rubric change is brought up to date on the way out.
    rubric = tmp_path / "changed.yaml"
    rubric.write_text(course.rubrics.joinpath("keras-digits.yaml").read_text().replace("max_words: 400",
                                                                                       "max_words: 250"))
    changed = load_lab("keras-digits", course, rubric_path=rubric)
    write_student_bundle(changed, tmp_path / "changed")
    template = nbformat.read(tmp_path / "changed" / "assignments" / "keras-digits" / "template.ipynb", as_version=4)
    question = template.cells[question_cell(template.cells, lab.spec.discussions["compare-models"]) or 0].source
    assert _limits(RULES_LINE.findall(question)[0]) == (25, 250, 20)
