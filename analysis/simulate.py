"""Simulated participants: an equal-variance signal-detection observer that answers trials.

Why: the demo needs bots, the whole-chain tests need data with a *known* difference
between encodings, and power analysis needs thousands of studies without the site. The
observer follows textbook SDT (Macmillan & Creelman, 2005) so the measures in
``analysis.sdt`` recover its parameters:

- every item yields evidence ``N(d', 1)`` if it is a true outlier, else ``N(0, 1)``;
  each response mode's ``decide`` (``analysis/response_modes/``) turns it into answers:
- ``mark_outliers`` / ``keypress``: mark every item whose evidence exceeds
  ``k = d'/2 + c`` (so per-item hit and false-alarm rates are ``Phi(d'/2 - c)`` and
  ``Phi(-d'/2 - c)`` and ``z(H) - z(F) = d'``);
- ``m_afc``: choose the item with the largest evidence (proportion correct is the
  m-AFC integral of d');
- ``yes_no``: ``yes_no_rule="presence"`` treats the whole display as one observation
  ``N(d', 1)`` vs ``N(0, 1)`` with criterion ``k`` (recoverable as d' on presence);
  ``"max"`` says "present" when the largest item evidence exceeds ``k`` (a more
  realistic search observer whose presence-d' is not the item d');
- a lapse (probability ``lapse_rate``) is a trial answered from noise alone (d' = 0);
- RT is lognormal per encoding; a trial whose RT exceeds its deadline times out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.response_modes import (
    DEFAULT_MODE,
    ResponseError,
    ResponseMode,
    UnknownResponseMode,
    mode_named,
)
from analysis.response_modes.base import Decisions
from analysis.trial_contract import written_columns

YES_NO_RULES = ("presence", "max")
#: Timestamps of simulated trials start here (UTC); one hour apart per participant.
SIMULATION_EPOCH = pd.Timestamp("2026-01-01T00:00:00Z")
INTER_TRIAL_MS = 800.0


class SimulationError(AnalysisError):
    """A simulated observer or design that cannot be run as given."""


def _mode(name: str) -> ResponseMode:
    try:
        return mode_named(name)
    except UnknownResponseMode as error:
        raise SimulationError(str(error)) from None


def _frozen_floats(name: str, values: Mapping[str, float]) -> Mapping[str, float]:
    if not values:
        raise SimulationError(f"{name} needs at least one encoding, e.g. {{'table': 1.5}}")
    try:
        converted = {str(key): float(value) for key, value in values.items()}
    except (TypeError, ValueError) as error:
        raise SimulationError(f"{name} must map encoding names to numbers: {error}") from None
    if not all(np.isfinite(value) for value in converted.values()):
        raise SimulationError(f"{name} has a non-finite value: {converted}")
    return MappingProxyType(converted)


@dataclass(frozen=True)
class SimulatedResponse:
    """One answer, in the trial table's terms (:mod:`analysis.trial_contract`)."""

    selected: list[int]
    said_present: bool | None
    rt_ms: float
    timed_out: bool = False
    #: the mode's extra trial-table values (e.g. a rating)
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelObserver:
    """An SDT observer: sensitivity and lognormal RT per encoding, one criterion.

    ``criterion`` is the bias ``c`` (0 = unbiased, positive = conservative). ``rt_mu`` and
    ``rt_sigma`` are the mean and SD of log RT in ms. ``sensitivity_sd`` is the SD of a
    participant's additive shift of every d', ``encoding_sd`` the SD of their own shift per
    encoding on top (participant x encoding variability: one person is good with faces,
    another with tables), ``rt_participant_sd`` the SD of their shift of every log RT (a
    slow or fast person); these are drawn by :meth:`for_participant`.
    ``dataset_encoding_sd`` is the SD of a shift of d' per dataset x encoding (a dataset
    that one encoding shows well), drawn once per simulated study by
    :func:`simulate_trials`. Shifted d' values are clipped at 0.
    """

    d_prime: Mapping[str, float]
    rt_mu: Mapping[str, float]
    rt_sigma: Mapping[str, float]
    criterion: float = 0.0
    lapse_rate: float = 0.0
    sensitivity_sd: float = 0.0
    rt_participant_sd: float = 0.0
    yes_no_rule: str = "presence"
    encoding_sd: float = 0.0
    dataset_encoding_sd: float = 0.0

    def __post_init__(self) -> None:
        for name in ("d_prime", "rt_mu", "rt_sigma"):
            object.__setattr__(self, name, _frozen_floats(name, getattr(self, name)))
        if set(self.rt_mu) != set(self.d_prime) or set(self.rt_sigma) != set(self.d_prime):
            raise SimulationError(
                "d_prime, rt_mu and rt_sigma must name the same encodings; got "
                f"{sorted(self.d_prime)}, {sorted(self.rt_mu)}, {sorted(self.rt_sigma)}"
            )
        if any(value <= 0 for value in self.rt_sigma.values()):
            raise SimulationError("rt_sigma values must be > 0 (SD of log RT)")
        if not 0.0 <= self.lapse_rate < 1.0:
            raise SimulationError(f"lapse_rate must be in [0, 1), got {self.lapse_rate}")
        sds = (self.sensitivity_sd, self.rt_participant_sd, self.encoding_sd)
        if min(*sds, self.dataset_encoding_sd) < 0:
            raise SimulationError(
                "sensitivity_sd, encoding_sd, dataset_encoding_sd and rt_participant_sd "
                "must be >= 0"
            )
        if not np.isfinite(self.criterion):
            raise SimulationError("criterion must be a finite number")
        if self.yes_no_rule not in YES_NO_RULES:
            raise SimulationError(f"yes_no_rule must be one of {YES_NO_RULES}")

    @classmethod
    def simple(
        cls, d_prime: Mapping[str, float], *, rt_median_ms: float = 2500.0, rt_sigma=0.35, **kw
    ) -> ModelObserver:
        """Same RT distribution for every encoding: the common case in tests and demos."""
        mu = float(np.log(rt_median_ms))
        return cls(
            d_prime=d_prime,
            rt_mu=dict.fromkeys(d_prime, mu),
            rt_sigma=dict.fromkeys(d_prime, rt_sigma),
            **kw,
        )

    def for_participant(self, *, rng: np.random.Generator) -> ModelObserver:
        """This observer with one participant's random sensitivity and speed shifts applied."""
        person = self
        if self.sensitivity_sd > 0 or self.encoding_sd > 0:
            shift = rng.normal(0.0, self.sensitivity_sd) if self.sensitivity_sd > 0 else 0.0
            own = (
                rng.normal(0.0, self.encoding_sd, len(self.d_prime))
                if self.encoding_sd > 0
                else 0.0
            )
            values = np.maximum(0.0, np.array(list(self.d_prime.values())) + shift + own)
            shifted = dict(zip(self.d_prime, values.tolist(), strict=True))
            person = replace(person, d_prime=shifted, sensitivity_sd=0.0, encoding_sd=0.0)
        if self.rt_participant_sd > 0:
            shift = rng.normal(0.0, self.rt_participant_sd)
            slower = {name: value + shift for name, value in self.rt_mu.items()}
            person = replace(person, rt_mu=slower, rt_participant_sd=0.0)
        return person

    def _encoding(self, encoding: str) -> tuple[float, float, float]:
        if encoding not in self.d_prime:
            raise SimulationError(
                f"observer has no parameters for encoding {encoding!r}; "
                f"it knows {sorted(self.d_prime)}"
            )
        return self.d_prime[encoding], self.rt_mu[encoding], self.rt_sigma[encoding]

    def respond(
        self,
        *,
        n_items: int,
        true_outliers: list[int],
        encoding: str,
        response_mode: str,
        rng: np.random.Generator,
        deadline_ms: float | None = None,
    ) -> SimulatedResponse:
        """Answer one trial (one display of ``n_items`` items)."""
        d_prime, mu, sigma = self._encoding(encoding)
        outliers = np.zeros((1, n_items), dtype=bool)
        outliers[0, list(true_outliers)] = True
        decided = _decide(
            outliers, np.array([d_prime]), mode=_mode(response_mode), observer=self, rng=rng
        )
        rt_ms = float(np.exp(rng.normal(mu, sigma)))
        if deadline_ms is not None and rt_ms > deadline_ms:
            return SimulatedResponse([], None, float(deadline_ms), timed_out=True)
        present = decided.said_present
        said = None if present is None else bool(present[0])
        extra = {name: values[0].item() for name, values in decided.extra.items()}
        return SimulatedResponse(
            np.flatnonzero(decided.selected[0]).tolist(), said, rt_ms, extra=extra
        )


