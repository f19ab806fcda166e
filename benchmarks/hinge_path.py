"""The path of nested prefixes against independent solves of each prefix.

Problem: one instance of N_eff = ``--n-eff`` (300) Gaussian features and ``--n-data`` (900)
random +-1 labels, float64, from one seed; ``--prefixes`` (64) sizes evenly spaced from
N_eff/2 to n_data, across the SAT/UNSAT transition at 2 N_eff.

Ours: ``jamming.simulate.hinge.solve_quadratic_hinge_path`` (warm starts from the previous
UNSAT minimiser). Anchor: ``solve_quadratic_hinge`` on each prefix from w = 0 (the S1
solver, independent calls). Both on the CPU with one torch thread, best of ``--repeats``.

Checks: every prefix converged with its certificate in both, and N_Delta, the SAT flag and
the UNSAT loss (to 1e-10 relative) agree prefix by prefix.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time

from jamming.simulate.hinge import solve_quadratic_hinge, solve_quadratic_hinge_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-eff", type=int, default=300)
    parser.add_argument("--n-data", type=int, default=900)
    parser.add_argument("--prefixes", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.n_data, args.n_eff))
    y = rng.choice([-1.0, 1.0], args.n_data)
    sizes = np.unique(np.linspace(args.n_eff // 2, args.n_data, args.prefixes).round()
                      .astype(int)).tolist()

    def independent():
        return [solve_quadratic_hinge(x[:n], y[:n]) for n in sizes]

    def path():
        return solve_quadratic_hinge_path(x, y, sizes)

    ours, anchor = path(), independent()
    agree = all(
        a.converged and b.converged and a.sat == b.sat and a.n_delta == b.n_delta
        and (a.sat or abs(a.loss - b.loss) <= 1e-10 * b.loss)
        for a, b in zip(ours, anchor, strict=True))
    ours_time, anchor_time = best_time(path, args.repeats), best_time(independent, args.repeats)
    steps = sum(s.iterations for s in ours), sum(s.iterations for s in anchor)
    print(f"hinge_path: n_eff={args.n_eff} prefixes={len(sizes)} ({sizes[0]}..{sizes[-1]}) "
          f"path={ours_time:.3f}s independent={anchor_time:.3f}s "
          f"newton_steps={steps[0]} vs {steps[1]} identical_n_delta={agree}")
    print(f"hinge_path: ratio={anchor_time / ours_time:.2f}")


if __name__ == "__main__":
    main()
