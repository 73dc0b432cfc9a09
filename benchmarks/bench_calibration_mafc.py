"""Bias of m-AFC d' under each proportion-correct correction, exactly over the binomial.

    python benchmarks/bench_calibration_mafc.py [--m 4,9,20] [--n 9,12,24,48]

For each number of alternatives m and trials n, the expected d' (sum over correct =
0..n of the binomial probability times d'(corrected Pc), d' by :func:`analysis.sdt.dprime_mafc`)
minus the true d', at true d' 0 (an observer at chance) and its largest absolute value
over true d' 0, 0.25, ..., 3, for ``centred`` (the default), ``loglinear`` and
``loglinear_chance``. No simulation: the numbers are exact up to the quadrature (~1e-12).
docs/analysis.md quotes this table.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from analysis.sdt import centred_pseudocounts, dprime_mafc, mafc_rate, pc_mafc

RULES = ("centred", "loglinear", "loglinear_chance")
TRUE_D = np.arange(0.0, 3.0 + 1e-9, 0.25)


def expected_bias(n: int, m: int, correction: str, true_d: np.ndarray = TRUE_D) -> np.ndarray:
    """E[d'] - d' at each ``true_d`` (exact binomial sum)."""
    k = np.arange(n + 1)
    d_of_k = np.asarray(dprime_mafc(mafc_rate(k, n, m, correction), m))
    weights = stats.binom.pmf(k[None, :], n, pc_mafc(np.asarray(true_d), m)[:, None])
    return weights @ d_of_k - true_d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", default="4,9,20")
    parser.add_argument("--n", default="9,12,24,48")
    args = parser.parse_args()
    head = " | ".join(f"{rule} at 0 / worst" for rule in RULES)
    print(f"| m | n | centred (a, b) | {head} |")
    print("|---|---|---|" + "---|" * len(RULES))
    for m in map(int, args.m.split(",")):
        for n in map(int, args.n.split(",")):
            a, b = centred_pseudocounts(n, m)
            cells = []
            for rule in RULES:
                bias = expected_bias(n, m, rule)
                cells.append(f"{bias[0]:+.3f} / {np.abs(bias).max():.3f}")
            print(f"| {m} | {n} | ({a:.3f}, {b:.3f}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
