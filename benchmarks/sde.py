"""numba Euler–Maruyama ensembles (SME coupling, label-noise SDE) against vectorised numpy.

Workloads (float64, one seed):

- coupled: ``--n-paths`` (10^6) paths of SGD on the quadratic test problem (a = sigma =
  theta0 = 1, eta = 0.05, ``--coupled-steps`` (20) steps, T = 1) coupled with its SMEs of
  order 1 and 2, each integrated by Euler–Maruyama with ``--substeps`` (4) and twice as
  many substeps per SGD step (4 * 20 normal pairs per path, Box–Muller);
- label-noise: ``--n-paths`` paths of the label-noise SDE
  ``d theta = 2 m2 theta (theta*^2 - theta^2) dt + 2 sqrt(eta delta m2) theta dW`` with
  theta* = 1, eta = 0.2, delta = 1, m2 = 1, dt = 1e-3, ``--sde-steps`` (500) steps from
  theta*, divergence bookkeeping included.

Ours: ``jamming.simulate.sde.sme_coupled_paths`` / ``label_noise_sde_1d`` (numba,
``parallel=True``, prange over blocks of paths), best of ``--repeats`` (3) calls, after one
untimed warm-up call on a tiny ensemble that compiles the kernels (numba compile time is
excluded). Timed with ``--threads`` numba threads (default: all numba allows, 2 on the 2-core
machine) and with one thread; both are printed. Anchor: ``sme_coupled_paths_reference`` /
``label_noise_sde_1d_reference``, the vectorised numpy versions (loop over steps, arrays
over paths, numpy single-threaded) with the same random numbers, timed once; the results are
checked bitwise equal.

torch (``--torch-device {cpu,cuda}``; default: cuda when torch sees one, else skipped with a
one-line note): ``jamming.simulate.torch_ensembles.sme_coupled_paths`` /
``label_noise_sde_1d`` on the same workloads, best of ``--repeats`` after a warm-up call,
printed as throughputs in trajectory-steps per second (SGD steps for the coupled workload)
against the numba path (``torch/numba`` is the throughput ratio) with the agreement to numba
(bitwise on the CPU; maximum relative difference on CUDA).

The last line is ``ratio=<numpy time / numba time>``, the smaller of the two workloads'
ratios, with the default thread count.
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

from jamming.simulate import sde

COUPLED_FIELDS = ("sgd", "sme1_coarse", "sme1_fine", "sme2_coarse", "sme2_fine")


def main(argv=None) -> int:
    import numba

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-paths", type=int, default=10**6)
    parser.add_argument("--coupled-steps", type=int, default=20)
    parser.add_argument("--substeps", type=int, default=4)
    parser.add_argument("--sde-steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    parser.add_argument("--seed", type=int, default=0)
    add_torch_device_argument(parser)
    args = parser.parse_args(argv)

    n = args.n_paths
    coupled_args = (1.0 / args.coupled_steps, args.coupled_steps, 1.0, 1.0, 1.0, n, args.seed)
    sde_args = (1.0, 0.2, 1.0, 1.0, 1.0, 1e-3, args.sde_steps, n, args.seed)

    sde.sme_coupled_paths(*coupled_args[:5], 8, args.seed)  # warm-up: compiles the kernels
    sde.label_noise_sde_1d(*sde_args[:6], 3, 8, args.seed)

    numba_times = {}
    ratios = numba_against_numpy((
        ("coupled", f"n_paths={n} steps={args.coupled_steps}x{args.substeps}",
         lambda: sde.sme_coupled_paths(*coupled_args, substeps=args.substeps),
         lambda: sde.sme_coupled_paths_reference(*coupled_args, substeps=args.substeps),
         lambda a, b: all(np.array_equal(getattr(a, f), getattr(b, f))
                          for f in COUPLED_FIELDS), lambda reference: ""),
        ("label-noise", f"n_paths={n} steps={args.sde_steps}",
         lambda: sde.label_noise_sde_1d(*sde_args),
         lambda: sde.label_noise_sde_1d_reference(*sde_args),
         lambda a, b: all(np.array_equal(getattr(a, f), getattr(b, f))
                          for f in ("theta", "diverged_at")),
         lambda reference: (f" diverged={reference.n_diverged} "
                            f"mean_theta2={np.mean(reference.theta ** 2):.4f}")),
    ), args.threads, args.repeats, numba_times)
    device = torch_device(args.torch_device)
    if device is not None:
        _time_torch(device, args, coupled_args, sde_args, numba_times)
    print(f"ratio={min(ratios.values()):.1f}")
    return 0


def _time_torch(device, args, coupled_args, sde_args, numba_times) -> None:
    from jamming.simulate import torch_ensembles as te

    sub = args.substeps
    te.sme_coupled_paths(*coupled_args[:5], 8, args.seed, device=device)  # warm-up
    te.label_noise_sde_1d(*sde_args[:6], 3, 8, args.seed, device=device)
    numba_coupled = sde.sme_coupled_paths(*coupled_args, substeps=sub)
    numba_sde = sde.label_noise_sde_1d(*sde_args)
    n = args.n_paths
    torch_against_numba((
        ("coupled", n * args.coupled_steps,
         lambda: te.sme_coupled_paths(*coupled_args, substeps=sub, device=device),
         lambda ours: agreement(ours, numba_coupled, COUPLED_FIELDS)),
        ("label-noise", n * args.sde_steps, lambda: te.label_noise_sde_1d(*sde_args, device=device),
         lambda ours: agreement(ours, numba_sde, ("theta", "diverged_at"))),
    ), device, args.repeats, numba_times)


if __name__ == "__main__":
    sys.exit(main())
