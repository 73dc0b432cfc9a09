"""Our statistics against numbers printed in published sources, to the printed precision.

Reviewers check outputs against these tables and worked examples, so each case names its
source. Where a source rounds, we round our value the same way and compare exactly; where
a value was computed here independently (mpmath, R), the comment says how.
"""

import pytest

from analysis.sdt import corrected_rate, criterion, dprime, dprime_mafc, pc_mafc, rates


def rounded(value, decimals: int) -> float:
    return round(float(value), decimals)


def test_one_over_2n_worked_example_statistics_sdt():
    # Statistics::SDT 0.07 (CPAN; measures as in Stanislaw & Todorov, 1999), SYNOPSIS and
    # t/ref.t: 50 hits of 50 signal trials, 17 false alarms of 25 noise trials, 1/(2N)
    # correction -> H = .99, F = .68, d' = 1.86, c = -1.40 (2 decimals).
    hit_rate, fa_rate = rates(50, 0, 17, 8, correction="1/2N")
    assert (rounded(hit_rate, 2), rounded(fa_rate, 2)) == (0.99, 0.68)
    assert rounded(dprime(hit_rate, fa_rate), 2) == 1.86
    assert rounded(criterion(hit_rate, fa_rate), 2) == -1.40


def test_one_over_2n_rule_wixted_and_lee():
    # J. Wixted & K. Lee, "SDT d' calculation & other tips" (Kang Lee lab, after Macmillan
    # & Kaplan, 1985): no false alarms to N = 40 lures -> F = 1/80 = .0125; a hit rate of 1
    # with M targets -> 1 - 1/(2M).
    assert float(corrected_rate(0, 40, "1/2N")) == 0.0125
    assert float(corrected_rate(25, 25, "1/2N")) == 1 - 1 / 50


def test_two_afc_and_yes_no_at_unit_dprime_macmillan_creelman():
    # Macmillan & Creelman (2005), Detection Theory: A User's Guide, 2nd ed.: an unbiased
    # yes/no observer with d' = 1 has H = Φ(1/2) = .69 and F = .31; in 2AFC the same d'
    # gives p(c) = Φ(d'/√2) = .76, so d' = √2 z(.76) = 1.00. From the rounded rates,
    # d' = 2 z(.69) = 0.99 and c = 0.
    assert rounded(dprime(0.69, 0.31), 2) == 0.99
    assert rounded(criterion(0.69, 0.31), 9) == 0.0
    assert rounded(pc_mafc(1.0, 2), 2) == 0.76
    assert rounded(dprime_mafc(0.76, 2), 2) == 1.00


@pytest.mark.parametrize(
    ("m", "pc", "published_d"),
    [
        # Hacker & Ratcliff (1979) m-AFC table: m = 4, Pc = .50 -> d' = 0.84.
        (4, 0.50, 0.84),
        # Statistics::SDT 0.07 t/ref.t: m = 3, Pc = .866 -> d' = 2 by Alexander's (2006)
        # approximation (Smith's gives 2.05); the exact integral gives 2.0014.
        (3, 0.866, 2.00),
    ],
)
def test_mafc_published_table_values(m, pc, published_d):
    assert rounded(dprime_mafc(pc, m), 2) == published_d


@pytest.mark.parametrize(
    ("m", "pc", "exact_d"),
    [
        # Pc = ∫ φ(x - d') Φ(x)^(m-1) dx solved for d' with mpmath (30 digits, mp.quad split
        # at d' ± 5 and mp.findroot): an independent high-precision check of the tables.
        (3, 0.50, 0.556519921298754),
        (3, 0.75, 1.433830587497065),
        (3, 0.90, 2.230199841513692),
        (4, 0.50, 0.8367745601744564),
        (4, 0.75, 1.682195195203344),
        (4, 0.90, 2.451569426100768),
        (8, 0.50, 1.341837923185893),
        (8, 0.75, 2.140731109086394),
        (8, 0.90, 2.869138621476083),
    ],
)
def test_mafc_matches_high_precision_integral(m, pc, exact_d):
    assert dprime_mafc(pc, m) == pytest.approx(exact_d, abs=1e-9)
    assert float(pc_mafc(exact_d, m)) == pytest.approx(pc, abs=1e-12)


def test_sleepstudy_reml_matches_bates_et_al_2015():
    # Bates, Mächler, Bolker & Walker (2015), J. Stat. Softw. 67(1), the printed fit of
    # lmer(Reaction ~ Days + (Days | Subject), sleepstudy): REML criterion 1743.6; fixed
    # effects 251.405 (SE 6.825) and 10.467 (1.546); SDs 24.741 and 5.922, correlation
    # 0.07; residual SD 25.592.
    from tests.analysis.test_lmm_gee import python_lmm

    result = python_lmm("sleepstudy_reml")
    assert rounded(-2 * result.loglik, 1) == 1743.6
    assert [rounded(v, 3) for v in result.params] == [251.405, 10.467]
    assert [rounded(v, 3) for v in result.bse] == [6.825, 1.546]
    sd = result.random.set_index(["term", "other"])["sd_or_corr"]
    assert rounded(sd[("(Intercept)", "")], 3) == 24.741
    assert rounded(sd[("Days", "")], 3) == 5.922
    assert rounded(sd[("(Intercept)", "Days")], 2) == 0.07
    assert rounded(result.residual_sd, 3) == 25.592
