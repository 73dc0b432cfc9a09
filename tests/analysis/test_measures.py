"""Per-cell measures: hand-computed cells, corrections, m-AFC d', edge cases."""

import numpy as np
import pytest
from scipy import stats

from analysis.errors import AnalysisError
from analysis.measures import compute_measures, encoding_summary
from analysis.sdt import centred_pseudocounts, corrected_rate, dprime_mafc
from analysis.trials import load_trials
from tests.analysis.factories import simulated_trials, trial_frame, trial_row


def test_cells_rates_and_rt_by_hand():
    rows = [
        trial_row(true_outliers=[3], selected=[3], rt_ms=1000.0),
        trial_row(true_outliers=[3], selected=[3, 5], rt_ms=2000.0),
        trial_row(true_outliers=[3], selected=[], rt_ms=4000.0),
        trial_row(true_outliers=[3], timed_out=True, rt_ms=10000.0),
    ]
    table = load_trials(trial_frame(rows))
    answered = compute_measures(table).table.iloc[0]  # default: time-outs left out of SDT
    assert (answered["hits"], answered["misses"], answered["correct_rejections"]) == (2, 1, 20)
    row = compute_measures(table, sdt_timeouts="miss").table.iloc[0]
    assert (row["hits"], row["misses"], row["false_alarms"]) == (2, 2, 1)
    assert row["correct_rejections"] == 4 * 7 - 1
    assert (row["n_trials"], row["n_correct"], row["n_timeouts"]) == (4, 1, 1)
    assert row["accuracy"] == 0.25 and row["timeout_rate"] == 0.25
    assert row["recall"] == 0.5 and row["precision"] == pytest.approx(2 / 3)
    hit_rate, fa_rate = 2.5 / 5, 1.5 / 29
    assert row["hit_rate"] == pytest.approx(hit_rate) and row["fa_rate"] == pytest.approx(fa_rate)
    z = stats.norm.ppf
    assert row["dprime"] == pytest.approx(z(hit_rate) - z(fa_rate))
    assert row["criterion"] == pytest.approx(-(z(hit_rate) + z(fa_rate)) / 2)
    assert row["median_log_rt"] == pytest.approx(np.log(2000.0))  # timeout not counted
    assert row["mean_log_rt"] == pytest.approx(np.mean(np.log([1000, 2000, 4000])))


def test_all_hits_participant_gets_finite_dprime():
    rows = [trial_row(participant="P1", true_outliers=[1], selected=[1])] * 10
    rows += [trial_row(participant="P2", true_outliers=[1], selected=[0])] * 10
    table = compute_measures(load_trials(trial_frame(rows))).table.set_index("participant")
    assert np.isfinite(table[["dprime", "criterion", "hit_rate", "fa_rate"]].to_numpy()).all()
    assert table.loc["P1", "dprime"] > 2.5 > table.loc["P2", "dprime"]
    strict = compute_measures(load_trials(trial_frame(rows)), correction="1/2N").table
    assert np.isfinite(strict["dprime"]).all()


def test_m_afc_dprime_from_corrected_proportion_correct():
    rows = [trial_row(response_mode="m_afc", n_items=4, true_outliers=[2], selected=[2])] * 6
    rows += [trial_row(response_mode="m_afc", n_items=4, true_outliers=[2], selected=[1])] * 4
    row = compute_measures(load_trials(trial_frame(rows))).table.iloc[0]
    assert row["dprime_method"] == "forced_choice" and np.isnan(row["criterion"])
    a, b = centred_pseudocounts(10, 4)  # the default m-AFC rule
    assert row["dprime"] == pytest.approx(dprime_mafc((6 + a) / (10 + b), 4))
    loglinear = compute_measures(load_trials(trial_frame(rows)), correction="loglinear")
    assert loglinear.table.iloc[0]["dprime"] == pytest.approx(dprime_mafc(6.5 / 11, 4))


def test_grouping_checks():
    rows = [trial_row(selected=[3]), trial_row(response_mode="yes_no", said_present=True)]
    trials = load_trials(trial_frame(rows))
    assert len(compute_measures(trials).table) == 2
    with pytest.raises(AnalysisError, match="add 'response_mode'"):
        compute_measures(trials, by=("participant", "encoding"))
    with pytest.raises(AnalysisError, match="missing column"):
        compute_measures(trials, by=("participant", "age_band"))
    with pytest.raises(AnalysisError, match="scored trials"):
        compute_measures(trial_frame(rows))


def test_encoding_summary_orders_encodings_like_the_truth(rng):
    measures = compute_measures(load_trials(simulated_trials(rng, n_participants=30)))
    summary = encoding_summary(measures).set_index(["encoding", "measure"])
    accuracy = summary.xs("accuracy", level="measure")
    assert accuracy["n"].eq(30).all()
    assert (accuracy["ci_low"] < accuracy["mean"]).all()
    assert accuracy["mean"].idxmax() == "gan_face" and accuracy["mean"].idxmin() == "table"
    assert measures.to_frame() is not measures.table
    assert measures.summary().startswith("120 cells by participant, encoding")


