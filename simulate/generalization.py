r"""Test loss of the linear model at vanishing regularisation across the jamming transition.

The quadratic-hinge problem :math:`\min_w \tfrac12\sum_\mu (1 - y_\mu w\cdot\phi_\mu)_+^2 +
\tfrac\rho2\|w\|^2` has, as :math:`\rho\to0^+`, a unique limit (the procedure of seed 000,
which trained with a 1e-13 ridge):

- *UNSAT* (not linearly separable, :math:`N_\Delta \ge N_\mathrm{eff} + 1`): the unique
  minimiser of the unregularised loss, from :func:`jamming.simulate.hinge.solve_quadratic_hinge`;
- *SAT*: the minimum-norm element of the set of minimisers :math:`\{w : y_\mu w\cdot\phi_\mu
  \ge 1\ \forall\mu\}`, the hard-margin support-vector machine through the origin,
  :math:`\|w\| = 1/\kappa_\mathrm{max}`.

:math:`\|w\|` diverges at the transition from both sides (:math:`\kappa_\mathrm{max}\to0`), so
the test loss, unlike the scale-free 0-1 test error, can show a cusp there. The sweep
``teacher-test-cusp`` follows one instance (random ReLU features of Gaussian inputs, a sign
teacher, a fixed test set) through nested training sets, with the exact SAT/UNSAT size
:math:`N^*` found by bisection with the certified LP.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from jamming.simulate.separability import is_linearly_separable

EPS = np.finfo(np.float64).eps
#: Largest accepted KKT residual of an UNSAT minimiser (the solver reaches about 1e-15).
UNSAT_KKT_TOLERANCE = 1e-10


def _exact_solution(features, labels):
    """:func:`jamming.simulate.hinge.solve_quadratic_hinge`, imported on first use (torch)."""
    from jamming.simulate.hinge import solve_quadratic_hinge

    return solve_quadratic_hinge(features, labels)


def margin_rounding(features, w) -> np.ndarray:
    r"""Float64 rounding bound :math:`8N_\mathrm{eff}\epsilon\|\phi_\mu\|\|w\|` of each margin
    :math:`y_\mu w\cdot\phi_\mu` (the tolerance of the certificate of
    :func:`hard_margin_weights`).

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    w : numpy.ndarray, shape (n_eff,)

    Returns
    -------
    numpy.ndarray, shape (n_data,)
    """
    return 8 * features.shape[1] * EPS * np.linalg.norm(features, axis=1) * np.linalg.norm(w)


def hard_margin_weights(features, labels) -> np.ndarray:
    r"""Minimum-norm :math:`w` with :math:`y_\mu w\cdot\phi_\mu \ge 1` for every point.

    Least-distance programming (Lawson & Hanson, *Solving Least Squares Problems*, ch. 23):
    with :math:`z_\mu = y_\mu\phi_\mu`, solve the non-negative least-squares problem
    :math:`\min_{u\ge0}\|Eu - f\|` with :math:`E = [Z^\top; 1^\top]` of shape
    :math:`(N_\mathrm{eff}+1)\times N_\mathrm{data}` and :math:`f = e_{N_\mathrm{eff}+1}`
    (scipy's active-set NNLS, a finite algorithm). With :math:`r = Eu - f`, the data are
    separable iff :math:`r_{N_\mathrm{eff}+1} = 1^\top u - 1 \ne 0`, and then
    :math:`w = -r_{1:N_\mathrm{eff}}/r_{N_\mathrm{eff}+1} = Z^\top\lambda` with
    :math:`\lambda = u/(1 - 1^\top u) \ge 0`, supported on the points with
    :math:`u_\mu > 0`. Next to the transition :math:`r_{N_\mathrm{eff}+1}` is tiny (1e-12 was
    seen) and this division loses the margins' accuracy, so :math:`w` is recomputed from the
    support :math:`S` alone: the minimum-norm solution of :math:`Z_S w = 1` and its
    multipliers, from the SVD of :math:`Z_S`. The result is accepted only with its KKT
    certificate: every margin :math:`\ge 1` and every multiplier :math:`\ge 0`, each up to
    its float64 rounding (:math:`8N_\mathrm{eff}\epsilon\|z_\mu\|\|w\|` for a margin,
    :math:`8N_\mathrm{eff}\epsilon\,\kappa(Z_S)\max|\lambda|` for a multiplier).

    Parameters
    ----------
    features : array_like, shape (n_data, n_eff)
    labels : array_like, shape (n_data,)
        ``+1`` or ``-1``.

    Returns
    -------
    numpy.ndarray, shape (n_eff,), float64

    Raises
    ------
    ValueError
        If the data are not linearly separable (no ``w`` with every margin >= 1), or the KKT
        certificate of the polished solution fails.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or labels.shape != features.shape[:1]:
        raise ValueError(f"features must have shape (n_data, n_eff) and labels (n_data,); got "
                         f"{features.shape} and {labels.shape}")
    z = labels[:, None] * features
    n_data, n_eff = z.shape
    design = np.vstack([z.T, np.ones((1, n_data))])
    target = np.zeros(n_eff + 1)
    target[-1] = 1.0
    u, _ = nnls(design, target, maxiter=50 * max(n_data, n_eff + 1))
    if u.sum() >= 1.0:  # r_last = 1^T u - 1 = 0: the LDP certificate of no solution
        raise ValueError("the data are not linearly separable: no w has every margin >= 1")
    # Polish on the support S: the minimum-norm solution of z_S w = 1 and its multipliers
    # lambda (w = z_S^T lambda), from one SVD of z_S (the Gram matrix would square its
    # condition number, up to 1e7 next to the transition), with the rows scaled to unit norm:
    # D z_S w = D 1, D = diag(1/|z_mu|), is then solved backward stably row by row, so that
    # a support margin is 1 up to ~eps |z_mu| |w| (the certificate's tolerance) and not up to
    # ~eps |z_S| |w|, which exceeds it for a ReLU point with one small active feature (two
    # teacher-test-cusp prefixes at N_eff = 10 were refused so). D > 0 keeps the multipliers'
    # signs: the scaled ones, lambda / D, are checked.
    support = z[u > 0]
    scale = 1.0 / np.linalg.norm(support, axis=1)
    left, sigma, right_t = np.linalg.svd(scale[:, None] * support, full_matrices=False)
    kept = sigma > sigma[0] * max(z.shape) * EPS
    coefficients = left[:, kept].T @ scale / sigma[kept]
    w = right_t[kept].T @ coefficients
    multipliers = left[:, kept] @ (coefficients / sigma[kept])
    rounding = margin_rounding(z, w)
    if np.any(z @ w < 1.0 - rounding):
        raise ValueError("the data are not linearly separable: no w has every margin >= 1 "
                         "(or the NNLS support is wrong)")
    condition = sigma[0] / sigma[kept][-1]
    if multipliers.min() < -8 * n_eff * EPS * condition * np.abs(multipliers).max():
        raise ValueError("the NNLS support is not optimal: a KKT multiplier is negative")
    return w


def vanishing_ridge_weights(features, labels, *, separable: bool | None = None
                            ) -> tuple[np.ndarray, bool]:
    r"""The ridge -> 0+ limit of the quadratic-hinge minimiser, and whether the data are SAT.

    Separability is decided by the certified LP of
    :func:`jamming.simulate.separability.is_linearly_separable`, not by the solver's SAT
    flag: next to the transition (:math:`\kappa_\mathrm{max}` of order 1e-6) the Newton
    iterates can stall at a loss of order 1e-21 whose sign rounding cannot settle.

    Parameters
    ----------
    features : array_like, shape (n_data, n_eff)
    labels : array_like, shape (n_data,)
    separable : bool or None
        Whether the data are separable, if already decided (e.g. from the transition size
        of nested data); ``None``: decided here by the LP. A wrong ``True`` is caught by the
        hard-margin certificate, a wrong ``False`` by the checks of the UNSAT minimiser.

    Returns
    -------
    w : numpy.ndarray, shape (n_eff,)
        SAT: the hard-margin solution (:func:`hard_margin_weights`). UNSAT: the unique
        minimiser from :func:`jamming.simulate.hinge.solve_quadratic_hinge`, accepted only
        if the solver agrees that the data are UNSAT, with a KKT residual below
        ``UNSAT_KKT_TOLERANCE`` and :math:`N_\Delta \ge \operatorname{rank}\Phi_\Delta + 1`:
        at an UNSAT minimum :math:`\sum_{\mu\in\Delta}\Delta_\mu y_\mu\phi_\mu = 0` with
        every :math:`\Delta_\mu > 0`, a positive linear dependence, which needs one vector
        more than the rank of the active features. (For features in general position the
        rank is :math:`N_\mathrm{eff}`; ReLU features are not, and :math:`N_\Delta =
        N_\mathrm{eff}` with a rank-deficient :math:`\Phi_\Delta` does occur.)
    sat : bool
        A point whose features are all zero has the loss 1/2 for every ``w``: the limit is
        the one of the other points, and the data are not SAT (its margin is 0).

    Raises
    ------
    RuntimeError
        If the UNSAT minimiser fails one of these checks.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    zero = ~np.any(features, axis=1)
    if zero.any():  # loss 1/2 whatever w: the limit is the one of the other points, never SAT
        w, _ = vanishing_ridge_weights(features[~zero], labels[~zero])
        return w, False
    if separable is None:
        separable = is_linearly_separable(features, labels)
    if separable:
        return hard_margin_weights(features, labels), True
    solution = _exact_solution(features, labels)
    n_eff = features.shape[1]
    active_rank = int(np.linalg.matrix_rank(features[np.asarray(solution.active)]))
    if (solution.sat or not solution.converged or solution.kkt_residual > UNSAT_KKT_TOLERANCE
            or solution.n_delta < active_rank + 1):
        raise RuntimeError(
            f"the quadratic-hinge minimiser of LP-unseparable data fails its checks: sat "
            f"{bool(solution.sat)}, converged {bool(solution.converged)}, KKT residual "
            f"{float(solution.kkt_residual):.1e}, N_Delta {int(solution.n_delta)} (rank of "
            f"the active features {active_rank}, N_eff {n_eff})")
    return np.asarray(solution.w), False


def pointwise_quadratic_hinge(features, labels, w) -> np.ndarray:
    r"""Per-point loss :math:`\tfrac12(1 - y\,w\cdot\phi)_+^2`.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, n_eff)
    labels : numpy.ndarray, shape (n,)
    w : numpy.ndarray, shape (n_eff,)

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    return 0.5 * np.maximum(1.0 - labels * (features @ w), 0.0) ** 2


