"""Feedback reports (HTML and Markdown) and their learning-curve charts, from hand-built results."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from autograder.errors import ConfigError
from autograder.reporting.curves import learning_curve_svg
from autograder.reporting.feedback import (
    LISTED_CELLS,
    REPORTS_ENV_VAR,
    md_cell,
    md_code,
    render_html,
    render_markdown,
    render_summary,
    report_view,
    template_environment,
    terminal_text,
)
from autograder.result import (
    CellRecord,
    CheckResult,
    Environment,
    ExecutionRecord,
    FailedImport,
    PartResult,
    Result,
    SkippedLine,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
SCRIPT = "<script>alert('pwned')</script>"
HIDDEN_EVIDENCE = "SECRET-THRESHOLD-0.987"
ARCH_TABLE = {
    "columns": ["layer", "expected", "found"],
    "rows": [
        ["flatten", "Flatten", "Flatten"],
        ["dense", "Dense(128, relu)", "Dense(64, relu)"],
        ["output", "Dense(10, softmax)", None],
    ],
    "row_ok": [True, False, False],
}
HISTORY = {
    "loss": [2.3, 1.1, 0.7, 0.5],
    "val_loss": [2.0, 1.2, 0.9, 0.85],
    "accuracy": [0.3, 0.6, 0.8, 0.9],
    "val_accuracy": [0.35, 0.58, 0.75, 0.8],
}


def check(name: str, **overrides: Any) -> CheckResult:
    fields: dict[str, Any] = {
        "name": name,
        "check": "params",
        "status": "passed",
        "points": 1.0,
        "max_points": 1.0,
        "message": f"message of {name}",
    }
    fields.update(overrides)
    return CheckResult(**fields)


def make_result(**overrides: Any) -> Result:
    """A graded submission with two parts, a hidden check, an architecture diff and a run record."""
    fields: dict[str, Any] = {
        "lab": "keras-digits",
        "submission": "alice",
        "source": "submissions/alice.ipynb",
        "sha256": "ab" * 32,
        "status": "graded",
        "score": 2.5,
        "max_score": 8.0,
        "parts": (
            PartResult(
                id="ex1",
                title="Build the model",
                score=2.5,
                max_score=6.0,
                checks=(
                    check("model-params", evidence={"expected": 101770, "found": 101770}),
                    check(
                        "model-arch",
                        check="architecture",
                        status="failed",
                        points=0.5,
                        max_points=2.0,
                        message=f"Layer 2 differs {SCRIPT}",
                        evidence={"table": ARCH_TABLE, "hint": "compare units"},
                    ),
                    check(
                        "test-accuracy",
                        check="accuracy",
                        status="failed",
                        points=0.0,
                        max_points=3.0,
                        message="Test accuracy is below the threshold.",
                        evidence={"threshold": HIDDEN_EVIDENCE},
                        hidden=True,
                    ),
                ),
            ),
            PartResult(
                id="ex2",
                title="Train it",
                score=0.0,
                max_score=2.0,
                checks=(
                    check(
                        "history-defined",
                        check="history",
                        status="error",
                        points=0.0,
                        max_points=2.0,
                        message="No variable a | b named `history`; keep what model.fit returns.",
                        evidence={"names": ["model", "x_train"]},
                        needs_review=True,
                    ),
                ),
            ),
        ),
        "notes": ("Cell 2 took 42 s; fewer epochs would do.",),
        "execution": ExecutionRecord(
            cells=(
                CellRecord(index=1, status="ok", seconds=0.25),
                CellRecord(index=2, status="ok", seconds=42.0),
                CellRecord(index=3, status="error", seconds=0.1, error="NameError: name 'histroy' is not defined"),
                CellRecord(index=4, status="not-run", seconds=0.0),
            ),
            seconds=43.0,
            skipped_lines=(
                SkippedLine(cell=1, line=1, text="!pip install tensorflow", reason="shell commands are not run"),
            ),
        ),
        "curves": {"model.fit": HISTORY},
        "environment": Environment(
            python="3.11.9",
            packages={"keras": "3.15.1", "tensorflow-cpu": "2.21.0"},
            platform="Linux-x86_64",
            cpu="AMD EPYC 9654",
            device="cpu",
            gpus=("NVIDIA H100",),
        ),
        "seed": 1234,
        "profile": "quick",
        "grader_version": "0.1.0-test",
    }
    fields.update(overrides)
    return Result(**fields)


def table_rows(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<tr class="{css_class}">(.*?)</tr>', html, re.S)


# --- HTML ---------------------------------------------------------------------------


def test_html_shows_every_part_and_check_message() -> None:
    result = make_result()
    html = render_html(result)
    for part in result.parts:
        assert part.title in html
        assert f'id="part-{part.id}"' in html
        for c in part.checks:
            assert c.name in html
    assert "message of model-params" in html
    assert "Test accuracy is below the threshold." in html
    assert "2.5 / 8" in html and "31.2%" in html


def test_html_escapes_student_text() -> None:
    html = render_html(make_result(message=SCRIPT, notes=(SCRIPT,)))
    assert "<script" not in html  # the page itself has no script either
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html


def test_html_shows_hidden_check_but_not_its_evidence() -> None:
    result = make_result()
    html = render_html(result)
    assert HIDDEN_EVIDENCE not in html
    hidden = report_view(result).parts[0].checks[2]
    assert hidden.hidden and hidden.evidence == () and hidden.table is None
    assert HIDDEN_EVIDENCE not in render_markdown(result)
    assert "Test accuracy is below the threshold." in html
    assert "0 / 3" in html
    # The visible checks keep theirs, so the absence above is the hiding, not a lost key/value list.
    assert "101770" in html and "compare units" in html


def test_html_draws_one_svg_per_history() -> None:
    html = render_html(make_result(curves={"model.fit": HISTORY, "second run": {"loss": [1.0, 0.5]}}))
    assert html.count("<svg") == 2
    assert "Learning curves" in html


def test_html_has_no_svg_without_curves() -> None:
    html = render_html(make_result(curves={}))
    assert "<svg" not in html
    assert "Learning curves" not in html


def test_html_escapes_curve_names_inside_the_svg() -> None:
    html = render_html(make_result(curves={"<b>run</b>": {"loss": [1.0]}}))
    assert "<b>run</b>" not in html
    assert "&lt;b&gt;run&lt;/b&gt;" in html


def test_html_renders_architecture_diff_table() -> None:
    html = render_html(make_result())
    for column in ARCH_TABLE["columns"]:
        assert f"<th>{column}</th>" in html
    assert "<th>match</th>" in html
    mismatches = table_rows(html, "mismatch")
    matches = table_rows(html, "match")
    assert len(mismatches) == 2
    assert len(matches) == 1
    assert "Dense(64, relu)" in mismatches[0]
    assert "—" in mismatches[1]  # a None cell: the layer is missing
    assert "Flatten" in matches[0]
    # The other evidence of the same check is still listed.
    assert "<dt>hint</dt>" in html


def test_html_table_without_row_flags_marks_no_rows() -> None:
    table = {"columns": ["a", "b"], "rows": [[1, "x"], [2, "y"]]}
    result = make_result(
        parts=(PartResult(id="p", title="P", score=1, max_score=1, checks=(check("c", evidence={"table": table}),)),)
    )
    html = render_html(result)
    assert "<th>a</th>" in html and "<th>match</th>" not in html
    assert not table_rows(html, "mismatch") and not table_rows(html, "match")


def test_malformed_table_evidence_is_still_shown() -> None:
    table = {"columns": ["a", "b"], "rows": [[1]], "row_ok": [True]}  # a short row
    result = make_result(
        parts=(PartResult(id="p", title="P", score=1, max_score=1, checks=(check("c", evidence={"table": table}),)),)
    )
    view = report_view(result).parts[0].checks[0]
    assert view.table is None
    assert [item.key for item in view.evidence] == ["table"]
    assert '"rows": [[1]]' in view.evidence[0].value
    assert "<dt>table</dt>" in render_html(result)


def test_long_evidence_is_shortened() -> None:
    result = make_result(
        parts=(
            PartResult(
                id="p", title="P", score=1, max_score=1, checks=(check("c", evidence={"found": list(range(1000))}),)
            ),
        )
    )
    value = report_view(result).parts[0].checks[0].evidence[0].value
    assert value.startswith("[0, 1, 2") and value.endswith("…")
    assert len(value) < 500


def test_html_shows_execution_and_environment() -> None:
    html = render_html(make_result())
    assert "!pip install tensorflow" in html
    assert "NameError: name &#39;histroy&#39; is not defined" in html
    assert "43.0 s" in html and "42.0 s" in html
    for text in ("3.11.9", "keras 3.15.1", "AMD EPYC 9654", "NVIDIA H100", "quick", "1234", "0.1.0-test"):
        assert text in html
    assert "needs review" in html


def test_reports_render_a_submission_that_never_ran() -> None:
    result = make_result(
        status="invalid-notebook",
        message="The file is not a notebook: open it in Jupyter and save it again.",
        score=0.0,
        parts=(),
        execution=None,
        curves={},
        environment=None,
        notes=(),
    )
    html = render_html(result)
    markdown = render_markdown(result)
    for text in (html, markdown):
        assert "invalid-notebook" in text
        assert "open it in Jupyter" in text
        assert "needs review" not in text
    assert "How your notebook ran" not in html


def _many_cells(failed: int, ok: int = 5000, skipped: int = 0) -> Result:
    cells = [CellRecord(index=i, status="ok", seconds=0.01) for i in range(ok)]
    cells += [CellRecord(index=ok + i, status="error", seconds=0.01, error=f"NameError: cell {ok + i}")
              for i in range(failed)]
    lines = tuple(SkippedLine(cell=i, line=1, text="!ls", reason="shell") for i in range(skipped))
    return make_result(execution=ExecutionRecord(cells=tuple(cells), seconds=60.0, skipped_lines=lines))


def test_a_report_of_thousands_of_cells_counts_them_and_lists_only_some_failures() -> None:
    result = _many_cells(failed=LISTED_CELLS + 70, skipped=LISTED_CELLS + 3)
    html, markdown, summary = render_html(result), render_markdown(result), render_summary(result)
    for text in (html, markdown):
        assert f"{5000 + LISTED_CELLS + 70} code cells in 60.0 s (5000 ok, {LISTED_CELLS + 70} error)" in text
        assert "and 70 more cells that failed" in text and "and 3 more lines not run" in text
    assert html.count("NameError: cell") == LISTED_CELLS
    assert markdown.count("NameError: cell") == LISTED_CELLS
    assert summary.count("NameError: cell") == LISTED_CELLS and "... and 70 more cells that failed" in summary
    assert len(html) < 100_000


def test_a_failed_import_is_shown_as_the_courses_problem() -> None:
    execution = ExecutionRecord(
        cells=(CellRecord(index=1, status="error", seconds=0.1,
                          error="ModuleNotFoundError: No module named 'pandas'"),),
        seconds=0.1,
        failed_imports=(FailedImport(cell=1, module="pandas", line=3, text="import pandas as pd", resumed=True),
                        FailedImport(cell=4, module="plotnine")),
    )
    result = make_result(parts=(), score=0.0, execution=execution)
    assert result.needs_review
    html, markdown = render_html(result), render_markdown(result)
    assert "Imports the grading environment could not satisfy" in html
    assert "<code>import pandas as pd</code></td><td>run without this import</td>" in html
    assert "| 1 | 3 | `pandas` | `import pandas as pd` | run without this import |" in markdown
    assert "| 4 | — | `plotnine` | — | not run |" in markdown
    for text in (html, markdown):
        assert "needs review" in text and "the course's to fix, not yours" in text


# --- Markdown -----------------------------------------------------------------------


def test_markdown_has_score_line_and_a_row_per_check() -> None:
    result = make_result()
    markdown = render_markdown(result)
    assert "**Score: 2.5 / 8 (31.2%)** · status: graded" in markdown
    lines = markdown.splitlines()
    for part in result.parts:
        for c in part.checks:
            rows = [line for line in lines if line.startswith("| ") and f"`{c.name}`" in line]
            assert len(rows) == 1, c.name
            assert rows[0].endswith(" |")
    assert "<svg" not in markdown


def test_markdown_escapes_pipes_in_cells() -> None:
    markdown = render_markdown(make_result())
    assert "No variable a \\| b named" in markdown
    assert "a | b" not in markdown
    row = next(line for line in markdown.splitlines() if "`history-defined`" in line)
    # Five cells: a pipe in student text did not add one.
    assert len(re.findall(r"(?<!\\)\|", row)) == 6


def test_markdown_renders_architecture_diff_and_run() -> None:
    markdown = render_markdown(make_result())
    assert "| layer | expected | found | match |" in markdown
    assert "| `dense` | `Dense(128, relu)` | `Dense(64, relu)` | ✘ differs |" in markdown
    assert "| `flatten` | `Flatten` | `Flatten` | ✔ |" in markdown
    assert "`!pip install tensorflow`" in markdown
    assert "| 3 | error | 0.10 s | `NameError: name 'histroy' is not defined` |" in markdown


def test_md_filters() -> None:
    assert md_cell("a | b\nc") == "a \\| b c"
    assert md_code("x = 1") == "`x = 1`"
    assert md_code("use `fit`") == "`` use `fit` ``"
    assert md_code("a ``b`` c") == "```a ``b`` c```"
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("") == ""


# --- terminal summary ---------------------------------------------------------------


def test_summary_has_score_checks_and_failed_cells() -> None:
    result = make_result()
    summary = render_summary(result)
    assert summary.splitlines()[0] == "keras-digits / alice: 2.5 / 8 (31.2%), graded, needs review"
    for part in result.parts:
        for c in part.checks:
            assert sum(f" {c.name} " in line for line in summary.splitlines()) == 1, c.name
    assert "cell 3 error: NameError" in summary
    assert HIDDEN_EVIDENCE not in summary


def test_summary_cannot_drive_the_terminal() -> None:
    summary = render_summary(make_result(message="\x1b]0;owned\x07\x1b[31mred\x1b[0m"))
    assert "\x1b" not in summary and "\x07" not in summary
    assert "red" in summary
    assert terminal_text("a\tb\nc\x1b[1mbold\x1b[0m\x00") == "a\tb\ncbold\N{REPLACEMENT CHARACTER}"


# --- templates and their environment ------------------------------------------------


def test_strict_undefined_catches_missing_variables(tmp_path: Path) -> None:
    for html in (True, False):
        env = template_environment(html=html, folder=tmp_path)
        with pytest.raises(UndefinedError):
            env.from_string("{{ missing }}").render()
        with pytest.raises(UndefinedError):
            env.from_string("{{ report.no_such_field }}").render(report=report_view(make_result()))


def test_only_html_autoescapes(tmp_path: Path) -> None:
    assert template_environment(html=True, folder=tmp_path).from_string("{{ x }}").render(x="<i>") == "&lt;i&gt;"
    assert template_environment(html=False, folder=tmp_path).from_string("{{ x }}").render(x="<i>") == "<i>"


def test_templates_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "feedback.md.j2").write_text("custom {{ report.submission }}", encoding="utf-8")
    monkeypatch.setenv(REPORTS_ENV_VAR, str(tmp_path))
    assert render_markdown(make_result()) == "custom alice"
    with pytest.raises(ConfigError, match=REPORTS_ENV_VAR):
        render_html(make_result())


def test_rendering_is_a_pure_function_of_the_result() -> None:
    result = make_result()
    before = result.to_json()
    assert render_html(result) == render_html(result)
    assert render_markdown(result) == render_markdown(result)
    assert result.to_json() == before


# --- learning curves ----------------------------------------------------------------


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on markup that is not well-formed


def panels(root: ET.Element) -> list[str]:
    return [g.attrib["data-metric"] for g in root.iter(f"{SVG_NS}g")]


def test_curve_has_loss_and_accuracy_panels_with_a_legend() -> None:
    root = parse_svg(learning_curve_svg(HISTORY, "model.fit"))
    assert panels(root) == ["loss", "accuracy"]
    assert len(list(root.iter(f"{SVG_NS}polyline"))) == 4
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    for key in HISTORY:
        assert key in texts
    assert "epoch" in texts


def test_curve_orders_loss_first_and_skips_learning_rate() -> None:
    root = parse_svg(learning_curve_svg({"accuracy": [0.5, 0.6], "lr": [0.1, 0.1], "val_loss": [1.0, 0.9]}, "t"))
    assert panels(root) == ["loss", "accuracy"]


@pytest.mark.parametrize(
    "history",
    [
        {},
        {"loss": []},
        {"loss": [0.5]},
        {"loss": [math.nan, math.inf, -math.inf]},
        {"loss": [1e308, -1e308, 1.0]},
        {"loss": [3.0, 3.0, 3.0]},
        {"loss": [1e-9, 2e-9]},
        {"mae": [4.0, 3.0], "val_mae": [5.0, math.nan]},
    ],
)
def test_curve_survives_odd_histories(history: dict[str, list[float]]) -> None:
    svg = learning_curve_svg(history, "odd")
    root = parse_svg(svg)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert root.find(f"{SVG_NS}title") is not None


def test_curve_gaps_at_non_finite_values() -> None:
    root = parse_svg(learning_curve_svg({"loss": [1.0, 0.9, math.nan, 0.5, math.inf, 0.3, 0.2]}, "gaps"))
    lines = list(root.iter(f"{SVG_NS}polyline"))
    assert [len(line.attrib["points"].split()) for line in lines] == [2, 2]
    assert len(list(root.iter(f"{SVG_NS}circle"))) == 5  # every finite epoch, the lone 0.5 included


def test_curve_without_finite_values_says_so() -> None:
    root = parse_svg(learning_curve_svg({"loss": [math.nan]}, "t"))
    assert not list(root.iter(f"{SVG_NS}polyline"))
    assert "no finite values to plot" in [t.text for t in root.iter(f"{SVG_NS}text")]


def test_curve_escapes_text() -> None:
    svg = learning_curve_svg({"<i>loss</i>": [1.0, 0.5]}, "</svg><script>x</script>")
    assert "<script>" not in svg and "<i>" not in svg
    parse_svg(svg)
