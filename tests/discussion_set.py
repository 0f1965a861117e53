"""The labelled discussion answers (tests/discussion_answers/*.yaml), for tests and the benchmark.

Each file holds one question's answers with the points a careful instructor gives them,
and `run`: the student's curves the answers' claims are checked against. The set is
split in two halves, stratified by question and kind: thresholds are tuned on `tune`
only, and `held-out` shows whether they carry over.

Each folder beside them holds a further part, named after the folder, written later by
authors who never saw the rubrics, the grader or any other answer, from the questions and
their point schemes alone (over rounds of rubric work the held-out half's misses had been
read, so it no longer shows how new answers fare): `fresh-dev` was then read to improve
the grader, `fresh-test` never: it is the figure for answers nobody has tuned on. Don't
read its texts to revise rubrics or the grader. `fresh-test-2` was written the same way, one
author per question, to double what the never-read figure stands on; it is never read either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from autograder.artifacts.reader import HistoryData

FOLDER = Path(__file__).resolve().parent / "discussion_answers"
NEVER_READ = frozenset({"fresh-test", "fresh-test-2"})
"""The parts only ever measured: no test or tuning looks at their texts."""


@dataclass(frozen=True)
class LabelledAnswer:
    id: str
    lab: str
    tag: str
    kind: str
    points: float
    max_points: float
    text: str
    half: str
    histories: dict[str, HistoryData]


def load_answers(folder: Path = FOLDER) -> list[LabelledAnswer]:
    """The answers of ``folder`` in their halves, and of each folder in it as a part of that name."""
    parts = sorted(p for p in folder.iterdir() if p.is_dir())
    return _load(folder) + [a for part in parts for a in _load(part, part=part.name)]


def _load(folder: Path, *, part: str = "") -> list[LabelledAnswer]:
    answers: list[LabelledAnswer] = []
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        run = {name: HistoryData({k: [float(x) for x in v] for k, v in metrics.items()}, {})
               for name, metrics in (raw.get("run") or {}).items()}
        seen: dict[str, int] = {}
        for item in raw["answers"]:
            # Alternate halves within each kind of answer, so both halves hold every kind.
            n = seen.get(item["kind"], 0)
            seen[item["kind"]] = n + 1
            half = part or ("tune" if n % 2 == 0 else "held-out")
            answers.append(LabelledAnswer(
                id=item["id"], lab=raw["lab"], tag=raw["tag"], kind=item["kind"], points=float(item["points"]),
                max_points=float(raw["max_points"]), text=item["text"], half=half, histories=run,
            ))
    return answers
