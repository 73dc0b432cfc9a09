"""The report's sections: each computes its numbers, figures and HTML blocks.

Why one function per section: the report times each one (the benchmark prints where the
time goes), and a model that cannot be fitted turns into a note in its own section
instead of failing the whole report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.ideal_observer import IdealObserverConfig, efficiency
from analysis.measures import DPRIME_RATES, MeasuresResult, compute_measures, encoding_summary
from analysis.report import plots
from analysis.report.html import Section, facts_html
from analysis.trials import TrialTable

SUMMARY_COLUMNS = (
    "accuracy", "dprime", "criterion", "hit_rate", "fa_rate", "precision", "recall",
    "median_log_rt",
)  # fmt: skip
#: Shown on the page (all of SUMMARY_COLUMNS are in encoding_summary.csv).
SHOWN_COLUMNS = {
    "accuracy": "accuracy",
    "dprime": "d′",
    "criterion": "c",
    "median_log_rt": "median RT (s)",
}


def sample_section(table: TrialTable) -> Section:
    section = Section("sample", "Sample and exclusions")
    people = table.participants
    kept = table.trials
    excluded = people[people["excluded"]]
    section.blocks.append(
        facts_html(
            {
                "participants": len(people),
                "excluded": len(excluded),
                "trials analysed": len(kept),
                "trials in table": len(table.all_trials),
                "timeouts (analysed)": int(kept["timed_out"].sum()),
                "timing-flagged (not analysed)": int(table.timing_excluded.sum()),
                "encodings": kept["encoding"].nunique(),
            }
        )
    )
    rule = table.options.max_attention_failures
    section.blocks.append(
        '<p class="lead">Practice trials and attention checks are not analysed. Participants '
        + (
            "are never excluded for attention checks."
            if rule is None
            else f"failing more than {rule} attention check(s) are excluded."
        )
        + f" Timed-out trials count as {table.options.timeouts.replace('miss', 'misses')}."
        + " Timing-flagged trials (a stated reaction time that the server's clock"
        " contradicts, or none; column timing_flag) are not analysed; the"
        " timing_excluded column counts them per condition.</p>"
    )
    counts = (
        kept.groupby(["response_mode", "layout", "encoding"], sort=True)
        .agg(
            participants=("participant", "nunique"),
            trials=("participant", "size"),
            datasets=("dataset_id", "nunique"),
            timeouts=("timed_out", "sum"),
        )
        .reset_index()
    )
    all_trials = table.all_trials
    eligible = (
        ~all_trials["is_practice"]
        & ~all_trials["is_attention_check"]
        & ~all_trials["participant_excluded"]
        & all_trials["timing_flag"].notna()
    )
    if table.options.timeouts == "exclude":
        eligible &= ~all_trials["timed_out"]
    keys = ["response_mode", "layout", "encoding"]
    flagged = all_trials.loc[eligible].groupby(keys).size().rename("timing_excluded")
    counts = counts.merge(flagged.reset_index(), on=keys, how="outer")
    counts = counts.fillna({"participants": 0, "trials": 0, "datasets": 0, "timeouts": 0})
    counts = counts.fillna({"timing_excluded": 0}).astype(
        {c: "int64" for c in ("participants", "trials", "datasets", "timeouts", "timing_excluded")}
    )
    section.heading("Analysed trials per condition")
    section.table("trial_counts", counts)
    section.tables["participants"] = people
    if len(excluded):
        section.heading("Excluded participants")
        section.table(
            "excluded", excluded[["participant", "n_attention_failed", "exclusion_reason"]]
        )
    return section


def _summary_wide(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per mode x encoding; columns "mean [low, high]" per shown measure."""

    def show(row: pd.Series) -> str:
        values = row[["mean", "ci_low", "ci_high"]].to_numpy(dtype=float)
        if row["measure"] == "median_log_rt":
            values = np.exp(values) / 1000.0
        mean, low, high = values
        if np.isnan(mean):
            return "—"
        return f"{mean:.3f}" if np.isnan(low) else f"{mean:.3f} [{low:.3f}, {high:.3f}]"

    shown = summary[summary["measure"].isin(SHOWN_COLUMNS)]
    shown = shown.assign(value=shown.apply(show, axis=1))
    keys = ["response_mode", "encoding"]
    wide = shown.pivot(index=keys, columns="measure", values="value")
    wide = wide[[c for c in SHOWN_COLUMNS if c in wide.columns]].rename(columns=SHOWN_COLUMNS)
    participants = summary.groupby(keys)["n"].max().rename("participants")
    return (
        wide.join(participants)
        .reset_index()
        .rename_axis(columns=None)[[*keys, "participants", *wide.columns]]
    )


