r"""Implicit bias of gradient flow on diagonal linear networks (Woodworth et al. 2020).

Conventions
-----------
Data :math:`X \in \mathbb{R}^{n\times d}` (rows are samples, ``n < d`` for the
overparametrised case), targets :math:`y \in \mathbb{R}^n`, linear predictor
:math:`\hat y = X\beta`. The *diagonal linear network* is
:math:`\beta = u\odot u - v\odot v`, trained by gradient flow on the square loss
:math:`L = \tfrac12\lVert X\beta - y\rVert^2` (any positive multiple of it, e.g. the mean,
only rescales time) from :math:`u(0) = v(0) = \alpha\mathbf 1`, so that :math:`\beta(0)=0`.

Gradient flow gives :math:`\dot u = -2u\odot X^\top r`, :math:`\dot v = +2v\odot X^\top r`
with :math:`r = X\beta - y`, hence :math:`u = \alpha e^{s}`, :math:`v = \alpha e^{-s}` with
:math:`s(t) = -2X^\top\!\int_0^t r`, and

.. math::

    \beta(t) = 2\alpha^2 \sinh\bigl(X^\top \nu(t)\bigr), \qquad
    \nu(t) = -4\int_0^t r\,\mathrm dt' \in \mathbb{R}^n .

If the flow converges to an interpolator (:math:`X\beta_\infty = y`), that interpolator is
therefore of the form :math:`2\alpha^2\sinh(X^\top\nu)`. These are exactly the KKT conditions
of

.. math::

    \min_\beta\ Q_\alpha(\beta) = \alpha^2 \sum_i q(\beta_i/\alpha^2)
    \quad \text{s.t.}\ X\beta = y, \qquad
    q(z) = 2 - \sqrt{4+z^2} + z\,\operatorname{arcsinh}(z/2),

because :math:`q'(z) = \operatorname{arcsinh}(z/2)`, so
:math:`\nabla Q_\alpha(\beta) = \operatorname{arcsinh}(\beta/2\alpha^2)` must lie in
:math:`\operatorname{range}(X^\top)`; :math:`Q_\alpha` is strictly convex, so the
interpolator is unique. The convex conjugate of :math:`q` is
:math:`q^*(s) = 2(\cosh s - 1)` (the sup is reached at :math:`z = 2\sinh s`), and
:math:`Q_\alpha^*(w) = \alpha^2\sum_i q^*(w_i)`, so the Lagrange dual is the smooth,
unconstrained, concave problem

.. math::

    \max_{\nu\in\mathbb{R}^n}\ y^\top\nu - 2\alpha^2\sum_{i=1}^d
    \bigl(\cosh(x_i^\top\nu) - 1\bigr),

(:math:`x_i` the :math:`i`-th *column* of :math:`X`), whose gradient is
:math:`y - X\beta(\nu)` and whose Hessian is
:math:`-X\,\mathrm{diag}(2\alpha^2\cosh(X^\top\nu))\,X^\top`. :func:`q_alpha_interpolator`
solves it by a damped Newton method in overflow-safe log arithmetic.

Limits. For :math:`|z|\ll 1`, :math:`q(z) = z^2/4 - z^4/192 + O(z^6)`, so
:math:`Q_\alpha(\beta) = \lVert\beta\rVert_2^2/4\alpha^2 + O(\alpha^{-6})`: as
:math:`\alpha\to\infty` the limit is the minimum-:math:`\ell_2` interpolator
(:func:`min_l2_interpolator`, the kernel regime), with a correction of relative size
:math:`O(\lVert\beta\rVert_\infty^2/\alpha^4)`. For :math:`|z|\gg 1`,
:math:`q(z) = |z|\log|z| - |z| + O(1)`, so
:math:`Q_\alpha(\beta)/(\alpha^2\log(1/\alpha^2)) \to \lVert\beta\rVert_1` as
:math:`\alpha\to 0`: the limit is the minimum-:math:`\ell_1` interpolator
(:func:`min_l1_interpolator`, the rich regime), approached only logarithmically in
:math:`\alpha`.

The product parametrisation. With :math:`u = w_+ + w_-`, :math:`v = w_+ - w_-` one has
:math:`u\odot v = w_+^2 - w_-^2`, and gradient flow on :math:`(u, v)` is gradient flow on
:math:`(w_+, w_-)` with time rescaled by 2. Hence :math:`\beta = u\odot v` trained from
:math:`u(0) = \alpha_{uv}\mathbf 1`, :math:`v(0) = 0` converges to the same
:math:`Q_\alpha`-interpolator with :math:`\alpha = \alpha_{uv}/2`
(:func:`uv_interpolator`). Other initialisations of :math:`u\odot v` with
:math:`\beta(0)\ne 0` are not covered.

References
----------
B. Woodworth, S. Gunasekar, J. D. Lee, E. Moroshko, P. Savarese, I. Golan, D. Soudry and
N. Srebro, "Kernel and rich regimes in overparametrized models", COLT 2020,
arXiv:2002.09277 (Theorem 1 and its Eq. for :math:`q`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import qr, solve_triangular
from scipy.optimize import linprog

__all__ = [
    "q_potential",
    "q_alpha",
    "q_alpha_gradient",
    "q_alpha_interpolator",
    "uv_interpolator",
    "min_l2_interpolator",
    "min_l1_interpolator",
]

_LN2 = math.log(2.0)
#: Continuation step in log(2 alpha^2) for small alpha (a factor 100 in alpha^2).
_STAGE = math.log(100.0)


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------


def _check_alpha(alpha, name: str = "alpha") -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number in (0, inf); got {alpha!r}") from None
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a real number in (0, inf); got {alpha!r}")
    return value


def _check_problem(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a 2-d array of shape (n, d) with n, d >= 1; got shape "
                         f"{X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must be a 1-d array of shape (n,) = ({X.shape[0]},); got shape "
                         f"{y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite (no nan or inf entries)")
    return X, y


def _row_basis(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Equivalent system :math:`X'\beta = y'` with orthogonal, full-rank rows (by SVD).

    Raises ``ValueError`` if :math:`Xβ = y` has no solution (y not in the range of X).
    """
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    tol = S.max() * max(X.shape) * np.finfo(float).eps if S.size else 0.0
    rank = int(np.sum(S > tol))
    if rank == 0:
        if np.any(y != 0):
            raise ValueError("X @ beta = y has no solution: X is zero and y is not")
        return np.zeros((0, X.shape[1])), np.zeros(0)
    Ur = U[:, :rank]
    y_r = Ur.T @ y
    inconsistency = np.linalg.norm(y - Ur @ y_r)
    if inconsistency > 1e-10 * max(np.linalg.norm(y), 1e-300) and inconsistency > 1e-300:
        raise ValueError(
            "X @ beta = y has no solution (y is not in the column space of X; relative "
            f"residual {inconsistency / np.linalg.norm(y):.2e}); X needs full row rank or "
            "consistent y"
        )
    return S[:rank, None] * Vt[:rank], y_r