def test_median_rt_is_the_plain_median_of_answered_trials():
    # Regression: median_rt_ms was exp(median log RT), the geometric mean of the middle
    # two RTs for an even count (707 ms here instead of 750 ms).
    rows = [trial_row(selected=[3], rt_ms=rt) for rt in (500.0, 1000.0)]
    rows.append(trial_row(timed_out=True, rt_ms=10000.0))
    row = compute_measures(load_trials(trial_frame(rows))).table.iloc[0]
    assert row["median_rt_ms"] == 750.0
    assert row["median_log_rt"] == pytest.approx(np.log(500.0 * 1000.0) / 2)


@pytest.mark.parametrize("correction", ["loglinear", "1/2N", "none"])
def test_cell_without_signal_trials_has_no_dprime(correction):
    # Regression: under the log-linear rule a cell with no target-present trials got the
    # hit rate 0.5 and so d' = -z(F), a bias measure reported as sensitivity.
    rows = [trial_row(participant="P1", true_outliers=[], selected=[]) for _ in range(4)]
    rows += [trial_row(participant="P2", true_outliers=[1], selected=[1])] * 4
    table = compute_measures(load_trials(trial_frame(rows)), correction=correction).table
    table = table.set_index("participant")
    assert table.loc["P1", "n_trials"] == 4 and table.loc["P1", "accuracy"] == 1.0
    assert table.loc["P1", ["hit_rate", "dprime", "criterion"]].isna().all()
    assert table.loc["P1", "fa_rate"] == pytest.approx(float(corrected_rate(0, 32, correction)))
    summary = encoding_summary(compute_measures(load_trials(trial_frame(rows)))).set_index(
        "measure"
    )
    assert summary.loc["dprime", "n"] == 1 and summary.loc["accuracy", "n"] == 2


def test_accuracy_intervals_stay_within_zero_and_one():
    # Regression: a t interval over two participants (4 of 4 and 1 of 4 right) reached
    # [-5.853, 6.853]-like bounds; on the logit scale it stays inside [0, 1].
    rows = [trial_row(participant="P1", true_outliers=[1], selected=[1])] * 4
    rows += [trial_row(participant="P2", true_outliers=[1], selected=[1])]
    rows += [trial_row(participant="P2", true_outliers=[1], selected=[2])] * 3
    summary = encoding_summary(compute_measures(load_trials(trial_frame(rows)))).set_index(
        "measure"
    )
    low, mean, high = summary.loc["accuracy", ["ci_low", "mean", "ci_high"]]
    assert mean == pytest.approx(0.625)
    assert 0.0 < low < mean < high < 1.0
    plain_half = stats.t.ppf(0.975, 1) * np.std([1.0, 0.25], ddof=1) / np.sqrt(2)
    assert mean + plain_half > 1.0 and mean - plain_half < 0.0  # what it used to show


def test_timeouts_are_left_out_of_sdt_by_default_and_counted(rng):
    # The issue's case: yes/no, true d' 1.5 and c 0, 27% time-outs. Counted as misses,
    # d' read 0.94 and c 0.31; left out (the default), d' and c are those of the answers.
    from analysis.simulate import ModelObserver, SimulationDesign, make_design, simulate_trials

    observer = ModelObserver.simple({"table": 1.5}, rt_median_ms=2000, rt_sigma=0.5)
    deadline = 2000 * np.exp(0.5 * stats.norm.ppf(0.73))
    spec = SimulationDesign(
        n_participants=30,
        encodings=("table",),
        n_datasets=40,
        response_mode="yes_no",
        absent_fraction=0.5,
        deadline_ms=deadline,
    )
    table = load_trials(simulate_trials(make_design(spec, rng=rng), observer, rng=rng))
    default = compute_measures(table, correction="none")
    miss = compute_measures(table, correction="none", sdt_timeouts="miss")
    assert default.sdt_timeouts == "exclude" and "left out of the SDT" in default.note
    assert "'miss'" in miss.note
    for result in (default, miss):
        cells = result.table
        assert cells["n_timeouts"].sum() == table.trials["timed_out"].sum()
    answered = table.trials[~table.trials["timed_out"]]
    counted = default.table[["hits", "misses", "false_alarms", "correct_rejections"]].sum()
    assert counted.sum() == len(answered)
    pooled = default.table[["hits", "misses", "false_alarms", "correct_rejections"]].sum()
    h = pooled["hits"] / (pooled["hits"] + pooled["misses"])
    f = pooled["false_alarms"] / (pooled["false_alarms"] + pooled["correct_rejections"])
    assert stats.norm.ppf(h) - stats.norm.ppf(f) == pytest.approx(1.5, abs=0.15)
    assert miss.table["dprime"].median() < default.table["dprime"].median() - 0.3
    with pytest.raises(AnalysisError, match="sdt_timeouts"):
        compute_measures(table, sdt_timeouts="drop")
