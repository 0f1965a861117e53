"""Check what a written answer claims about the student's own run against their curves.

A rubric lists the claims worth checking for a question ("the deeper model shows the
larger gap", "overfitting starts around epoch N", "dropout narrowed the gap"). Each is
recognised in the answer by patterns: a claim is about a direction or a number, which
sentence embeddings blur ("narrowed" and "widened" embed alike), so patterns are the
honest tool here. The claim is then compared with the exported training histories.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autograder.artifacts.reader import HistoryData
from autograder.checks.scores import Measure
from autograder.discussion.sentences import split_sentences
from autograder.errors import ConfigError

__all__ = ["Claim", "ClaimCheck", "ModelFacts", "check_claims", "model_key", "read_history", "read_history_option"]


_MODEL_KEY = re.compile(r"^(?P<name>\w+)(?:\[(?P<variant>\w+)\])?$")


class Claim(BaseModel):
    """A claim an answer may make about the student's run, and how to test it.

    ``larger-gap``: ``first`` ends with a larger gap between validation and training loss
    than ``second``. ``higher-metric``: ``first`` ends with a higher ``metric`` than
    ``second``. ``onset-epoch``: the epoch the answer names (the ``epoch`` group of a
    ``says`` pattern) is within ``tolerance`` of the epoch with the lowest validation
    loss of one of ``histories`` (of the model the sentence names last before the epoch,
    where ``names`` tells how students call each model). ``param-count``: every number of
    parameters the answer states (the ``count`` group of each match of ``says``) is the
    parameter count of one of the exported ``models``, within half a percent.
    ``smaller-maps``: ``first``'s last convolution or pooling output has fewer positions
    (height x width) than ``second``'s, in the models the student exported. ``faster``:
    ``first`` trained in less time than ``second``, by the seconds the run recorded for each
    (``timings`` names the exported number of each model); ``margin`` is then a share of
    the slower time (0.2: within 20% is too close to call). ``higher-score``: ``first``
    scores better than ``second`` on the grader's test data ``x``/``y`` by ``measure``;
    ``best-score``: the model the answer names (the ``model`` group of a ``says`` pattern,
    resolved by ``names``: the model of each key as students name it) scores best of the
    keys of ``names``. A model is written ``name`` or ``name[variant]`` (``models[gru]``),
    and for both kinds ``margin`` is a difference in the measure too small to call.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    kind: Literal["larger-gap", "higher-metric", "onset-epoch", "param-count", "smaller-maps", "faster",
                  "higher-score", "best-score"]
    says: list[str] = Field(description="patterns (case-insensitive) of sentences making the claim")
    opposite: list[str] = Field(default_factory=list, description="patterns of the opposite claim")
    first: str = ""
    second: str = ""
    histories: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list, description="param-count: the exported models a count may be "
                              "of (`name` or `name[variant]`)")
    names: dict[str, str] = Field(default_factory=dict, description="onset-epoch, best-score: a pattern for each "
                                  "history's or model's name as students write it ('deep\\w*|two hidden' for "
                                  "the deeper one)")
    timings: dict[str, str] = Field(default_factory=dict, description="faster: for each model, the exported "
                                    "number (an array name of the lab) holding its training time in seconds")
    measure: Measure = Field(default="accuracy", description="higher-score, best-score: how "
                                                 "a model is scored on the grader's test data")
    x: str = Field(default="", description="higher-score, best-score: the lab's test inputs (a data key)")
    y: str = Field(default="", description="higher-score, best-score: the lab's test targets (a data key)")
    metric: str = "val_accuracy"
    tolerance: int = 2
    margin: float = Field(default=0.0, ge=0, description="a difference this small is too close to call either way")
    concept: str = Field(default="", description="the concept whose points a contradicted claim loses")

    @model_validator(mode="after")
    def _scored_on_data(self) -> Claim:
        if self.kind in ("higher-score", "best-score"):
            if not self.x or not self.y:
                raise ValueError(f"claim {self.id!r}: a {self.kind} claim names the test data it is scored on "
                                 "(`x` and `y`, keys of the lab's data)")
            if self.kind == "best-score" and len(self.names) < 2:
                raise ValueError(f"claim {self.id!r}: `names` lists the models compared (at least two), each "
                                 "with a pattern of how students name it")
            if self.kind == "higher-score" and not (self.first and self.second):
                raise ValueError(f"claim {self.id!r}: `first` and `second` name the models compared")
        for model in (*self.scored(), *(self.models if self.kind == "param-count" else ())):
            if not _MODEL_KEY.match(model):
                raise ValueError(f"claim {self.id!r}: {model!r} is not a model: write `name` or `name[variant]`")
        return self

    def scored(self) -> tuple[str, ...]:
        """The models a score claim compares (none for other kinds)."""
        if self.kind == "best-score":
            return tuple(self.names)
        return (self.first, self.second) if self.kind == "higher-score" else ()

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is better than ``b`` under the claim's measure."""
        return a > b if self.measure == "accuracy" else a < b