# ----------------------------------------------------------------------------------------
# the potential
# ----------------------------------------------------------------------------------------


def q_potential(z):
    r"""Woodworth et al.'s potential :math:`q(z) = 2 - \sqrt{4+z^2} + z\operatorname{arcsinh}(z/2)`.

    Evaluated without cancellation: :math:`2-\sqrt{4+z^2} = -z^2/(2+\sqrt{4+z^2})`.
    :math:`q \ge 0`, even, strictly convex, :math:`q(z) = z^2/4 + O(z^4)` near 0 and
    :math:`q(z) = |z|\log|z| - |z| + O(1)` at infinity.

    Parameters
    ----------
    z : array_like
        Real argument(s).

    Returns
    -------
    ndarray or float
        :math:`q(z)`.
    """
    z = np.asarray(z, dtype=np.float64)
    a = np.abs(z)
    out = a * np.arcsinh(a / 2.0) - a * a / (2.0 + np.hypot(2.0, a))
    # small |z|: series z^2/4 - z^4/192 + z^6/3840 (cancellation in the closed form)
    small = a < 1e-2
    z2 = a * a
    out = np.where(small, z2 / 4.0 - z2 * z2 / 192.0 + z2**3 / 3840.0, out)
    return out[()] if out.ndim == 0 else out


def q_alpha(beta, alpha):
    r"""The implicit-bias potential :math:`Q_\alpha(\beta) = \alpha^2\sum_i q(\beta_i/\alpha^2)`.

    Parameters
    ----------
    beta : array_like
        Linear predictor, shape (d,).
    alpha : float
        Initialisation scale, :math:`\alpha \in (0, \infty)`.

    Returns
    -------
    float
    """
    alpha = _check_alpha(alpha)
    a2 = alpha * alpha
    return float(a2 * np.sum(q_potential(np.asarray(beta, dtype=np.float64) / a2)))


