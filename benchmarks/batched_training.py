"""Training 64 networks in one batched call against a loop over them, one at a time.

Problem: ``--networks`` (64) one-hidden-layer ReLU networks (NTK parametrisation, no bias,
float64) of width N on P points on the sphere of radius sqrt(d), each network with its own
random +-1 labels and its own initialisation (``init_networks`` with ``first=s``),
full-batch Adam (learning rate 1e-3) on the hinge loss for ``--steps`` (200) steps: the
training of the S2 sweeps. ``--sizes`` lists the workloads N:P:d (default 10:100:10,
20:200:20, 40:400:20); the gain of batching falls as the work per network grows, so each is
timed and the smallest ratio is printed last.

Ours: one call of ``jamming.simulate.networks.train`` on the parameter set of all networks
(their leading axis). Anchor: the same call on each network alone, in a Python loop. Both on
the CPU with torch's default threads (2 on the reference machine), best of ``--repeats``.

Check: the final losses of the two agree network by network to 1e-10 relative (the networks
train independently in the batch, so only the summation order of the batched kernels
differs).
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_time

from jamming.simulate.data import random_labels
from jamming.simulate.features import sphere_inputs
from jamming.simulate.networks import Adam, DenseNetwork, init_networks, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=64)
    parser.add_argument("--sizes", default="10:100:10,20:200:20,40:400:20",
                        help="comma-separated workloads width:n_data:input_dim")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()

    ratios = [time_workload(*map(int, size.split(":")), args)
              for size in args.sizes.split(",")]
    print(f"batched_training: ratio={min(ratios):.2f} (smallest over the workloads)")


def time_workload(width: int, n_data: int, input_dim: int, args) -> float:
    """Time the batched call against the loop on one workload; print and return the ratio."""
    rng = np.random.default_rng(args.seed)
    inputs = sphere_inputs(n_data, input_dim, rng)
    labels = np.stack([random_labels(n_data, rng) for _ in range(args.networks)])
    network = DenseNetwork(input_dim, width)
    settings = {"optimizer": Adam(1e-3), "record_at": [args.steps], "loss": "hinge"}

    def batched():
        params = init_networks(network, args.seed, args.networks)
        return train(network, params, inputs, labels, **settings).loss[:, -1]

    def loop():
        return np.array([
            train(network, init_networks(network, args.seed, 1, first=s), inputs, labels[s],
                  **settings).loss[0, -1]
            for s in range(args.networks)])

    ours, anchor = batched(), loop()
    agree = bool(np.all(np.abs(ours - anchor) <= 1e-10 * np.maximum(np.abs(anchor), 1.0)))
    ours_time, anchor_time = best_time(batched, args.repeats), best_time(loop, args.repeats)
    print(f"batched_training: networks={args.networks} width={width} n_data={n_data} "
          f"d={input_dim} steps={args.steps} batched={ours_time:.3f}s loop={anchor_time:.3f}s "
          f"ratio={anchor_time / ours_time:.2f} same_losses={agree}")
    return anchor_time / ours_time

if __name__ == "__main__":
    main()