def model_key(model: str) -> tuple[str, str | None]:
    """The name and variant of a model as a score claim writes it: ``models[gru]`` is ``("models", "gru")``."""
    match = _MODEL_KEY.match(model)
    if match is None:
        raise ConfigError(f"{model!r} is not a model: write `name` or `name[variant]`")
    return match["name"], match["variant"]


ClaimStatus = Literal["agrees", "disagrees", "unchecked"]


@dataclass(frozen=True)
class ClaimCheck:
    id: str
    status: ClaimStatus
    message: str
    concept: str = ""


@dataclass(frozen=True)
class ModelFacts:
    """What the student's run exported about one model, for the claims about it."""

    params: float | None = None
    feature_map: tuple[int, ...] | None = None
    """The spatial size of its last convolution or pooling output (None: it has none)."""
    seconds: float | None = None
    """How long it trained, as the run measured it (None: not recorded)."""
    scores: Mapping[str, float] = field(default_factory=dict)
    """Its score on the grader's test data, by measure (``accuracy``, ``rmse``)."""


_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_MARKUP = re.compile(r"`|\*\*|__|(?<![\w*])\*(?=\w)|(?<=\w)\*(?![\w*])|(?<!\w)_(?=\w)|(?<=\w)_(?!\w)")


def pattern_text(text: str) -> str:
    """``text`` as a rubric's patterns read it: a decimal point ends no sentence, so a
    pattern's ``[^.]*`` spans "the MLP reached 98.6%, the best"; and Markdown's emphasis
    and code marks are dropped, so "the **LSTM** reached the lowest test **RMSE**" reads
    as the words it shows (a ``*`` between digits, as in 28*28, stays)."""
    return _MARKUP.sub("", _DECIMAL_POINT.sub("\u00b7", text))


def _search(patterns: list[str], text: str) -> re.Match[str] | None:
    matches = (re.search(pattern, text, re.IGNORECASE) for pattern in patterns)
    return min((m for m in matches if m), key=lambda m: m.start(), default=None)


def _statement(claim: Claim, sentences: list[str]) -> tuple[re.Match[str], bool] | None:
    """Where the answer first makes the claim (True) or its opposite (False). A sentence
    may match both ("the shallow model overfit more than the deep one: its gap was
    larger"): the match that starts first has the sentence's subject."""
    for sentence in sentences:
        text = pattern_text(sentence)
        said, opposed = _search(claim.says, text), _search(claim.opposite, text)
        if said and (opposed is None or said.start() <= opposed.start()):
            return said, True
        if opposed:
            return opposed, False
    return None