def q_alpha_gradient(beta, alpha):
    r""":math:`\nabla Q_\alpha(\beta) = \operatorname{arcsinh}(\beta/2\alpha^2)` (elementwise).

    Parameters
    ----------
    beta : array_like
        Linear predictor, shape (d,).
    alpha : float
        Initialisation scale, :math:`\alpha \in (0, \infty)`.

    Returns
    -------
    ndarray
    """
    alpha = _check_alpha(alpha)
    return np.arcsinh(np.asarray(beta, dtype=np.float64) / (2.0 * alpha * alpha))


# ----------------------------------------------------------------------------------------
# stable log-space pieces
# ----------------------------------------------------------------------------------------


def _log_sinhc(s: np.ndarray) -> np.ndarray:
    """log(sinh(s)/s), s real; exact at 0 and without overflow for large |s|."""
    a = np.abs(s)
    small = a < 1e-3
    safe = np.where(small, 1.0, a)
    big = safe + np.log(-np.expm1(-2.0 * safe)) - _LN2 - np.log(safe)
    a2 = a * a
    return np.where(small, a2 / 6.0 - a2 * a2 / 180.0, big)


def _log_cosh(s: np.ndarray) -> np.ndarray:
    a = np.abs(s)
    return a + np.log1p(np.exp(-2.0 * a)) - _LN2


