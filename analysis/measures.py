"""Per-cell behavioural measures: accuracy, SDT cells, rates, d', c, RT, timeouts.

A cell is one participant x encoding x layout x response mode by default (``by``). d' is
the yes/no formula z(H) - z(F) on the item-level (or presence-level) cells
(``dprime_method`` ``"rates"``), and the m-AFC formula on proportion correct for modes
whose answers are a forced choice (``"forced_choice"``; c is not defined there: NaN). Rates
are corrected (log-linear rule by default, see :mod:`analysis.sdt`), so a participant with
all hits and no false alarms gets a finite d' and c, never inf or NaN.

``recall`` and ``precision`` are the uncorrected item-level proportions
hits/(hits + misses) and hits/(hits + false_alarms); precision is NaN when nothing was
marked in the cell, RT columns are NaN when every trial in it timed out.

Time-outs (``sdt_timeouts``): ``"exclude"`` (default) leaves timed-out trials out of the
SDT counts, rates, d' and c (a time-out is no decision: counted as a miss it lowers d'
and raises c, and an absent yes/no trial has no cell at all, so the bias depends on the
time-out rate); ``"miss"`` keeps them as scored (see :mod:`analysis.trials`). Either
way ``n_timeouts`` and ``timeout_rate`` count them per cell, accuracy counts them as not
correct, and the result's ``note`` says which rule ran.

A yes/no cell without target-present trials (or without target-absent items) has no hit
(or false-alarm) rate, so its d' and c are NaN under every correction: an invented rate
would report bias as sensitivity. ``median_rt_ms`` is the plain median of answered RTs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.errors import AnalysisError
from analysis.response_modes import RESPONSE_MODES, Decision
from analysis.sdt import DEFAULT_CORRECTION, criterion, dprime, dprime_mafc, mafc_rate, rates
from analysis.trials import TrialTable

DEFAULT_BY = ("participant", "encoding", "layout", "response_mode")
SDT_TIMEOUT_RULES = ("exclude", "miss")
_SDT_COUNTS = ["hits", "false_alarms", "misses", "correct_rejections"]
#: ``dprime_method`` values: z(H) - z(F) on the cells, or the m-AFC formula
DPRIME_RATES, DPRIME_FORCED_CHOICE = "rates", "forced_choice"
_COUNTS = ("hits", "false_alarms", "misses", "correct_rejections", "correct", "timed_out")


@dataclass(frozen=True)
class MeasuresResult:
    """Measures per cell (``table``), the grouping and the rate correction used."""

    table: pd.DataFrame
    by: tuple[str, ...]
    correction: str
    sdt_timeouts: str = "exclude"

    @property
    def note(self) -> str:
        """The time-out rule that ran (the report shows it)."""
        if self.sdt_timeouts == "exclude":
            rule = "left out of the SDT counts, rates, d′ and c"
        else:
            rule = "scored as no response (misses) in the SDT counts"
        return (
            f"Time-outs: {rule} (rule {self.sdt_timeouts!r}); accuracy counts those in the "
            "analysed trials as not correct; n_timeouts and timeout_rate count them per cell."
        )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        return (
            f"{len(self.table)} cells by {', '.join(self.by)} (rates: {self.correction})\n"
            + self.table.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        )


def _trials_of(trials: pd.DataFrame | TrialTable) -> pd.DataFrame:
    frame = trials.trials if isinstance(trials, TrialTable) else trials
    missing = [c for c in (*_COUNTS, "n_items", "log_rt", "rt_ms") if c not in frame.columns]
    if missing:
        raise AnalysisError(
            f"measures need scored trials (missing {', '.join(missing)}): pass the result of "
            "analysis.trials.load_trials(...) or its .trials"
        )
    if frame.empty:
        raise AnalysisError("no trials to summarise")
    return frame


def _dprime_mafc_cells(frame: pd.DataFrame, keys: list[str], correction: str) -> pd.Series:
    """m-AFC d' per cell; cells mixing several m average their per-m d' weighted by trials."""
    per_m = frame.groupby([*keys, "n_items"], sort=True, observed=True)["correct"].agg(
        ["sum", "size"]
    )
    m_values = per_m.index.get_level_values("n_items").to_numpy()
    pc = mafc_rate(per_m["sum"].to_numpy(), per_m["size"].to_numpy(), m_values, correction)
    d = np.array([dprime_mafc(p, int(m)) for p, m in zip(pc, m_values, strict=True)])
    weighted = pd.DataFrame({"wd": d * per_m["size"].to_numpy(), "n": per_m["size"].to_numpy()})
    weighted.index = per_m.index.droplevel("n_items")
    sums = weighted.groupby(level=list(range(len(keys)))).sum()
    return sums["wd"] / sums["n"]


def compute_measures(
    trials: pd.DataFrame | TrialTable,
    *,
    by: tuple[str, ...] = DEFAULT_BY,
    correction: str = DEFAULT_CORRECTION,
    sdt_timeouts: str = "exclude",
) -> MeasuresResult:
    """Aggregate scored trials into one row of measures per ``by`` cell."""
    if sdt_timeouts not in SDT_TIMEOUT_RULES:
        raise AnalysisError(
            f"sdt_timeouts must be one of {SDT_TIMEOUT_RULES}, not {sdt_timeouts!r}"
        )
    frame = _trials_of(trials)
    by = tuple(by)
    absent = [c for c in by if c not in frame.columns]
    if absent:
        raise AnalysisError(f"cannot group by missing column(s): {', '.join(absent)}")
    keys = list(by)
    if "response_mode" not in keys:
        modes = frame.groupby(keys, observed=True)["response_mode"].nunique()
        if (modes > 1).any():
            raise AnalysisError(
                "a cell mixes response modes, whose d' are not comparable: "
                "add 'response_mode' to by"
            )
    grouped = frame.groupby(keys, sort=True, observed=True)
    table = grouped[list(_COUNTS)].sum().astype(np.int64)
    table.insert(0, "n_trials", grouped.size())
    table = table.rename(columns={"correct": "n_correct", "timed_out": "n_timeouts"})
    table.insert(2, "accuracy", table["n_correct"] / table["n_trials"])
    mode = grouped["response_mode"].first()
    decided = frame[~frame["timed_out"].astype(bool)] if sdt_timeouts == "exclude" else frame
    if sdt_timeouts == "exclude":
        counts = decided.groupby(keys, sort=True, observed=True)[_SDT_COUNTS].sum()
        table[_SDT_COUNTS] = counts.reindex(table.index, fill_value=0).astype(np.int64)
    hits, misses = table["hits"], table["misses"]
    false_alarms = table["false_alarms"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["recall"] = hits / (hits + misses).where(hits + misses > 0)
        table["precision"] = hits / (hits + false_alarms).where(hits + false_alarms > 0)
    hit_rate, fa_rate = rates(
        hits, misses, false_alarms, table["correct_rejections"], correction=correction
    )
    table["hit_rate"], table["fa_rate"] = hit_rate, fa_rate
    table["dprime"] = dprime(hit_rate, fa_rate)
    table["criterion"] = criterion(hit_rate, fa_rate)
    choice = {name for name, m in RESPONSE_MODES.items() if m.decision == Decision.CHOICE}
    is_afc = mode.isin(choice).to_numpy()
    table["dprime_method"] = np.where(is_afc, DPRIME_FORCED_CHOICE, DPRIME_RATES)
    if is_afc.any():
        afc = _dprime_mafc_cells(frame[frame["response_mode"].isin(choice)], keys, correction)
        table.loc[is_afc, "dprime"] = afc.reindex(table.index[is_afc]).to_numpy()
        table.loc[is_afc, "criterion"] = np.nan
    table["median_log_rt"] = grouped["log_rt"].median()
    table["mean_log_rt"] = grouped["log_rt"].mean()
    # The median of the RTs themselves: exp(median log RT) differs for an even count (it
    # is the geometric mean of the middle two), and readers check this column against
    # a plain median.
    table["median_rt_ms"] = (
        frame["rt_ms"]
        .where(frame["log_rt"].notna())
        .groupby([frame[k] for k in keys], sort=True, observed=True)
        .median()
    )
    table["timeout_rate"] = table["n_timeouts"] / table["n_trials"]
    return MeasuresResult(table.reset_index(), by, correction, sdt_timeouts)


def encoding_summary(
    measures: MeasuresResult,
    *,
    columns: tuple[str, ...] = ("accuracy", "dprime", "median_log_rt"),
    by: tuple[str, ...] = ("encoding",),
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean over participants of each measure per ``by`` group with a t confidence interval.

    One row per group and measure: ``n`` (participants with a value), ``mean``, ``sd``,
    ``ci_low``, ``ci_high``. A group with one participant has no interval (NaN bounds), nor
    has one holding an infinite d' (uncorrected rates of 0 or 1): its mean is infinite.
    Proportions (``accuracy``) get their t interval on the logit scale (delta method),
    back-transformed, so it stays inside [0, 1] around the mean where a plain t interval
    on a few participants would not.
    """
    table = measures.table
    rows = []
    for key, group in table.groupby(list(by), sort=True, observed=True):
        for column in columns:
            values = group[column].dropna().to_numpy(dtype=float)
            n = len(values)
            mean = float(values.mean()) if n else np.nan
            finite = np.isfinite(values).all()
            sd = float(values.std(ddof=1)) if n > 1 and finite else np.nan
            half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
            low, high = mean - half, mean + half
            if column in PROPORTIONS and n > 1 and finite:
                low, high = _logit_interval(mean, sd, n, level)
            keys = key if isinstance(key, tuple) else (key,)
            rows.append(
                {
                    **dict(zip(by, keys, strict=True)),
                    "measure": column,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows)


#: measures that are proportions of trials (their intervals stay inside [0, 1])
PROPORTIONS = ("accuracy",)


def _logit_interval(mean: float, sd: float, n: int, level: float) -> tuple[float, float]:
    """The t interval of a mean proportion on the logit scale (delta method: its standard
    error divided by p(1 - p)), back-transformed: inside [0, 1], around the mean. All
    participants at 0 or at 1 have no spread, so the interval is the mean itself."""
    if not 0.0 < mean < 1.0:
        return mean, mean
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n) / (mean * (1.0 - mean))
    centre = np.log(mean / (1.0 - mean))
    return float(expit(centre - half)), float(expit(centre + half))