def _final_gap(history: HistoryData) -> float | None:
    """The gap (validation minus training loss) over the last third of the epochs: one
    noisy last epoch must not decide whether a student's claim holds."""
    loss, val = history.metrics.get("loss"), history.metrics.get("val_loss")
    if not loss or not val:
        return None
    n = min(len(loss), len(val))
    tail = max(1, n // 3)
    gaps = [v - t for v, t in zip(val[n - tail : n], loss[n - tail : n], strict=True)]
    gap = sum(gaps) / len(gaps)
    return gap if math.isfinite(gap) else None


def _best_epoch(history: HistoryData) -> int | None:
    val = [v for v in history.metrics.get("val_loss", []) if math.isfinite(v)]
    return val.index(min(val)) + 1 if val else None


def _pair(claim: Claim, histories: Mapping[str, HistoryData]) -> tuple[float, float] | str:
    if claim.first not in histories or claim.second not in histories:
        missing = [n for n in (claim.first, claim.second) if n not in histories]
        return f"`{'`, `'.join(missing)}` was not exported, so the curves could not be compared"
    if claim.kind == "larger-gap":
        a, b = _final_gap(histories[claim.first]), _final_gap(histories[claim.second])
        what = "validation loss"
    else:
        ma, mb = histories[claim.first].metrics.get(claim.metric), histories[claim.second].metrics.get(claim.metric)
        a, b = (ma[-1] if ma else None), (mb[-1] if mb else None)
        what = claim.metric
    if a is None or b is None:
        return f"the histories have no {what}, so the curves could not be compared"
    return a, b


def _named_before(claim: Claim, match: re.Match[str]) -> list[str]:
    """The histories an epoch may be about: of the model named last before it in its sentence
    ("the one-layer model overfits first, from epoch 5, while the deep one ..." is about the
    one-layer model), or all of them where no model is named."""
    before = match.string[: match.start("epoch")]
    last = {name: max((m.end() for m in re.finditer(pattern, before, re.IGNORECASE)), default=-1)
            for name, pattern in claim.names.items()}
    named = max(last, key=last.__getitem__, default=None)
    return [named] if named is not None and last[named] >= 0 else claim.histories


def _counts(claim: Claim, sentences: list[str], facts: Mapping[str, ModelFacts]) -> ClaimCheck | None:
    """Every parameter count the answer states, against the exported models' counts."""
    stated = [m for s in sentences for p in claim.says for m in re.finditer(p, pattern_text(s), re.IGNORECASE)]
    if not stated:
        return None
    known = {n: count for n in claim.models if n in facts and (count := facts[n].params) is not None}
    if not known:
        return ClaimCheck(claim.id, "unchecked", "You state parameter counts; the models were not exported, so "
                          "they could not be compared.", claim.concept)
    seen = []
    for match in stated:
        try:
            count = float(match.group("count").replace(",", ""))
        except (IndexError, ValueError, AttributeError):
            continue
        # Any of the models: which one a count is about is easy to misread ("85,066 parameters
        # in the CNN" names it after), and a count none of them has is the error that matters.
        if not any(abs(count - c) <= max(1.0, 0.005 * c) for c in known.values()):
            if len(known) < len(claim.models):  # it may be the count of a model that was not exported
                missing = ", ".join(f"`{n}`" for n in claim.models if n not in known)
                return ClaimCheck(claim.id, "unchecked", f"You say {count:,.0f} parameters; {missing} was not "
                                  "exported, so it could not be compared.", claim.concept)
            actual = ", ".join(f"`{n}` has {c:,.0f}" for n, c in known.items())
            return ClaimCheck(claim.id, "disagrees", f"You say {count:,.0f} parameters, but your models disagree: "
                              f"{actual}.", claim.concept)
        seen.append(f"{count:,.0f}")
    if not seen:
        return None
    return ClaimCheck(claim.id, "agrees", f"The parameter counts you state ({', '.join(seen)}) are your models'.",
                      claim.concept)


def _stated(claim: Claim, claimed: bool) -> str:
    return claim.description if claimed else f"the opposite of “{claim.description}”"


def _agreement(claim: Claim, claimed: bool, holds: bool, source: str, figures: str) -> ClaimCheck:
    """Whether the answer's claim (or its opposite, where ``claimed`` is False) is what its run shows."""
    if holds == claimed:
        return ClaimCheck(claim.id, "agrees", f"You say {_stated(claim, claimed)}; your {source} agree ({figures}).",
                          claim.concept)
    return ClaimCheck(claim.id, "disagrees", f"You say {_stated(claim, claimed)}, but your {source} disagree "
                      f"({figures}).", claim.concept)


def _maps(claim: Claim, claimed: bool, facts: Mapping[str, ModelFacts]) -> ClaimCheck:
    """Whether ``first``'s last feature map is smaller than ``second``'s, as the answer says."""
    sizes = {n: facts[n].feature_map if n in facts else None for n in (claim.first, claim.second)}
    missing = [n for n, size in sizes.items() if size is None]
    if missing:
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; `{'`, `'.join(missing)}` was "
                          "not exported as a convolutional model, so the feature maps could not be compared.",
                          claim.concept)
    first, second = (math.prod(size or ()) for size in sizes.values())
    figures = ", ".join(f"`{n}` {'x'.join(map(str, size or ()))}" for n, size in sizes.items())
    if first == second:
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; your models' last feature maps "
                          f"are the same size ({figures}).", claim.concept)
    return _agreement(claim, claimed, first < second, "models", f"last feature maps: {figures}")


