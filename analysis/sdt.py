"""Signal detection measures: corrected rates, d', criterion c, and m-AFC d'.

Everything is vectorised over numpy arrays (scalars work too) so the same functions score
one participant or a whole table.

Corrections for extreme proportions (a rate of 0 or 1 gives an infinite z score):

- ``"loglinear"`` (default), Hautus (1995): add 0.5 to *every* cell count and 1 to each
  denominator, i.e. H = (hits + 0.5) / (n_signal + 1), applied to every rate, extreme or
  not. (Several packages add 1.5 to the denominator and call it Hautus; that is wrong.)
- ``"loglinear_chance"``: the same for yes/no rates; for m-AFC proportion correct the
  extra trial is split at chance, 1/m correct and (m - 1)/m wrong, Pc = (correct + 1/m)
  / (n + 1) (:func:`mafc_rate`), so the correction pulls toward chance, not toward 0.5.
  Neither is unbiased with few trials. Expected d' minus the true d' (exact, over the
  binomial), 20-AFC with 9 trials, at true d' 0 / 1 / 2: ``loglinear`` +0.28 / +0.03 /
  -0.00, ``loglinear_chance`` -0.45 / -0.23 / -0.14; 4-AFC with 24 trials: +0.01 / -0.00
  / -0.01 against -0.03 / -0.03 / -0.06. Pulling toward chance removes the upward bias
  at chance but adds a larger downward one (most cells then have 0 correct, whose d' is
  far below 0), so ``loglinear`` stays the default and the other is the researcher's
  choice (``ReportConfig.correction``).
- ``"1/2N"``, Macmillan & Kaplan (1985): replace 0 by 0.5/N and 1 by (N - 0.5)/N, leave
  other rates as they are.
- ``"none"``: raw proportions (d' may be infinite).

A rate with an empty denominator (no signal or no noise trials) is NaN under every rule:
with no target-present trials there is no hit rate to correct, and the log-linear rule's
0.5/1 would turn a missing rate into a d' of -z(F), a number about bias reported as
sensitivity. NaN propagates to d' and c, and the report says which cells lack them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize, special

from analysis.errors import AnalysisError

CORRECTIONS = ("loglinear", "loglinear_chance", "1/2N", "none")
_MAFC_NODES = 96


def corrected_rate(
    successes: np.ndarray, n: np.ndarray, correction: str = "loglinear", *, chance: float = 0.5
) -> np.ndarray:
    """Proportion successes/n with the named correction (see the module docstring).

    ``chance``: where ``"loglinear_chance"`` pulls (1/m for m-AFC; 0.5 for yes/no rates).
    """
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(successes < 0) or np.any(successes > n):
        raise AnalysisError("counts must satisfy 0 <= successes <= n for a rate")
    if correction not in CORRECTIONS:
        raise AnalysisError(f"unknown correction {correction!r}; use one of {CORRECTIONS}")
    if correction in ("loglinear", "loglinear_chance"):
        pull = chance if correction == "loglinear_chance" else 0.5
        return np.where(n > 0, (successes + pull) / (n + 1.0), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, successes / np.where(n > 0, n, 1.0), np.nan)
        if correction == "1/2N":
            rate = np.where((successes == 0) & (n > 0), 0.5 / n, rate)
            rate = np.where((successes == n) & (n > 0), (n - 0.5) / n, rate)
    return rate


def mafc_rate(
    correct: np.ndarray, n: np.ndarray, m: np.ndarray, correction: str = "loglinear"
) -> np.ndarray:
    """Corrected m-AFC proportion correct (``"loglinear_chance"`` pulls toward 1/m)."""
    return corrected_rate(correct, n, correction, chance=1.0 / np.asarray(m, dtype=float))


def rates(
    hits: np.ndarray,
    misses: np.ndarray,
    false_alarms: np.ndarray,
    correct_rejections: np.ndarray,
    *,
    correction: str = "loglinear",
) -> tuple[np.ndarray, np.ndarray]:
    """Hit and false-alarm rates from the four cell counts."""
    hits = np.asarray(hits, dtype=float)
    false_alarms = np.asarray(false_alarms, dtype=float)
    hit_rate = corrected_rate(hits, hits + np.asarray(misses, dtype=float), correction)
    noise = false_alarms + np.asarray(correct_rejections, dtype=float)
    return hit_rate, corrected_rate(false_alarms, noise, correction)


def dprime(hit_rate: np.ndarray, fa_rate: np.ndarray) -> np.ndarray:
    """Yes/no sensitivity d' = z(H) - z(F).

    Uncorrected rates of 0 or 1 give ±inf, and H = F = 1 (or 0) gives NaN (inf - inf):
    undefined, so returned quietly as NaN rather than with a numpy warning.
    """
    with np.errstate(invalid="ignore"):
        return special.ndtri(hit_rate) - special.ndtri(fa_rate)


def criterion(hit_rate: np.ndarray, fa_rate: np.ndarray) -> np.ndarray:
    """Response criterion c = -(z(H) + z(F)) / 2 (positive = conservative).

    H = 1 with F = 0 (uncorrected) puts the criterion anywhere between the distributions:
    NaN (inf - inf), returned without a numpy warning.
    """
    with np.errstate(invalid="ignore"):
        return -(special.ndtri(hit_rate) + special.ndtri(fa_rate)) / 2.0


@lru_cache(maxsize=1)
def _hermite_rule() -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(_MAFC_NODES)
    return nodes, weights / np.sqrt(2.0 * np.pi)


def pc_mafc(d: np.ndarray, m: int) -> np.ndarray:
    """Proportion correct of an unbiased m-alternative forced choice observer.

    Pc(d') = ∫ φ(x - d') Φ(x)^(m-1) dx: the target's internal value beats all m-1 noise
    values. Substituting x = d' + z makes it E_z[Φ(z + d')^(m-1)], a smooth function of a
    standard normal, which Gauss-Hermite quadrature with 96 nodes integrates to ~1e-12.
    """
    if int(m) != m or m < 2:
        raise AnalysisError(f"m-AFC needs m >= 2 alternatives, got {m}")
    nodes, weights = _hermite_rule()
    d = np.asarray(d, dtype=float)
    values = special.ndtr(nodes + d[..., None]) ** (int(m) - 1)
    return values @ weights


def dprime_mafc(pc: np.ndarray, m: int) -> np.ndarray:
    """d' from proportion correct in m-AFC, inverting :func:`pc_mafc` numerically.

    Pc below chance (1/m) gives a negative d'; Pc of 0 or 1 gives -inf/+inf, so correct
    extreme proportions first (:func:`corrected_rate`). At m = 2 this equals sqrt(2)·z(Pc).
    """
    pc = np.asarray(pc, dtype=float)
    if np.any((pc < 0) | (pc > 1)):  # NaN passes through as NaN
        raise AnalysisError("proportion correct must lie in [0, 1]")

    def solve(p: float) -> float:
        if np.isnan(p):
            return np.nan
        if p <= 0.0 or p >= 1.0:
            return -np.inf if p <= 0.0 else np.inf
        low, high = -1.0, 1.0
        while pc_mafc(low, m) > p:
            low *= 2.0
        while pc_mafc(high, m) < p:
            high *= 2.0
        return optimize.brentq(lambda d: pc_mafc(d, m) - p, low, high, xtol=1e-12, rtol=1e-12)

    result = np.array([solve(p) for p in pc.ravel()]).reshape(pc.shape)
    return result if result.ndim else float(result)
