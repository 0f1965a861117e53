"""Finding a discussion answer: by its tag, or under its question's heading when the tag was lost."""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

from autograder.course.labs import DiscussionSpec
from autograder.notebook.answers import find_answer

SPEC = DiscussionSpec(heading="Which model wins, and why?")
QUESTION = "## 4. Which model wins, and why?\nCompare the three models."


def _md(source: str, *tags: str) -> NotebookNode:
    cell: NotebookNode = nbformat.v4.new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})
    return cell


def _nb(*cells: NotebookNode) -> NotebookNode:
    nb: NotebookNode = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_the_tagged_cell_is_the_answer_without_its_solution_markers() -> None:
    nb = _nb(
        _md(QUESTION),
        _md("<!-- BEGIN SOLUTION -->\nThe CNN wins: it sees neighbouring pixels.\n<!-- END SOLUTION -->", "compare"),
        nbformat.v4.new_code_cell("x = 1"),
    )
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "tag"
    assert answer.tag == "compare"
    assert answer.text == "The CNN wins: it sees neighbouring pixels."
    assert answer.cells == (1,)
    assert answer.note == ""
    assert answer.question == QUESTION


def test_a_tagged_code_cell_is_not_an_answer() -> None:
    nb = _nb(nbformat.v4.new_code_cell("# The CNN wins", metadata={"tags": ["compare"]}))
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "none"


def test_without_the_tag_the_markdown_under_the_heading_is_the_answer() -> None:
    nb = _nb(
        _md("# Lab"),
        _md(QUESTION),
        _md("The CNN wins."),
        _md("It shares weights across the image."),
        _md("## 5. Next question\nSomething else."),
        _md("Not part of the answer."),
    )
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "heading"
    assert answer.text == "The CNN wins.\n\nIt shares weights across the image."
    assert answer.cells == (2, 3)
    assert "`compare`" in answer.note
    assert "lost its tag" in answer.note
    assert SPEC.heading in answer.note
    assert answer.question == QUESTION


def test_the_answer_stops_at_the_next_code_cell() -> None:
    nb = _nb(_md(QUESTION), _md("<!-- BEGIN SOLUTION -->\nThe CNN."), nbformat.v4.new_code_cell("x"), _md("later"))
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "heading"
    assert answer.text == "The CNN."
    assert answer.cells == (1,)


def test_an_answer_in_the_heading_cell_itself_is_found() -> None:
    source = "### Which model wins, and why?\nThe CNN wins, thanks to its\nconvolutions."
    nb = _nb(_md(source), nbformat.v4.new_code_cell("x = 1"))
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "heading"
    assert answer.text == "The CNN wins, thanks to its\nconvolutions."
    assert answer.cells == (0,)
    assert "`compare`" in answer.note
    # The question and the answer share a cell, so the question cannot be told apart.
    assert answer.question == ""


def test_the_heading_matches_despite_case_and_punctuation() -> None:
    nb = _nb(_md("#### which MODEL wins and why"), _md("The CNN."))
    assert find_answer(nb, "compare", SPEC).text == "The CNN."


def test_nothing_found_is_reported_as_none() -> None:
    nb = _nb(_md("# Lab"), _md("The CNN wins."), nbformat.v4.new_code_cell("x = 1"))
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "none"
    assert answer.text == ""
    assert answer.cells == ()
    assert answer.note == ""


def test_two_tagged_cells_are_read_together_with_a_note() -> None:
    nb = _nb(_md(QUESTION), _md("First part.", "compare"), nbformat.v4.new_code_cell("x"), _md("Second.", "compare"))
    answer = find_answer(nb, "compare", SPEC)
    assert answer.found_by == "tag"
    assert answer.text == "First part.\n\nSecond."
    assert answer.cells == (1, 3)
    assert "2 cells" in answer.note
    assert "`compare`" in answer.note
