"""Cover's probability: jamming.theory.capacity against an mpmath partial sum (the anchor).

The anchor is the textbook high-precision evaluation: the binomial partial sum accumulated
term by term in 40-digit mpmath arithmetic. Both evaluate the same curves (every N_data from
N_eff to 4 N_eff, for N_eff in 10, 100, 1000) in one process run; the results must agree to
1e-12 relative. Prints ``ratio=<anchor_time/our_time>`` last.
"""

from __future__ import annotations

import math
import time

import mpmath

from jamming.theory.capacity import log_cover_probability

SIZES = (10, 100, 1000)


def anchor_log_probability(n_data: int, n_eff: int) -> float:
    with mpmath.workdps(40):
        m = n_data - 1
        term, total = mpmath.mpf(1), mpmath.mpf(0)
        for k in range(min(n_eff, n_data)):
            total += term
            term = term * (m - k) / (k + 1)
        return float(mpmath.log(total) - m * mpmath.log(2))


def cases():
    for n_eff in SIZES:
        for n_data in range(n_eff, 4 * n_eff + 1, max(1, n_eff // 100)):
            yield n_data, n_eff


def timed(function):
    start = time.perf_counter()
    values = [function(n, d) for n, d in cases()]
    return values, time.perf_counter() - start


def main() -> None:
    ours, our_time = timed(log_cover_probability)
    anchor, anchor_time = timed(anchor_log_probability)
    worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, anchor, strict=True))
    assert worst < 1e-12, f"disagreement {worst:.2e}"
    assert all(math.isfinite(v) for v in ours)
    print(f"points={len(ours)} ours={our_time:.3f}s anchor(mpmath 40 digits)={anchor_time:.3f}s "
          f"max_rel_diff={worst:.1e}")
    print(f"ratio={anchor_time / our_time:.1f}")


if __name__ == "__main__":
    main()
