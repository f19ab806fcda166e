"""Empirical NTK matrix of a two-layer network: batched torch.func against a per-sample loop.

The kernel is :math:`\\Theta = JJ^\\top` (512 x 512) with :math:`J` the Jacobian of the
outputs with respect to all parameters, for ``DenseNetwork(d=10, width=1024, depth=1,
relu, W_std=1.5, bias=True, b_std=0.05)`` (``stax.serial(Dense(1024, 1.5, 0.05), Relu,
Dense(1, 1.5, 0.05))``, P = 12289 parameters) on N = 512 points of the sphere of radius
sqrt(d), float64, CPU. d = 10 is the dimension of the project's sphere experiments and the
example of the issue; the anchor's cost grows with d (P ~ (d + 2) h) and ours does not, so
the script also prints the ratio at d = 30 and d = 100 (information, not the headline).

- anchor: ``empirical_ntk_loop``, the textbook computation: a Python loop over the inputs,
  one forward pass and one ``torch.autograd.grad`` per input for a row of :math:`J`, then
  ``J @ J.T`` (torch);
- ours: ``empirical_ntk(method="structured")``: the per-layer backward signals
  :math:`\\delta^l = \\partial f/\\partial z^l` of all inputs from one ``torch.func.vjp`` of
  the batched forward pass, then :math:`\\Theta = (\\sigma_w^2 xx'^\\top/d + \\sigma_b^2)\\circ
  \\delta^1\\delta^{1\\top} + \\sigma_w^2 h^1h^{1\\top}/h + \\sigma_b^2` with BLAS ``dsyrk``
  for the two symmetric Gram matrices;
- also timed: ``empirical_ntk(method="jacobian")``, the torch.func recipe that materialises
  :math:`J` (``vmap`` over inputs of ``grad``, then ``dsyrk``).

All three must agree to 1e-12 (relative to the largest entry). One thread for torch and for
BLAS; each time is the minimum over repeats, the methods interleaved.

Measured on the 2-core development machine (one thread, with another process loading the
other core; this script and an earlier run of the same calls): anchor 179 to 192 ms
(per-sample loop about 80 ms, ``J @ J.T`` about 115 ms), ours 16 to 17 ms, ratio 10.6 to
11.5; the ``jacobian`` method 85 to 116 ms. At d = 30 the ratio is 25, at d = 100 73
(anchor 0.43 s and 1.5 s, ours 17 and 21 ms).
The 20x target is not met at d = 10. Why: both the anchor and ours end in dense float64
matrix products running near the core's peak (the anchor's ``J @ J.T``: N^2 P = 3.2e9
multiply-adds in 115 ms, 28 GFMA/s; ours: two ``dsyrk`` of N^2 h / 2 = 1.3e8 multiply-adds
each in 5.5 to 6.5 ms, 21 to 24 GFMA/s), so the ratio is essentially the ratio of the work,
(N^2 P + loop) / (N^2 h + 3 ms): about 6 (P / 2h, the structured formula) times 2 (``dsyrk``
computes one triangle) plus the per-sample loop. The remaining 3 ms of ours is the forward and
backward passes (elementwise work on N x h arrays). What was tried: ``torch.func.vmap(grad)``
then :math:`JJ^\top` (the ``jacobian`` method, 1.6 to 2.1x: the product dominates);
``torch.mm`` instead of ``dsyrk`` for the structured Grams (10 ms instead of 5.6 ms per
product when timed alone, so a ratio of about 8). Not tried, because their cost is also
O(N^2 P): the "NTK-vector products" recipe of the torch.func tutorial (one ``vjp`` and one
``jvp`` per column). Exact float64 results rule out lower precision.
"""

from __future__ import annotations

import math

import torch
from threadpoolctl import threadpool_limits
from timing import best_time

from jamming.simulate.features import sphere_inputs
from jamming.simulate.networks import DenseNetwork, empirical_ntk, empirical_ntk_loop, init_networks

N_DATA, INPUT_DIM, WIDTH, W_STD, B_STD, THREADS = 512, 10, 1024, 1.5, 0.05, 1


def case(input_dim: int):
    network = DenseNetwork(input_dim, WIDTH, depth=1, activation="relu", W_std=W_STD,
                           bias=True, b_std=B_STD)
    params = init_networks(network, 0)
    inputs = torch.as_tensor(sphere_inputs(N_DATA, input_dim, 1))

    def anchor():
        return empirical_ntk_loop(network, params, inputs, to_numpy=False)

    def ours():
        return empirical_ntk(network, params, inputs, to_numpy=False)

    def jacobian():
        return empirical_ntk(network, params, inputs, method="jacobian", to_numpy=False)

    reference = anchor()
    scale = reference.abs().max().item()
    worst = max((method() - reference).abs().max().item() / scale
                for method in (ours, jacobian))
    assert worst <= 1e-12, worst
    return network, anchor, ours, jacobian, worst


def timings(anchor, ours, jacobian, rounds: int) -> tuple[float, float, float]:
    anchor_time = ours_time = jacobian_time = math.inf
    for _ in range(rounds):  # interleaved, so that all see the same machine load
        ours_time = min(ours_time, best_time(ours, 10))
        anchor_time = min(anchor_time, best_time(anchor, 2))
        jacobian_time = min(jacobian_time, best_time(jacobian, 2))
    return anchor_time, ours_time, jacobian_time


def main() -> None:
    torch.set_num_threads(THREADS)
    with threadpool_limits(limits=THREADS, user_api="blas"):
        for input_dim in (30, 100):
            network, anchor, ours, jacobian, worst = case(input_dim)
            anchor_time, ours_time, _ = timings(anchor, ours, jacobian, rounds=2)
            print(f"(scaling, not the headline) d={input_dim} P={network.n_parameters}: "
                  f"anchor {anchor_time * 1e3:.1f} ms, ours {ours_time * 1e3:.2f} ms, "
                  f"ratio {anchor_time / ours_time:.1f}, max_rel_diff={worst:.1e}")

        network, anchor, ours, jacobian, worst = case(INPUT_DIM)
        anchor_time, ours_time, jacobian_time = timings(anchor, ours, jacobian, rounds=5)
    print(f"empirical NTK (kernel matrix {N_DATA} x {N_DATA}): two-layer relu network, "
          f"d={INPUT_DIM} width={WIDTH} W_std={W_STD} b_std={B_STD} "
          f"P={network.n_parameters}, N={N_DATA} sphere inputs, float64 cpu "
          f"threads={THREADS}; times: best of repeats, interleaved")
    print(f"loop of per-sample torch.autograd.grad + J @ J.T (anchor) "
          f"{anchor_time * 1e3:.1f} ms; structured torch.func.vjp + dsyrk (ours) "
          f"{ours_time * 1e3:.2f} ms; vmap(grad) Jacobian + dsyrk {jacobian_time * 1e3:.1f} ms; "
          f"max_rel_diff={worst:.1e}")
    print(f"ratio={anchor_time / ours_time:.1f}")


if __name__ == "__main__":
    main()
