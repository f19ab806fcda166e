r"""Stochastic differential equation models of SGD (seed 003): stochastic modified equations
and the label-noise SDE.

Stochastic modified equations (Li, Tai & E)
-------------------------------------------
SGD on :math:`f(\theta) = \mathbb{E}_\gamma f_\gamma(\theta)` with step :math:`\eta`,

.. math::

    \theta_{k+1} = \theta_k - \eta\,\nabla f_{\gamma_k}(\theta_k), \qquad
    \gamma_k \ \text{i.i.d.},

is compared with a continuous process :math:`\Theta_t` at **time** :math:`t = k\eta`. With
:math:`\Sigma(\theta) = \mathrm{Cov}_\gamma[\nabla f_\gamma(\theta)]` the gradient-noise
covariance and :math:`W` a standard Brownian motion, the

* **first-order SME** is :math:`d\Theta = -\nabla f(\Theta)\,dt +
  \sqrt\eta\,\Sigma(\Theta)^{1/2}\,dW` (weak order 1:
  :math:`|\mathbb{E}g(\theta_k) - \mathbb{E}g(\Theta_{k\eta})| \le C\eta` on
  :math:`k\eta \le T`);
* **second-order SME** is :math:`d\Theta = -\nabla\big(f + \tfrac{\eta}{4}|\nabla f|^2\big)
  (\Theta)\,dt + \sqrt\eta\,\Sigma(\Theta)^{1/2}\,dW`, i.e. drift
  :math:`-(\nabla f + \tfrac\eta2 \nabla^2 f\,\nabla f)` (weak order 2, error
  :math:`C\eta^2`).

:func:`sme_drift` builds these drifts from :math:`\nabla f` and :math:`\nabla^2 f`.

**Test problem with closed forms** (:func:`sgd_moments`, :func:`sme_moments`). One-dimensional
:math:`f_\gamma(\theta) = \tfrac12 a(\theta-\gamma)^2`, :math:`\gamma\sim N(0,\sigma^2)`,
:math:`a > 0`, deterministic :math:`\theta_0`. Then :math:`\nabla f_\gamma = a(\theta -
\gamma)`, :math:`f = \tfrac12 a\theta^2 + \mathrm{const}`, :math:`\Sigma = a^2\sigma^2`, and

* SGD is the linear recursion :math:`\theta_{k+1} = (1-\eta a)\theta_k + \eta a\gamma_k`:
  :math:`\mathbb{E}\theta_k = (1-\eta a)^k\theta_0`, :math:`\mathrm{Var}\,\theta_k =
  \eta a\sigma^2\,(1-(1-\eta a)^{2k})/(2-\eta a)`;
* SME1 is the Ornstein–Uhlenbeck process :math:`d\Theta = -a\Theta\,dt + \sqrt\eta\,a\sigma\,
  dW`: mean :math:`e^{-at}\theta_0`, variance :math:`\eta a^2\sigma^2(1-e^{-2at})/(2a)`;
* SME2 has drift :math:`-b\Theta`, :math:`b = a + \eta a^2/2`: mean
  :math:`e^{-bt}\theta_0`, variance :math:`\eta a^2\sigma^2(1-e^{-2bt})/(2b)`.

At fixed :math:`T = k\eta` (:func:`weak_errors`, :func:`symbolic_weak_errors`, sympy series in
:math:`\eta`) the SME1 errors in :math:`\mathbb{E}\theta` and :math:`\mathbb{E}\theta^2` are
:math:`\tfrac12 a^2T e^{-aT}\theta_0\,\eta` and :math:`a^2Te^{-2aT}\theta_0^2\,\eta` (order 1;
if :math:`\theta_0 = 0` the mean error vanishes and the second-moment error is
:math:`O(\eta^2)`: the variance of SME1 is already second-order accurate on this problem);
the SME2 errors are :math:`\tfrac13 a^3Te^{-aT}\theta_0\,\eta^2` and
:math:`\tfrac16 a^2e^{-2aT}\big(4aT\theta_0^2 - 3\sigma^2(e^{2aT}-1)\big)\,\eta^2` (order 2).

Label-noise SDE
---------------
Data :math:`(x_i, y_i)_{i\le n}`, model :math:`h_\theta(x)`, loss
:math:`L(\theta) = \frac1{2n}\sum_i (h_\theta(x_i) - y_i)^2`, and SGD whose labels are
perturbed by independent noise of variance :math:`\delta`. Near interpolation the gradient
noise covariance is :math:`\delta\,\phi_\theta(X)^\top\phi_\theta(X)` with
:math:`\phi_\theta(X) \in \mathbb{R}^{n\times p}` the **Jacobian of the outputs normalised by**
:math:`1/\sqrt n` (rows :math:`\nabla_\theta h_\theta(x_i)^\top/\sqrt n`), whence the SDE
(Andriushchenko et al. 2023, Eq. (3); :math:`B` an :math:`n`-dimensional Brownian motion)

.. math::

    d\theta_t = -\nabla L(\theta_t)\,dt + \sqrt{\eta\delta}\,\phi_{\theta_t}(X)^\top dB_t.

For the quadratic parametrisation of :mod:`jamming.theory.stabilization`, :math:`h_\theta(x) =
x\theta^2`, :math:`y = x\theta_*^2` (so :math:`L = 2F` with the :math:`\tfrac14` loss
:math:`F` there) and :math:`m_2 = \frac1n\sum x_i^2`:

.. math::

    b(\theta) = -L'(\theta) = 2m_2\,\theta(\theta_*^2 - \theta^2), \qquad
    s(\theta) = 2\sqrt{\eta\delta m_2}\,\theta, \qquad D = s^2/2 = 2\eta\delta m_2\theta^2.

The domain is :math:`\theta > 0` (0 is an absorbing fixed point of both coefficients, so
:math:`(0,\infty)` is invariant; :math:`\theta<0` is the mirror image). The Fokker–Planck
equation :math:`\partial_t p = -(bp)' + (Dp)''` has the zero-flux stationary solution
:math:`bp - (Dp)' = 0`, i.e. :math:`p \propto D^{-1}\exp(\int b/D)` (with the drift
:math:`b` itself; :math:`\exp(-\int U'/D)` for :math:`b = -U'`). Here
:math:`b/D = (\theta_*^2-\theta^2)/(\eta\delta\,\theta)` and :math:`m_2` cancels:

.. math::

    p(\theta) \propto \theta^{c-2}\, e^{-\theta^2/(2\eta\delta)}, \qquad
    c = \theta_*^2/(\eta\delta),

normalisable iff :math:`c > 1`, i.e. :math:`\eta\delta < \theta_*^2` (otherwise the mass
collapses onto :math:`\theta = 0`: :func:`label_noise_stationary_density` raises). Then
:math:`\theta^2 \sim \mathrm{Gamma}(\text{shape } (c-1)/2, \text{scale } 2\eta\delta)`, so
:math:`\mathbb{E}\theta^2 = \theta_*^2 - \eta\delta` and the mode is
:math:`\sqrt{\theta_*^2 - 2\eta\delta} < \theta_*`: label noise biases :math:`\theta` below
:math:`\theta_*`. :func:`stationary_density_1d` normalises a general
:math:`D^{-1}e^{\int b/D}` numerically on a grid (checked against this closed form).

References
----------
Q. Li, C. Tai, W. E, "Stochastic modified equations and adaptive stochastic gradient
algorithms", ICML 2017; "Stochastic modified equations and dynamics of stochastic gradient
algorithms I: mathematical foundations", JMLR 20(40), 2019.
M. Andriushchenko, A. Varre, L. Pillaud-Vivien, N. Flammarion, "SGD with large step sizes
learns sparse features", ICML 2023 (arXiv:2210.05337).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import integrate, special, stats

from jamming.validation import check_count as _check_count
from jamming.validation import check_finite as _check_finite
from jamming.validation import check_real as _check_real
from jamming.validation import elementwise as _elementwise


def _check_pos(name: str, value, strict: bool = True) -> float:
    """``value`` as a float if it is a finite number > 0 (>= 0 if not ``strict``)."""
    return _check_real(name, value, 0.0, strict=strict)


def _check_order(order) -> int:
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2; got {order!r}")
    return int(order)


def _check_quadratic(eta, a, sigma) -> tuple[float, float, float]:
    eta = _check_pos("eta", eta)
    a = _check_pos("a", a)
    sigma = _check_pos("sigma", sigma, strict=False)
    if not eta * a < 2.0:
        raise ValueError(f"eta * a must be < 2 (stable SGD); got eta={eta}, a={a}")
    return eta, a, sigma


# ---------------------------------------------------------------- stochastic modified equations
def sme_drift(grad, hess, eta: float, order: int = 1):
    r"""Drift of the Li–Tai–E SME of the given ``order`` as a callable of :math:`\theta`.

    ``grad(theta)`` returns :math:`\nabla f` (shape ``(p,)`` or scalar), ``hess(theta)``
    returns :math:`\nabla^2 f` (shape ``(p, p)`` or scalar). Order 1: :math:`-\nabla f`;
    order 2: :math:`-\nabla(f + \tfrac\eta4|\nabla f|^2) = -(\nabla f +
    \tfrac\eta2\nabla^2 f\,\nabla f)`.
    """
    eta = _check_pos("eta", eta)
    order = _check_order(order)

    def drift(theta):
        g = np.asarray(grad(theta), dtype=np.float64)
        if order == 1:
            return -g
        h = np.asarray(hess(theta), dtype=np.float64)
        hg = h * g if h.ndim == 0 or g.ndim == 0 else h @ g
        return -(g + 0.5 * eta * hg)

    return drift


def sgd_moments(k, eta: float, a: float, sigma: float, theta0: float):
    r"""Exact mean and variance of SGD on :math:`\tfrac12 a(\theta-\gamma)^2`,
    :math:`\gamma\sim N(0,\sigma^2)`, after ``k`` steps (``k`` integer >= 0, broadcast).

    Raises
    ------
    ValueError
        If ``eta``, ``a`` are not > 0, ``sigma`` < 0, ``eta * a >= 2`` or ``k`` < 0.
    """
    eta, a, sigma = _check_quadratic(eta, a, sigma)
    k = np.asarray(k, dtype=np.float64)
    if np.any(k < 0) or not np.all(np.isfinite(k)):
        raise ValueError(f"k must be finite and >= 0; got {k!r}")
    r = 1.0 - eta * a
    mean = r**k * _check_finite("theta0", theta0)
    var = eta * a * sigma**2 * (1.0 - r ** (2.0 * k)) / (2.0 - eta * a)
    return mean, var


def sme_moments(t, eta: float, a: float, sigma: float, theta0: float, order: int = 1):
    r"""Mean and variance at time ``t`` of the SME (``order`` 1 or 2) of the quadratic test
    problem, an Ornstein–Uhlenbeck process (see module docstring)."""
    eta, a, sigma = _check_quadratic(eta, a, sigma)
    order = _check_order(order)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"t must be finite and >= 0; got {t!r}")
    b = a if order == 1 else a + 0.5 * eta * a * a
    mean = np.exp(-b * t) * _check_finite("theta0", theta0)
    var = eta * a * a * sigma**2 * (-np.expm1(-2.0 * b * t)) / (2.0 * b)
    return mean, var


def weak_errors(T: float, n_steps, a: float, sigma: float, theta0: float) -> dict:
    r"""Weak errors (SME minus SGD) at fixed time ``T`` with :math:`\eta = T/n`.

    ``n_steps`` is an int or array of ints (the number :math:`n` of SGD steps). Returns a dict
    with ``'eta'`` and, for ``order`` in 1, 2, ``'mean_<order>'`` (error in
    :math:`\mathbb{E}\theta`) and ``'second_moment_<order>'`` (error in
    :math:`\mathbb{E}\theta^2`), signed.
    """
    T = _check_pos("T", T)
    n = np.atleast_1d(np.asarray(n_steps))
    if n.dtype.kind not in "iu" or np.any(n < 1):
        raise ValueError(f"n_steps must be integers >= 1; got {n_steps!r}")
    eta = T / n.astype(np.float64)
    out = {"eta": eta}
    for order in (1, 2):
        em, es = [], []
        for e, k in zip(eta, n, strict=True):
            ms, vs = sgd_moments(k, e, a, sigma, theta0)
            mo, vo = sme_moments(T, e, a, sigma, theta0, order)
            em.append(mo - ms)
            es.append((mo**2 + vo) - (ms**2 + vs))
        out[f"mean_{order}"] = np.array(em, dtype=np.float64)
        out[f"second_moment_{order}"] = np.array(es, dtype=np.float64)
    return out


def symbolic_weak_errors(n_terms: int = 3) -> dict:
    r"""Sympy series in :math:`\eta` of the weak errors of the quadratic test problem.

    Returns ``{(quantity, order): series}`` with ``quantity`` in ``'mean'``,
    ``'second_moment'`` and ``order`` in 1, 2; each series (SME minus SGD at fixed
    :math:`T`, symbols ``eta, a, sigma, theta0, T``) is expanded to :math:`O(\eta^{n})`
    with ``n = n_terms``, and ``('leading', quantity, order)`` holds ``(power, coefficient)``
    of its first non-zero term.
    """
    n_terms = _check_count("n_terms", n_terms, minimum=2)
    eta, a, s, T = sp.symbols("eta a sigma T", positive=True)
    th0 = sp.Symbol("theta0", real=True)
    r2k = sp.exp(2 * T / eta * sp.log(1 - eta * a))
    rk = sp.exp(T / eta * sp.log(1 - eta * a))
    sgd_mean = rk * th0
    sgd_m2 = sgd_mean**2 + eta * a * s**2 * (1 - r2k) / (2 - eta * a)
    out = {}
    for order in (1, 2):
        b = a if order == 1 else a + eta * a**2 / 2
        mean = sp.exp(-b * T) * th0
        m2 = mean**2 + eta * a**2 * s**2 * (1 - sp.exp(-2 * b * T)) / (2 * b)
        for name, err in (("mean", mean - sgd_mean), ("second_moment", m2 - sgd_m2)):
            ser = sp.series(err, eta, 0, n_terms).removeO()
            ser = sp.expand(ser)
            out[(name, order)] = ser
            poly = sp.Poly(ser, eta)
            lead = min((m[0], c) for m, c in zip(poly.monoms(), poly.coeffs(),
                                                              strict=True)
                       if sp.simplify(c) != 0)
            out[("leading", name, order)] = (lead[0], sp.simplify(lead[1]))
    return out


# ---------------------------------------------------------------- label-noise SDE
def label_noise_diffusion_matrix(phi, eta: float, delta: float) -> np.ndarray:
    r""":math:`\sqrt{\eta\delta}\,\phi^\top` for the (:math:`1/\sqrt n`-normalised) output
    Jacobian ``phi`` of shape ``(n, p)``; multiplies :math:`dB \in \mathbb{R}^n`."""
    eta = _check_pos("eta", eta)
    delta = _check_pos("delta", delta, strict=False)
    phi = np.asarray(phi, dtype=np.float64)
    if phi.ndim != 2:
        raise ValueError(f"phi must be a 2-d (n, p) array; got shape {phi.shape}")
    return math.sqrt(eta * delta) * phi.T


def quadratic_jacobian(theta: float, x) -> np.ndarray:
    r"""Normalised Jacobian :math:`\phi_\theta(X)` of :math:`h_\theta(x) = x\theta^2`:
    column :math:`2x_i\theta/\sqrt n` (shape ``(n, 1)``)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("x must contain at least one sample")
    return (2.0 * _check_finite("theta", theta) * x / math.sqrt(x.size))[:, None]


