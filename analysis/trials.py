"""Load, validate and score the trial table (the contract: :mod:`analysis.trial_contract`).

The trial table comes from the site or from anywhere (a CSV someone edited by hand), so
every column is checked and coerced here once, and every later module can trust the
types. A problem the user can fix raises :class:`AnalysisError` naming the column and the
first bad row.

Scoring (columns added per trial) is the response mode's own ``score``
(``analysis/response_modes/``), by the mode's :class:`~analysis.response_modes.Decision`:

- ``ITEMS`` (mark_outliers, keypress): each shown item is one decision;
  ``hits`` = marked outliers, ``false_alarms`` = marked non-outliers, ``misses`` = unmarked
  outliers, ``correct_rejections`` = unmarked non-outliers. ``correct`` = the marked set
  equals the true set.
- ``CHOICE`` (m_afc): the chosen item is "marked": hit if it is the outlier (``correct``), otherwise
  one false alarm and a miss; the other m-1 items count as correct rejections/non-choices.
- ``PRESENCE`` (yes_no): one presence decision per trial (hit/miss on outlier-present trials, false
  alarm/correct rejection on absent ones).
- ``n_signal`` = hits + misses and ``n_noise`` = false_alarms + correct_rejections are the
  denominators of the hit and false-alarm rates; ``log_rt`` = ln(rt_ms) of answered trials.

Timeouts (:attr:`TrialOptions.timeouts`): ``"miss"`` (default) scores a timed-out trial as
no response: every outlier is a miss, nothing is a false alarm, unmarked non-outliers are
correct rejections in item-level modes (an absent yes/no trial contributes no cell), and
``correct`` is False; its RT is not used (``log_rt`` is NaN). ``"exclude"`` drops
timed-out trials from the analysed set (they are still counted per participant).

Practice trials are never analysed. Attention-check trials are scored like any trial,
flagged ``attention_failed`` when not correct, and then removed from the analysed set;
participants failing more than :attr:`TrialOptions.max_attention_failures` of them
(default 1, i.e. two or more failures) are excluded entirely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.response_modes import RESPONSE_MODES, Decision
from analysis.trial_contract import DERIVED, Column, written_columns

#: Every column the contract requires, in contract order (:mod:`analysis.trial_contract`).
REQUIRED_COLUMNS = tuple(c.name for c in written_columns() if c.required)
#: Columns :func:`score_trials` adds.
SCORE_COLUMNS = tuple(c.name for c in DERIVED)
_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}


@dataclass(frozen=True)
class TrialOptions:
    """How timeouts and attention checks are handled (see the module docstring)."""

    timeouts: str = "miss"
    max_attention_failures: int | None = 1

    def __post_init__(self) -> None:
        if self.timeouts not in ("miss", "exclude"):
            raise AnalysisError(f"timeouts must be 'miss' or 'exclude', not {self.timeouts!r}")
        if self.max_attention_failures is not None and self.max_attention_failures < 0:
            raise AnalysisError("max_attention_failures must be >= 0 or None (keep everyone)")


@dataclass(frozen=True)
class TrialTable:
    """A validated, scored trial table split into what is analysed and what is not.

    ``all_trials``: every row, scored, with ``participant_excluded``; ``trials``: the rows
    every statistic uses (no practice, no attention checks, no excluded participants, no
    trials with a ``timing_flag``, and no timeouts when ``options.timeouts == "exclude"``);
    ``participants``: one row per participant with trial, timeout, timing-flag and
    attention-check counts and the exclusion reason; ``timing_excluded``: per encoding,
    the trials that would have been analysed but were left out for their timing flag.
    """

    all_trials: pd.DataFrame
    trials: pd.DataFrame
    participants: pd.DataFrame
    options: TrialOptions
    timing_excluded: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))


def _bad(column: str, frame: pd.DataFrame, mask: np.ndarray, expected: str) -> AnalysisError:
    position = int(np.flatnonzero(mask)[0])
    value = frame[column].iloc[position]
    return AnalysisError(
        f"trial table column {column!r}: expected {expected}, got {value!r} in row "
        f"{position} (0-based data row; participant {frame['participant'].iloc[position]!r}); "
        f"{int(mask.sum())} bad row(s) in all. Fix the values and load the table again."
    )


def _as_bool(frame: pd.DataFrame, column: str, *, allow_missing: bool = False) -> pd.Series:
    values = frame[column]
    if values.dtype == bool:
        return values
    missing = values.isna().to_numpy()
    present = values[~missing]
    lookup = {}
    for value in pd.unique(present.to_numpy(dtype=object)):  # a handful of distinct values
        text = str(value).strip().lower()
        lookup[value] = True if text in _TRUE else (False if text in _FALSE else None)
    parsed = pd.Series(None, index=values.index, dtype=object)
    parsed[~missing] = present.map(lookup).to_numpy(dtype=object)
    blank = missing.copy()
    blank[~missing] = [str(v).strip() == "" for v in present.to_numpy(dtype=object)]
    known = parsed.notna().to_numpy() | (allow_missing & blank)
    if not known.all():
        raise _bad(column, frame, ~known, "true/false (or 1/0)")
    return parsed if allow_missing else parsed.astype(bool)


def _as_number(
    frame: pd.DataFrame, column: str, *, integer: bool, allow_missing: bool = False
) -> pd.Series:
    """Numbers; a nullable count keeps its gaps (pandas ``Int64``), so a table that was
    loaded once (its absent optional counts added empty) loads again."""
    numbers = pd.to_numeric(frame[column], errors="coerce")
    bad = numbers.isna() & frame[column].notna()
    if integer:
        bad |= numbers.notna() & (numbers % 1 != 0)
        if not allow_missing:
            bad |= numbers.isna()
    if bad.any():
        raise _bad(column, frame, bad.to_numpy(), "an integer" if integer else "a number")
    if not integer:
        return numbers.astype(float)
    return numbers.astype("Int64") if allow_missing else numbers.astype(np.int64)


def _as_index_list(frame: pd.DataFrame, column: str, *, empty_ok: bool) -> pd.Series:
    """JSON lists of distinct item indices; with ``empty_ok`` an empty cell means []."""

    def parse(value: object) -> list[int] | None:
        if empty_ok and not isinstance(value, list | tuple | np.ndarray) and pd.isna(value):
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except json.JSONDecodeError:
                return None
        if isinstance(value, tuple | np.ndarray):
            value = list(value)
        if not isinstance(value, list):
            return None
        if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value):
            return None
        items = [int(v) for v in value]
        return items if min(items, default=0) >= 0 and len(set(items)) == len(items) else None

    values = frame[column]
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        # Few distinct lists ("[3]", "[]") repeat over 100k trials: parse each once.
        parsed_text = {text: parse(text) for text in pd.unique(values.to_numpy(dtype=object))}
        parsed = values.map(parsed_text).astype(object)
    else:
        parsed = values.map(parse)
    bad = parsed.isna()
    if bad.any():
        raise _bad(column, frame, bad.to_numpy(), 'a JSON list of distinct item indices ("[3, 7]")')
    return parsed


def _as_text(frame: pd.DataFrame, column: str, *, empty_ok: bool) -> pd.Series:
    text = frame[column].astype(str)
    if empty_ok:  # an empty cell stays empty (None), not the text "nan"
        missing = frame[column].isna() | (text.str.strip() == "")
        return text.astype(object).where(~missing, None)
    if not empty_ok:
        blank = [value for value in pd.unique(text.to_numpy(dtype=object)) if not value.strip()]
        empty = frame[column].isna() | text.isin(blank)
        if empty.any():
            raise _bad(column, frame, empty.to_numpy(), "a non-empty text value")
    return text.astype(object)


def _coerce(frame: pd.DataFrame, column: Column) -> pd.Series:
    """The values of ``column`` in the type its kind promises (or an error naming a row)."""
    name, empty_ok = column.name, column.nullable
    if column.kind == "text":
        return _as_text(frame, name, empty_ok=empty_ok)
    if column.kind in ("flag", "optional_flag"):
        return _as_bool(frame, name, allow_missing=column.kind == "optional_flag")
    if column.kind in ("count", "number"):
        return _as_number(frame, name, integer=column.kind == "count", allow_missing=empty_ok)
    if column.kind == "items":
        return _as_index_list(frame, name, empty_ok=empty_ok)
    if column.kind == "time":
        return pd.to_datetime(frame[name], utc=True, errors="coerce", format="ISO8601")
    return frame[name]  # json: kept as its text


def _require(frame: pd.DataFrame, columns: Iterable[Column]) -> None:
    required = [c.name for c in columns if c.required]
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise AnalysisError(
            f"trial table lacks column(s) {', '.join(missing)}; the trial-table contract "
            f"needs: {', '.join(required)}"
        )


def _apply(frame: pd.DataFrame, columns: Iterable[Column]) -> None:
    """Coerce ``columns`` in place by kind; an absent optional one is added empty."""
    for column in columns:
        if column.name not in frame.columns:
            frame[column.name] = None
        elif column.kind != "json":
            frame[column.name] = _coerce(frame, column)


def table_columns(frame: pd.DataFrame, extra: Iterable[Column] | None = None) -> tuple[Column, ...]:
    """The contract of this table: the core columns plus ``extra``, by default the
    ``columns`` that the registered response modes found in its ``response_mode`` declare."""
    if extra is None:
        names = pd.unique(frame["response_mode"]) if "response_mode" in frame.columns else []
        extra = [
            c for name in names if name in RESPONSE_MODES for c in RESPONSE_MODES[name].columns
        ]
    return written_columns(extra)


def read_trials(
    source: pd.DataFrame | str | Path, *, extra: Iterable[Column] | None = None
) -> pd.DataFrame:
    """Read a trial table (DataFrame or CSV path) and return a validated, typed copy.

    Every contract column (:func:`analysis.trial_contract.written_columns`, plus ``extra``:
    what the table's response modes add; by default the ``columns`` the registered modes
    found in the table declare) is checked and coerced by its kind; an optional one that
    is absent is added empty. Other columns pass through untouched. Raises
    :class:`AnalysisError` for a missing file, missing columns, wrong types (naming the
    column and first bad row), an unknown response mode, inconsistent answers, or an
    empty table.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise AnalysisError(f"trial table {path} not found: give the path of a trials CSV")
        core = written_columns(() if extra is None else extra)
        as_text = {c.name: str for c in core if c.kind in ("text", "items", "json")}
        try:
            frame = pd.read_csv(path, dtype=as_text)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise AnalysisError(f"cannot read trial table {path} as CSV: {error}") from None
    contract = table_columns(frame, extra)
    _require(frame, contract)
    if frame.empty:
        raise AnalysisError("trial table has no rows: there is nothing to analyse")
    frame = frame.reset_index(drop=True)
    _apply(frame, contract)
    _flag_missing_rt(frame)
    _check_consistency(frame)
    return frame