def _decide(
    outliers: np.ndarray, d_prime: np.ndarray, *, mode: ResponseMode, observer, rng
) -> Decisions:
    """Decisions for a block of trials with the same mode and display size, as the mode
    makes them (``outliers`` is (trials, items) bool). Vectorised so power runs stay fast."""
    try:
        return mode.decide(outliers, d_prime, observer=observer, rng=rng)
    except ResponseError as error:
        raise SimulationError(str(error)) from None


#: The trial-table columns a simulated trial has: the contract's required ones, in order.
TRIAL_COLUMNS = tuple(column.name for column in written_columns() if column.required)
DESIGN_REQUIRED = ("participant", "encoding", "response_mode", "n_items", "true_outliers")


@dataclass(frozen=True)
class SimulationDesign:
    """A fully crossed within-participant study: every dataset shown in every encoding.

    ``absent_fraction`` of the datasets have no outlier (needed for yes_no false alarms).
    """

    n_participants: int = 20
    encodings: tuple[str, ...] = ("gan_face", "chernoff", "table", "plot")
    n_datasets: int = 10
    n_items: int = 12
    n_outliers: int = 1
    absent_fraction: float = 0.0
    response_mode: str = DEFAULT_MODE
    deadline_ms: float = 15000.0
    study: str = "sim"

    def __post_init__(self) -> None:
        object.__setattr__(self, "encodings", tuple(self.encodings))
        if self.n_participants < 1 or self.n_datasets < 1 or not self.encodings:
            raise SimulationError("need at least one participant, dataset and encoding")
        if not 0 <= self.n_outliers < self.n_items:
            raise SimulationError("n_outliers must be in [0, n_items)")
        mode = _mode(self.response_mode)
        if not mode.eligible(self.n_outliers) or (self.absent_fraction and not mode.eligible(0)):
            raise SimulationError(
                f"{mode.name} cannot show datasets with {self.n_outliers} outlier(s)"
                + (" or none (absent_fraction > 0)" if self.absent_fraction else "")
            )
        if not 0 <= self.absent_fraction < 1 or self.deadline_ms <= 0:
            raise SimulationError("absent_fraction must be in [0, 1) and deadline_ms > 0")