class _Dual:
    r"""The scaled dual objective, in the variable :math:`\mu = \nu\, e^{a}`.

    With :math:`c = 2\alpha^2`, :math:`a = \max(\log c, 0)`, :math:`\kappa = e^{-a}`,
    :math:`t = X^\top\mu` and :math:`s = \kappa t = X^\top\nu`, the objective is
    :math:`F(\mu) = e^{a}\sum_i c(\cosh s_i - 1) - y^\top\mu` (the negated dual divided by
    :math:`\kappa`), with :math:`\nabla F = X\beta - y`, :math:`\beta = c\sinh s`, and
    :math:`\nabla^2 F = X\,\mathrm{diag}(c\kappa\cosh s)X^\top`. Every quantity is formed from
    :math:`\log(c\kappa) = \log c - a \le 0`, :math:`t` and :math:`\log\operatorname{sinhc}`,
    so that neither :math:`c` nor :math:`1/c` is ever formed: any :math:`\alpha` in the
    floating range works (for :math:`\alpha \gtrsim 10^{160}`, :math:`\kappa` underflows and
    the exact large-:math:`\alpha` limit :math:`\beta = t` results).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, log_c: float):
        self.X, self.y = X, y
        self.a = max(log_c, 0.0)
        self.kappa = math.exp(-self.a)
        self.log_ck = log_c - self.a  # log(c * kappa) <= 0

    def beta(self, t: np.ndarray) -> np.ndarray:
        s = self.kappa * t
        with np.errstate(over="ignore"):
            mag = np.exp(self.log_ck + _log_sinhc(s))
        return np.where(t == 0.0, 0.0, t * mag)

    def value(self, mu: np.ndarray) -> float:
        t = self.X.T @ mu
        s = self.kappa * t
        # e^a c (cosh s - 1) = (c kappa / 2) t^2 sinhc(s/2)^2
        with np.errstate(over="ignore", divide="ignore"):
            log_terms = self.log_ck - _LN2 + 2.0 * np.log(np.abs(t)) + 2.0 * _log_sinhc(s / 2)
            terms = np.exp(log_terms)
        return float(np.sum(terms) - self.y @ mu)

    def weights(self, t: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(self.log_ck + _log_cosh(self.kappa * t))


def _newton(dual: _Dual, mu: np.ndarray, beta_scale: float, max_iter: int = 500):
    """Damped Newton on the convex scaled dual; returns (mu, beta, iterations).

    ``beta_scale`` bounds the norm of the solution (for the rounding-level stopping test,
    which must not be loosened by a huge intermediate beta).
    """
    X, y = dual.X, dual.y
    eps = np.finfo(float).eps
    x_norm = np.linalg.norm(X, 2)
    F = dual.value(mu)
    t = X.T @ mu
    beta = dual.beta(t)
    g = X @ beta - y
    stall = 0
    for it in range(1, max_iter + 1):
        g_norm = np.linalg.norm(g)
        # rounding level of X beta(mu): beta = c sinh(s) carries a relative error ~ eps |s|
        s_max = float(np.max(np.abs(dual.kappa * t))) if t.size else 0.0
        tol = 8 * eps * math.sqrt(X.shape[0]) * (
            np.linalg.norm(y) + x_norm * min(np.linalg.norm(beta), beta_scale) * (1.0 + s_max))
        if g_norm <= tol:
            return mu, beta, it - 1
        w = dual.weights(t)
        order = np.argsort(-w)  # rows by decreasing weight: Householder QR is then accurate
        A_t = np.sqrt(w[order])[:, None] * X.T[order]  # (d, n): H = A_t^T A_t
        _, R = qr(A_t, mode="economic")
        if not np.all(np.isfinite(R)) or np.min(np.abs(np.diag(R))) == 0.0:
            raise FloatingPointError("singular Newton system in q_alpha_interpolator")
        step = -solve_triangular(R, solve_triangular(R, g, trans="T"))
        slope = float(g @ step)  # < 0
        if not (np.all(np.isfinite(step)) and np.isfinite(slope) and slope < 0):
            raise FloatingPointError("non-finite Newton step in q_alpha_interpolator")
        step_len = 1.0
        accepted = False
        for _ in range(80):
            mu_new = mu + step_len * step
            F_new = dual.value(mu_new)
            if np.isfinite(F_new):
                t_new = X.T @ mu_new
                beta_new = dual.beta(t_new)
                g_new = X @ beta_new - y
                armijo = F_new <= F + 1e-4 * step_len * slope
                # near the optimum F's decrease is below rounding: accept on the gradient
                round_ok = (F_new <= F + 64 * eps * (abs(F) + abs(float(y @ mu_new)))
                            and np.linalg.norm(g_new) < g_norm)
                if armijo or round_ok:
                    accepted = True
                    break
            step_len *= 0.5
        if not accepted:
            stall += 1
            if stall > 2:
                return mu, beta, it
            continue
        mu, F, t, beta, g = mu_new, F_new, t_new, beta_new, g_new
    return mu, beta, max_iter


def q_alpha_interpolator(X, y, alpha, *, return_info: bool = False):
    r"""The limit of gradient flow on :math:`\beta = u\odot u - v\odot v` from :math:`u=v=\alpha`.

    Computes :math:`\arg\min\{Q_\alpha(\beta) : X\beta = y\}` exactly (up to rounding) as
    :math:`\beta = 2\alpha^2\sinh(X^\top\nu^\star)`, :math:`\nu^\star` the maximiser of the
    concave dual :math:`y^\top\nu - 2\alpha^2\sum_i(\cosh(x_i^\top\nu) - 1)`, by a damped
    Newton method (Armijo backtracking; Newton systems by QR of
    :math:`\mathrm{diag}(\sqrt{w})X^\top`, rows of X first orthogonalised by an SVD) in
    overflow-safe log arithmetic. Stationarity :math:`\nabla Q_\alpha(\beta) =
    X^\top\nu^\star` holds by construction; iterations stop when
    :math:`\lVert X\beta - y\rVert` is at the rounding level
    :math:`\sim\epsilon(\lVert y\rVert + \lVert X\rVert\lVert\beta\rVert)`. For small
    :math:`\alpha` (below the scale of the minimum-:math:`\ell_2` solution) it continues in
    :math:`\alpha` from that scale down by factors of 100 in :math:`\alpha^2`, warm-starting
    each stage from the previous dual solution.

    Range: tested for :math:`10^{-100} \le \alpha \le 10^{200}` (feasibility
    :math:`\lVert X\beta-y\rVert_\infty \sim 10^{-14}` at :math:`\alpha \ge 10^{-8}`, up
    to :math:`\sim 10^{-11}` at :math:`10^{-100}`, where the relative rounding of
    :math:`\beta = 2\alpha^2\sinh s` grows like :math:`\epsilon |s|`). Far below, the
    Newton matrix's off-support weights :math:`2\alpha^2\cosh s \approx 2\alpha^2`
    underflow relative to the support ones and a ``FloatingPointError`` may be raised; the
    result is then indistinguishable from :func:`min_l1_interpolator` anyway (measured
    :math:`10^{-11}` apart at :math:`\alpha = 10^{-100}` on a 20 x 50 sparse instance).

    Parameters
    ----------
    X : array_like
        Design matrix, shape (n, d); the system :math:`X\beta = y` must be consistent
        (e.g. X of full row rank :math:`n \le d`).
    y : array_like
        Targets, shape (n,).
    alpha : float
        Initialisation scale :math:`\alpha \in (0, \infty)` (u(0) = v(0) = alpha).
    return_info : bool, optional
        Also return a dict with the dual variable ``nu`` (for the orthogonalised rows) and
        the number of Newton ``iterations``.

    Returns
    -------
    beta : ndarray, shape (d,)
        The :math:`Q_\alpha`-minimal interpolator.
    info : dict
        Only with ``return_info=True``.

    Examples
    --------
    >>> X = np.array([[1.0, 1.0]]); y = np.array([2.0])
    >>> q_alpha_interpolator(X, y, 1.0)
    array([1., 1.])
    """
    X, y = _check_problem(X, y)
    alpha = _check_alpha(alpha)
    Xr, yr = _row_basis(X, y)
    d = X.shape[1]
    if Xr.shape[0] == 0:
        beta = np.zeros(d)
        return (beta, {"nu": np.zeros(0), "iterations": 0}) if return_info else beta
    log_c_target = _LN2 + 2.0 * math.log(alpha)
    # scale of the solution: min-l2 interpolator's largest entry
    beta_l2 = np.linalg.lstsq(Xr, yr, rcond=None)[0]
    b_scale = float(np.max(np.abs(beta_l2)))
    # ||beta||_2 <= ||beta||_1 <= Q-ish bound: the min-l1 solution has l1 norm <= sqrt(d)||l2||
    beta_bound = 10.0 * math.sqrt(d) * float(np.linalg.norm(beta_l2))
    log_c_start = math.log(max(b_scale, 1e-300))
    stages = [log_c_target]
    if log_c_target < log_c_start - _STAGE:
        n_st = int(math.ceil((log_c_start - log_c_target) / _STAGE))
        stages = list(np.linspace(log_c_start, log_c_target, n_st + 1))
    mu = np.zeros(Xr.shape[0])
    prev_a = None
    total_it = 0
    for log_c in stages:
        dual = _Dual(Xr, yr, float(log_c))
        if prev_a is not None:
            mu = mu * math.exp(dual.a - prev_a)  # the same nu = mu e^{-a}
        mu, beta, it = _newton(dual, mu, beta_bound)
        total_it += it
        prev_a = dual.a
    if return_info:
        return beta, {"nu": mu * math.exp(-prev_a), "iterations": total_it}
    return beta


def uv_interpolator(X, y, alpha_uv, **kwargs):
    r"""Limit of gradient flow on :math:`\beta = u\odot v` from :math:`u=\alpha_{uv}, v=0`.

    Equal to :func:`q_alpha_interpolator` with :math:`\alpha = \alpha_{uv}/2` (change of
    variables :math:`u = w_+ + w_-`, :math:`v = w_+ - w_-`; see the module notes).

    Parameters
    ----------
    X, y : array_like
        As in :func:`q_alpha_interpolator`.
    alpha_uv : float
        Initial value of every :math:`u_i`, in :math:`(0, \infty)`.

    Returns
    -------
    ndarray, shape (d,)
    """
    alpha_uv = _check_alpha(alpha_uv, "alpha_uv")
    return q_alpha_interpolator(X, y, alpha_uv / 2.0, **kwargs)


def min_l2_interpolator(X, y):
    r"""Minimum-:math:`\ell_2`-norm solution of :math:`X\beta = y` (:math:`\alpha\to\infty`).

    :math:`\beta = X^+ y` by ``numpy.linalg.lstsq`` (SVD); requires a consistent system.

    Parameters
    ----------
    X : array_like
        Shape (n, d).
    y : array_like
        Shape (n,).

    Returns
    -------
    ndarray, shape (d,)
    """
    X, y = _check_problem(X, y)
    Xr, yr = _row_basis(X, y)
    if Xr.shape[0] == 0:
        return np.zeros(X.shape[1])
    return np.linalg.lstsq(Xr, yr, rcond=None)[0]


def min_l1_interpolator(X, y):
    r"""Minimum-:math:`\ell_1`-norm solution of :math:`X\beta = y` (:math:`\alpha\to 0`).

    Linear programme :math:`\min \mathbf 1^\top(\beta^+ + \beta^-)` subject to
    :math:`X(\beta^+ - \beta^-) = y`, :math:`\beta^\pm \ge 0`, solved by HiGHS
    (``scipy.optimize.linprog``). The minimiser need not be unique (for X in general
    position it is, and it is then a vertex with at most n non-zeros).

    Parameters
    ----------
    X : array_like
        Shape (n, d).
    y : array_like
        Shape (n,).

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    RuntimeError
        If HiGHS does not report an optimal solution.
    """
    X, y = _check_problem(X, y)
    _row_basis(X, y)  # consistency check, with its message
    d = X.shape[1]
    res = linprog(
        np.ones(2 * d),
        A_eq=np.hstack([X, -X]),
        b_eq=y,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status != 0:
        raise RuntimeError(f"min_l1_interpolator: linprog failed ({res.message})")
    return res.x[:d] - res.x[d:]
