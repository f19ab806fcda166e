"""Mercer eigenvalues of the two-layer ReLU NTK on S^9 (d = 10): mpmath (30 digits) vs scipy.

Ours: ``jamming.theory.mercer.mercer_eigenvalues(relu_ntk_kernel, 10, 100, dps=30,
as_mpf=True)``, all of mu_0 ... mu_100 from one nested tanh-sinh rule in theta
(t = cos theta), 30 significant digits each (odd mu_k >= 3 come out exactly 0).

Anchor: the textbook double-precision computation, one ``scipy.integrate.quad`` per degree
of the Funk–Hecke integral (omega_{d-2}/omega_{d-1}) int_{-1}^{1} kappa(t) P_k(t)
(1 - t^2)^{(d-3)/2} dt, with P_k = ``scipy.special.eval_gegenbauer(k, (d-2)/2, t)``
normalised by its value at 1, the interval split at 0, ``limit=400``, ``epsabs=1e-15``,
``epsrel=1e-12``.

Reported: both times (best of ``REPEATS`` runs, the two methods interleaved, one process),
the accuracy of the double-precision values against the 30-digit ones (relative error on
the non-zero mu_k; absolute error relative to mu_0 on those that vanish), and last
``ratio=<scipy_time/our_time>`` (above 1: ours is faster).
"""

from __future__ import annotations

import math
import time

import mpmath
import numpy as np
from scipy.integrate import quad
from scipy.special import eval_gegenbauer

from jamming.theory.mercer import mercer_eigenvalues, relu_ntk_kernel

D, K_MAX, DPS, REPEATS = 10, 100, 30, 3


def ntk_numpy(t: float) -> float:
    angle = math.acos(t)
    return (2 * t * (math.pi - angle) + math.sqrt(max(0.0, 1 - t * t))) / math.pi


def scipy_eigenvalues(d: int = D, k_max: int = K_MAX) -> list[float]:
    lam = (d - 2) / 2
    constant = math.gamma(d / 2) / (math.sqrt(math.pi) * math.gamma((d - 1) / 2))
    values = []
    for k in range(k_max + 1):
        norm = eval_gegenbauer(k, lam, 1.0)

        def integrand(t, k=k, norm=norm):
            return (ntk_numpy(t) * eval_gegenbauer(k, lam, t) / norm
                    * (1 - t * t) ** ((d - 3) / 2))

        total = 0.0
        for a, b in ((-1.0, 0.0), (0.0, 1.0)):
            total += quad(integrand, a, b, limit=400, epsabs=1e-15, epsrel=1e-12)[0]
        values.append(constant * total)
    return values


def ours() -> list:
    return mercer_eigenvalues(relu_ntk_kernel, D, K_MAX, dps=DPS, as_mpf=True)


def main() -> None:
    our_times, scipy_times = [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        exact = ours()
        our_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        double = scipy_eigenvalues()
        scipy_times.append(time.perf_counter() - start)
    our_time, scipy_time = min(our_times), min(scipy_times)
    with mpmath.workdps(DPS + 10):
        mu0 = exact[0]
        relative = [float(abs(mpmath.mpf(v) / e - 1)) for v, e in zip(double, exact, strict=True)
                    if e != 0]
        absolute = [float(abs(mpmath.mpf(v)) / mu0) for v, e in zip(double, exact, strict=True)
                    if e == 0]
        worst_k = max((k for k in range(K_MAX + 1) if exact[k] != 0),
                      key=lambda k: abs(mpmath.mpf(double[k]) / exact[k] - 1))
    print(f"d={D} k=0..{K_MAX}: ours(mpmath {DPS} digits)={our_time:.3f}s "
          f"scipy(quad, double)={scipy_time:.3f}s")
    print(f"mu_0={mpmath.nstr(exact[0], 32)}  mu_100={mpmath.nstr(exact[100], 32)}")
    print(f"scipy vs 30 digits: nonzero mu_k ({len(relative)}): median rel err "
          f"{np.median(relative):.1e}, max {max(relative):.1e} (at k={worst_k}); "
          f"vanishing mu_k ({len(absolute)}): max |mu_k|/mu_0 {max(absolute):.1e}")
    print(f"ratio={scipy_time / our_time:.2f}")


if __name__ == "__main__":
    main()