def _flag_missing_rt(frame: pd.DataFrame) -> None:
    """An answered trial without a positive RT (older data: the site stored them until
    issue 15) is flagged ``rt_missing``: left out of the analysis, not fatal."""
    bad = ~frame["timed_out"] & ~(frame["rt_ms"] > 0)
    unflagged = frame["timing_flag"].isna()
    frame.loc[bad & unflagged, "timing_flag"] = "rt_missing"


def _check_consistency(frame: pd.DataFrame) -> None:
    mode = frame["response_mode"]
    unknown = ~mode.isin(list(RESPONSE_MODES))
    if unknown.any():
        raise _bad("response_mode", frame, unknown.to_numpy(), " | ".join(RESPONSE_MODES))
    decision = mode.map({name: m.decision for name, m in RESPONSE_MODES.items()})
    choice, presence = decision == Decision.CHOICE, decision == Decision.PRESENCE
    answered = ~frame["timed_out"]
    n_true = frame["true_outliers"].map(len)
    n_selected = frame["selected"].map(len)
    checks = [
        ("n_items", frame["n_items"] < 1, "at least 1 item"),
        ("true_outliers", n_true > frame["n_items"], "no more outliers than n_items"),
        ("selected", n_selected > frame["n_items"], "no more selected items than n_items"),
        ("selected", ~answered & (n_selected > 0), "[] on timed-out trials"),
        ("true_outliers", choice & (n_true != 1), "exactly one outlier (forced choice)"),
        ("selected", choice & answered & (n_selected != 1), "one choice (forced choice)"),
        (
            "said_present",
            presence & answered & frame["said_present"].isna(),
            "true/false on answered presence (yes/no) trials",
        ),
    ]
    for column, bad, expected in checks:
        if bad.any():
            raise _bad(column, frame, bad.to_numpy(), expected)


