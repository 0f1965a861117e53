"""The result document: what flags a submission for review, and reading older result.json files."""

from __future__ import annotations

import json

from autograder.grading.pipeline import _execution_notes
from autograder.result import CellRecord, ExecutionRecord, FailedImport, Result

PANDAS = FailedImport(cell=1, module="pandas", line=3, text="import pandas as pd", resumed=True)


def _result(*failed: FailedImport) -> Result:
    execution = ExecutionRecord(cells=(CellRecord(index=1, status="error", seconds=0.5,
                                                  error="ModuleNotFoundError: No module named 'pandas'"),),
                                seconds=0.5, failed_imports=failed)
    return Result(lab="keras-cnn-regularisation", submission="chioma", source="chioma.ipynb", status="graded",
                  score=10.0, max_score=10.0, parts=(), execution=execution)


def test_a_module_missing_where_the_grader_runs_flags_the_submission_for_review() -> None:
    assert not _result().needs_review
    flagged = _result(PANDAS, PANDAS.model_copy(update={"cell": 4, "resumed": False}))
    assert flagged.needs_review
    assert flagged.execution is not None and flagged.execution.missing_modules == ("pandas",)


def test_the_notes_name_the_module_and_say_the_rest_of_the_cell_ran() -> None:
    notes = _execution_notes(_result(PANDAS, FailedImport(cell=1, module="plotnine", line=5)).execution)  # type: ignore[arg-type]
    assert ("Cell 1 imports `pandas`, which the grading environment does not have. If the course's notebooks use "
            "it, that is the course's to fix, not yours: this submission is flagged for a person to review.") in notes
    assert any("imports `plotnine`" in n for n in notes)
    assert ("Cell 1 stopped at `import pandas as pd` (line 3); the grader ran the rest of that cell without it, so "
            "the lines after it still ran.") in notes


def test_a_result_written_before_failed_imports_were_recorded_still_reads() -> None:
    data = json.loads(_result(PANDAS).to_json())
    del data["execution"]["failed_imports"]
    old = Result.model_validate(data)
    assert old.execution is not None and old.execution.failed_imports == () and not old.needs_review
