"""SDT measures against published worked examples, independent integration, and properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from analysis.errors import AnalysisError
from analysis.sdt import corrected_rate, criterion, dprime, dprime_mafc, pc_mafc, rates


@pytest.mark.parametrize(
    ("hit_rate", "fa_rate", "expected_d", "expected_c"),
    [
        # Symmetric case H = 1 - F (unbiased observer): c = 0 and d' = 2 z(H) = 0.99.
        (0.69, 0.31, 0.99, 0.0),
        # W. Schneider, "Short notes on theory of signal detection" (handout): three subjects
        # worked by hand (d' to 3 decimals; c recomputed here).
        (0.70, 0.10, 1.806, 0.3786),
        (0.50, 0.40, 0.253, 0.1267),
        (0.85, 0.05, 2.681, 0.3042),
        # DPRIME(1) manual (after Coombs, Dawes & Tversky 1970): H = .7, F = .4 -> 0.78.
        (0.70, 0.40, 0.78, -0.1356),
    ],
)
def test_published_yes_no_examples(hit_rate, fa_rate, expected_d, expected_c):
    decimals = len(str(expected_d).split(".")[1])
    assert round(float(dprime(hit_rate, fa_rate)), decimals) == expected_d
    assert float(criterion(hit_rate, fa_rate)) == pytest.approx(expected_c, abs=5e-4)


def test_hautus_loglinear_adds_half_to_counts_and_one_to_denominators():
    # 20 of 20 signal trials hit, 0 of 20 noise trials false alarms (Hautus 1995's
    # extreme case): H = 20.5/21 and F = 0.5/21, not 20.5/21.5 (the "N + 1.5" mistake).
    hit_rate, fa_rate = rates(20, 0, 0, 20)
    assert hit_rate == pytest.approx(20.5 / 21) and fa_rate == pytest.approx(0.5 / 21)
    assert hit_rate != pytest.approx(20.5 / 21.5)
    assert float(dprime(hit_rate, fa_rate)) == pytest.approx(2 * stats.norm.ppf(20.5 / 21))
    # Applied to every rate, not only extreme ones (Hautus's point: unbiased on average).
    assert corrected_rate(7, 10) == pytest.approx(7.5 / 11)


def test_one_over_2n_rule_touches_only_extremes():
    got = corrected_rate(np.array([0, 3, 10]), np.array([10, 10, 10]), "1/2N")
    np.testing.assert_allclose(got, [0.05, 0.3, 0.95])
    assert np.isnan(corrected_rate(0, 0, "1/2N"))
    assert np.isinf(dprime(*rates(5, 0, 0, 5, correction="none")))


def test_no_trials_means_no_rate_under_every_correction():
    # Regression: the log-linear rule used to give 0.5/1 = 0.5 for an empty denominator,
    # so a cell with no target-present trials got d' = -z(F), bias reported as sensitivity.
    for correction in ("loglinear", "1/2N", "none"):
        hit_rate, fa_rate = rates(0, 0, 2, 8, correction=correction)
        assert np.isnan(hit_rate) and np.isfinite(fa_rate)
        assert np.isnan(dprime(hit_rate, fa_rate)) and np.isnan(criterion(hit_rate, fa_rate))
    got = corrected_rate(np.array([3, 0]), np.array([4, 0]))
    np.testing.assert_allclose(got, [3.5 / 5, np.nan])


def test_bad_correction_and_counts():
    with pytest.raises(AnalysisError, match="unknown correction"):
        corrected_rate(1, 2, "hautus1.5")
    with pytest.raises(AnalysisError, match="successes <= n"):
        corrected_rate(3, 2)
    with pytest.raises(AnalysisError, match="m >= 2"):
        pc_mafc(1.0, 1)
    with pytest.raises(AnalysisError, match=r"\[0, 1\]"):
        dprime_mafc(1.2, 4)


def independent_pc(d: float, m: int) -> float:
    """Pc = ∫ φ(x - d) Φ(x)^(m-1) dx by adaptive quadrature (not the Hermite rule)."""
    value, _ = integrate.quad(
        lambda x: stats.norm.pdf(x - d) * stats.norm.cdf(x) ** (m - 1),
        -np.inf,
        np.inf,
        epsabs=1e-13,
        epsrel=1e-13,
    )
    return value


@pytest.mark.parametrize("pc", [0.3, 0.5, 0.76, 0.9, 0.99])
def test_two_afc_equals_sqrt2_z(pc):
    assert dprime_mafc(pc, 2) == pytest.approx(np.sqrt(2) * stats.norm.ppf(pc), abs=1e-9)


@pytest.mark.parametrize(("m", "d"), [(3, 0.5), (4, 1.0), (4, 2.5), (8, 1.7), (16, 3.0)])
def test_mafc_matches_adaptive_quadrature(m, d):
    assert float(pc_mafc(d, m)) == pytest.approx(independent_pc(d, m), abs=1e-10)
    assert dprime_mafc(independent_pc(d, m), m) == pytest.approx(d, abs=1e-8)


def test_mafc_table_values():
    # Elliott (1964) / Hacker & Ratcliff (1979) tables: m = 4, Pc = .50 -> d' = 0.84;
    # high-precision (mpmath, 30 digits) value 0.8367745601744564.
    assert dprime_mafc(0.5, 4) == pytest.approx(0.8367745601744564, abs=1e-9)
    assert dprime_mafc(0.25, 4) == pytest.approx(0.0, abs=1e-9)  # chance
    assert dprime_mafc(0.1, 4) < 0 and dprime_mafc(1.0, 4) == np.inf
    np.testing.assert_allclose(dprime_mafc(np.array([np.nan, 0.5]), 2), [np.nan, 0.0], atol=1e-12)


unit = st.floats(min_value=1e-6, max_value=1 - 1e-6)


@settings(max_examples=60, deadline=None)
@given(unit, unit, unit)
def test_dprime_monotone_and_antisymmetric(h1, h2, f):
    low, high = sorted((h1, h2))
    assert dprime(high, f) >= dprime(low, f)
    assert dprime(f, high) <= dprime(f, low)
    assert dprime(h1, f) == pytest.approx(-dprime(f, h1))
    # Swapping the response labels (H -> 1-F, F -> 1-H) keeps d' and flips c.
    assert dprime(1 - f, 1 - h1) == pytest.approx(dprime(h1, f), abs=1e-9)
    assert criterion(1 - f, 1 - h1) == pytest.approx(-criterion(h1, f), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(2, 12))
def test_loglinear_rate_is_finite_and_monotone(hits, extra, m):
    n = hits + extra
    if n == 0:
        assert np.isnan(corrected_rate(hits, n))
        return
    rate = corrected_rate(hits, n)
    assert 0 < rate < 1
    if extra:
        assert corrected_rate(hits + 1, n) > rate
    pc = float(corrected_rate(hits, n))
    assert np.isfinite(dprime_mafc(pc, m))


@settings(max_examples=30, deadline=None)
@given(st.floats(-2, 4), st.floats(0.01, 1.0), st.integers(2, 10))
def test_pc_mafc_increases_with_d_and_decreases_with_m(d, step, m):
    assert pc_mafc(d + step, m) > pc_mafc(d, m)
    assert pc_mafc(d, m + 1) < pc_mafc(d, m)


def test_uncorrected_extremes_are_inf_or_nan_without_warnings():
    # Regression: H = 1 and F = 0 under correction "none" raised numpy's "invalid value"
    # warning from c = -(inf - inf) / 2 (an error under pytest's -W error).
    hit_rate, fa_rate = rates(10, 0, 0, 10, correction="none")
    assert dprime(hit_rate, fa_rate) == np.inf and np.isnan(criterion(hit_rate, fa_rate))
    assert np.isnan(dprime(1.0, 1.0)) and criterion(1.0, 1.0) == -np.inf


def _expected_dprime_bias(true_d: float, m: int, n: int, correction: str) -> float:
    from scipy.stats import binom

    from analysis.sdt import mafc_rate

    k = np.arange(n + 1)
    p = pc_mafc(true_d, m) if true_d else 1 / m
    weights = binom.pmf(k, n, p)
    return float(weights @ dprime_mafc(mafc_rate(k, n, m, correction), m)) - true_d


@pytest.mark.parametrize(
    ("correction", "biases"),
    [("loglinear", (0.281, 0.028, -0.002)), ("loglinear_chance", (-0.448, -0.231, -0.143))],
)
def test_mafc_corrections_and_their_documented_bias(correction, biases):
    # 20-AFC, 9 trials: the figures quoted in analysis.sdt's docstring (exact expectations).
    measured = [_expected_dprime_bias(d, 20, 9, correction) for d in (0.0, 1.0, 2.0)]
    np.testing.assert_allclose(measured, biases, atol=1e-3)


def test_chance_correction_pulls_toward_one_over_m():
    from analysis.sdt import mafc_rate

    assert float(mafc_rate(0, 9, 20, "loglinear_chance")) == pytest.approx(0.05 / 10)
    assert float(mafc_rate(9 / 20, 9, 20, "loglinear_chance")) == pytest.approx(0.05)
    assert float(mafc_rate(0, 9, 20, "loglinear")) == pytest.approx(0.05)  # toward 0.5


# The default m-AFC rule ("centred"): pseudo-counts (a, b) per (m, n), expected d' 0 at
# chance, smallest worst-case bias over true d' in [0, 3]. Biases are exact binomial sums
# with dprime_mafc itself (not the interpolation the rule's search uses).
_TYPICAL = [(m, n) for m in (4, 9, 20) for n in (9, 12, 24, 48)]


@pytest.mark.parametrize(("m", "n"), _TYPICAL)
def test_centred_rule_is_unbiased_at_chance(m, n):
    assert abs(_expected_dprime_bias(0.0, m, n, "centred")) < 1e-4


@pytest.mark.parametrize(("m", "n"), _TYPICAL)
def test_centred_rule_is_no_worse_than_loglinear_anywhere_in_0_to_3(m, n):
    grid = np.arange(0.0, 3.01, 0.25)
    centred = max(abs(_expected_dprime_bias(d, m, n, "centred")) for d in grid)
    loglinear = max(abs(_expected_dprime_bias(d, m, n, "loglinear")) for d in grid)
    assert centred <= loglinear + 1e-9
    assert abs(_expected_dprime_bias(0.0, m, n, "loglinear")) > 1e-3  # loglinear is not centred


def test_centred_rule_documented_numbers():
    # analysis.sdt's docstring and docs/analysis.md (bench_calibration_mafc.py): 20-AFC, 9 trials.
    from analysis.sdt import centred_pseudocounts

    a, b = centred_pseudocounts(9, 20)
    assert (round(a, 3), round(b, 3)) == (0.216, 0.439)
    measured = [_expected_dprime_bias(d, 20, 9, "centred") for d in (0.0, 1.0, 2.0)]
    np.testing.assert_allclose(measured, (0.0, -0.061, 0.010), atol=1e-3)
    worst = max(abs(_expected_dprime_bias(d, 20, 9, "centred")) for d in np.arange(0, 3.01, 0.25))
    assert worst == pytest.approx(0.086, abs=1e-3)


def test_centred_rule_search_agrees_with_exact_inversion():
    from analysis.sdt import centred_bias, centred_pseudocounts

    a, b = centred_pseudocounts(12, 9)
    fast = centred_bias(12, 9, a, b, np.array([0.0, 1.5, 3.0]))
    exact = [_expected_dprime_bias(d, 9, 12, "centred") for d in (0.0, 1.5, 3.0)]
    np.testing.assert_allclose(fast, exact, atol=1e-6)


def test_centred_rule_at_two_alternatives_is_symmetric_and_rates_stay_loglinear():
    from analysis.sdt import centred_pseudocounts, mafc_rate

    a, b = centred_pseudocounts(10, 2)
    assert a == pytest.approx(b / 2, abs=1e-6)  # 2AFC: chance 0.5, pull point 0.5
    assert float(mafc_rate(3, 10, 2)) == pytest.approx((3 + a) / (10 + b))
    assert corrected_rate(7, 10, "centred") == pytest.approx(7.5 / 11)  # yes/no: Hautus
    assert np.isnan(mafc_rate(np.array([1, 0]), np.array([4, 0]), 9)[1])
