r"""The Lasso that label-noise SGD solves on quadratic parametrisations (seed 003, S4).

Setting
-------
Data :math:`X\in\mathbb{R}^{n\times d}` (rows are samples, columns :math:`X_j`), targets
:math:`y`, the diagonal linear network :math:`\beta = u\odot u - v\odot v` (or the
non-negative :math:`\beta = u\odot u`), the loss :math:`L = \frac1{2n}\lVert X\beta -
y\rVert^2` with gradient :math:`g(\beta) = \nabla_\beta L = \frac1n X^\top(X\beta - y)`, and
the label-noise SDE of :mod:`jamming.theory.sde`,

.. math::

    d\theta = -\nabla L(\theta)\,dt + \sqrt{\eta\delta}\,\phi_\theta(X)^\top dB_t,
    \qquad \phi_\theta(X) = \bigl[\nabla_\theta h_\theta(x_i)^\top/\sqrt n\bigr]_{i\le n},

where :math:`\delta` is the label-noise variance of batch-one SGD. A batch of :math:`b`
samples with labels perturbed by independent noise of variance :math:`s^2` has gradient noise
covariance :math:`(s^2/b)\,\phi^\top\phi`, so :math:`\delta = s^2/b`; full-batch
*label-noise gradient descent* (fresh noise of standard deviation :math:`\sigma` on every
label at every step) has :math:`\delta = \sigma^2/n`, and it is exactly the Euler–Maruyama
scheme of the SDE with :math:`dt = \eta`.

Derivation of the weights (Itô)
-------------------------------
:math:`\partial_{u_j} h = 2x_{ij}u_j`, so :math:`du_j = -2u_jg_j\,dt + 2u_j\sqrt{\eta\delta/n}
\,X_j^\top dB` with quadratic variation :math:`4u_j^2\,\eta\delta\,m_j\,dt`,
:math:`m_j = \lVert X_j\rVert^2/n`. Itô's formula for :math:`\log u_j^2` gives

.. math::

    d\log u_j^2 = -4\,(g_j + \lambda_j)\,dt + dM_t, \qquad
    d\log v_j^2 = +4\,(g_j - \lambda_j)\,dt + dM'_t, \qquad
    \lambda_j = \eta\,\delta\,m_j = \eta\,\delta\,\lVert X_j\rVert^2/n,

with martingales :math:`M, M'`. If :math:`\log u_j^2` stays recurrent (a coordinate carried by
:math:`u`), its time-averaged drift vanishes: :math:`\overline{g_j} = -\lambda_j`; carried by
:math:`v`, :math:`\overline{g_j} = +\lambda_j`; a coordinate with
:math:`|\overline{g_j}| < \lambda_j` has both :math:`u_j, v_j \to 0` exponentially. Since
:math:`g` is affine in :math:`\beta`, :math:`\overline{g} = g(\bar\beta)` for the time
average :math:`\bar\beta`, and these are the KKT conditions of the **weighted Lasso**

.. math::

    \min_\beta\ \frac1{2n}\lVert X\beta - y\rVert^2 + \sum_j \lambda_j|\beta_j|

(with :math:`\beta\ge0` for :math:`\beta = u\odot u`). Gaussian designs have
:math:`m_j \approx 1`, i.e. :math:`\lambda \approx \eta\delta`. In one dimension
(:math:`h = x\theta^2`, :math:`y = x\theta_*^2`) the non-negative Lasso gives
:math:`\bar\beta = \theta_*^2 - \eta\delta`, the exact mean of :math:`\theta^2` under the
stationary Fokker–Planck law of :func:`jamming.theory.sde.label_noise_stationary_density`.

Discrete steps. For label-noise gradient descent the zero-drift condition of
:math:`\log u_j^2` becomes :math:`\mathbb{E}\log(1 - 2\eta\hat g_j)^2 = 0` with
:math:`\hat g_j` the noisy gradient, i.e. :math:`g_j = -\lambda_j - \eta\,\mathbb{E}g_j^2 +
O(\eta^2)`: a relative correction :math:`O(\eta\lambda_j)` to the weights, plus the
fluctuations of :math:`g_j` along the trajectory. The claim ``S4.label-noise-lasso`` measures
these corrections rather than assuming them away.

The time-averaged iterate is the object of Pillaud-Vivien, Reygner & Flammarion (2022), who
prove the non-negative case for the SDE; this module states the weights in this package's
conventions (the brief marks them "to verify") and solves the Lasso exactly.

References
----------
L. Pillaud-Vivien, J. Reygner, N. Flammarion, "Label noise (stochastic) gradient descent
implicitly solves the Lasso for quadratic parametrisation", COLT 2022 (arXiv:2206.09841).
M. Andriushchenko, A. Varre, L. Pillaud-Vivien, N. Flammarion, "SGD with large step sizes
learns sparse features", ICML 2023 (arXiv:2210.05337).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jamming.validation import check_positive

__all__ = ["PARAMETRISATIONS", "LassoSolution", "label_noise_lasso", "label_noise_lasso_weights",
           "weighted_lasso"]

#: ``"u2-v2"``: beta = u*u - v*v (signed Lasso); ``"u2"``: beta = u*u (non-negative Lasso).
PARAMETRISATIONS = ("u2-v2", "u2")


@dataclass(frozen=True)
class LassoSolution:
    """Result of :func:`weighted_lasso`.

    Attributes
    ----------
    beta : ndarray, shape (d,)
        The minimiser (exact zeros off the support).
    support : ndarray of int
        Indices of the non-zero coordinates.
    kkt_violation : float
        The largest violation of the KKT conditions relative to the weight:
        :math:`|g_j + \\lambda_j\\operatorname{sign}\\beta_j|/\\lambda_j` on the support,
        :math:`(|g_j| - \\lambda_j)_+/\\lambda_j` off it (:math:`(-g_j - \\lambda_j)_+/
        \\lambda_j` for the non-negative problem). Round-off level for an exact solution.
    """

    beta: np.ndarray
    support: np.ndarray
    kkt_violation: float


def _check_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D array (n, d); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    if np.any(np.all(X == 0.0, axis=0)):
        raise ValueError("X must have no zero column (its Lasso weight would vanish)")
    return X


def _check_design(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = _check_matrix(X)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X; got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    return X, y


def label_noise_lasso_weights(X, eta: float, delta: float) -> np.ndarray:
    r"""The weights :math:`\lambda_j = \eta\,\delta\,\lVert X_j\rVert^2/n`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    eta : float
        Step size, > 0.
    delta : float
        Label-noise variance in the SDE convention (module docstring: ``s**2 / b`` for a
        batch of ``b`` with label-noise variance ``s**2``), > 0.

    Returns
    -------
    ndarray, shape (d,)
    """
    X = _check_matrix(X)
    return check_positive("eta", eta) * check_positive("delta", delta) * (
        np.einsum("ij,ij->j", X, X) / X.shape[0])


def _kkt_violation(X, y, beta, weights, nonnegative) -> float:
    g = X.T @ (X @ beta - y) / X.shape[0]
    on = beta != 0
    viol = np.where(on, np.abs(g + weights * np.sign(beta)),
                    np.maximum(-g - weights, 0.0) if nonnegative
                    else np.maximum(np.abs(g) - weights, 0.0))
    return float(np.max(viol / weights))


def _polish(X, y, beta, weights, nonnegative):
    """Solve the KKT equations on the support and sign pattern of ``beta`` exactly."""
    support = np.flatnonzero(beta)
    if support.size == 0 or support.size > X.shape[0]:
        return beta
    xs = X[:, support]
    rhs = xs.T @ y - X.shape[0] * weights[support] * np.sign(beta[support])
    try:
        exact = np.linalg.solve(xs.T @ xs, rhs)
    except np.linalg.LinAlgError:
        return beta
    if np.any(np.sign(exact) != np.sign(beta[support])):
        return beta
    polished = np.zeros_like(beta)
    polished[support] = exact
    if _kkt_violation(X, y, polished, weights, nonnegative) <= _kkt_violation(
            X, y, beta, weights, nonnegative):
        return polished
    return beta


def weighted_lasso(X, y, weights, *, nonnegative: bool = False,
                   tol: float = 1e-10) -> LassoSolution:
    r"""Minimise :math:`\frac1{2n}\lVert X\beta - y\rVert^2 + \sum_j w_j|\beta_j|` exactly.

    The weights are absorbed into the columns (:math:`\beta_j = c_j\gamma_j`,
    :math:`c_j = \bar w/w_j`) and the plain Lasso in :math:`\gamma` is solved by coordinate
    descent (``sklearn.linear_model.Lasso``, a maintained solver with a duality-gap stopping
    rule); the solution is then *polished* by solving the KKT equations
    :math:`\frac1n X_S^\top(X_S\beta_S - y) = -w_S\odot\operatorname{sign}\beta_S` on its
    support :math:`S` (kept when the signs agree and the KKT violation does not grow).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    weights : array_like, shape (d,)
        Positive weights :math:`w_j`.
    nonnegative : bool
        Constrain :math:`\beta \ge 0`.
    tol : float
        Coordinate-descent tolerance (relative duality gap).

    Returns
    -------
    LassoSolution
    """
    from sklearn.linear_model import Lasso

    X, y = _check_design(X, y)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (X.shape[1],) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be finite and > 0 with shape ({X.shape[1]},); "
                         f"got shape {w.shape}")
    scale = w.mean() / w
    model = Lasso(alpha=float(w.mean()), fit_intercept=False, positive=nonnegative,
                  tol=check_positive("tol", tol), max_iter=1_000_000, selection="cyclic")
    model.fit(X * scale, y)
    beta = _polish(X, y, model.coef_ * scale, w, nonnegative)
    return LassoSolution(beta, np.flatnonzero(beta),
                         _kkt_violation(X, y, beta, w, nonnegative))


def label_noise_lasso(X, y, eta: float, delta: float, *,
                      parametrisation: str = "u2-v2") -> LassoSolution:
    r"""The weighted Lasso whose solution is the time-averaged :math:`\beta` of label-noise
    SGD (module docstring): weights :func:`label_noise_lasso_weights`, non-negative for
    ``parametrisation="u2"``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    eta, delta : float
        Step size and label-noise variance (SDE convention), both > 0.
    parametrisation : {"u2-v2", "u2"}

    Returns
    -------
    LassoSolution
    """
    if parametrisation not in PARAMETRISATIONS:
        raise ValueError(f"parametrisation must be one of {PARAMETRISATIONS}; "
                         f"got {parametrisation!r}")
    weights = label_noise_lasso_weights(X, eta, delta)
    return weighted_lasso(X, y, weights, nonnegative=parametrisation == "u2")