def make_design(design: SimulationDesign, *, rng: np.random.Generator) -> pd.DataFrame:
    """The design frame (one row per trial, no answers yet) for :func:`simulate_trials`."""
    n_absent = round(design.absent_fraction * design.n_datasets)
    datasets = []
    for index in range(design.n_datasets):
        count = 0 if index < n_absent else design.n_outliers
        outliers = sorted(rng.choice(design.n_items, size=count, replace=False).tolist())
        datasets.append((f"d{index:02d}", outliers))
    rows = []
    for participant in range(1, design.n_participants + 1):
        cells = [(encoding, data) for encoding in design.encodings for data in datasets]
        for trial_index, cell in enumerate(rng.permutation(len(cells))):
            encoding, (dataset_id, outliers) = cells[cell]
            rows.append(
                {
                    "participant": f"P{participant:04d}",
                    "study": design.study,
                    "encoding": encoding,
                    "response_mode": design.response_mode,
                    "dataset_id": dataset_id,
                    "stimulus_id": f"{dataset_id}-{encoding}",
                    "trial_index": trial_index,
                    "n_items": design.n_items,
                    "true_outliers": outliers,
                    "deadline_ms": design.deadline_ms,
                }
            )
    return pd.DataFrame(rows)


def _json_list(items: list[int]) -> str:
    """``json.dumps`` of a list of ints, 10x faster (this runs per trial in power loops)."""
    return "[" + ", ".join(map(str, items)) + "]"


def _as_index_list(value) -> list[int]:
    if isinstance(value, str):
        value = json.loads(value)
    return [int(item) for item in value]


