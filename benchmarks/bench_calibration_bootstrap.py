"""Coverage of the report's bootstrap CIs on d' differences between encodings.

    nice -n 10 python benchmarks/bench_calibration_bootstrap.py [--studies 1000]

Each study: 20 participants, 4 encodings, 288 m-AFC trials (m = 9) per participant x
encoding; a participant's d' in an encoding is d'_e + u_p + v_pe (SDs 0.4 and 0.3, the
participant x encoding term included), their trials are binomial, and d' is estimated per
cell as :func:`analysis.measures.compute_measures` does (log-linear corrected proportion
correct, inverted m-AFC integral). The target of the mean difference is the expectation
of the per-participant estimate difference, taken from 20,000 simulated participants.
Printed: coverage of the report's studentised (bootstrap-t) 95% intervals
(:func:`analysis.contrasts.studentised_interval`) next to the percentile intervals it
replaced, per pair of encodings, with the mean interval width.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from analysis.contrasts import studentised_interval
from analysis.sdt import dprime_mafc, mafc_rate, pc_mafc

D_PRIME = np.array([1.0, 1.2, 1.5, 1.0])
M, TRIALS, N_PARTICIPANTS = 9, 288, 20
PARTICIPANT_SD, PARTICIPANT_ENCODING_SD = 0.4, 0.3


def estimated_dprimes(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n participants, 4 encodings) d' estimates of simulated participants."""
    true = D_PRIME + rng.normal(0, PARTICIPANT_SD, (n, 1))
    true = np.maximum(true + rng.normal(0, PARTICIPANT_ENCODING_SD, (n, D_PRIME.size)), 0.0)
    correct = rng.binomial(TRIALS, pc_mafc(true, M))
    # d' depends on the count only: invert once per possible count.
    table = dprime_mafc(mafc_rate(np.arange(TRIALS + 1), TRIALS, M), M)
    return table[correct]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    population = estimated_dprimes(20_000, rng)
    pairs = list(itertools.combinations(range(D_PRIME.size), 2))
    truth = {(a, b): float((population[:, a] - population[:, b]).mean()) for a, b in pairs}
    hits = {(kind, pair): 0 for kind in ("studentised", "percentile") for pair in pairs}
    widths = {kind: [] for kind in ("studentised", "percentile")}
    for _ in range(args.studies):
        study = estimated_dprimes(N_PARTICIPANTS, rng)
        for a, b in pairs:
            diff = study[:, a] - study[:, b]
            low, high = studentised_interval(diff, rng=rng, n_boot=args.boot)
            boot = diff[rng.integers(0, diff.size, (args.boot, diff.size))].mean(axis=1)
            p_low, p_high = np.percentile(boot, [2.5, 97.5])
            for kind, (lo, hi) in (("studentised", (low, high)), ("percentile", (p_low, p_high))):
                hits[(kind, (a, b))] += lo <= truth[(a, b)] <= hi
                widths[kind].append(hi - lo)
    print(
        f"bootstrap calibration: {args.studies} studies x {len(pairs)} pairs, "
        f"{N_PARTICIPANTS} participants, {args.boot} resamples, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(f"{'pair':<8}{'truth':>8}{'studentised':>13}{'percentile':>12}")
    for a, b in pairs:
        rates = [hits[(kind, (a, b))] / args.studies for kind in ("studentised", "percentile")]
        print(f"{a}-{b:<6}{truth[(a, b)]:>8.3f}{rates[0]:>13.1%}{rates[1]:>12.1%}")
    for kind in ("studentised", "percentile"):
        total = sum(hits[(kind, pair)] for pair in pairs) / (args.studies * len(pairs))
        print(f"{kind}: coverage {total:.1%}, mean width {np.mean(widths[kind]):.3f}")


if __name__ == "__main__":
    main()
