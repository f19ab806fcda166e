"""Empirical-NTK features: batched torch.func against a loop of per-sample autograd (anchor).

The anchor is the textbook computation of the Jacobian of a network's outputs with respect
to its parameters: a Python loop over the inputs, one forward pass and one
``torch.autograd.grad`` call per input (``empirical_ntk_features_loop``). Ours is
``empirical_ntk_features``: ``torch.func.vmap(torch.func.grad(f_single))``, all inputs in
one vectorised call. Both run on the same network (d = 20, one hidden layer of width 256,
ReLU, no bias: P = 5376 parameters) and the same 512 sphere inputs, float64, CPU, in one
process; the two (512, 5376) matrices must agree to 1e-12. For information the script also
times ``vmap(jacrev)`` and ``jacrev`` of the batched function (which backpropagates 512
one-hot cotangents through the whole batch, O(N_data^2 P)).

torch runs on one thread (``torch.set_num_threads(1)``) for both: on a small shared machine
torch's OpenMP threads spin-wait against other processes and make elementwise kernels
erratic (measured here: the batched call between 2 ms and 90 ms with 2 threads). Each time
is the minimum over repeats, the two methods interleaved. Prints ``ratio=<anchor/ours>``
last.

What limits the ratio on a CPU: the loop costs about 55 us of Python and autograd overhead
per input whatever the width, while the batched call is bound by memory traffic, about
1 ms per 5 MB of Jacobian (the (512, 5376) float64 result is 22 MB). Measured on the 2-core
development machine, one thread, 512 inputs: width 64 (P = 1344) 34x, width 128 16x,
width 256 (this benchmark) 6 to 9x, width 512 2x (fresh 44 MB allocations; 5x with a
reused ``out`` buffer). On a GPU the loop pays tens of kernel launches per input and the
batched call a few per chunk.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.func import jacrev, vmap

from jamming.simulate.features import (
    NetworkSpec,
    empirical_ntk_features,
    empirical_ntk_features_loop,
    init_parameters,
    network_output,
    sphere_inputs,
)

INPUT_DIM, WIDTH, N_DATA, THREADS = 20, 256, 512, 1


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.set_num_threads(THREADS)
    spec = NetworkSpec(INPUT_DIM, WIDTH, depth=1, activation="relu")
    params = init_parameters(spec, 0)
    inputs = torch.as_tensor(sphere_inputs(N_DATA, INPUT_DIM, 1))

    def ours():
        return empirical_ntk_features(spec, params, inputs, to_numpy=False)

    def anchor():
        return empirical_ntk_features_loop(spec, params, inputs, to_numpy=False)

    batched, looped = ours(), anchor()  # warm-up, and the matrices compared
    assert batched.shape == looped.shape == (N_DATA, spec.n_parameters)
    assert torch.allclose(batched, looped, rtol=1e-12, atol=1e-14), "Jacobians disagree"
    worst = float((batched - looped).abs().max() / looped.abs().max())

    our_time, anchor_time = [], []
    for _ in range(5):  # interleaved, so that both see the same machine load
        our_time.append(best_time(ours, 10))
        anchor_time.append(best_time(anchor, 2))
    our_time, anchor_time = min(our_time), min(anchor_time)

    def single(p, x):
        return network_output(spec, p, x)

    def batch(p):
        return network_output(spec, p, inputs)

    def flat(parts):
        return torch.cat([v.reshape(N_DATA, -1) for v in parts.values()], dim=1)

    vmap_jacrev = best_time(lambda: flat(vmap(jacrev(single), in_dims=(None, 0))(params,
                                                                                  inputs)), 10)
    whole_batch = flat(jacrev(batch)(params))
    assert np.allclose(whole_batch.numpy(), looped.numpy(), rtol=1e-12, atol=1e-14)
    whole_batch_time = best_time(lambda: flat(jacrev(batch)(params)), 1)

    print(f"d={INPUT_DIM} width={WIDTH} n_data={N_DATA} P={spec.n_parameters} float64 cpu "
          f"threads={THREADS} max_rel_diff={worst:.1e}")
    print(f"loop of autograd.grad (anchor) {anchor_time * 1e3:.2f} ms; "
          f"vmap(grad) (ours) {our_time * 1e3:.2f} ms; vmap(jacrev) {vmap_jacrev * 1e3:.2f} ms; "
          f"jacrev of the batch {whole_batch_time * 1e3:.1f} ms")
    print(f"ratio={anchor_time / our_time:.1f}")


if __name__ == "__main__":
    main()
