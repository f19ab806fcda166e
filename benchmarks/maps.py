"""numba ensembles of the normalised map and of 1-D SGD against vectorised numpy.

Workloads (float64, one seed):

- map: ``--n-traj`` (10^6) trajectories of ``z <- z + gamma z (1 - z^2)`` for ``--map-steps``
  (1000) steps, gamma uniform on [0.5, 1.2] (fixed per trajectory), z0 = 0.5;
- SGD: ``--n-traj`` trajectories of ``theta <- theta + eta x^2 theta (theta*^2 - theta^2)``
  for ``--sgd-steps`` (200) steps, theta* = 1, eta = 1.2, x uniform on [0.95, 1] drawn per
  step and trajectory from the counter-based stream (bouncing regime; crossings, loss
  statistics and divergence bookkeeping included).

Ours: ``jamming.simulate.maps.iterate_map`` / ``sgd_1d`` (numba, ``parallel=True``, prange
over blocks of trajectories), best of ``--repeats`` (3) calls, after one untimed warm-up call
on a tiny ensemble that compiles the kernels (numba compile time is excluded). Timed with
``--threads`` numba threads (default: all numba allows, 2 on the 2-core machine) and with
one thread; both are printed. Anchor: ``iterate_map_reference`` / ``sgd_1d_reference``, the
vectorised numpy versions (loop over steps, arrays over trajectories, numpy single-threaded)
with the same random numbers, timed once; the results are checked bitwise equal.

torch (``--torch-device {cpu,cuda}``; default: cuda when torch sees one, else skipped with a
one-line note): ``jamming.simulate.torch_ensembles.iterate_map`` / ``sgd_1d`` on the same
workloads, best of ``--repeats`` after a warm-up call, printed as throughputs in
trajectory-steps per second against the numba path (``torch/numba`` is the throughput
ratio) with the agreement to numba (bitwise on the CPU; maximum relative difference on CUDA).

The last line is ``ratio=<numpy time / numba time>`` of the SGD workload (the slower of the
two for numba) with the default thread count.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from timing import (
    add_torch_device_argument,
    agreement,
    numba_against_numpy,
    torch_against_numba,
    torch_device,
)

from jamming.simulate import maps


def main(argv=None) -> int:
    import numba

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-traj", type=int, default=10**6)
    parser.add_argument("--map-steps", type=int, default=1000)
    parser.add_argument("--sgd-steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    parser.add_argument("--seed", type=int, default=0)
    add_torch_device_argument(parser)
    args = parser.parse_args(argv)

    n = args.n_traj
    gamma = np.random.default_rng(args.seed).uniform(0.5, 1.2, n)
    z0 = np.full(n, 0.5)
    sgd_args = (1.0, 1.2, 0.95, 1.0, 0.5, args.sgd_steps, args.seed, n)

    maps.iterate_map(gamma[:8], z0[:8], 3)  # warm-up: compiles the kernels
    maps.sgd_1d(*sgd_args[:5], 3, args.seed, 8)

    numba_times = {}
    ratios = numba_against_numpy((
        ("map", f"n_traj={n} steps={args.map_steps}",
         lambda: maps.iterate_map(gamma, z0, args.map_steps),
         lambda: maps.iterate_map_reference(gamma, z0, args.map_steps),
         lambda a, b: np.array_equal(a.final, b.final), lambda reference: ""),
        ("sgd", f"n_traj={n} steps={args.sgd_steps}",
         lambda: maps.sgd_1d(*sgd_args), lambda: maps.sgd_1d_reference(*sgd_args),
         lambda a, b: all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True)
                          for f in ("theta", "crossings", "loss_mean", "diverged_at")),
         lambda reference: (f" diverged={reference.n_diverged} "
                            f"mean_crossings={reference.crossings.mean():.1f}")),
    ), args.threads, args.repeats, numba_times)
    device = torch_device(args.torch_device)
    if device is not None:
        _time_torch(device, args, gamma, z0, sgd_args, numba_times)
    print(f"ratio={ratios['sgd']:.1f}")
    return 0


def _time_torch(device, args, gamma, z0, sgd_args, numba_times) -> None:
    from jamming.simulate import torch_ensembles as te

    te.iterate_map(gamma[:8], z0[:8], 3, device=device)  # warm-up (CUDA context, caches)
    te.sgd_1d(*sgd_args[:5], 3, args.seed, 8, device=device)
    numba_map = maps.iterate_map(gamma, z0, args.map_steps)
    numba_sgd = maps.sgd_1d(*sgd_args)

    n = args.n_traj
    torch_against_numba((
        ("map", n * args.map_steps,
         lambda: te.iterate_map(gamma, z0, args.map_steps, device=device),
         lambda ours: agreement(ours, numba_map, ("final",))),
        ("sgd", n * args.sgd_steps, lambda: te.sgd_1d(*sgd_args, device=device),
         lambda ours: agreement(ours, numba_sgd, ("theta", "crossings", "loss_mean",
                                                  "diverged_at"))),
    ), device, args.repeats, numba_times)


if __name__ == "__main__":
    sys.exit(main())