def paired_excess_z(losses: np.ndarray, reference: int) -> np.ndarray:
    r"""z-scores of the mean test-loss excess of each row over row ``reference``.

    The rows share the test points, so the difference is paired: for row :math:`k`,
    :math:`z_k = \bar D_k/(s_{D_k}/\sqrt{n})` with :math:`D_k = \ell_k - \ell_\mathrm{ref}`
    per test point (:math:`z = 0` where the two rows are identical, e.g. the same ``w``).

    Parameters
    ----------
    losses : numpy.ndarray, shape (n_sizes, n_test)
    reference : int

    Returns
    -------
    numpy.ndarray, shape (n_sizes,)
    """
    difference = losses - losses[reference]
    n_test = losses.shape[1]
    mean, spread = difference.mean(axis=1), difference.std(axis=1, ddof=1)
    z = np.zeros(len(losses))
    nonzero = spread > 0
    z[nonzero] = mean[nonzero] / (spread[nonzero] / np.sqrt(n_test))
    return z


def _bisect_separable(is_separable, n_data: int, separable: int = 1) -> int:
    """Largest ``n`` in ``[separable, n_data)`` with ``is_separable(n)``, by bisection.

    ``is_separable(separable)`` must hold and ``is_separable(n_data)`` must not.
    """
    unseparable = n_data
    while unseparable - separable > 1:
        middle = (separable + unseparable) // 2
        if is_separable(middle):
            separable = middle
        else:
            unseparable = middle
    return separable


def last_separable_size(features, labels) -> int:
    r"""Largest ``n`` such that the first ``n`` points are linearly separable.

    Separability is inherited by subsets, so it is monotone in ``n``: a size ``n`` with the
    first ``n`` points separable and the first ``n + 1`` not is the transition. The candidate
    comes from a bisection with the exact solver's SAT flag (fast); it is accepted only
    when the certified LP (:func:`jamming.simulate.separability.is_linearly_separable`)
    confirms both sides, and otherwise the bisection is redone with the LP (the solver's
    flag can be wrong when :math:`\kappa_\mathrm{max}` is of order 1e-6).

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    labels : numpy.ndarray, shape (n_data,)

    Raises
    ------
    ValueError
        If all ``n_data`` points are separable (no transition inside the data).
    """
    n_data = len(labels)
    if is_linearly_separable(features, labels):
        raise ValueError(f"all {n_data} points are separable: draw more data")

    def by_lp(n):
        return is_linearly_separable(features[:n], labels[:n])

    candidate = _bisect_separable(
        lambda n: bool(_exact_solution(features[:n], labels[:n]).sat), n_data)
    if by_lp(candidate) and not by_lp(candidate + 1):
        return candidate
    return _bisect_separable(by_lp, n_data)
