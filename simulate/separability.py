r"""Certified linear separability of labelled points.

Points :math:`x_\mu \in \mathbb{R}^{N_\mathrm{eff}}` with labels :math:`y_\mu=\pm1`
(:math:`z_\mu = y_\mu x_\mu`) are separable through the origin iff some :math:`w` has
:math:`z_\mu\cdot w > 0` for all :math:`\mu`. We solve the always-feasible, bounded linear
program

.. math::

    t^* = \max\{t : z_\mu\cdot w \ge t\ \forall\mu,\ \|w\|_\infty \le 1,\ t \le 1\}

with HiGHS (:func:`scipy.optimize.linprog`) and accept its answer only with a certificate
checked in float64:

- *separable*: the returned :math:`w` has :math:`\min_\mu z_\mu\cdot w > 10^{-9}`;
- *not separable*: multipliers :math:`\lambda \ge 0` (Gordan's alternative) with
  :math:`\|\sum_\mu \lambda_\mu z_\mu\|_1 \le 10^{-9}\sum_\mu\lambda_\mu`, which bound
  the margin of every :math:`w` in the box by :math:`10^{-9}`. They are the LP's dual
  multipliers, or, when those carry small negative entries (HiGHS's dual feasibility
  tolerance is 1e-7), the exactly non-negative solution of
  :math:`\min_{\lambda\ge0}\|Z^\top\lambda\|^2 + (\textstyle\sum\lambda - 1)^2` by the
  Lawson-Hanson NNLS algorithm.

For points in general position a maximal margin below :math:`10^{-9}` has probability ~0;
if neither certificate holds, :func:`is_linearly_separable` raises instead of guessing.
(The feasibility form :math:`\{w: z_\mu\cdot w\ge 1\}` is avoided: HiGHS sometimes ends
it with an unknown model status on infeasible instances.)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, nnls

#: Margin (in the box-normalised units of the LP) that separates the two certificates.
CERTIFICATE_TOLERANCE = 1e-9


def _gordan_multipliers(z: np.ndarray, weight: float = 1e3):
    """Candidate non-negative multipliers ``lam`` with ``z.T @ lam`` ~ 0 (Gordan's alternative).

    Yields the indicator of a vanishing row of ``z`` (a point with zero features can never be
    separated) if there is one, then the NNLS minimiser of
    ``||z.T @ lam||^2 + weight^2 (sum(lam) - 1)^2`` when Lawson-Hanson converges.
    """
    zero_rows = ~np.any(z, axis=1)
    if zero_rows.any():
        yield zero_rows.astype(np.float64)
    design = np.vstack([z.T, np.full(len(z), weight)])
    target = np.concatenate([np.zeros(z.shape[1]), [weight]])
    try:
        yield nnls(design, target, maxiter=50 * design.shape[1])[0]
    except RuntimeError:  # no convergence: no certificate from this candidate
        return


def is_linearly_separable(features: np.ndarray, labels: np.ndarray) -> bool:
    """Decide, with a checked certificate, whether points are separable through the origin.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    labels : numpy.ndarray, shape (n_data,)
        Values in {-1, +1}.

    Returns
    -------
    bool
        True iff a separating ``w`` with margin > ``CERTIFICATE_TOLERANCE`` (for
        ``||w||_inf <= 1``) was found and verified; False iff a Gordan dual certificate
        bounds every margin by ``CERTIFICATE_TOLERANCE``.

    Raises
    ------
    ValueError
        On inconsistent shapes or labels outside {-1, +1}.
    RuntimeError
        If HiGHS fails or neither certificate verifies (a near-degenerate instance).
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(
            f"features must have shape (n_data, n_eff) and labels (n_data,); got "
            f"{features.shape} and {labels.shape}"
        )
    if not np.all(np.abs(labels) == 1.0):
        raise ValueError("labels must be -1 or +1")
    z = labels[:, None] * features
    n_data, n_eff = z.shape
    objective = np.zeros(n_eff + 1)
    objective[-1] = -1.0  # maximise t
    result = linprog(
        c=objective,
        A_ub=np.hstack([-z, np.ones((n_data, 1))]),  # t - z_mu . w <= 0
        b_ub=np.zeros(n_data),
        bounds=[(-1.0, 1.0)] * n_eff + [(None, 1.0)],
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"HiGHS ended with status {result.status}: {result.message}")
    if np.min(z @ result.x[:-1]) > CERTIFICATE_TOLERANCE:
        return True
    for weights in (-result.ineqlin.marginals, *_gordan_multipliers(z)):
        total = weights.sum()
        if (np.all(weights >= 0.0) and total > 0
                and np.abs(z.T @ weights).sum() <= CERTIFICATE_TOLERANCE * total):
            return False
    raise RuntimeError(
        f"separability undecided: LP optimum t* = {-result.fun:.3e} but neither the primal "
        "nor the dual certificate verifies"
    )