def simulate_trials(
    design: pd.DataFrame, observer: ModelObserver, *, rng: np.random.Generator
) -> pd.DataFrame:
    """Answer every row of ``design`` as ``observer`` would: a trial table (the contract).

    Each participant gets their own sensitivity draw (``observer.sensitivity_sd``). Columns
    the design lacks get simulation defaults; extra design columns pass through.
    """
    missing = [name for name in DESIGN_REQUIRED if name not in design.columns]
    if missing:
        raise SimulationError(f"design frame lacks columns {missing}; see make_design()")
    if design.empty:
        raise SimulationError("design frame has no rows")
    table = design.reset_index(drop=True).copy()
    outlier_lists = [_as_index_list(value) for value in table["true_outliers"]]
    n_items = table["n_items"].astype(int).to_numpy()
    participants = table["participant"].astype(str).to_numpy()
    encodings = table["encoding"].astype(str).to_numpy()
    for encoding in np.unique(encodings):
        observer._encoding(encoding)
    person, people = pd.factorize(participants)
    encoding_code, names = pd.factorize(encodings)
    own = [observer.for_participant(rng=rng) for _ in range(len(people))]
    sensitivity = np.array([[one.d_prime[name] for name in names] for one in own])
    d_prime = sensitivity[person, encoding_code]
    if observer.dataset_encoding_sd > 0:
        cell, n_cells = _dataset_encoding_cells(table)
        shifts = rng.normal(0.0, observer.dataset_encoding_sd, n_cells)
        d_prime = np.maximum(0.0, d_prime + shifts[cell])
    speed = np.array([[one.rt_mu[name] for name in names] for one in own])
    selected: list[list[int]] = [[] for _ in range(len(table))]
    said_present = np.full(len(table), None, dtype=object)
    extra: dict[str, np.ndarray] = {}
    modes = table["response_mode"].astype(str).to_numpy()
    for mode, size in sorted(set(zip(modes, n_items, strict=True))):
        rows = np.flatnonzero((modes == mode) & (n_items == size))
        counts = [len(outlier_lists[row]) for row in rows]
        truth = np.zeros((len(rows), size), dtype=bool)
        truth[
            np.repeat(np.arange(len(rows)), counts),
            np.fromiter((i for row in rows for i in outlier_lists[row]), dtype=int),
        ] = True
        decided = _decide(truth, d_prime[rows], mode=_mode(mode), observer=observer, rng=rng)
        hit_rows, hit_items = np.nonzero(decided.selected)
        per_row = np.split(hit_items, np.cumsum(np.bincount(hit_rows, minlength=len(rows)))[:-1])
        for row, items in zip(rows, per_row, strict=True):
            selected[row] = items.tolist()
        if decided.said_present is not None:
            said_present[rows] = decided.said_present
        for name, values in decided.extra.items():
            extra.setdefault(name, np.full(len(table), None, dtype=object))[rows] = values
    mu = speed[person, encoding_code]
    sigma = np.array([observer.rt_sigma[name] for name in names])[encoding_code]
    rt_ms = np.exp(rng.normal(mu, sigma))
    deadline = table.get("deadline_ms", pd.Series(np.inf, index=table.index)).astype(float)
    timed_out = rt_ms > deadline.to_numpy()
    rt_ms = np.where(timed_out, deadline.to_numpy(), rt_ms)
    for row in np.flatnonzero(timed_out):
        selected[row], said_present[row] = [], None
        for values in extra.values():
            values[row] = None
    for name, values in extra.items():
        table[name] = values
    table["true_outliers"] = [_json_list(items) for items in outlier_lists]
    table["selected"] = [_json_list(items) for items in selected]
    table["said_present"] = said_present
    table["rt_ms"] = rt_ms.round(1)
    table["timed_out"] = timed_out
    table["deadline_ms"] = deadline
    return _fill_defaults(table)


def _dataset_encoding_cells(table: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Each row's dataset x encoding cell code, and the number of cells."""
    dataset = table["dataset_id"] if "dataset_id" in table.columns else pd.Series(0, table.index)
    codes = table.assign(_dataset=dataset).groupby(["_dataset", "encoding"], sort=True).ngroup()
    return codes.to_numpy(), int(codes.max()) + 1


def _iso_utc(stamps: pd.Series) -> np.ndarray:
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
    return np.char.add(np.datetime_as_string(naive, unit="ms"), "Z")


def _fill_defaults(table: pd.DataFrame) -> pd.DataFrame:
    """Defaults for columns a design may omit; sequential wall-clock times per participant."""
    defaults = {
        "study": "sim", "layout": "grid", "response_mode_version": "sim-1",
        "is_attention_check": False, "is_practice": False,
    }  # fmt: skip
    for name, value in defaults.items():
        if name not in table.columns:
            table[name] = value
    if "dataset_id" not in table.columns:
        table["dataset_id"] = "d00"
    if "stimulus_id" not in table.columns:
        table["stimulus_id"] = table["dataset_id"].astype(str) + "-" + table["encoding"]
    if "trial_index" not in table.columns:
        table["trial_index"] = table.groupby("participant").cumcount()
    table = table.sort_values(["participant", "trial_index"], kind="stable").reset_index(drop=True)
    order = {name: index for index, name in enumerate(pd.unique(table["participant"]))}
    start = SIMULATION_EPOCH + pd.to_timedelta(table["participant"].map(order), unit="h")
    elapsed = (table["rt_ms"] + INTER_TRIAL_MS).groupby(table["participant"]).cumsum()
    presented = start + pd.to_timedelta(elapsed - table["rt_ms"] - INTER_TRIAL_MS, unit="ms")
    answered = presented + pd.to_timedelta(table["rt_ms"], unit="ms")
    table["presented_at"] = _iso_utc(presented)
    table["answered_at"] = _iso_utc(answered)
    extras = [name for name in table.columns if name not in TRIAL_COLUMNS]
    return table[[*TRIAL_COLUMNS, *extras]]