def _dprime_notes(cells: pd.DataFrame, correction: str) -> list[str]:
    """Say which participant cells have no finite d', so a mean over fewer people is explained."""
    notes = []
    missing = int((cells["dprime_method"].eq(DPRIME_RATES) & cells["dprime"].isna()).sum())
    if missing:
        notes.append(
            f"{missing} participant cell(s) have no d′ or c and are left out of their means: "
            "a cell needs target-present and target-absent trials (items) for a hit and a "
            "false-alarm rate."
        )
    infinite = int(np.isinf(cells["dprime"].to_numpy(dtype=float)).sum())
    if infinite:
        notes.append(
            f"{infinite} participant cell(s) have an infinite d′: a rate of 0 or 1 with "
            f"correction {correction!r}; use 'centred', 'loglinear' or '1/2N' for finite values."
        )
    return notes


def measures_section(
    table: TrialTable,
    correction: str,
    sdt_timeouts: str = "exclude",
    measures: MeasuresResult | None = None,
) -> Section:
    """Means per encoding and the figures from ``measures`` (computed here unless given);
    the per-participant table comes from the registered ``measures`` statistic, laid out
    after this by the statistic sections."""
    section = Section(
        "measures",
        "Measures per encoding",
        "Means over participants of per-participant measures, with 95% t intervals "
        "(accuracy: on the logit scale, so they stay within [0, 1]; median RT: geometric "
        f"mean of participants' medians). d′ and c use {correction}-corrected "
        "rates; m-AFC d′ comes from proportion correct. Hit and false-alarm rates, precision "
        "and recall are in tables/encoding_summary.csv.",
    )
    if measures is None:
        measures = compute_measures(table, correction=correction, sdt_timeouts=sdt_timeouts)
    section.note(measures.note)
    cells = measures.table
    columns = tuple(c for c in SUMMARY_COLUMNS if cells[c].notna().any())
    summary = encoding_summary(measures, columns=columns, by=("response_mode", "encoding"))
    section.table("encoding_summary", summary, shown=_summary_wide(summary))
    if summary.loc[summary["measure"] == "accuracy", "n"].min() < 2:
        section.note("A condition has a single participant: no confidence interval (—).")
    for note in _dprime_notes(cells, correction):
        section.note(note)
    palette = plots.colours(cells["encoding"].unique())
    # Several response modes make multi-panel figures: give them the full width.
    grid = '<div class="grid2">' if cells["response_mode"].nunique() == 1 else "<div>"
    section.blocks.append(grid)
    section.figure(
        "accuracy_by_encoding",
        plots.means_with_ci(summary, "accuracy", palette),
        "Accuracy by encoding: mean over participants with 95% CI.",
    )
    section.figure(
        "dprime_by_encoding",
        plots.means_with_ci(summary, "dprime", palette),
        "d′ by encoding: mean over participants with 95% CI.",
    )
    section.blocks.append('</div><div class="grid2">')
    section.figure(
        "speed_accuracy",
        plots.speed_accuracy(cells, palette),
        "Speed-accuracy: faster and more accurate is up and to the left.",
    )
    section.figure(
        "rt_distributions",
        plots.rt_distributions(table.trials, palette),
        "RT distributions of answered trials per encoding.",
    )
    section.blocks.append("</div>" + grid)
    section.figure(
        "participant_accuracy",
        plots.participant_lines(cells, "accuracy", palette),
        "Each grey line is one participant's accuracy across encodings.",
    )
    section.figure(
        "participant_dprime",
        plots.participant_lines(cells, "dprime", palette),
        "Each grey line is one participant's d′ across encodings.",
    )
    section.blocks.append("</div>")
    return section


def ideal_section(
    table: TrialTable, stimulus_set: Path, correction: str, rng: np.random.Generator
) -> Section:
    section = Section(
        "ideal",
        "Ideal observer and efficiency",
        "The ideal observer of the datasets' generative model sees the raw numbers and marks "
        "each row by its likelihood ratio of being an outlier (posterior odds > 1); its d′ "
        "is computed once per distinct display. Efficiency = (d′ human / d′ ideal)² on the "
        "same displays, with a 95% CI resampling participants.",
    )
    try:
        config = IdealObserverConfig(correction=correction)
        frame = efficiency(table.trials, stimulus_set, config, rng=rng)
    except AnalysisError as error:  # a wrong folder should not cost the rest of the report
        section.note(f"The ideal observer could not be run: {error}")
        return section
    notes = frame.pop("note")
    section.table("efficiency", frame)
    for note in sorted(set(notes) - {""}):
        section.note(note)
    if (frame["d_ideal"] > 0).any() and np.isfinite(frame["efficiency"]).any():
        section.blocks.append(
            '<p class="lead">The ideal d′ is capped by the rate correction for the finite '
            "number of displays, so efficiencies near 1 are upper bounds.</p>"
        )
    return section
