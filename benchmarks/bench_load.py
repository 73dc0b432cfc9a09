"""Load benchmark: N concurrent participants through the full flow against the real site.

    .venv/bin/python benchmarks/bench_load.py --backend postgresql --participants 50 200 500
    .venv/bin/python benchmarks/bench_load.py --backend sqlite --participants 50

PostgreSQL runs behind gunicorn (worker processes, gthread); the SQLite default behind
waitress (one process, threads), as ``glyphlab serve`` starts them. Each N gets a fresh
database and study. Prints throughput and p50/p95/p99 latency per request kind; the
targets (issue 4) are p99 < 100 ms for trial fetch (``next``) and answer save (``answer``)
with zero errors at 500 participants on PostgreSQL and 50 on SQLite. Loopback only.

The load generator runs on the same machine as the server and the database, so the CPU
each of them used is printed too (Linux /proc): on a 2-core machine the generator's
share is CPU the server did not get.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from experiment.loadgen import LoadConfig, run_load
from experiment.services.studies import StudyParams
from glyphlab.site_process import SiteProcess, open_study, site_environment
from stimuli import StimulusSetConfig, generate_stimulus_set

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def small_set_config(encodings: tuple[str, ...]) -> StimulusSetConfig:
    """Grids of ``encodings`` (12 items each): enough media per trial to be realistic."""
    common = {"n_items": 12, "n_features": 4, "n_informative": 2}
    return StimulusSetConfig.from_dict(
        {
            "name": "load",
            "seed": 7,
            "datasets": [
                {"role": "main", "count": 8, "n_outliers": 1, **common},
                {"role": "practice", "count": 2, "n_outliers": 1, **common},
                {"role": "attention_check", **common},
            ],
            "conditions": [{"encoding": e, "layout": "grid"} for e in encodings],
        }
    )


def fresh_postgres_database() -> str:
    admin = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    name = f"glyphlab_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    return sa.make_url(POSTGRES_SERVER).set(database=name).render_as_string(False)


def drop_postgres_database(url: str) -> None:
    admin = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = sa.make_url(url).database
        connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


def process_group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes in a process group (the server)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_one(args, participants: int, set_folder: Path, work: Path) -> None:
    data_dir = work / f"site-{args.backend}-{participants}"
    data_dir.mkdir()
    database_url = fresh_postgres_database() if args.backend == "postgresql" else None
    environment = site_environment(data_dir, database_url)
    url = database_url or f"sqlite:///{data_dir / 'glyphlab.sqlite3'}"
    params = StudyParams(
        title=f"load {participants}",
        encodings=args.encodings,
        trials_per_participant=args.trials,
        practice_trials=1,
        attention_checks=1,
    )
    slug, _password = open_study(url, set_folder, params, email="load@glyphlab.local")
    serve_args = (
        ("--server", "gunicorn", "--workers", str(args.workers), "--threads", "8")
        if args.backend == "postgresql"
        else ("--threads", "16")
    )
    try:
        with SiteProcess(environment, serve_args=serve_args, log_path=work / "site.log") as site:
            config = LoadConfig(
                base_url=site.url,
                slug=slug,
                participants=participants,
                ramp_s=args.ramp_s,
                think_ms=args.think_ms,
                time_limit_s=args.time_limit_s,
                seed=participants,
            )
            server_before, busy_before = process_group_cpu_s(site.process.pid), machine_busy_s()
            generator_before = time.process_time()
            result = run_load(config)
            generator = time.process_time() - generator_before
            server = process_group_cpu_s(site.process.pid) - server_before
            busy = machine_busy_s() - busy_before
        print(f"\n== {args.backend}, {participants} participants, {args.trials + 2} trials each")
        print(result.summary())
        rest = busy - server - generator
        print(
            f"  CPU over {result.wall_s:.1f} s on {os.cpu_count()} cores: server {server:.1f} s, "
            f"load generator {generator:.1f} s, database and the rest {rest:.1f} s"
        )
        for error in result.errors[:5]:
            print("  error:", error)
    finally:
        if database_url:
            drop_postgres_database(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--participants", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--trials", type=int, default=6, help="main trials per participant")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (one per core)"
    )
    parser.add_argument("--think-ms", type=float, default=1500.0)
    parser.add_argument(
        "--encodings",
        type=lambda text: tuple(text.split(",")),
        default=("chernoff", "table", "plot"),
        help="comma-separated, e.g. gan_face,chernoff,table,plot (gan_face needs its weights)",
    )
    parser.add_argument("--ramp-s", type=float, default=10.0)
    parser.add_argument("--time-limit-s", type=float, default=400.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="glyphlab-load-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        config = small_set_config(args.encodings)
        set_folder = generate_stimulus_set(config, work / "stimuli", progress=False)
        print(f"stimulus set in {time.perf_counter() - started:.1f} s")
        for participants in args.participants:
            run_one(args, participants, set_folder, work)


if __name__ == "__main__":
    main()
