"""``glyphlab demo``: the whole chain on one machine, as a new user first sees it.

1. generate the small demo stimulus set (every encoding that can run here, grids and a
   sequence; one that cannot, such as neural faces without their weights, is left out
   and named),
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
import secrets
import shlex
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import click

from glyphlab.errors import GlyphlabError
from glyphlab.site_process import SiteProcess, open_study, site_environment, site_session

DEMO_EMAIL = "demo@glyphlab.local"
#: k of the export's k-anonymity check (analysis.export's default)
EXPORT_K = 5


@dataclass(frozen=True)
class DemoConfig:
    """What the demo makes and where; validated on creation."""

    out: Path = Path("glyphlab-demo")
    participants: int = 12
    concurrency: int = 4
    port: int | None = None
    seed: int = 20261123

    def __post_init__(self) -> None:
        if not EXPORT_K <= self.participants <= 500:
            raise GlyphlabError(
                f"--participants must be between {EXPORT_K} and 500 (the anonymised export "
                f"is {EXPORT_K}-anonymous, so it needs at least {EXPORT_K} participants)"
            )
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
    #: the site's data folder (database, secret key) and the study, for re-running
    data_dir: Path
    slug: str

    def rerun_commands(self) -> list[str]:
        """The exact commands that export and analyse this demo's data again."""
        out = self.trials_csv.parent
        return [
            f"GLYPHLAB_DATA_DIR={shlex.quote(str(self.data_dir))} glyphlab export "
            f"--study {shlex.quote(self.slug)} --out {shlex.quote(str(out / 'export-again'))}",
            f"glyphlab analyze {shlex.quote(str(self.trials_csv))} "
            f"--out {shlex.quote(str(out / 'report-again'))} "
            f"--stimulus-set {shlex.quote(str(self.stimulus_set))}",
        ]


def prepare_study(database_url: str, set_folder: Path, *, seed: int) -> tuple[str, str]:
    """Migrate the database and open a demo study; return (slug, researcher password)."""
    from analysis.response_modes import RESPONSE_MODES, Decision
    from experiment.design import build_conditions
    from experiment.services.studies import StudyParams
    from stimuli.demo import runnable_encodings

    # Grids answered per item (mark the odd ones) and per trial (is one there?), so the
    # report compares every encoding on item-level and presence d'; target-absent
    # datasets make the presence answers mean something.
    layouts = ("grid",)
    modes = tuple(
        name
        for name, mode in RESPONSE_MODES.items()
        if layouts[0] in mode.layouts and mode.decision in (Decision.ITEMS, Decision.PRESENCE)
    )
    encodings = tuple(runnable_encodings())
    params = StudyParams(
        title="glyphlab demo: find the odd one out",
        slug=f"demo-{seed % 100000:05d}-{secrets.token_hex(2)}",
        encodings=encodings,
        layouts=layouts,
        response_modes=modes,
        # one main trial per condition: every encoding in each mode once
        trials_per_participant=len(build_conditions(encodings, layouts, modes)),
        practice_trials=2,
        attention_checks=1,
        deadline_ms=20_000,
        frame_ms=700,
        completion_code="GLYPHDEMO",
    )
    return open_study(database_url, set_folder, params, email=DEMO_EMAIL)


def run_participants(url: str, slug: str, set_folder: Path, config: DemoConfig) -> int:
    """Simulated participants take the study concurrently; returns answered trials."""
    import httpx
    import numpy as np
    from tqdm import tqdm

    from experiment.bot import Bot, default_observer, no_wait
    from experiment.stimulus_sets import load

    loaded = load(set_folder)
    observer = default_observer()
    seeds = np.random.SeedSequence(config.seed).spawn(config.participants)

    def one(number: int) -> int:
        rng = np.random.default_rng(seeds[number])
        with httpx.Client(base_url=url, timeout=30.0) as client:
            bot = Bot(
                client, loaded, observer=observer.for_participant(rng=rng), rng=rng, wait=no_wait
            )
            return bot.take(slug, query={"pid": f"demo-bot-{number:03d}"}).trials

    answered = 0
    with ThreadPoolExecutor(config.concurrency) as pool:
        futures = [pool.submit(one, n) for n in range(config.participants)]
        for future in tqdm(as_completed(futures), total=len(futures), desc="participants"):
            answered += future.result()
    return answered


def stored_trials(database_url: str, slug: str):
    """The study's trial table, read back from the database the site wrote."""
    from experiment.cli_researcher import find_study
    from experiment.services.trial_table import trial_table

    with site_session(database_url) as session:
        return trial_table(session, find_study(session, slug).id)


def run_demo(config: DemoConfig, *, keep_serving: bool = False) -> DemoResult:
    """Run every step; see the module docstring."""
    from analysis.export import ExportConfig, export_psychds
    from analysis.report import ReportConfig, write_report
    from experiment.config import SiteConfig
    from stimuli import demo_config, generate_stimulus_set
    from stimuli.demo import demo_left_out
    from stimuli.encodings import encoding_named

    out = config.out.resolve()
    # The demo's bots answer at once and state their simulated reaction times (waiting
    # them out would make the demo minutes long), so its site lets a stated rt_ms
    # exceed the server's clock; a real site keeps the default 250 ms.
    environment = {**site_environment(out / "site"), "GLYPHLAB_RT_TOLERANCE_MS": "600000"}
    database_url = SiteConfig.from_env(environment).database_url
    click.secho("1/5 stimulus set", bold=True)
    for name, reason in demo_left_out().items():
        label = encoding_named(name).label
        click.secho(f"    {label} ({name}) left out: {reason}", fg="yellow")
    set_folder = generate_stimulus_set(demo_config(seed=config.seed), out / "stimuli")
    click.secho("2/5 database, researcher and study", bold=True)
    slug, password = prepare_study(database_url, set_folder, seed=config.seed)
    click.secho("3/5 site", bold=True)
    site = SiteProcess(environment, port=config.port, log_path=out / "site.log")
    with site:
        url = site.url
        click.echo(f"    {url}")
        click.secho(f"4/5 {config.participants} simulated participants", bold=True)
        answered = run_participants(url, slug, set_folder, config)
        click.secho("5/5 report and export", bold=True)
        table = stored_trials(database_url, slug)
        trials_csv = out / f"trials-{slug}.csv"
        table.to_csv(trials_csv, index=False)
        report = write_report(table, out / "report", ReportConfig(stimulus_set=set_folder)).html
        export_dir = out / "export" / slug
        shutil.rmtree(export_dir, ignore_errors=True)
        export = export_psychds(
            table, export_dir, ExportConfig(k=EXPORT_K, name="glyphlab demo study")
        )
        result = DemoResult(
            url=url,
            study_url=f"{url}/s/{slug}/",
            email=DEMO_EMAIL,
            password=password,
            stimulus_set=set_folder,
            trials_csv=trials_csv,
            report=report,
            export=export,
            participants=int(table["participant"].nunique()),
            trials=answered,
            data_dir=out / "site",
            slug=slug,
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
    click.echo("  export and analyse its data again with")
    for command in result.rerun_commands():
        click.echo(f"    {command}")
    if keep_serving:
        click.echo(f"  take the study    {result.study_url}")
        click.echo(f"  researcher login  {result.url}/login")
        click.echo(f"                    {result.email} / {result.password}")
        click.echo("  the site stays up until you press Ctrl-C (or send SIGTERM)")
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
