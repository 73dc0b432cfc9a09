"""Turn a trial table into something safe to publish.

Why an allow-list: a trial table may carry anything the site or an analyst joined onto it
(Prolific ids, IP addresses, full user-agent strings, comments, exact ages, wall-clock
times). Only columns named in :data:`KEPT_COLUMNS` leave unchanged; a few known
identifying columns are *transformed* (times to relative ms, user agent to browser
family, age to bands); every other column is dropped and only its name is reported.

k-anonymity: each participant's quasi-identifiers (age band, gender, browser family) must
be shared by at least ``k`` participants. With ``on_small_groups="coarsen"`` (default)
the export widens age bands (10 years -> 20 years -> one band), then merges rare gender
and browser values into ``"other"``, then suppresses them (``"withheld"``) until every
group has ``k`` members; with ``"refuse"`` it raises :class:`AnonymityError` instead.
A study with fewer than ``k`` participants in total always refuses.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.trial_contract import written_columns

#: Contract columns that carry no personal information (declared ``public``): unchanged.
KEPT_COLUMNS = tuple(column.name for column in written_columns() if column.public)
#: Numeric per-trial timing statistics (``frame_*``) pass too: they describe the display.
KEPT_PREFIXES = ("frame_",)
QUASI_IDENTIFIERS = ("age_band", "gender", "browser_family")
AGE_BANDS = {
    10: [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, None)],
    20: [(18, 34), (35, 54), (55, None)],
    0: [(18, None)],
}
BROWSER_FAMILIES = (  # order matters: Edge and Opera also say "Chrome", Chrome says "Safari"
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
)
GENDER_VALUES = {"female", "male", "non-binary", "other", "prefer not to say"}


class AnonymityError(AnalysisError):
    """The table cannot be published without identifying someone."""


def browser_family(user_agent: object) -> str:
    """The browser family of a user-agent string, nothing more (no version, no OS)."""
    if not isinstance(user_agent, str) or not user_agent.strip():
        return "unknown"
    for family, pattern in BROWSER_FAMILIES:
        if re.search(pattern, user_agent):
            return family
    return "other"


def age_band(age: object, width: int = 10) -> str:
    """The band of an age in years (``"25-34"``, ``"65+"``); ``"unknown"`` when missing."""
    value = pd.to_numeric(pd.Series([age]), errors="coerce").iloc[0]
    if pd.isna(value):
        return "unknown"
    for low, high in AGE_BANDS[width]:
        if value >= low and (high is None or value <= high):
            return f"{low}+" if high is None else f"{low}-{high}"
    return "under 18"


def _widen_band(band: str, width: int) -> str:
    """Re-band an existing ``age_band`` label by its lower bound."""
    match = re.match(r"(\d+)", band)
    return age_band(int(match.group(1)), width) if match else band


def participant_table(trials: pd.DataFrame, *, rng: np.random.Generator) -> pd.DataFrame:
    """One row per original participant: new code, quasi-identifiers, first presentation.

    New codes (``P001``...) are assigned in a random order so they do not reveal the
    order or the ids of sign-up.
    """
    grouped = trials.groupby("participant", sort=True)
    people = pd.DataFrame({"study": grouped["study"].first()})
    if "age" in trials.columns:
        people["age_band"] = grouped["age"].first().map(age_band)
    elif "age_band" in trials.columns:
        people["age_band"] = grouped["age_band"].first().fillna("unknown").astype(str)
    if "gender" in trials.columns:
        gender = grouped["gender"].first().astype(str).str.strip().str.lower()
        people["gender"] = gender.where(gender.isin(GENDER_VALUES), "other")
    if "user_agent" in trials.columns:
        people["browser_family"] = grouped["user_agent"].first().map(browser_family)
    elif "browser_family" in trials.columns:
        people["browser_family"] = (
            grouped["browser_family"]
            .first()
            .map(lambda value: value if value in dict(BROWSER_FAMILIES) else "other")
        )
    width = max(3, len(str(len(people))))
    order = rng.permutation(len(people))
    people["new_code"] = [f"P{index + 1:0{width}d}" for index in order]
    return people


def enforce_k_anonymity(people: pd.DataFrame, *, k: int, on_small_groups: str) -> pd.DataFrame:
    """Coarsen (or refuse) until every quasi-identifier combination has >= k people."""
    if len(people) < k:
        raise AnonymityError(
            f"only {len(people)} participant(s): a k-anonymous export needs at least k={k}; "
            "collect more data, or lower k deliberately (--k of `glyphlab export` and "
            "`glyphlab analyze export`)"
        )
    columns = [name for name in QUASI_IDENTIFIERS if name in people.columns]
    steps = []
    if "age_band" in columns:
        steps += [("age_band", lambda s, w=w: s.map(lambda b: _widen_band(b, w))) for w in (20, 0)]
    for name in (c for c in columns if c != "age_band"):
        steps.append((name, lambda s, k=k: s.where(s.map(s.value_counts()) >= k, "other")))
    steps += [(name, lambda s: s.where(False, "withheld")) for name in columns]
    people = people.copy()
    for name, coarsen in [(None, None), *steps]:
        if name is not None:
            people[name] = coarsen(people[name])
        if not columns or people.groupby(columns).size().min() >= k:
            return people
        if on_small_groups == "refuse":
            smallest = int(people.groupby(columns).size().min())
            raise AnonymityError(
                f"a combination of {', '.join(columns)} is shared by only {smallest} "
                f"participant(s) (< k={k}); export with --on-small-groups coarsen to widen "
                "the bands, or drop those columns"
            )
    return people  # unreachable: the last step makes every column one value


def anonymise_trials(
    trials: pd.DataFrame, people: pd.DataFrame, *, kept: Collection[str] = KEPT_COLUMNS
) -> pd.DataFrame:
    """The publishable trial rows: renumbered, relative times, ``kept`` columns only
    (default: the contract's public columns; add what the study's modes declare public)."""
    out = pd.DataFrame({"participant": trials["participant"].map(people["new_code"])})
    for name in trials.columns:
        if name in kept or (
            name.startswith(KEPT_PREFIXES) and pd.api.types.is_numeric_dtype(trials[name])
        ):
            out[name] = trials[name]
    if "presented_at" in trials.columns:
        presented = pd.to_datetime(trials["presented_at"], utc=True, format="ISO8601")
        first = presented.groupby(trials["participant"]).transform("min")
        out["presented_ms"] = ((presented - first).dt.total_seconds() * 1000).round(1)
        if "answered_at" in trials.columns:
            answered = pd.to_datetime(trials["answered_at"], utc=True, format="ISO8601")
            out["answered_ms"] = ((answered - first).dt.total_seconds() * 1000).round(1)
    sort = [c for c in ("participant", "trial_index") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def dropped_columns(trials: pd.DataFrame, *, kept: Collection[str] = KEPT_COLUMNS) -> list[str]:
    """Input columns that do not reach the export in any form (names only)."""
    transformed = {"participant", "presented_at", "answered_at", "age", "age_band"}
    transformed |= {"gender", "user_agent", "browser_family"}
    return sorted(
        name
        for name in trials.columns
        if name not in kept
        and name not in transformed
        and not (name.startswith(KEPT_PREFIXES) and pd.api.types.is_numeric_dtype(trials[name]))
    )
