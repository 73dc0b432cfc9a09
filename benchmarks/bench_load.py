"""Load benchmark: N concurrent participants through the full flow against the real site.

    .venv/bin/python benchmarks/bench_load.py --backend postgresql --participants 50 200 500
    .venv/bin/python benchmarks/bench_load.py --backend postgresql --participants 200 --pin 0:1
    .venv/bin/python benchmarks/bench_load.py --backend sqlite --participants 50

PostgreSQL runs behind granian (worker processes x threads, as deploy/ runs it) unless
``--server`` names another server of ``glyphlab serve --server`` (experiment/servers/,
e.g. gunicorn); the SQLite default behind waitress (one process, threads), as
``glyphlab serve`` starts them. Each N gets a fresh database and study. Prints
throughput and p50/p95/p99 latency per request kind; the targets (issue 4) are p99 < 100
ms for trial fetch (``next``) and answer save (``answer``) with zero errors at 500
participants on PostgreSQL and 50 on SQLite. Loopback only.

Headline (issue 16): the server's CPU milliseconds per answered trial, amortised over the
whole participant flow (entry page, consent, runner page, the runner's trial fetches and
any peek it still needs, every trial's media and answer, which reports the onset: no
start call, as the runner sends none), read from /proc for the
site's processes: unlike latency it does not depend on how busy the machine is. Below
it, the same CPU split by request kind, from the site's own accounting
(``GLYPHLAB_CPU_ACCOUNTING_DIR``, experiment/cpu_accounting.py), with what the HTTP
server spends outside the app as the difference. The load generator's own CPU per trial
is printed beside it (it runs on the same machine, so its CPU is CPU the server did not
get), and the server's CPU per millisecond of it: where the machine's speed drifts (a
shared machine's did by a third within an hour) the milliseconds of the same code moved
by up to 25% from run to run and that ratio by 3-8%, so the ratio is the better figure
to compare before and after (in pairs, alternated). ``--pin`` puts the site on one set
of cores and the generator on another (``sched_setaffinity``, what ``taskset -c`` does;
the database is left where the OS puts it), the server then gets one worker per site
core, and the print-out says how it ran and what the machine's load average was at the
start and the end. The site runs without its background-job worker (``--no-worker``): no
participant request uses it, and its start-up would be counted as the server's CPU.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from experiment.cpu_accounting import read_totals
from experiment.loadgen import LoadConfig, run_load
from experiment.servers import SERVERS
from experiment.services.studies import StudyParams
from glyphlab.site_process import SiteProcess, open_study, site_environment
from stimuli import StimulusSetConfig, generate_stimulus_set

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_SERVER_MS_PER_TRIAL = 3.0


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


def wait_until_idle(pgid: int, timeout_s: float = 60.0) -> None:
    """Until the site's processes stop using CPU (workers still importing after the first
    one answered): their start-up is not part of what a participant costs."""
    deadline = time.monotonic() + timeout_s
    before = process_group_cpu_s(pgid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = process_group_cpu_s(pgid)
        if now - before < 0.02:
            return
        before = now


def machine_busy_s() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def core_split(spec: str | None) -> tuple[set[int], set[int]] | None:
    """``"0:1"`` -> ({0}, {1}): the server's cores and the generator's (``--pin``)."""
    if spec is None:
        return None
    server, _, generator = spec.partition(":")
    cores = [{int(c) for c in part.split(",")} for part in (server, generator)]
    if not all(cores) or cores[0] & cores[1]:
        raise SystemExit(f"--pin {spec!r}: give two disjoint core lists, e.g. 0:1 or 0,1:2,3")
    return cores[0], cores[1]


def how_it_ran(pinning: tuple[set[int], set[int]] | None) -> str:
    if pinning is None:
        return f"not pinned: server, generator and database share all {os.cpu_count()} cores"
    server, generator = (",".join(map(str, sorted(c))) for c in pinning)
    return (
        f"pinned: server on core(s) {server}, load generator on core(s) {generator} "
        "(sched_setaffinity, as taskset -c), database unpinned"
    )


def cpu_by_kind(totals: dict[str, dict[str, float]], server_s: float, trials: int) -> str:
    """Where the server's CPU per trial went: each request kind's share (the app's own
    accounting, experiment/cpu_accounting.py), and the rest of the site's processes
    (HTTP parsing, keep-alive polling, the master) as the difference."""
    lines = ["  server CPU by request kind (ms per request, ms per answered trial):"]
    inside = 0.0
    for kind, total in sorted(totals.items(), key=lambda item: -item[1]["cpu_s"]):
        inside += total["cpu_s"]
        lines.append(
            f"    {kind:<34} n={int(total['n']):<6} {total['cpu_s'] / total['n'] * 1e3:6.2f} ms"
            f"  {total['cpu_s'] / trials * 1e3:5.2f} ms/trial"
        )
    lines.append(
        f"    {'outside the app (HTTP server)':<34} {'':<8} {'':>9}"
        f"  {(server_s - inside) / trials * 1e3:5.2f} ms/trial"
    )
    return "\n".join(lines)


def run_one(args, participants: int, set_folder: Path, work: Path) -> None:
    data_dir = work / f"site-{args.backend}-{participants}"
    data_dir.mkdir()
    database_url = fresh_postgres_database() if args.backend == "postgresql" else None
    environment = site_environment(data_dir, database_url)
    accounting = data_dir / "cpu-by-kind"
    environment["GLYPHLAB_CPU_ACCOUNTING_DIR"] = str(accounting)
    url = database_url or f"sqlite:///{data_dir / 'glyphlab.sqlite3'}"
    params = StudyParams(
        title=f"load {participants}",
        encodings=args.encodings,
        trials_per_participant=args.trials,
        practice_trials=1,
        attention_checks=1,
    )
    slug, _password = open_study(url, set_folder, params, email="load@glyphlab.local")
    pinning = core_split(args.pin)
    workers = args.workers or len(pinning[0] if pinning else os.sched_getaffinity(0))
    server_name = args.server or ("granian" if args.backend == "postgresql" else "waitress")
    threads = args.threads or (8 if args.backend == "postgresql" else 16)
    serve_args = ("--server", server_name, "--workers", str(workers), "--threads", str(threads))
    everywhere = os.sched_getaffinity(0)
    try:
        if pinning:  # the site's processes inherit this thread's cores when forked
            os.sched_setaffinity(0, pinning[0])
        site = SiteProcess(
            environment, serve_args=(*serve_args, "--no-worker"), log_path=work / "site.log"
        )
        with site:
            os.sched_setaffinity(0, pinning[1] if pinning else everywhere)
            config = LoadConfig(
                base_url=site.url,
                slug=slug,
                participants=participants,
                ramp_s=args.ramp_s,
                think_ms=args.think_ms,
                time_limit_s=args.time_limit_s,
                seed=participants,
            )
            wait_until_idle(site.process.pid)
            load_before = os.getloadavg()[0]
            server_before, busy_before = process_group_cpu_s(site.process.pid), machine_busy_s()
            generator_before = time.process_time()
            result = run_load(config)
            generator = time.process_time() - generator_before
            server = process_group_cpu_s(site.process.pid) - server_before
            busy = machine_busy_s() - busy_before
            load_after = os.getloadavg()[0]
        trials = max(len(result.acknowledged), 1)
        print(f"\n== {args.backend}, {participants} participants, {args.trials + 2} trials each")
        how = (
            f"{server_name}, {threads} threads"
            if server_name == "waitress"
            else f"{workers} {server_name} workers x {threads} threads"
        )
        print(
            f"  {how_it_ran(pinning)}; {how}; load average {load_before:.1f} at the start, "
            f"{load_after:.1f} at the end"
        )
        print(
            f"  SERVER CPU PER ANSWERED TRIAL: {server / trials * 1e3:.2f} ms "
            f"(target <= {TARGET_SERVER_MS_PER_TRIAL:.0f} ms; {server:.1f} s for "
            f"{len(result.acknowledged)} trials, whole flow amortised)"
        )
        print(
            f"  load generator CPU per trial: {generator / trials * 1e3:.2f} ms "
            f"({'less' if generator < server else 'MORE'} than the server); server CPU per "
            f"ms of it: {server / max(generator, 1e-9):.2f} (the generator's work per trial "
            "is fixed, so this moves less than the ms with the machine's speed)"
        )
        print(cpu_by_kind(read_totals(accounting), server, trials))
        print(result.summary())
        rest = busy - server - generator
        print(
            f"  CPU over {result.wall_s:.1f} s on {os.cpu_count()} cores: server {server:.1f} s, "
            f"load generator {generator:.1f} s, database and the rest of the machine "
            f"{rest:.1f} s"
        )
        for error in result.errors[:5]:
            print("  error:", error)
    finally:
        os.sched_setaffinity(0, everywhere)
        if database_url:
            drop_postgres_database(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--participants", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--trials", type=int, default=6, help="main trials per participant")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes (default: one per core the site may use, its --pin cores)",
    )
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        help="the HTTP server (default: granian on PostgreSQL, as deployed; waitress on SQLite)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads per worker (default: 8 on PostgreSQL, 16 on SQLite)",
    )
    parser.add_argument("--think-ms", type=float, default=1500.0)
    parser.add_argument(
        "--encodings",
        type=lambda text: tuple(text.split(",")),
        default=("chernoff", "table", "plot"),
        help="comma-separated, e.g. gan_face,chernoff,table,plot (gan_face needs its weights)",
    )
    parser.add_argument(
        "--pin",
        metavar="SERVER:GENERATOR",
        help="pin the site and the load generator to disjoint cores, e.g. 0:1",
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
