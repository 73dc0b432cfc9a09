"""``glyphlab analyze``: report, power and export from the command line.

    glyphlab analyze TRIALS.csv --out report/          (shorthand for the next line)
    glyphlab analyze report TRIALS.csv --out report/ [--stimulus-set DIR]
    glyphlab analyze power --participants 10,20,40 --effect 0.5 [--method glmm]
    glyphlab analyze export TRIALS.csv --out psychds/ [--k 5]

Why a group with a default command: the issue's ``glyphlab analyze TRIALS.csv`` form is
kept, yet ``power`` and ``export`` are ordinary subcommands with their own ``--help``. A
first argument that is not a subcommand name is taken as the trials file of ``report``
(a file literally named ``power`` needs the explicit ``analyze report power``).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from analysis.response_modes import DEFAULT_MODE, RESPONSE_MODES, Decision, mode_named
from analysis.sdt import CORRECTIONS, DEFAULT_CORRECTION


class DefaultToReport(click.Group):
    """A group whose first argument, when not a subcommand, goes to ``report``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["report", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToReport)
def analyze() -> None:
    """Analyse a trial table: `glyphlab analyze TRIALS.csv --out DIR` writes the report."""


@analyze.command()
@click.argument("trials", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, report.json, tables/ and figures/.",
)
@click.option(
    "--stimulus-set",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Stimulus-set folder the trials came from: adds the ideal observer.",
)
@click.option("--title", default=None, help="Report title.")
@click.option(
    "--correction",
    type=click.Choice(list(CORRECTIONS)),
    default=DEFAULT_CORRECTION,
    show_default=True,
    help="Rate correction for d' and c (centred: log-linear for yes/no rates, the "
    "chance-centred pseudo-counts for m-AFC; docs/analysis.md).",
)
@click.option(
    "--timeouts",
    type=click.Choice(["miss", "exclude"]),
    default="miss",
    show_default=True,
    help="Score timed-out trials as misses or drop them.",
)
@click.option(
    "--sdt-timeouts",
    type=click.Choice(["exclude", "miss"]),
    default="exclude",
    show_default=True,
    help="Leave timed-out trials out of d', c and the rates, or count them as misses.",
)
@click.option(
    "--max-attention-failures",
    type=int,
    default=1,
    show_default=True,
    help="Exclude participants failing more attention checks than this (-1: never).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
def report(
    trials,
    out,
    stimulus_set,
    title,
    correction,
    timeouts,
    sdt_timeouts,
    max_attention_failures,
    seed,
):
    """Write the HTML report of TRIALS (a trial-table CSV) into --out."""
    from analysis.report import ReportConfig, write_report
    from analysis.trials import TrialOptions

    options = TrialOptions(
        timeouts=timeouts,
        max_attention_failures=None if max_attention_failures < 0 else max_attention_failures,
    )
    settings = {"title": title} if title else {}
    config = ReportConfig(stimulus_set=stimulus_set, correction=correction,
                          sdt_timeouts=sdt_timeouts, trial_options=options, seed=seed,
                          **settings)  # fmt: skip
    result = write_report(trials, out, config)
    parts = {k: v for k, v in result.seconds.items() if not k.startswith("statistic:")}
    timing = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in parts.items())
    click.echo(f"wrote {result.html} ({timing})")


def _int_list(ctx, param, value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter("give whole numbers separated by commas, e.g. 10,20,40") from None
    if not numbers:
        raise click.BadParameter("give at least one number")
    return numbers


@analyze.command()
@click.option(
    "--participants",
    default="20",
    callback=_int_list,
    show_default=True,
    help="Sample sizes to try, comma-separated.",
)
@click.option(
    "--effect",
    type=float,
    default=0.5,
    show_default=True,
    help="Effect of encoding A over the baseline (see --effect-scale).",
)
@click.option(
    "--effect-scale",
    type=click.Choice(["dprime", "log_odds"]),
    default="dprime",
    show_default=True,
    help="d' difference, or log-odds of a fully correct trial.",
)
@click.option("--baseline-dprime", type=float, default=1.0, show_default=True)
@click.option(
    "--encodings",
    default="gan_face,table",
    show_default=True,
    help="A,BASELINE: the encoding expected to win, then the baseline.",
)
@click.option(
    "--datasets",
    type=int,
    default=10,
    show_default=True,
    help="Datasets per participant (each shown once per encoding).",
)
@click.option("--items", type=int, default=12, show_default=True, help="Items per display.")
@click.option("--response-mode", type=click.Choice(list(RESPONSE_MODES)), default=DEFAULT_MODE,
              show_default=True)  # fmt: skip
@click.option(
    "--sensitivity-sd",
    type=float,
    default=0.3,
    show_default=True,
    help="SD of participants' d' around the encoding's d'.",
)
@click.option(
    "--encoding-sd",
    type=float,
    default=0.3,
    show_default=True,
    help="SD of each participant's own d' shift per encoding (participant x encoding).",
)
@click.option(
    "--dataset-encoding-sd",
    type=float,
    default=0.0,
    show_default=True,
    help="SD of a d' shift per dataset x encoding.",
)
@click.option("--simulations", type=int, default=200, show_default=True)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option(
    "--method",
    type=click.Choice(["paired", "glmm"]),
    default="paired",
    show_default=True,
    help="paired: t test of participants' d' (fast); glmm: slow.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the table as CSV here.",
)
def power(participants, effect, effect_scale, baseline_dprime, encodings, datasets, items,
          response_mode, sensitivity_sd, encoding_sd, dataset_encoding_sd, simulations, alpha,
          method, seed, out):  # fmt: skip
    """Estimate power by simulating studies of each size in --participants."""
    from analysis.power import PowerConfig, power_curve

    config = PowerConfig(
        n_participants=participants[0], encodings=tuple(encodings.split(",")),
        baseline_dprime=baseline_dprime, effect=effect, effect_scale=effect_scale,
        sensitivity_sd=sensitivity_sd, encoding_sd=encoding_sd,
        dataset_encoding_sd=dataset_encoding_sd, n_datasets=datasets, n_items=items,
        absent_fraction=0.5 if mode_named(response_mode).decision == Decision.PRESENCE else 0.0,
        response_mode=response_mode, n_simulations=simulations, alpha=alpha, method=method,
    )  # fmt: skip
    table = power_curve(config, participants, rng=np.random.default_rng(seed))
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if out is not None:
        table.to_csv(out, index=False)
        click.echo(f"wrote {out}")


@analyze.command()
@click.argument("trials", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New (or empty) folder for the Psych-DS dataset.",
)
@click.option("--k", type=int, default=5, show_default=True, help="k of k-anonymity.")
@click.option(
    "--on-small-groups",
    type=click.Choice(["coarsen", "refuse"]),
    default="coarsen",
    show_default=True,
    help="Widen bands until k-anonymous, or refuse to export.",
)
@click.option("--name", default=None, help="Dataset name (dataset_description.json).")
@click.option("--description", default=None, help="Dataset description.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the random renumbering of participants.",
)
def export(trials, out, k, on_small_groups, name, description, seed):
    """Export TRIALS as an anonymised Psych-DS dataset into --out."""
    from analysis.export import ExportConfig, export_psychds

    labels = {key: value for key, value in (("name", name), ("description", description)) if value}
    config = ExportConfig(k=k, on_small_groups=on_small_groups, seed=seed, **labels)
    click.echo(f"wrote {export_psychds(trials, out, config)}")
