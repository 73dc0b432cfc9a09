"""The trial table: one row per answered trial, in the contract's columns.

The contract (names, order, dtypes) is :mod:`analysis.trial_contract`; this module only
says where each column comes from in the database. It is the one place that turns stored
trials into the table ``analysis/`` reads; the dashboard's CSV download, ``glyphlab
export`` and the demo all call :func:`trial_table`. A trial that was shown but never
answered (the participant closed the tab) has no outcome and no row; the dashboard's
progress counts show how many there are.
"""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from analysis.response_modes import mode_named
from analysis.trial_contract import Column, dtypes, written_columns
from experiment.models import (
    BrowserSession,
    Condition,
    Event,
    Participant,
    Response,
    Study,
    Trial,
)

#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula.

    Values in the trial CSV come partly from stimulus set files a researcher may have
    received from someone else (``dataset_id`` ``=HYPERLINK(...)``); Excel and
    LibreOffice show the apostrophe-prefixed cell as text instead of evaluating it.
    """
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


#: What the tab measured of its screen (models.BrowserSession), per answered trial.
SCREEN_COLUMNS = (
    "screen_width",
    "screen_height",
    "window_width",
    "window_height",
    "device_pixel_ratio",
    "refresh_hz",
)
#: The contract's columns the site writes, in order, with their pandas dtypes.
COLUMNS: dict[str, str] = dtypes(written_columns())


def iso_utc(moments: pd.Series) -> pd.Series:
    """UTC ISO 8601 text with milliseconds and an explicit offset; missing stays missing.

    Datetimes arrive tagged UTC (``models.UTCDateTime``); naive ones are read as UTC.
    """
    stamps = pd.to_datetime(moments, utc=True)
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, -3) + "+00:00"
    return text.where(stamps.notna(), None)


#: JSON columns are read as their stored text ("[3, 7]": the serialiser's default, the
#: contract's format) rather than decoded and re-encoded, which dominated the run time.
def _json_text(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.cast(column, sa.Text)


def trial_table(session: Session, study_id: int, *, include_preview: bool = False) -> pd.DataFrame:
    """The answered trials of study ``study_id`` as the contract's DataFrame.

    Rows are ordered by participant code, then trial index. An unknown study gives an
    empty table with the same columns (callers check ownership before they ask).
    Preview participants (codes ``PV...``) are left out unless ``include_preview``.
    """
    counts = _event_counts(study_id)
    query = (
        sa.select(
            Participant.code.label("participant"),
            Study.slug.label("study"),
            Condition.encoding,
            Condition.layout,
            Response.response_mode,
            Response.response_mode_version,
            Trial.is_attention_check,
            Trial.dataset_id,
            Trial.stimulus_id,
            Trial.trial_index,
            Trial.is_practice,
            Trial.n_items,
            _json_text(Trial.true_outliers).label("true_outliers"),
            _json_text(Response.selected).label("selected"),
            Response.said_present,
            Response.rt_ms,
            Response.timed_out,
            Trial.deadline_ms,
            Trial.presented_at,
            Trial.answered_at,
            Response.received_at,
            Trial.served_at,
            Response.server_elapsed_ms,
            Response.timing_flag,
            _json_text(Response.raw).label("response"),
            *(getattr(BrowserSession, name) for name in SCREEN_COLUMNS),
            sa.func.coalesce(counts.c.fullscreen_exits, 0).label("fullscreen_exits"),
            sa.func.coalesce(counts.c.times_hidden, 0).label("times_hidden"),
        )
        .select_from(Response)
        .join(Trial, Response.trial_id == Trial.id)
        .join(Participant, Trial.participant_id == Participant.id)
        .outerjoin(BrowserSession, Response.browser_session_id == BrowserSession.id)
        .outerjoin(counts, counts.c.participant_id == Participant.id)
        .join(Study, Participant.study_id == Study.id)
        .join(Condition, Trial.condition_id == Condition.id)
        .where(Study.id == study_id, sa.true() if include_preview else ~Participant.is_preview)
        .order_by(Participant.code, Trial.trial_index)
    )
    result = session.connection().execute(query)
    columns = list(result.keys())
    frame = pd.DataFrame.from_records([tuple(row) for row in result], columns=columns)
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS)).astype(COLUMNS)
    timed_out = frame["timed_out"].astype(bool)
    # the contract: a timed-out trial has no selection and no yes/no answer
    frame["selected"] = frame["selected"].where(~timed_out, "[]")
    frame["said_present"] = frame["said_present"].astype("boolean").mask(timed_out)
    frame["presented_at"] = iso_utc(frame["presented_at"])
    frame["answered_at"] = iso_utc(frame["answered_at"].fillna(frame["received_at"]))
    frame["served_at"] = iso_utc(frame["served_at"])
    columns = dtypes(written_columns(_add_mode_columns(frame)))
    return frame[list(columns)].astype(columns).reset_index(drop=True)


def _event_counts(study_id: int) -> sa.Subquery:
    """Per participant of the study: fullscreen exits and times the tab was hidden."""

    def times(kind: str) -> sa.ColumnElement:
        return sa.func.sum(sa.case((Event.kind == kind, 1), else_=0))

    return (
        sa.select(
            Event.participant_id,
            times("fullscreen_exit").label("fullscreen_exits"),
            times("visibility_hidden").label("times_hidden"),
        )
        .join(Participant, Event.participant_id == Participant.id)
        .where(Participant.study_id == study_id)
        .group_by(Event.participant_id)
        .subquery()
    )


def _add_mode_columns(frame: pd.DataFrame) -> list[Column]:
    """Fill the columns the table's response modes add (``mode.columns``), from each
    stored answer JSON by the mode's ``table_values``; empty in other modes' rows."""
    added: list[Column] = []
    for name in pd.unique(frame["response_mode"]):
        mode = mode_named(name)
        if not mode.columns:
            continue
        rows = frame["response_mode"] == name
        stored = [json.loads(text) if text else {} for text in frame.loc[rows, "response"]]
        values = [mode.table_values(answer.get("response")) for answer in stored]
        for column in mode.columns:
            frame.loc[rows, column.name] = [value.get(column.name) for value in values]
            added.append(column)
    return added


def trial_table_csv(session: Session, study_id: int, *, include_preview: bool = False) -> str:
    """The trial table as CSV text (empty cells for missing values, no index column);
    text cells that a spreadsheet would evaluate as formulas are neutralised."""
    frame = trial_table(session, study_id, include_preview=include_preview)
    for name, dtype in COLUMNS.items():
        if dtype == "string":
            frame[name] = frame[name].map(neutralise_formula, na_action="ignore")
    return frame.to_csv(index=False)