def label_noise_drift(theta, theta_star: float, m2: float = 1.0):
    r""":math:`b(\theta) = 2m_2\theta(\theta_*^2-\theta^2)` (minus the gradient of
    :math:`L = \frac1{2n}\sum(x_i\theta^2 - x_i\theta_*^2)^2`, :math:`m_2` the mean of
    :math:`x_i^2`)."""
    _check_pos("theta_star", theta_star)
    m2 = _check_pos("m2", m2)
    theta = np.asarray(theta, dtype=np.float64)
    return 2.0 * m2 * theta * (theta_star**2 - theta * theta)


def label_noise_diffusion(theta, eta: float, delta: float, m2: float = 1.0):
    r""":math:`s(\theta) = 2\sqrt{\eta\delta m_2}\,\theta` (equal in law to
    :math:`\sqrt{\eta\delta}\phi_\theta^\top dB`)."""
    eta = _check_pos("eta", eta)
    delta = _check_pos("delta", delta, strict=False)
    m2 = _check_pos("m2", m2)
    return 2.0 * math.sqrt(eta * delta * m2) * np.asarray(theta, dtype=np.float64)


def _label_noise_c(theta_star, eta, delta) -> tuple[float, float]:
    ts = _check_pos("theta_star", theta_star)
    s = _check_pos("eta", eta) * _check_pos("delta", delta)
    c = ts * ts / s
    if not c > 1.0:
        raise ValueError(
            f"stationary density not normalisable: need eta*delta < theta_star**2; "
            f"got eta*delta={s}, theta_star**2={ts * ts} (mass collapses onto theta=0)")
    return c, s


