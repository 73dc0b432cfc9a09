"""Researcher-side benchmark: dashboard progress and the trial-table CSV on a large study.

    .venv/bin/python benchmarks/bench_dashboard.py                      # SQLite, 500 x 24
    .venv/bin/python benchmarks/bench_dashboard.py --database-url postgresql+psycopg://...

Fills a fresh, migrated database with one study of N participants x T answered trials
(rows written directly, as the trial API would have left them), then times what a
researcher's requests cost: ``study_progress`` (the study list / progress.json) and
``trial_table`` + CSV (the download and ``glyphlab export``). Prints seconds per call
(median of --repeat). Run it on an idle machine for figures you quote; say so if not.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from experiment import db
from experiment.models import (
    Condition,
    Participant,
    ParticipantStatus,
    Researcher,
    Response,
    StimulusSet,
    Study,
    StudyStatus,
    Trial,
)
from experiment.services.progress import study_progress
from experiment.services.trial_table import trial_table, trial_table_csv

ENCODINGS = ("gan_face", "chernoff", "table", "plot")


def fill(session: Session, *, participants: int, trials: int, rng: np.random.Generator) -> int:
    """One study with ``participants`` x ``trials`` answered mark_outliers trials."""
    researcher = Researcher(email="bench@example.org", password_hash="x")
    study = Study(
        slug="bench",
        title="Benchmark",
        status=StudyStatus.open,
        researcher=researcher,
        stimulus_set=StimulusSet(set_id="bench0000000", folder="/nonexistent"),
        encodings=list(ENCODINGS),
        layouts=["grid"],
        response_modes=["mark_outliers"],
        response_mode_params={"mark_outliers": {}},
        trials_per_participant=trials,
        practice_trials=0,
        attention_checks=0,
        deadline_ms=15000,
        frame_ms=500,
        consent_text="",
        debrief_text="",
    )
    study.conditions = [
        Condition(position=i, encoding=e, layout="grid", response_mode="mark_outliers")
        for i, e in enumerate(ENCODINGS)
    ]
    session.add(study)
    session.flush()
    conditions = [c.id for c in study.conditions]
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for number in range(participants):
        person = Participant(
            study_id=study.id,
            code=f"P{number + 1:04d}",
            seed=number,
            latin_square_row=number % 4,
            status=ParticipantStatus.finished,
        )
        session.add(person)
        session.flush()
        trial_rows = []
        for index in range(trials):
            truth = [int(rng.integers(12))]
            trial_rows.append(
                {
                    "public_id": f"{number:06d}{index:06d}",
                    "participant_id": person.id,
                    "condition_id": conditions[index % 4],
                    "trial_index": index,
                    "dataset_id": f"d{index:02d}",
                    "stimulus_id": f"s{index:04d}",
                    "n_items": 12,
                    "display_order": list(range(12)),
                    "true_outliers": truth,
                    "deadline_ms": 15000,
                    "frame_ms": 500,
                    "presented_at": start + timedelta(seconds=10 * index),
                    "answered_at": start + timedelta(seconds=10 * index + 2),
                }
            )
        session.execute(sa.insert(Trial), trial_rows)
        ids = session.scalars(
            sa.select(Trial.id).where(Trial.participant_id == person.id).order_by(Trial.trial_index)
        ).all()
        session.execute(
            sa.insert(Response),
            [
                {
                    "trial_id": trial_id,
                    "participant_id": person.id,
                    "idempotency_key": f"k{trial_id}",
                    "response_mode": "mark_outliers",
                    "response_mode_version": "1.0",
                    "selected": row["true_outliers"] if rng.random() < 0.7 else [],
                    "rt_ms": float(rng.lognormal(7.3, 0.4)),
                    "timed_out": False,
                    "raw": {"response": {"positions": []}},
                }
                for trial_id, row in zip(ids, trial_rows, strict=True)
            ],
        )
    session.commit()
    return study.id


def timed(function, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="an EMPTY database (default: a temp SQLite)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            study_id = fill(
                session,
                participants=args.participants,
                trials=args.trials,
                rng=np.random.default_rng(args.seed),
            )
            fill_s = time.perf_counter() - started
        n = args.participants * args.trials
        print(f"{url.split(':')[0]}: {args.participants} participants x {args.trials} trials")
        print(f"  fill            {fill_s:7.2f} s ({n} answered trials)")
        with Session(engine) as session:
            progress = timed(lambda: study_progress(session, [study_id]), args.repeat)
            table = timed(lambda: trial_table(session, study_id), args.repeat)
            csv = timed(lambda: trial_table_csv(session, study_id), args.repeat)
            size = len(trial_table_csv(session, study_id).encode())
        print(f"  study_progress  {progress:7.3f} s")
        print(f"  trial_table     {table:7.3f} s ({n / table:,.0f} rows/s)")
        print(f"  CSV download    {csv:7.3f} s ({size / 1e6:.1f} MB)")
        engine.dispose()


if __name__ == "__main__":
    main()
