"""The certified second-order trainer against full-batch float64 Adam, to the same certificate.

Problem: one one-hidden-layer tanh network of ``--width`` (48) neurons on ``--input-dim``
(20) inputs, N = 1008 weights (NTK parametrisation, no biases, float64), trained on
``--load`` x N points on the sphere with random +-1 labels, quadratic hinge, one seed. The
model is Geiger et al.'s ``alpha (f - f_0)`` with the loss divided by alpha^2; by default
``--alpha 1e4 --load 2.2``: lazy, just past its jamming point N_data* = 2 rank J(w_0) = 2 N,
so UNSAT. ``--alpha 0`` trains f itself (feature regime; ``--load 1.5`` to ``2.6`` are on the
SAT side of the transition near 2.3-2.6 N seen in the exploratory runs of the S2 sweeps).

Ours: ``jamming.simulate.network_jamming.train_to_certificate`` (Levenberg-Marquardt on the
active residuals, float64), timed once, to its certificate: SAT (every margin >= 1, loss
exactly 0.0) or UNSAT (gradient norm below its rounding bound, Hessian checked).

Anchor: ``jamming.simulate.networks.train`` with ``Adam(--learning-rate)`` (1e-3), full
batch, float64, from the same initialisation, in chunks of ``--chunk`` (200) steps; after
each chunk the same SAT certificate is checked (every margin >= 1 in float64, so the loss is
exactly 0.0), or, when ours ended UNSAT, the gradient certificate: Adam's full-batch gradient
norm (autograd) at most the rounding bound of our certified minimum (the bound is a rounding
scale, nearly the same at any nearby point; the Hessian test is not repeated). Adam stops
when certified or when its time exceeds ``--factor`` (20, the target) times ours; the ratio
is then a lower bound (``factor``), and Adam's best loss is printed. Our trainer must be
certified (the script fails otherwise).

Prints the settings, both times, Adam's steps and best loss, and
``second_order_training: ratio=<Adam time / our time>`` last (``ratio>=`` when a lower
bound).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dim", type=int, default=20)
    parser.add_argument("--width", type=int, default=48)
    parser.add_argument("--load", type=float, default=2.2)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--factor", type=float, default=20.0)
    parser.add_argument("--alpha", type=float, default=1e4, help="0: no output scale")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    from jamming.simulate.features import sphere_inputs
    from jamming.simulate.network_jamming import train_to_certificate
    from jamming.simulate.networks import (
        Adam,
        DenseNetwork,
        flatten_parameters,
        forward,
        init_networks,
        losses,
        train,
        unflatten_parameters,
    )

    torch.set_num_threads(1)
    alpha = args.alpha or None
    network = DenseNetwork(args.input_dim, args.width, activation="tanh")
    n_data = round(args.load * network.n_parameters)
    rng = np.random.default_rng(args.seed)
    inputs = sphere_inputs(n_data, args.input_dim, rng)
    labels = rng.choice([-1.0, 1.0], n_data)
    params = init_networks(network, args.seed, 1)
    print(f"N = {network.n_parameters} weights, N_data = {n_data}, d = {args.input_dim}, "
          f"tanh, alpha {alpha}, float64, one thread")
    x, y = torch.from_numpy(inputs), torch.from_numpy(labels)
    scale = 1.0 if alpha is None else alpha
    reference = forward(network, params, x)[0] if alpha else torch.zeros_like(y)

    def model(current):
        """F, loss and gradient norm of one network (the objective of both trainers)."""
        vector = flatten_parameters(network, current)[0].clone().requires_grad_(True)
        f = forward(network, unflatten_parameters(network, vector), x)
        outputs = f if alpha is None else alpha * (f - reference)
        loss = losses(outputs, y, "quadratic-hinge") / scale ** 2
        (gradient,) = torch.autograd.grad(loss, vector)
        return outputs.detach().numpy(), loss.item(), float(gradient.norm())

    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        ours = train_to_certificate(network, params, inputs, labels, alpha=alpha,
                                    max_iterations=2000)
        our_time = time.perf_counter() - start
        if not ours.certified[0]:
            raise SystemExit(f"our trainer did not certify: {ours.status[0]}")
        print(f"ours: {ours.status[0]} in {ours.iterations[0]} iterations, {our_time:.2f} s")
        current, steps, best, gradient_norm = params, 0, np.inf, np.nan
        start = time.perf_counter()
        certified = False
        while time.perf_counter() - start < args.factor * our_time:
            run = train(network, current, inputs, labels, optimizer=Adam(args.learning_rate),
                        record_at=[0, args.chunk], loss="quadratic-hinge", alpha=alpha)
            current, steps = run.params, steps + args.chunk
            outputs, loss, gradient_norm = model(current)
            best = min(best, loss)
            if ours.sat[0] and (labels * outputs).min() >= 1.0:
                certified = True
                break
            if not ours.sat[0] and gradient_norm <= ours.gradient_bound[0]:
                certified = True
                break
        adam_time = time.perf_counter() - start
    state = "certified" if certified else "not certified"
    print(f"Adam (lr {args.learning_rate:g}): {state} after {steps} steps, {adam_time:.2f} s, "
          f"best loss {best:.6e} (ours {ours.loss[0]:.6e}), last gradient norm "
          f"{gradient_norm:.2e} (our bound {ours.gradient_bound[0]:.2e})")
    ratio = adam_time / our_time
    sign = "=" if certified else ">="
    print(f"second_order_training: ratio{sign}{ratio:.1f}")


if __name__ == "__main__":
    main()
