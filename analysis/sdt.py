"""Signal detection measures: corrected rates, d', criterion c, and m-AFC d'.

Everything is vectorised over numpy arrays (scalars work too) so the same functions score
one participant or a whole table.

Corrections for extreme proportions (a rate of 0 or 1 gives an infinite z score):

- ``"centred"`` (default): yes/no rates as ``"loglinear"``; m-AFC proportion correct as
  Pc = (correct + a) / (n + b) with pseudo-counts (a, b) chosen per (m, n) so that the
  expected d' of an observer at chance is 0 (exactly, over the binomial) and, under that
  constraint, the worst-case bias of d' over true d' in [0, 3] is smallest
  (:func:`centred_pseudocounts`). Pulling toward 1/m itself is not centred: d'(Pc) is
  concave below chance, so an unbiased Pc gives a d' biased downward (Jensen); the
  centred pull point a / b lies between 1/m and 0.5 (about 0.5 from m = 9 on), with fewer
  than one pseudo-trial (b 0.35-0.87). Expected d' minus true d' (exact), 20-AFC with 9
  trials, at true d' 0 / 1 / 2: ``centred`` 0.000 / -0.06 / +0.01 (worst over [0, 3]
  0.086), ``loglinear`` +0.28 / +0.03 / -0.00 (worst 0.28), ``loglinear_chance`` -0.45 /
  -0.23 / -0.14 (worst 0.45); the comparison table for typical m and n is in
  docs/analysis.md.
- ``"loglinear"``, Hautus (1995): add 0.5 to *every* cell count and 1 to each
  denominator, i.e. H = (hits + 0.5) / (n_signal + 1), applied to every rate, extreme or
  not. (Several packages add 1.5 to the denominator and call it Hautus; that is wrong.)
  For m-AFC it pulls toward 0.5, far above chance for large m, so d' at chance is biased
  upward (+0.28 in 20-AFC with 9 trials).
- ``"loglinear_chance"``: the same for yes/no rates; for m-AFC the extra trial is split
  at chance, Pc = (correct + 1/m) / (n + 1), which biases d' downward (most cells at
  chance then have 0 correct, whose d' is far below 0).
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
from scipy import optimize, special, stats

from analysis.errors import AnalysisError

CORRECTIONS = ("centred", "loglinear", "loglinear_chance", "1/2N", "none")
DEFAULT_CORRECTION = "centred"
#: True d' over which the centred m-AFC rule minimises its worst-case bias.
CENTRED_RANGE = (0.0, 3.0)
_MAFC_NODES = 96


def corrected_rate(
    successes: np.ndarray,
    n: np.ndarray,
    correction: str = DEFAULT_CORRECTION,
    *,
    chance: float = 0.5,
) -> np.ndarray:
    """Proportion successes/n with the named correction (see the module docstring).

    ``chance``: where ``"loglinear_chance"`` pulls (1/m for m-AFC; 0.5 for yes/no rates).
    Yes/no rates (and this function) take ``"centred"`` as ``"loglinear"``; the m-AFC
    rule needs m and is :func:`mafc_rate`'s.
    """
    successes = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(successes < 0) or np.any(successes > n):
        raise AnalysisError("counts must satisfy 0 <= successes <= n for a rate")
    if correction not in CORRECTIONS:
        raise AnalysisError(f"unknown correction {correction!r}; use one of {CORRECTIONS}")
    if correction in ("centred", "loglinear", "loglinear_chance"):
        pull = chance if correction == "loglinear_chance" else 0.5
        return np.where(n > 0, (successes + pull) / (n + 1.0), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, successes / np.where(n > 0, n, 1.0), np.nan)
        if correction == "1/2N":
            rate = np.where((successes == 0) & (n > 0), 0.5 / n, rate)
            rate = np.where((successes == n) & (n > 0), (n - 0.5) / n, rate)
    return rate


def mafc_rate(
    correct: np.ndarray, n: np.ndarray, m: np.ndarray, correction: str = DEFAULT_CORRECTION
) -> np.ndarray:
    """Corrected m-AFC proportion correct: ``"centred"`` by :func:`centred_pseudocounts`,
    ``"loglinear_chance"`` toward 1/m, the others as :func:`corrected_rate`."""
    if correction != "centred":
        return corrected_rate(correct, n, correction, chance=1.0 / np.asarray(m, dtype=float))
    correct, n, m = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (correct, n, m)))
    if np.any(correct < 0) or np.any(correct > n):
        raise AnalysisError("counts must satisfy 0 <= successes <= n for a rate")
    out = np.full(correct.shape, np.nan)
    for size, alternatives in set(zip(n.ravel().tolist(), m.ravel().tolist(), strict=True)):
        if size <= 0:
            continue
        a, b = centred_pseudocounts(int(size), int(alternatives))
        where = (n == size) & (m == alternatives)
        out[where] = (correct[where] + a) / (size + b)
    return out if out.ndim else float(out)


@lru_cache(maxsize=4)
def _dprime_grid(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Pc(d') on a 0.0005-step grid of d' in [-8, 10]: d'(Pc) by interpolation (error in
    d' below 1e-6 where the rule's expectations need it) for the pseudo-count search."""
    d = np.linspace(-8.0, 10.0, 36001)
    return pc_mafc(d, m), d


def centred_bias(n: int, m: int, a: float, b: float, true_d: np.ndarray) -> np.ndarray:
    """Expected d' minus ``true_d`` of Pc = (correct + a) / (n + b), over the binomial.

    Exact sum over correct = 0..n; d'(Pc) by interpolation (:func:`_dprime_grid`); the
    tests check it against :func:`dprime_mafc` itself.
    """
    pcs, grid = _dprime_grid(m)
    k = np.arange(n + 1)
    d_of_k = np.interp((k + a) / (n + b), pcs, grid)
    true_d = np.atleast_1d(np.asarray(true_d, dtype=float))
    weights = stats.binom.pmf(k[None, :], n, pc_mafc(true_d, m)[:, None])
    return weights @ d_of_k - true_d


@lru_cache(maxsize=4096)
def centred_pseudocounts(n: int, m: int) -> tuple[float, float]:
    """(a, b) of the ``"centred"`` m-AFC rule for n trials with m alternatives.

    For each b, a is the root of E[d' | chance] = 0 (E rises with a); b then minimises
    the largest |bias| over true d' in :data:`CENTRED_RANGE` (a 0.125 grid), by bounded
    Brent over b in [0.05, 4]. About 0.1 s per (n, m), cached.
    """
    if n < 1 or m < 2:
        raise AnalysisError("the centred rule needs n >= 1 trials and m >= 2 alternatives")
    targets = np.arange(CENTRED_RANGE[0], CENTRED_RANGE[1] + 1e-9, 0.125)

    def centre(b: float) -> float:
        return optimize.brentq(
            lambda a: float(centred_bias(n, m, a, b, 0.0)[0]), 1e-9, b - 1e-9, xtol=1e-10
        )

    def worst(b: float) -> float:
        try:
            a = centre(b)
        except ValueError:  # no a in (0, b) centres this b
            return np.inf
        return float(np.max(np.abs(centred_bias(n, m, a, b, targets))))

    found = optimize.minimize_scalar(worst, bounds=(0.05, 4.0), method="bounded",
                                     options={"xatol": 1e-5})  # fmt: skip
    return float(centre(found.x)), float(found.x)


def rates(
    hits: np.ndarray,
    misses: np.ndarray,
    false_alarms: np.ndarray,
    correct_rejections: np.ndarray,
    *,
    correction: str = DEFAULT_CORRECTION,
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
