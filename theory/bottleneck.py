r"""Infinite-width kernels of the bottleneck model of study S5.

The model is a one-hidden-layer network fed through a bottleneck of width one,

.. math::

    h(x) = \sigma_w\, w\cdot x/\sqrt d,\qquad
    f(x) = \frac{\sigma_v}{\sqrt m}\sum_{k=1}^m v_k\,\sigma(\sigma_u u_k h(x) + \sigma_b b_k),

all parameters :math:`N(0, 1)` and trained (NTK parametrization), as the width
:math:`m\to\infty`: ``stax.serial(Dense(1, w_std, 0), Dense(m, u_std, b_std), act,
Dense(1, v_std, 0))``. Unlike the blocks of the wide layer, the block of the NTK that comes
from the bottleneck weights :math:`w` stays random at infinite width, so :math:`f` is a
Gaussian process only conditionally on :math:`w`; :func:`bottleneck_kernels` gives the
kernels given :math:`w` or averaged over it. The dual activations are those of
:mod:`jamming.theory.kernels`, with the same conventions and activation names.

References
----------
A. Jacot, F. Gabriel, C. Hongler, "Neural tangent kernel", NeurIPS (2018); R. Novak et al.,
"Neural Tangents: fast and easy infinite neural networks in Python", ICLR (2020).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import roots_hermite

from jamming.theory.activations import resolve_activation
from jamming.theory.kernels import ACTIVATIONS, DEFAULT_DEGREE, check_inputs, dual_activation
from jamming.validation import check_count as _check_count
from jamming.validation import check_finite_array as _check_finite_array
from jamming.validation import check_nonnegative as _check_nonnegative


@dataclass(frozen=True)
class BottleneckKernels:
    r"""Infinite-width kernels of the bottleneck model (see :func:`bottleneck_kernels`).

    Attributes
    ----------
    nngp : ndarray (n1, n2)
        Covariance of :math:`f` at initialization.
    ntk_readout : ndarray (n1, n2)
        :math:`\Theta_{v,u,b}`, the deterministic part from ``v``, ``u`` and ``b``.
    ntk_w_mean : ndarray (n1, n2)
        Mean of :math:`\Theta_w` (the part from the bottleneck weights ``w``), which stays
        random at infinite width.
    ntk : ndarray (n1, n2)
        ``ntk_readout + ntk_w_mean``, the mean NTK.
    """

    nngp: np.ndarray
    ntk_readout: np.ndarray
    ntk_w_mean: np.ndarray
    ntk: np.ndarray


def _relu_u2_step(h1, h2, u_std, b_std):
    r""":math:`\mathbb{E}[u^2 1\{z_1>0\}1\{z_2>0\}]`, :math:`z_i = \sigma_u u h_i+\sigma_b b`.

    In polar coordinates :math:`(u, b) = r(\cos\alpha, \sin\alpha)`, :math:`E r^2 = 2`, the
    event is the wedge between the normals of :math:`(\sigma_u h_i, \sigma_b)`, so the value is
    :math:`\pi^{-1}\int_{\text{wedge}}\cos^2\alpha\,d\alpha`.
    """
    p1 = np.arctan2(b_std + 0.0 * h1, u_std * h1)
    p2 = np.arctan2(b_std + 0.0 * h2, u_std * h2)
    lo = np.maximum(p1, p2) - math.pi / 2
    hi = np.minimum(p1, p2) + math.pi / 2
    hi = np.maximum(hi, lo)

    def prim(a):
        return a / 2 + np.sin(2 * a) / 4

    return (prim(hi) - prim(lo)) / math.pi


def _bottleneck_given_h(h1, h2, activation, u_std, b_std, v_std, degree):
    """Kernels given the bottleneck values h (broadcastable arrays)."""
    act = resolve_activation(activation, names=ACTIVATIONS)
    q1 = u_std**2 * h1 * h1 + b_std**2
    q2 = u_std**2 * h2 * h2 + b_std**2
    c = u_std**2 * h1 * h2 + b_std**2
    k, dot = dual_activation(q1, q2, c, act.name, degree=degree)
    readout = v_std**2 * (k + dot * c)
    if act.name == "relu":
        u2 = _relu_u2_step(h1, h2, u_std, b_std)
    else:
        # E[u^2 phi'(z1) phi'(z2)] by Gauss-Hermite over (u, b) ~ N(0, I_2)
        dphi = act.functions()[1]
        xs, ws = roots_hermite(degree)
        u = math.sqrt(2.0) * xs[:, None]
        b = math.sqrt(2.0) * xs[None, :]
        weights = ws[:, None] * ws[None, :] * u * u / math.pi
        h1e, h2e = np.asarray(h1)[..., None, None], np.asarray(h2)[..., None, None]
        u2 = np.einsum("...ij,ij->...", dphi(u_std * u * h1e + b_std * b)
                       * dphi(u_std * u * h2e + b_std * b), weights)
    return readout, v_std**2 * u_std**2 * u2, k * v_std**2


def bottleneck_kernels(x1, x2=None, w=None, *, activation: str = "relu", w_std: float = 1.0,
                       u_std: float = 1.0, b_std: float = 1.0, v_std: float = 1.0,
                       degree: int = DEFAULT_DEGREE) -> BottleneckKernels:
    r"""Kernels of the bottleneck model :math:`f(x) = v^\top\sigma(u\,(w^\top x) + b)`, width
    :math:`m\to\infty`.

    Parametrization (NTK parametrization of every layer, all parameters trained and
    initialized i.i.d. :math:`N(0, 1)`):

    .. math::

        h(x) = \sigma_w\, w\cdot x/\sqrt d,\qquad
        f(x) = \frac{\sigma_v}{\sqrt m}\sum_{k=1}^m v_k\,\sigma(\sigma_u u_k h(x) + \sigma_b b_k),

    i.e. ``stax.serial(Dense(1, w_std, 0), Dense(m, u_std, b_std), act, Dense(1, v_std, 0))``
    with a bottleneck of width one. Given :math:`w`, with :math:`z = \sigma_u u h + \sigma_b b`,
    the pairs :math:`(z, z')` are Gaussian with :math:`q = \sigma_u^2h^2 + \sigma_b^2`,
    :math:`c = \sigma_u^2 hh' + \sigma_b^2`, and as :math:`m\to\infty`

    .. math::

        \Sigma = \sigma_v^2\,\mathbb{E}\sigma(z)\sigma(z'),\qquad
        \Theta_{v,u,b} = \sigma_v^2\big(\mathbb{E}\sigma(z)\sigma(z')
          + c\,\mathbb{E}\sigma'(z)\sigma'(z')\big),\qquad
        \Theta_w = \sigma_v^2\sigma_u^2\sigma_w^2\,\frac{x\cdot x'}{d}\,G(x)G(x'),

    where :math:`G(x) = m^{-1/2}\sum_k v_k u_k\sigma'(z_k)` converges to a centred Gaussian
    process with covariance :math:`\mathbb{E}[u^2\sigma'(z)\sigma'(z')]`: unlike the blocks of
    the wide layer, the bottleneck block :math:`\Theta_w` does **not** become deterministic
    (it has :math:`O(1)` fluctuations, rank one given the draw), and :math:`f` is a Gaussian
    process only conditionally on :math:`w`. This function returns :math:`\Sigma`,
    :math:`\Theta_{v,u,b}` and :math:`\mathbb{E}\Theta_w = \sigma_v^2\sigma_u^2\sigma_w^2
    \frac{x\cdot x'}{d}\mathbb{E}[u^2\sigma'(z)\sigma'(z')]`, either given ``w`` or averaged
    over :math:`w\sim N(0, I_d)`, i.e. over :math:`(h, h')\sim N(0, \sigma_w^2 [[x\cdot x,
    x\cdot x'], [x\cdot x', x'\cdot x']]/d)` by a 2-D Gauss–Hermite rule of ``degree`` nodes
    (for ReLU the integrand has a kink on :math:`h = h'`, so the average converges only
    algebraically: the two orderings of a pair differ by ~2e-7 at degree 60, the upper
    triangle is returned mirrored).

    For ReLU, :math:`\mathbb{E}[u^2 1\{z>0\}1\{z'>0\}]` is in closed form (a wedge integral);
    for other activations a 2-D Gauss–Hermite rule over :math:`(u, b)` is used.

    Parameters
    ----------
    x1 : array_like, shape (n1, d)
    x2 : array_like, shape (n2, d), optional
    w : array_like, shape (d,), optional
        The bottleneck weights (standard normal scale); ``None`` averages over them.
    activation : str
        ``"relu"`` (closed forms) or a smooth activation name of
        :data:`jamming.theory.kernels.ACTIVATIONS` without parameters.
    w_std, u_std, b_std, v_std : float
        Standard deviations :math:`\sigma_w, \sigma_u, \sigma_b, \sigma_v` (finite,
        ``>= 0``) of the parameters ``w, u, b, v``, named after them because each layer of
        this model has its own (the one :math:`\sigma_w` of every layer of
        :func:`jamming.theory.kernels.nngp_ntk` is ``W_std``, as in ``stax``).
    degree : int
        Gauss–Hermite nodes per axis.

    Returns
    -------
    BottleneckKernels
    """
    degree = _check_count("degree", degree)
    for name, v in (("w_std", w_std), ("u_std", u_std), ("b_std", b_std), ("v_std", v_std)):
        _check_nonnegative(name, v)
    x1, x2 = check_inputs(x1, x2)
    same = x2 is None
    x2 = x1 if same else x2
    d = x1.shape[1]
    gram = x1 @ x2.T / d
    if w is not None:
        w = _check_finite_array("w", w)
        if w.shape != (d,):
            raise ValueError(f"w must have shape (d,) = ({d},); got {w.shape}")
        h1 = w_std * (x1 @ w) / math.sqrt(d)
        h2 = w_std * (x2 @ w) / math.sqrt(d)
        readout, u2, k = _bottleneck_given_h(h1[:, None], h2[None, :], activation, u_std,
                                             b_std, v_std, degree)
    else:
        q1 = w_std**2 * np.einsum("ij,ij->i", x1, x1) / d
        q2 = w_std**2 * np.einsum("ij,ij->i", x2, x2) / d
        c = w_std**2 * gram
        q1, q2 = q1[:, None] + 0.0 * c, q2[None, :] + 0.0 * c
        if same:
            np.fill_diagonal(c, np.diag(q1))
        xs, ws = roots_hermite(degree)
        safe = np.where(q1 > 0, q1, 1.0)
        slope = np.where(q1 > 0, c / np.sqrt(safe), 0.0)
        spread = np.sqrt(np.maximum(q2 - c * c / safe, 0.0))
        readout = np.zeros_like(c)
        u2 = np.zeros_like(c)
        k = np.zeros_like(c)
        for x, wx in zip(xs, ws, strict=True):
            g = math.sqrt(2.0) * x
            h1 = np.sqrt(np.maximum(q1, 0.0)) * g
            for y, wy in zip(xs, ws, strict=True):
                h2 = slope * g + spread * (math.sqrt(2.0) * y)
                r_, u_, k_ = _bottleneck_given_h(h1, h2, activation, u_std, b_std, v_std,
                                                 degree)
                readout += wx * wy * r_
                u2 += wx * wy * u_
                k += wx * wy * k_
        readout, u2, k = readout / math.pi, u2 / math.pi, k / math.pi
    w_mean = w_std**2 * gram * u2
    if same and w is None:  # the rule is not symmetric in (h, h'): mirror the upper triangle
        k, readout, w_mean = (np.triu(a) + np.triu(a, 1).T for a in (k, readout, w_mean))
    return BottleneckKernels(nngp=np.asarray(k), ntk_readout=np.asarray(readout),
                             ntk_w_mean=np.asarray(w_mean), ntk=np.asarray(readout + w_mean))


__all__ = ["BottleneckKernels", "bottleneck_kernels"]