def score_trials(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the :data:`SCORE_COLUMNS` to a table from :func:`read_trials` (returns a copy)."""
    frame = frame.copy()
    scores = np.zeros((len(frame), 5), dtype=np.int64)  # hits, fa, misses, cr, correct
    columns = ("response_mode", "true_outliers", "selected", "said_present")
    # Plain numpy object arrays: iterating pandas string arrays row by row is 5x slower.
    rows = zip(
        *(frame[c].to_numpy(dtype=object) for c in columns),
        frame["n_items"].to_numpy().tolist(),
        frame["timed_out"].to_numpy().tolist(),
        strict=True,
    )
    for row, (mode, truth, selected, said, n_items, timed_out) in enumerate(rows):
        scores[row] = RESPONSE_MODES[mode].score(
            truth=truth,
            selected=selected,
            said_present=said,
            n_items=n_items,
            timed_out=timed_out,
        )
    for position, name in enumerate(SCORE_COLUMNS[:4]):
        frame[name] = scores[:, position]
    frame["n_signal"] = frame["hits"] + frame["misses"]
    frame["n_noise"] = frame["false_alarms"] + frame["correct_rejections"]
    frame["correct"] = scores[:, 4].astype(bool)
    rt = frame["rt_ms"].where(~frame["timed_out"] & (frame["rt_ms"] > 0))
    frame["log_rt"] = np.log(rt.astype(float))
    frame["attention_failed"] = frame["is_attention_check"] & ~frame["correct"]
    return frame


def load_trials(
    source: pd.DataFrame | str | Path, options: TrialOptions | None = None
) -> TrialTable:
    """Read, validate and score a trial table, then apply the exclusion rules."""
    options = options or TrialOptions()
    scored = score_trials(read_trials(source))
    by_participant = scored.groupby("participant", sort=True)
    participants = pd.DataFrame(
        {
            "n_trials": by_participant.size(),
            "n_practice": by_participant["is_practice"].sum(),
            "n_attention_checks": by_participant["is_attention_check"].sum(),
            "n_attention_failed": by_participant["attention_failed"].sum(),
            "n_timeouts": by_participant["timed_out"].sum(),
            "n_timing_flagged": by_participant["timing_flag"].count(),
        }
    ).astype(np.int64)
    limit = options.max_attention_failures
    failed = participants["n_attention_failed"] > (np.inf if limit is None else limit)
    participants["excluded"] = failed
    participants["exclusion_reason"] = np.where(
        failed, f"failed more than {limit} attention check(s)", ""
    )
    participants = participants.reset_index()
    excluded = set(participants.loc[participants["excluded"], "participant"])
    scored["participant_excluded"] = scored["participant"].isin(excluded)
    keep = ~scored["is_practice"] & ~scored["is_attention_check"] & ~scored["participant_excluded"]
    if options.timeouts == "exclude":
        keep &= ~scored["timed_out"]
    flagged = scored["timing_flag"].notna()
    timing_excluded = (
        scored.loc[keep & flagged, "encoding"]
        .value_counts()
        .reindex(sorted(pd.unique(scored.loc[keep, "encoding"])), fill_value=0)
        .astype(np.int64)
    )
    timing_excluded.index.name = "encoding"
    keep &= ~flagged
    analysed = scored.loc[keep].reset_index(drop=True)
    if analysed.empty:
        raise AnalysisError(
            "no trials left to analyse after removing practice trials, attention checks, "
            f"excluded participants ({len(excluded)} excluded) and trials whose timing "
            f"disagrees with the server's clock ({int(timing_excluded.sum())} flagged); "
            "check the table or the exclusion options"
        )
    return TrialTable(scored, analysed, participants, options, timing_excluded)
