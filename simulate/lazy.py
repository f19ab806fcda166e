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

from jamming.simulate.activations import torch_activation
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


def shallow_relu_hessian_norm(network: DenseNetwork, params: dict, inputs) -> np.ndarray:
    r"""Exact :math:`\|\nabla^2 y\|` of one-hidden-layer ReLU networks without biases.

    With :math:`f(x) = c_2\sum_i a_i\,\mathrm{relu}(c_1 w_i\cdot x)` (:math:`c_1, c_2` the
    forward multipliers of the parametrisation), the only non-zero second derivatives are
    :math:`\partial_{a_i}\partial_{w_i}f = c_1c_2\,\mathbb{1}[w_i\cdot x > 0]\,x`, so
    :math:`H(c) = \sum_\mu c_\mu\nabla^2 f(x_\mu)` is block diagonal over the neurons with
    blocks :math:`\begin{pmatrix}0 & b_i\\ b_i^\top & 0\end{pmatrix}`,
    :math:`b_i = c_1c_2X_{S_i}^\top c` (:math:`S_i` the inputs that activate neuron
    :math:`i`), of norm :math:`\|b_i\|`. Hence

    .. math::

        \|\nabla^2 y\| = \max_{\|c\|=1}\max_i\|b_i\| = c_1c_2\max_i\sigma_\max(X_{S_i}),

    the largest singular value of the data matrix restricted to a neuron's active set: the
    quantity :func:`output_hessian_norm` bounds from below by power iteration (the ReLU
    kink is a null set for generic inputs, and ignored as in autograd).

    Parameters
    ----------
    network : DenseNetwork
        Depth 1, ``relu``, no biases; any parametrisation.
    params : dict of str to torch.Tensor
        A parameter set (:func:`.init_networks`).
    inputs : array_like, shape (n_data, d)

    Returns
    -------
    numpy.ndarray, shape (n_networks,)
    """
    if network.depth != 1 or network.activations != ("relu",) or any(network.biases):
        raise ValueError("shallow_relu_hessian_norm needs a depth-1 ReLU network without "
                         f"biases; got {network!r}")
    x = np.asarray(inputs, dtype=np.float64)
    first, second = network.layer_scales()
    pre = np.einsum("nd,sdh->snh", x, params["W1"].detach().cpu().numpy())
    norms = np.zeros(pre.shape[0])
    for s, active in enumerate(pre > 0):
        for pattern in np.unique(active.T, axis=0):  # neurons with the same active set
            if pattern.any():
                norms[s] = max(norms[s], np.linalg.norm(x[pattern], ord=2))
    return first.weight * second.weight * norms


def _neuron_block_ascent(x, c1, c2, readout, slope, curvature, starts, max_iterations, tol):
    """Alternating maximisation of ||q_i(u)|| for independent neuron blocks.

    ``readout`` (M,), ``slope`` and ``curvature`` (M, n) per neuron; ``starts`` (M, K, n)
    unit vectors c. Each (neuron, start) stops when its value changes by at most ``tol``
    relative (the ascent never decreases it). Returns the best value per neuron, shape (M,).
    """
    d = x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), d * d)
    n_neurons, k, n_data = starts.shape
    rows = np.repeat(np.arange(n_neurons), k)
    c = starts.reshape(-1, n_data)
    value = np.zeros(rows.size)
    running = np.arange(rows.size)
    for _ in range(max_iterations):
        r, cc = rows[running], c[running]
        block = np.zeros((running.size, d + 1, d + 1))
        block[:, :d, :d] = (c1 * readout[r, None, None]
                            * ((cc * curvature[r]) @ outer).reshape(-1, d, d))
        block[:, :d, d] = block[:, d, :d] = (cc * slope[r]) @ x
        eigenvalues, vectors = np.linalg.eigh(block)
        top = np.take_along_axis(vectors, np.abs(eigenvalues).argmax(-1)[:, None, None],
                                 axis=-1)[..., 0]
        along = top[:, :d] @ x.T  # v . x_mu
        q = c1 * c2 * along * (c1 * readout[r, None] * curvature[r] * along
                               + 2 * top[:, d:] * slope[r])
        new_value = np.linalg.norm(q, axis=-1)
        moving = new_value > 0
        c[running[moving]] = q[moving] / new_value[moving, None]
        changed = np.abs(new_value - value[running]) > tol * new_value
        value[running] = new_value
        running = running[changed]
        if running.size == 0:
            break
    return value.reshape(n_neurons, k).max(axis=-1)


