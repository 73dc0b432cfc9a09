"""``glyphlab demo``: the whole chain on one machine, as a new user first sees it.

1. generate the small demo stimulus set (neural faces, Chernoff faces, table, plot;
   grids and a sequence),
2. bring the embedded SQLite database to the newest migration, create a demo researcher
   and an open study,
3. start the real site (``glyphlab serve`` in a child process) on 127.0.0.1,
4. let simulated participants (``experiment.bot``) take the study through its HTTP
   endpoints, as browsers would,
5. read the stored trials back, write the analysis report and the anonymised export,
6. print where everything is; with ``--keep-serving`` the site stays up for a person.

Every step reuses the product's own code paths: nothing here talks to the database or
the stimulus files in a way the site or the CLI would not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import click

from glyphlab.errors import GlyphlabError

DEMO_EMAIL = "demo@glyphlab.local"
SERVER_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoConfig:
    """What the demo makes and where; validated on creation."""

    out: Path = Path("glyphlab-demo")
    participants: int = 12
    concurrency: int = 4
    port: int | None = None
    seed: int = 20261123

    def __post_init__(self) -> None:
        if not 1 <= self.participants <= 500:
            raise GlyphlabError("--participants must be between 1 and 500")
        if not 1 <= self.concurrency <= 64:
            raise GlyphlabError("--concurrency must be between 1 and 64")


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, for the summary and for tests."""

    url: str
    study_url: str
    email: str
    password: str
    stimulus_set: Path
    trials_csv: Path
    report: Path
    export: Path
    participants: int
    trials: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_environment(data_dir: Path) -> dict[str, str]:
    """The environment the child server and the demo's own SiteConfig read."""
    return {**os.environ, "GLYPHLAB_DATA_DIR": str(data_dir), "GLYPHLAB_DATABASE_URL": ""}


def prepare_site(data_dir: Path, set_folder: Path, *, seed: int) -> tuple[str, str, str]:
    """Migrate the database, (re)create the demo researcher, create and open a study.

    Returns (study slug, researcher e-mail, password). The password is new on every run
    and only printed, never stored in clear.
    """
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from experiment import db
    from experiment.auth.operations import create_researcher
    from experiment.config import SiteConfig
    from experiment.models import Researcher, StudyStatus
    from experiment.services.studies import StudyParams, create_study, set_status

    config = SiteConfig.from_env(site_environment(data_dir))
    db.upgrade(config.database_url)
    password = secrets.token_urlsafe(12)
    database = db.Database(config.database_url)
    try:
        with database.sessionmaker() as session:
            researcher = session.scalar(sa.select(Researcher).where(Researcher.email == DEMO_EMAIL))
            if researcher is None:
                researcher = create_researcher(session, email=DEMO_EMAIL, password=password)
            else:
                researcher.password_hash = generate_password_hash(password)
            params = StudyParams(
                title="glyphlab demo: find the odd one out",
                slug=f"demo-{seed % 100000:05d}-{secrets.token_hex(2)}",
                layouts=("grid", "sequence"),
                trials_per_participant=12,
                practice_trials=2,
                attention_checks=1,
                deadline_ms=20_000,
                frame_ms=700,
                completion_code="GLYPHDEMO",
            )
            study = create_study(
                session, researcher=researcher, stimulus_set_folder=set_folder, params=params
            )
            set_status(study, StudyStatus.open)
            session.commit()
            return study.slug, DEMO_EMAIL, password
    finally:
        database.dispose()


