"""The trial table: one row per answered trial, in the contract's columns (BRIEF.md).

This is the one place that turns stored trials into the table ``analysis/`` reads; the
dashboard's CSV download, ``glyphlab export`` and the demo all call :func:`trial_table`.
A trial that was shown but never answered (the participant closed the tab) has no
outcome and no row; the dashboard's progress counts show how many there are.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment.models import Condition, Participant, Response, Study, Trial

#: The contract's columns, in order, with their pandas dtypes. ``said_present`` is a
#: nullable boolean (empty unless the mode is yes_no); ``response`` is the optional raw
#: mode-specific answer as JSON.
COLUMNS: dict[str, str] = {
    "participant": "string",
    "study": "string",
    "encoding": "string",
    "layout": "string",
    "response_mode": "string",
    "response_mode_version": "string",
    "is_attention_check": "bool",
    "dataset_id": "string",
    "stimulus_id": "string",
    "trial_index": "int64",
    "is_practice": "bool",
    "n_items": "int64",
    "true_outliers": "string",
    "selected": "string",
    "said_present": "boolean",
    "rt_ms": "float64",
    "timed_out": "bool",
    "deadline_ms": "float64",
    "presented_at": "string",
    "answered_at": "string",
    "response": "string",
}


def iso_utc(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with an explicit offset; SQLite returns naive UTC, so attach it."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _json_list(values: list[int] | None) -> str:
    return json.dumps([int(value) for value in values or []])


def trial_table(session: Session, study_id: int) -> pd.DataFrame:
    """The answered trials of study ``study_id`` as the contract's DataFrame.

    Rows are ordered by participant code, then trial index. An unknown study gives an
    empty table with the same columns (callers check ownership before they ask).
    """
    query = (
        sa.select(
            Participant.code,
            Study.slug,
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
            Trial.true_outliers,
            Response.selected,
            Response.said_present,
            Response.rt_ms,
            Response.timed_out,
            Trial.deadline_ms,
            Trial.presented_at,
            Trial.answered_at,
            Response.received_at,
            Response.raw,
        )
        .select_from(Response)
        .join(Trial, Response.trial_id == Trial.id)
        .join(Participant, Trial.participant_id == Participant.id)
        .join(Study, Participant.study_id == Study.id)
        .join(Condition, Trial.condition_id == Condition.id)
        .where(Study.id == study_id)
        .order_by(Participant.code, Trial.trial_index)
    )
    rows = []
    for row in session.execute(query):
        rows.append(
            {
                "participant": row.code,
                "study": row.slug,
                "encoding": row.encoding,
                "layout": row.layout,
                "response_mode": row.response_mode,
                "response_mode_version": row.response_mode_version,
                "is_attention_check": bool(row.is_attention_check),
                "dataset_id": row.dataset_id,
                "stimulus_id": row.stimulus_id,
                "trial_index": row.trial_index,
                "is_practice": bool(row.is_practice),
                "n_items": row.n_items,
                "true_outliers": _json_list(row.true_outliers),
                # the contract: a timed-out trial has no selection and no yes/no answer
                "selected": _json_list(None if row.timed_out else row.selected),
                "said_present": None if row.timed_out else row.said_present,
                "rt_ms": row.rt_ms,
                "timed_out": bool(row.timed_out),
                "deadline_ms": row.deadline_ms,
                "presented_at": iso_utc(row.presented_at),
                "answered_at": iso_utc(row.answered_at or row.received_at),
                "response": json.dumps(row.raw, sort_keys=True),
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(COLUMNS)


def trial_table_csv(session: Session, study_id: int) -> str:
    """The trial table as CSV text (empty cells for missing values, no index column)."""
    return trial_table(session, study_id).to_csv(index=False)