def _faster(claim: Claim, claimed: bool, facts: Mapping[str, ModelFacts]) -> ClaimCheck:
    """Whether ``first`` trained in less time than ``second``, as the answer says."""
    times = {n: facts[n].seconds if n in facts else None for n in (claim.first, claim.second)}
    missing = [f"`{claim.timings.get(n, n)}`" for n, seconds in times.items() if seconds is None]
    if missing:
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; your run did not record "
                          f"{' and '.join(missing)} (seconds of training), so the times could not be compared.",
                          claim.concept)
    first, second = (seconds or 0.0 for seconds in times.values())
    figures = ", ".join(f"`{n}` {seconds:.1f} s" for n, seconds in times.items())
    # Timings are noisy (a first epoch compiles, another process shares the machine): only a
    # clear difference contradicts an answer.
    if abs(first - second) <= claim.margin * max(first, second):
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; your training times are too "
                          f"close to tell ({figures}).", claim.concept)
    return _agreement(claim, claimed, first < second, "timings", f"training time: {figures}")


def _score_figures(claim: Claim, scores: Mapping[str, float]) -> str:
    return f"test {claim.measure}: " + ", ".join(f"`{n}` {score:.4f}" for n, score in scores.items())


def _scores(claim: Claim, facts: Mapping[str, ModelFacts]) -> tuple[dict[str, float], list[str]]:
    """The compared models' scores, and the models that could not be scored."""
    found = {n: facts[n].scores[claim.measure] for n in claim.scored()
             if n in facts and claim.measure in facts[n].scores}
    return found, [n for n in claim.scored() if n not in found]


def _higher(claim: Claim, claimed: bool, facts: Mapping[str, ModelFacts]) -> ClaimCheck:
    """Whether ``first`` scores better than ``second``, as the answer says."""
    scores, missing = _scores(claim, facts)
    if missing:
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; `{'`, `'.join(missing)}` could "
                          "not be run on the test data, so the results could not be compared.", claim.concept)
    a, b = scores[claim.first], scores[claim.second]
    if abs(a - b) <= claim.margin:
        return ClaimCheck(claim.id, "unchecked", f"You say {_stated(claim, claimed)}; your models' results are too "
                          f"close to tell ({_score_figures(claim, scores)}).", claim.concept)
    return _agreement(claim, claimed, claim.better(a, b), "results", _score_figures(claim, scores))


def _best(claim: Claim, said: str, facts: Mapping[str, ModelFacts]) -> ClaimCheck | None:
    """Whether the model the answer names as the best is the best on the test data."""
    named = next((n for n, pattern in claim.names.items() if re.fullmatch(pattern, said.strip(), re.IGNORECASE)),
                 None)
    if named is None:
        return None
    scores, missing = _scores(claim, facts)
    stated = f"the {said.strip()} did best"
    if missing:
        gone = ", ".join(f"`{n}`" for n in missing)
        return ClaimCheck(claim.id, "unchecked", f"You say {stated}; {gone} could not be run on the test data, so "
                          "the results could not be compared.", claim.concept)
    best = max(scores.values()) if claim.measure == "accuracy" else min(scores.values())
    figures = _score_figures(claim, scores)
    if abs(scores[named] - best) <= claim.margin:
        return ClaimCheck(claim.id, "agrees", f"You say {stated}; your results agree ({figures}).", claim.concept)
    winner = next(n for n, score in scores.items() if score == best)
    return ClaimCheck(claim.id, "disagrees", f"You say {stated}, but in your run `{winner}` did ({figures}).",
                      claim.concept)


