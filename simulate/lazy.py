r"""Laziness of finite networks: the Hessian of the outputs and the lazy-training ratio.

Chizat, Oyallon & Bach's criterion (seed 002) for the lazy regime compares how far the
outputs must travel with how fast the tangent kernel moves:
:math:`\kappa = \|y(w_0) - \tilde y\|\,\|\nabla^2 y\|/\|\nabla y\|^2`
(:func:`lazy_training_ratio`), with the operator norm of the Hessian of the output vector
from power iteration on Hessian-vector products (:func:`output_hessian_norm`) and that of the
Jacobian from the empirical NTK (:func:`jacobian_operator_norm`). :math:`\kappa = O(1/h)` in
the NTK parametrisation at width :math:`h`.

torch is imported inside the functions, so that importing this module stays light.

References
----------
L. Chizat, E. Oyallon, F. Bach, "On lazy training in differentiable programming", NeurIPS
(2019).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jamming.simulate.networks import (
    DenseNetwork,
    as_inputs,
    as_parameters,
    empirical_ntk,
    forward,
    network_outputs,
)
from jamming.validation import check_count, check_real


class HessianNorm(NamedTuple):
    r"""Result of :func:`output_hessian_norm` (arrays over the networks).

    Attributes
    ----------
    norm : numpy.ndarray, shape (n_networks,)
        :math:`\|T[u,v]\|_2` at the final unit vectors :math:`u, v`: a lower bound on
        :math:`\|\nabla^2 y\|`, equal to it at the global maximum (largest over the
        starts).
    iterations : int
        Iterations run (the last start).
    converged : numpy.ndarray of bool, shape (n_networks,)
        Relative change of ``norm`` below ``tol`` at the end.
    output_direction : numpy.ndarray, shape (n_networks, n_data)
        The unit vector :math:`c` attaining it.
    """

    norm: np.ndarray
    iterations: int
    converged: np.ndarray
    output_direction: np.ndarray


def _per_network_norm(vector: dict):
    import torch

    return torch.sqrt(sum((value.reshape(value.shape[0], -1) ** 2).sum(dim=1)
                          for value in vector.values()))


def _scale(vector: dict, factor):
    return {name: value * factor.reshape((-1,) + (1,) * (value.ndim - 1))
            for name, value in vector.items()}


def output_hessian_norm(network: DenseNetwork, params: dict, inputs, *, seed: int = 0,
                        max_iterations: int = 500, tol: float = 1e-10, n_starts: int = 3,
                        device=None) -> HessianNorm:
    r"""Operator norm of the Hessian of the output vector, by power iteration on HVPs.

    The Hessian is that of the *outputs on the training set*, :math:`y(w) = (f(x_\mu; w))_
    {\mu=1}^n`, as a symmetric bilinear map :math:`T = \nabla^2 y(w_0):
    \mathbb{R}^P\times\mathbb{R}^P\to\mathbb{R}^n`, :math:`T[u,v] = \sum_{ab}u_a v_b\,
    \partial_a\partial_b y`, with the operator norm

    .. math::

        \|\nabla^2 y\| = \sup_{\|u\|=\|v\|=1}\|T[u,v]\|_2
        = \max_{\|c\|=1}\Big\|\sum_\mu c_\mu \nabla^2 f(x_\mu)\Big\|_2
        = \max_{\|c\|=\|u\|=1} c\cdot T[u,u].

    This is the quantity of Chizat, Oyallon & Bach's criterion (and seed 002): it is the
    Lipschitz constant of the Jacobian near :math:`w_0`,
    :math:`\|\nabla y(w) - \nabla y(w_0)\|_\mathrm{op} \lesssim \|\nabla^2 y\|\,\|w - w_0\|`,
    i.e. how fast the tangent kernel moves. The Hessian of the *loss*,
    :math:`J^\top J + \sum_\mu (f_\mu - y_\mu)\nabla^2 f_\mu`, is not used: its Gauss–Newton
    part :math:`J^\top J` has norm :math:`\|\nabla y\|^2` whatever the curvature of the model,
    and its second part is this Hessian contracted with the particular residual.

    Algorithm: block-coordinate ascent of :math:`c\cdot T[u,v] = u^\top H(c)\,v` over unit
    :math:`u, v, c` (a higher-order power method), with
    :math:`H(c) = \sum_\mu c_\mu\nabla^2 f(x_\mu)`: :math:`v \leftarrow H(c)u/\|H(c)u\|`,
    :math:`u \leftarrow H(c)v/\|H(c)v\|`, :math:`c \leftarrow T[u,v]/\|T[u,v]\|`. Each step
    is the exact maximiser over its block, so the value :math:`\|T[u,v]\|` never decreases
    and never exceeds :math:`\|\nabla^2 y\|`; a fixed point is a stationary point of the
    problem. The two-sided updates (singular vectors, not eigenvectors) converge also when
    :math:`H(c)` has eigenvalues :math:`\pm\lambda` of equal modulus, as for ReLU networks
    (whose Hessians only couple different layers). Hessian-vector products are
    reverse-over-reverse, ``torch.func.vjp(torch.func.grad(c·y))``, and
    :math:`T[u,v] = \nabla_c\,(u\cdot H(c)v)` is one more ``torch.func.grad`` through the
    second one (:math:`H(c)` is linear in :math:`c`); forward-over-reverse gives the same
    numbers more slowly on the CPU (``benchmarks/README.md``). Maximising the convex function
    :math:`c\mapsto\|H(c)\|` over the sphere is non-convex: the ascent can stop at a local
    maximum, so several random starts (``n_starts``) keep the largest value, which is a
    certified lower bound (the norm of :math:`T` at explicit unit vectors). All networks of
    the parameter set are iterated together (their Hessians are independent blocks). An
    iteration costs about five passes through the network.

    Parameters
    ----------
    network : DenseNetwork
    params : dict of str to torch.Tensor
        A parameter set (:func:`.init_networks`).
    inputs : array_like or torch.Tensor, shape (n_data, d)
    seed : int
        Seed of the random starting vectors (``numpy.random.default_rng``).
    max_iterations : int
        :math:`\ge 1` per start.
    tol : float
        Relative change of the value between iterations that stops the iteration (every
        network), :math:`> 0`.
    n_starts : int
        :math:`\ge 1`.
    device : None, {"cpu", "cuda", "auto"} or torch.device

    Returns
    -------
    HessianNorm
    """
    import torch
    from torch.func import grad, vjp

    params, target = as_parameters(network, params, device)
    inputs = as_inputs(network, inputs, target)
    seed = check_count("seed", seed, minimum=0)
    max_iterations = check_count("max_iterations", max_iterations)
    n_starts = check_count("n_starts", n_starts)
    tol = check_real("tol", tol, 0.0, strict=True)
    n_networks, n_data = params["W1"].shape[0], inputs.shape[0]
    rng = np.random.default_rng(seed)

    def outputs(p):
        return forward(network, p, inputs)

    def hessian_pullback(c):
        return vjp(grad(lambda p: (outputs(p) * c).sum()), params)[1]

    def unit(vector):
        size = _per_network_norm(vector)
        return _scale(vector, 1.0 / torch.where(size > 0, size, 1.0))

    def u_step(c, v):
        """H(c)v and T[u, v] with u = H(c)v/||H(c)v|| (one reverse pass more)."""
        def objective(c):
            product = hessian_pullback(c)(v)[0]
            direction = unit({name: value.detach() for name, value in product.items()})
            return sum((product[name] * direction[name]).sum() for name in product), product

        return grad(objective, has_aux=True)(c)

    def random_unit():
        return unit({name: torch.as_tensor(rng.standard_normal(tuple(value.shape)),
                                           device=target) for name, value in params.items()})

    best_norm = torch.full((n_networks,), -1.0, dtype=torch.float64, device=target)
    best_c = torch.zeros((n_networks, n_data), dtype=torch.float64, device=target)
    best_converged = torch.zeros(n_networks, dtype=torch.bool, device=target)
    for _ in range(n_starts):
        u = random_unit()
        c = torch.as_tensor(rng.standard_normal((n_networks, n_data)), device=target)
        c = c / torch.linalg.vector_norm(c, dim=1, keepdim=True)
        value = torch.zeros(n_networks, dtype=torch.float64, device=target)
        converged = torch.zeros(n_networks, dtype=torch.bool, device=target)
        for iterations in range(1, max_iterations + 1):  # noqa: B007 (returned)
            v = unit(hessian_pullback(c)(u)[0])
            direction, product = u_step(c, v)
            u = unit(product)
            new_value = torch.linalg.vector_norm(direction, dim=1)
            c = torch.where(new_value[:, None] > 0, direction / torch.where(
                new_value > 0, new_value, 1.0)[:, None], c)
            converged = (new_value - value).abs() <= tol * new_value
            value = new_value
            if bool(converged.all()):
                break
        better = value > best_norm
        best_norm = torch.where(better, value, best_norm)
        best_c = torch.where(better[:, None], c, best_c)
        best_converged = torch.where(better, converged, best_converged)
    return HessianNorm(best_norm.cpu().numpy(), iterations, best_converged.cpu().numpy(),
                       best_c.cpu().numpy())


def jacobian_operator_norm(network: DenseNetwork, params: dict, inputs, *,
                           device=None) -> np.ndarray:
    r""":math:`\|\nabla y\|`: the largest singular value of the Jacobian :math:`J` (n x P).

    :math:`\|J\|_\mathrm{op} = \sqrt{\lambda_\max(JJ^\top)}` with :math:`JJ^\top` the
    empirical NTK on the inputs (:func:`.empirical_ntk`). Returns shape ``(n_networks,)``.
    """
    kernel = empirical_ntk(network, params, inputs, device=device)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(kernel)[:, -1], 0.0))


class LazyRatio(NamedTuple):
    r"""The lazy-training ratio and its factors (arrays of shape ``(n_networks,)``).

    ``kappa`` :math:`= \|y(w_0) - \tilde y\|_2\,\|\nabla^2 y\|/\|\nabla y\|^2` from
    ``residual_norm``, ``hessian_norm`` (:func:`output_hessian_norm`) and ``jacobian_norm``
    (:func:`jacobian_operator_norm`).
    """

    kappa: np.ndarray
    residual_norm: np.ndarray
    hessian_norm: np.ndarray
    jacobian_norm: np.ndarray


def lazy_training_ratio(network: DenseNetwork, params: dict, inputs, targets, *,
                        device=None, **hessian_options) -> LazyRatio:
    r"""Chizat–Oyallon–Bach's :math:`\kappa = \|y(w_0)-\tilde y\|\,\|\nabla^2y\|/\|\nabla y\|^2`.

    :math:`y(w_0)` are the networks' outputs on ``inputs``, :math:`\tilde y` the ``targets``
    (shape ``(n_data,)`` or ``(n_networks, n_data)``), :math:`\|\nabla^2 y\|` as in
    :func:`output_hessian_norm` (``hessian_options`` are passed on) and :math:`\|\nabla y\|`
    as in :func:`jacobian_operator_norm`. :math:`\kappa \ll 1` is the lazy regime: the
    relative change of the Jacobian while the outputs travel to the targets is about
    :math:`\kappa`.

    Returns
    -------
    LazyRatio
    """
    outputs = network_outputs(network, params, inputs, device=device)
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape not in (outputs.shape[1:], outputs.shape) or not np.all(
            np.isfinite(targets)):
        raise ValueError(f"targets must be finite with shape {outputs.shape[1:]} or "
                         f"{outputs.shape}; got shape {targets.shape}")
    residual = np.linalg.norm(outputs - targets, axis=-1)
    hessian = output_hessian_norm(network, params, inputs, device=device,
                                  **hessian_options).norm
    jacobian = jacobian_operator_norm(network, params, inputs, device=device)
    return LazyRatio(residual * hessian / jacobian ** 2, residual, hessian, jacobian)
