"""The path of nested prefixes against independent solves of each prefix, and LinearSVC.

Problem: one instance of N_eff = ``--n-eff`` (300) Gaussian features and ``--n-data`` (900)
random +-1 labels, float64, from one seed; ``--prefixes`` (64) sizes evenly spaced from
N_eff/2 to n_data, across the SAT/UNSAT transition at 2 N_eff.

Ours: ``jamming.simulate.hinge.solve_quadratic_hinge_path`` (largest prefix first, warm
starts, carried Cholesky factors with Woodbury and rank-one corrections), after one untimed
warm-up call (numba compilation). Anchors, each on every prefix, one thread:

- ``solve_quadratic_hinge`` on each prefix from w = 0 (the S1 solver, independent calls).
  Checks: every prefix converged with its certificate in both, and N_Delta, the SAT flag and
  the UNSAT loss (to 1e-10 relative) agree prefix by prefix.
- scikit-learn ``LinearSVC(loss="squared_hinge", penalty="l2", dual=False,
  fit_intercept=False, C=1e4, tol=1e-4, max_iter=1000)`` (liblinear's primal trust-region
  Newton), the closest library anchor. It minimises the loss with ridge 1/(2C) = 5e-5 to a
  relative gradient tolerance, so it is approximate: the script reports on how many
  prefixes its N_Delta (margins < 1) equals ours and how many fits raised a
  ConvergenceWarning. On SAT prefixes it cannot agree (at finite C the support vectors keep
  Delta > 0, where ours certify N_Delta = 0) and liblinear is slow there. The settings are
  those of ``hinge_solver.py``, whose docstring says why (``dual=True`` crawls at large C;
  C = 1e4 keeps the N_Delta of ridge 0 on UNSAT problems; tol 1e-4 is the loosest that gets
  every UNSAT N_Delta right).

Ours and the S1 anchor are timed best of ``--repeats``; LinearSVC once (it takes seconds).
Prints the settings, the three timings, both ratios and ``hinge_path: ratio=<S1 time / our
time>`` last.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from timing import best_time

from jamming.simulate.hinge import solve_quadratic_hinge, solve_quadratic_hinge_path

C, TOL, MAX_ITER = 1e4, 1e-4, 1000


def linear_svc(x, y, sizes):
    """LinearSVC on each prefix: (N_Delta, number of ConvergenceWarnings, seconds per prefix)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    n_delta, warned, seconds = [], 0, []
    for size in sizes:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = LinearSVC(C=C, loss="squared_hinge", penalty="l2", dual=False,
                              fit_intercept=False, tol=TOL, max_iter=MAX_ITER)
            model.fit(x[:size], y[:size])
        warned += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        seconds.append(time.perf_counter() - start)
        margins = y[:size] * (x[:size] @ model.coef_.ravel())
        n_delta.append(int(np.sum(margins < 1.0)))
    return n_delta, warned, np.array(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-eff", type=int, default=300)
    parser.add_argument("--n-data", type=int, default=900)
    parser.add_argument("--prefixes", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.n_data, args.n_eff))
    y = rng.choice([-1.0, 1.0], args.n_data)
    sizes = np.unique(np.linspace(args.n_eff // 2, args.n_data, args.prefixes).round()
                      .astype(int)).tolist()

    def independent():
        return [solve_quadratic_hinge(x[:n], y[:n]) for n in sizes]

    def path():
        return solve_quadratic_hinge_path(x, y, sizes)

    with threadpool_limits(limits=1, user_api="blas"):
        ours, anchor = path(), independent()
        agree = all(
            a.converged and b.converged and a.sat == b.sat and a.n_delta == b.n_delta
            and (a.sat or abs(a.loss - b.loss) <= 1e-10 * b.loss)
            for a, b in zip(ours, anchor, strict=True))
        ours_time = best_time(path, args.repeats)
        anchor_time = best_time(independent, args.repeats)
        svc_delta, warned, svc_seconds = linear_svc(x, y, sizes)
    steps = sum(s.iterations for s in ours), sum(s.iterations for s in anchor)
    sat = sum(bool(s.sat) for s in ours)
    same = [a.n_delta == b for a, b in zip(ours, svc_delta, strict=True)]
    same_unsat = sum(m for m, s in zip(same, ours, strict=True) if not s.sat)
    print(f"hinge_path: n_eff={args.n_eff} prefixes={len(sizes)} ({sizes[0]}..{sizes[-1]}, "
          f"{sat} SAT) seed={args.seed} path={ours_time:.3f}s independent={anchor_time:.3f}s "
          f"newton_steps={steps[0]} vs {steps[1]} identical_n_delta={agree} "
          f"max_kkt={max(s.kkt_residual for s in ours):.1e}")
    unsat_time = sum(t for t, s in zip(svc_seconds, ours, strict=True) if not s.sat)
    print(f"hinge_path: LinearSVC(dual=False, C={C:g}, tol={TOL:g}) on every prefix "
          f"{svc_seconds.sum():.3f}s ({unsat_time:.3f}s on the UNSAT ones), N_Delta equal to "
          f"ours on {sum(same)} of {len(sizes)} prefixes ({same_unsat} of {len(sizes) - sat} "
          f"UNSAT), ConvergenceWarning on {warned}")
    print(f"hinge_path: ratio[LinearSVC]={svc_seconds.sum() / ours_time:.1f}")
    print(f"hinge_path: ratio={anchor_time / ours_time:.2f}")


if __name__ == "__main__":
    main()