def _check(claim: Claim, sentences: list[str], histories: Mapping[str, HistoryData],
           facts: Mapping[str, ModelFacts] | None) -> ClaimCheck | None:
    if claim.kind == "param-count":
        # Without a run (grading a text alone) there is nothing to compare a count with.
        return None if facts is None else _counts(claim, sentences, facts)
    statement = _statement(claim, sentences)
    if statement is None:
        return None
    match, claimed = statement
    if claim.kind in ("smaller-maps", "faster", "higher-score", "best-score"):
        if facts is None:
            return None
        if claim.kind == "best-score":
            return _best(claim, match.groupdict().get("model") or "", facts) if claimed else None
        compare = {"smaller-maps": _maps, "faster": _faster, "higher-score": _higher}[claim.kind]
        return compare(claim, claimed, facts)
    if claim.kind == "onset-epoch":
        try:
            epoch = int(match.group("epoch"))
        except (IndexError, ValueError, TypeError):
            return None
        best = {n: _best_epoch(histories[n]) for n in _named_before(claim, match) if n in histories}
        found = {n: e for n, e in best.items() if e is not None}
        if not found:
            return ClaimCheck(claim.id, "unchecked", f"You name epoch {epoch}; no validation loss was exported "
                              "to compare it with.", claim.concept)
        shown = ", ".join(f"`{n}` at epoch {e}" for n, e in found.items())
        if any(abs(epoch - e) <= claim.tolerance for e in found.values()):
            return ClaimCheck(claim.id, "agrees", f"You name epoch {epoch}; your curves agree (lowest validation "
                              f"loss: {shown}).", claim.concept)
        return ClaimCheck(claim.id, "disagrees", f"You name epoch {epoch}, but your curves disagree: the "
                          f"validation loss was lowest for {shown}.", claim.concept)
    pair = _pair(claim, histories)
    if isinstance(pair, str):
        return ClaimCheck(claim.id, "unchecked", f"You say {claim.description}; {pair}.", claim.concept)
    a, b = pair
    if abs(a - b) <= claim.margin:
        return ClaimCheck(claim.id, "unchecked", f"You say {claim.description}; in your curves the two are too close "
                          f"to tell (`{claim.first}` {a:.3f}, `{claim.second}` {b:.3f}).", claim.concept)
    label = ("the gap (validation minus training loss) over the last epochs" if claim.kind == "larger-gap"
             else f"{claim.metric} at the last epoch")
    return _agreement(claim, claimed, a > b, "curves", f"{label}: `{claim.first}` {a:.3f}, `{claim.second}` {b:.3f}")


def check_claims(text: str, claims: list[Claim], histories: Mapping[str, HistoryData],
                 facts: Mapping[str, ModelFacts] | None = None) -> tuple[ClaimCheck, ...]:
    """The claims ``text`` makes, each compared with ``histories`` and ``facts`` (what the run
    exported about each model, by name; None: no run, so claims about models are not
    checked); those it does not make are left out."""
    sentences = split_sentences(text)
    checked = (_check(claim, sentences, histories, facts) for claim in claims)
    return tuple(c for c in checked if c is not None)


def read_history(path: Path) -> HistoryData:
    """A history from a JSON file: as the kernel exports it (``{"history": {...}}``) or just the metrics."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a training history: {exc}") from exc
    metrics = raw.get("history", raw) if isinstance(raw, dict) else None
    if not isinstance(metrics, dict) or not all(isinstance(v, list) for v in metrics.values()):
        raise ConfigError(f"{path}: a history is a JSON object of metric name -> list of numbers "
                          '(e.g. {"loss": [...], "val_loss": [...]})')
    return HistoryData({str(k): [float(x) for x in v] for k, v in metrics.items()}, {})


def read_history_option(option: str) -> tuple[str, HistoryData]:
    """``NAME=FILE.json`` from the command line."""
    name, sep, file = option.partition("=")
    if not sep or not name or not file:
        raise ConfigError(f"--history {option!r}: write it as NAME=FILE.json, e.g. history_mnist=hist.json")
    return name, read_history(Path(file))