def label_noise_stationary_density(theta, theta_star: float, eta: float, delta: float):
    r"""Normalised stationary density :math:`p(\theta)` on :math:`\theta > 0` (0 elsewhere),
    :math:`p \propto \theta^{c-2}e^{-\theta^2/(2\eta\delta)}`, :math:`c =
    \theta_*^2/(\eta\delta)`, normalised by numerical quadrature over :math:`(0, \infty)`.

    Raises
    ------
    ValueError
        If the parameters are not > 0 or :math:`\eta\delta \ge \theta_*^2` (not
        normalisable).
    """
    c, s = _label_noise_c(theta_star, eta, delta)
    mode = math.sqrt(max(c - 2.0, 1.0) * s)
    logp_mode = (c - 2.0) * math.log(mode) - mode * mode / (2.0 * s)

    def unnorm(t):
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        pos = t > 0
        tp = t[pos]
        out[pos] = np.exp((c - 2.0) * np.log(tp) - tp * tp / (2.0 * s) - logp_mode)
        return out

    scale = math.sqrt(s)
    z = integrate.quad(lambda t: float(unnorm(np.array(t))), 0.0, mode, limit=200)[0]
    z += integrate.quad(lambda t: float(unnorm(np.array(t))), mode, mode + 60.0 * scale,
                        limit=200)[0]
    return unnorm(theta) / z