@contextlib.contextmanager
def running_site(data_dir: Path, port: int, log_path: Path):
    """Run ``glyphlab serve`` in a child process until the block ends."""
    import httpx

    url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "glyphlab", "serve", "--port", str(port)],
            env=site_environment(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while True:
                if server.poll() is not None:
                    raise GlyphlabError(f"the site did not start; see {log_path}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{url}/login", timeout=1.0).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise GlyphlabError(f"the site did not answer within 60 s; see {log_path}")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def run_participants(url: str, slug: str, set_folder: Path, config: DemoConfig) -> int:
    """Simulated participants take the study concurrently; returns answered trials."""
    import httpx
    import numpy as np
    from tqdm import tqdm

    from experiment.bot import Bot, default_observer
    from experiment.stimulus_sets import load

    loaded = load(set_folder)
    observer = default_observer()
    seeds = np.random.SeedSequence(config.seed).spawn(config.participants)

    def one(number: int) -> int:
        rng = np.random.default_rng(seeds[number])
        with httpx.Client(base_url=url, timeout=30.0) as client:
            bot = Bot(client, loaded, observer=observer.for_participant(rng=rng), rng=rng)
            return bot.take(slug, query={"pid": f"demo-bot-{number:03d}"}).trials

    answered = 0
    with ThreadPoolExecutor(config.concurrency) as pool:
        futures = [pool.submit(one, n) for n in range(config.participants)]
        for future in tqdm(as_completed(futures), total=len(futures), desc="participants"):
            answered += future.result()
    return answered


def stored_trials(data_dir: Path, slug: str):
    """The study's trial table, read back from the database the site wrote."""
    from experiment import db
    from experiment.cli_researcher import find_study
    from experiment.config import SiteConfig
    from experiment.services.trial_table import trial_table

    config = SiteConfig.from_env(site_environment(data_dir))
    database = db.Database(config.database_url)
    try:
        with database.sessionmaker() as session:
            return trial_table(session, find_study(session, slug).id)
    finally:
        database.dispose()


def run_demo(config: DemoConfig, *, keep_serving: bool = False) -> DemoResult:
    """Run every step; see the module docstring."""
    from analysis.export import ExportConfig, export_psychds
    from analysis.report import ReportConfig, write_report
    from stimuli import demo_config, generate_stimulus_set

    out = config.out.resolve()
    data_dir = out / "site"
    click.secho("1/5 stimulus set", bold=True)
    set_folder = generate_stimulus_set(demo_config(seed=config.seed), out / "stimuli")
    click.secho("2/5 database, researcher and study", bold=True)
    slug, email, password = prepare_site(data_dir, set_folder, seed=config.seed)
    port = config.port or free_port()
    click.secho(f"3/5 site on 127.0.0.1:{port}", bold=True)
    with running_site(data_dir, port, out / "site.log") as url:
        click.secho(f"4/5 {config.participants} simulated participants", bold=True)
        answered = run_participants(url, slug, set_folder, config)
        click.secho("5/5 report and export", bold=True)
        table = stored_trials(data_dir, slug)
        trials_csv = out / f"trials-{slug}.csv"
        table.to_csv(trials_csv, index=False)
        report = write_report(table, out / "report", ReportConfig(stimulus_set=set_folder)).html
        export_dir = out / "export" / slug
        shutil.rmtree(export_dir, ignore_errors=True)
        export = export_psychds(table, export_dir, ExportConfig(name="glyphlab demo study"))
        result = DemoResult(
            url=url,
            study_url=f"{url}/s/{slug}/",
            email=email,
            password=password,
            stimulus_set=set_folder,
            trials_csv=trials_csv,
            report=report,
            export=export,
            participants=int(table["participant"].nunique()),
            trials=answered,
        )
        print_summary(result, keep_serving=keep_serving)
        if keep_serving:
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return result


def print_summary(result: DemoResult, *, keep_serving: bool) -> None:
    click.echo("")
    click.secho("glyphlab demo finished", bold=True, fg="green")
    click.echo(f"  participants      {result.participants} ({result.trials} trials answered)")
    click.echo(f"  stimulus set      {result.stimulus_set}")
    click.echo(f"  trial table       {result.trials_csv}")
    click.echo(f"  report            {result.report}")
    click.echo(f"  anonymised export {result.export}")
    if keep_serving:
        click.echo(f"  take the study    {result.study_url}")
        click.echo(f"  researcher login  {result.url}/login")
        click.echo(f"                    {result.email} / {result.password}")
        click.echo("  the site stays up until you press Ctrl-C")
    else:
        click.echo("  (run with --keep-serving to keep the site up and take the study yourself)")


@click.command("demo")
@click.option(
    "--out",
    default="glyphlab-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the stimulus set, site database, report and export.",
)
@click.option("--participants", default=12, show_default=True, help="Simulated participants.")
@click.option("--concurrency", default=4, show_default=True, help="Participants at once.")
@click.option("--port", type=int, default=None, help="Site port (default: a free one).")
@click.option("--seed", default=20261123, show_default=True, help="Seed for everything random.")
@click.option("--keep-serving", is_flag=True, help="Keep the site up after the demo.")
def demo(
    out: Path, participants: int, concurrency: int, port: int | None, seed: int, keep_serving: bool
) -> None:
    """Generate stimuli, serve the site, let simulated participants answer, write the report."""
    config = DemoConfig(
        out=out, participants=participants, concurrency=concurrency, port=port, seed=seed
    )
    run_demo(config, keep_serving=keep_serving)