def shallow_output_hessian_norm(network: DenseNetwork, params: dict, inputs, *,
                                n_starts: int = 8, max_iterations: int = 200,
                                tol: float = 1e-10, seed: int = 0) -> np.ndarray:
    r""":math:`\|\nabla^2 y\|` of one-hidden-layer networks without biases, neuron by neuron.

    With :math:`f(x) = c_2\sum_i a_i\,\phi(c_1 w_i\cdot x)`, second derivatives couple only
    the parameters :math:`(w_i, a_i)` of one neuron, so :math:`H(c)` is block diagonal with
    :math:`(d+1)\times(d+1)` blocks

    .. math::

        B_i(c) = c_1c_2\begin{pmatrix} c_1a_i X^\top\mathrm{diag}(c\odot\phi''_i)X &
        X^\top(c\odot\phi'_i)\\ \cdot & 0\end{pmatrix},\qquad
        \|\nabla^2y\| = \max_i\max_{\|c\|=1}\|B_i(c)\| = \max_i\max_{\|u\|=1}\|q_i(u)\|,

    :math:`q_i(u)_\mu = u^\top B_i(e_\mu)u` (for fixed :math:`u` the best :math:`c` is
    :math:`q_i(u)/\|q_i(u)\|`). Each neuron's problem lives on the sphere of
    :math:`\mathbb{R}^{d+1}`, not of :math:`\mathbb{R}^P`: alternating exact maximisation
    (:math:`c\leftarrow q_i(u)/\|q_i(u)\|`, :math:`u\leftarrow` the eigenvector of
    :math:`B_i(c)` of largest :math:`|\lambda|`) from random :math:`c`. One start per neuron
    first gives each network a value :math:`L`; the neurons whose bound
    :math:`\|B_i(c)\|\le c_1c_2(c_1|a_i|\,\|\phi''_i\odot r^2\|_2 + \sigma_\max(X)
    \|\phi'_i\|_\infty)` (:math:`r_\mu = \|x_\mu\|`; the norm of a block matrix is at most
    the sum of its blocks' norms, then Cauchy–Schwarz) reaches :math:`L` are then run from
    ``n_starts`` starts. Every value is attained at explicit unit vectors, so the result is
    a lower bound, equal to the norm when a start reaches the best neuron's global maximum;
    tests check it against dense Hessians, against :func:`output_hessian_norm` (never
    below it) and, for ReLU, against :func:`shallow_relu_hessian_norm`.

    Parameters
    ----------
    network : DenseNetwork
        Depth 1, no biases, any activation and parametrisation.
    params : dict of str to torch.Tensor
    inputs : array_like, shape (n_data, d)
    n_starts : int
        Random starts per surviving neuron, :math:`\ge 1`.
    max_iterations : int
        :math:`\ge 1` per pass.
    tol : float
        Stop a pass when no value changes by more than ``tol`` relative, :math:`> 0`.
    seed : int
        Seed of the starts.

    Returns
    -------
    numpy.ndarray, shape (n_networks,)
    """
    import torch

    if network.depth != 1 or any(network.biases):
        raise ValueError("shallow_output_hessian_norm needs a depth-1 network without biases; "
                         f"got {network!r}")
    n_starts = check_count("n_starts", n_starts)
    max_iterations = check_count("max_iterations", max_iterations)
    tol = check_real("tol", tol, 0.0, strict=True)
    x = np.asarray(inputs, dtype=np.float64)
    first, second = network.layer_scales()
    c1, c2 = first.weight, second.weight
    z = torch.as_tensor(c1 * np.einsum("nd,sdh->shn", x, params["W1"].detach().cpu().numpy()))
    z.requires_grad_(True)
    slope, = torch.autograd.grad(torch_activation(network.activations[0])(z).sum(), z,
                                 create_graph=True)
    curvature = (torch.autograd.grad(slope.sum(), z)[0] if slope.requires_grad
                 else torch.zeros_like(z))
    n_networks, width, n_data = z.shape
    slope = slope.detach().numpy().reshape(-1, n_data)
    curvature = curvature.detach().numpy().reshape(-1, n_data)
    readout = params["W2"].detach().cpu().numpy()[..., 0].reshape(-1)
    network_of = np.repeat(np.arange(n_networks), width)
    rng = np.random.default_rng(seed)

    def ascend(rows, k):
        starts = rng.standard_normal((rows.size, k, n_data))
        starts /= np.linalg.norm(starts, axis=-1, keepdims=True)
        return _neuron_block_ascent(x, c1, c2, readout[rows], slope[rows], curvature[rows],
                                    starts, max_iterations, tol)

    everyone = np.arange(network_of.size)
    first_pass = ascend(everyone, 1)
    best = np.full(n_networks, 0.0)
    np.maximum.at(best, network_of, first_pass)
    bound = c1 * c2 * (c1 * np.abs(readout) * np.linalg.norm(curvature * (x ** 2).sum(1), axis=1)
                       + np.linalg.norm(x, ord=2) * np.abs(slope).max(axis=1))
    survivors = everyone[bound >= best[network_of] * (1 - 1e-12)]
    np.maximum.at(best, network_of[survivors], ascend(survivors, n_starts))
    return best