@_elementwise("theta_star", "eta", "delta")
def label_noise_log_normaliser(theta_star: float, eta: float, delta: float) -> float:
    r"""Closed form :math:`\log\int_0^\infty \theta^{c-2}e^{-\theta^2/(2\eta\delta)}d\theta
    = \log\tfrac12 + \tfrac{c-1}2\log(2\eta\delta) + \log\Gamma(\tfrac{c-1}2)`. The
    arguments are floats or arrays (then so is the result, of their broadcast shape)."""
    c, s = _label_noise_c(theta_star, eta, delta)
    return math.log(0.5) + 0.5 * (c - 1.0) * math.log(2.0 * s) + special.gammaln(0.5 * (c - 1.0))


def label_noise_stationary_cdf(theta, theta_star: float, eta: float, delta: float):
    r"""CDF of the stationary law: :math:`\theta^2 \sim \mathrm{Gamma}((c-1)/2,\,
    \text{scale}=2\eta\delta)`."""
    c, s = _label_noise_c(theta_star, eta, delta)
    t = np.asarray(theta, dtype=np.float64)
    return stats.gamma.cdf(np.where(t > 0, t * t, 0.0), a=0.5 * (c - 1.0), scale=2.0 * s)


@_elementwise("theta_star", "eta", "delta")
def label_noise_stationary_second_moment(theta_star: float, eta: float, delta: float) -> float:
    r""":math:`\mathbb{E}\theta^2 = \theta_*^2 - \eta\delta` under the stationary law (floats or
    arrays, as in :func:`label_noise_log_normaliser`)."""
    _label_noise_c(theta_star, eta, delta)
    return float(theta_star) ** 2 - float(eta) * float(delta)


def stationary_density_1d(drift, diff_coef, grid) -> np.ndarray:
    r"""Numerically normalised zero-flux solution :math:`p \propto D^{-1}\exp\int b/D` of
    :math:`\partial_t p = -(bp)' + (Dp)''` on a strictly increasing ``grid`` (the truncated
    domain), :math:`D = s^2/2 > 0` on the grid; integrals by the trapezoidal rule.

    Returns :math:`p` on ``grid`` with :math:`\int p = 1` over the grid (trapezoid).
    """
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 3 or not np.all(np.diff(grid) > 0):
        raise ValueError("grid must be a strictly increasing 1-d array with >= 3 points")
    d = np.asarray(diff_coef(grid), dtype=np.float64)
    if not np.all(d > 0):
        raise ValueError("diff_coef must be > 0 on the grid")
    ratio = np.asarray(drift(grid), dtype=np.float64) / d
    phi = integrate.cumulative_trapezoid(ratio, grid, initial=0.0)
    logp = phi - np.log(d)
    p = np.exp(logp - logp.max())
    return p / integrate.trapezoid(p, grid)
