r"""Vanishing-ridge linear models on fixed features along nested training sets (S2).

For features :math:`\phi_\mu\in\mathbb{R}^N` (e.g. a trained network's last hidden layer,
:mod:`jamming.simulate.trained_features`) and labels :math:`y_\mu = \pm1`, the training sets
are the prefixes ``features[:n]`` for growing ``n``. On each, the ridge :math:`\to 0^+` limit
of the quadratic-hinge minimiser (:mod:`jamming.simulate.generalization`): the hard-margin
SVM through the origin while the prefix is separable (SAT), the unique minimiser of
:math:`\tfrac12\sum_\mu(1 - y_\mu w\cdot\phi_\mu)_+^2` once it is not (UNSAT). The SAT -> UNSAT
step is the exact last separable size :math:`n^*`
(:func:`jamming.simulate.generalization.last_separable_size`, certified by the LP).

Observables per prefix: :math:`N_\Delta` (UNSAT: points with :math:`\Delta_\mu > 0`), the
number :math:`n_\mathrm{SV}` of support vectors (SAT: margins equal to 1 within their float64
rounding bound, :func:`jamming.simulate.generalization.margin_rounding`), :math:`\|w\|`, the
training loss, the rank of the prefix's features, and on held-out points the mean
quadratic-hinge test loss :math:`\tfrac12(1 - y\,w\cdot\phi)_+^2` and the 0-1 test error.
For features in general position, :math:`n_\mathrm{SV} \le \mathrm{rank}` on the SAT side and
:math:`N_\Delta \ge \mathrm{rank} + 1` on the UNSAT side (H2/H3 of S2).

:func:`kernel_target_alignment` measures how much the features are aligned with the labels.
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.features import numerical_rank
from jamming.simulate.generalization import (
    hard_margin_weights,
    last_separable_size,
    margin_rounding,
    pointwise_quadratic_hinge,
)


def kernel_target_alignment(features, labels) -> float:
    r"""Centred kernel-target alignment of linear-kernel features with the labels.

    :math:`A = \langle K_c, yy^\top\rangle_F / (\|K_c\|_F\,\|yy^\top\|_F)` with
    :math:`K_c = HKH`, :math:`K = \Phi\Phi^\top` and :math:`H = 1 - \mathbf{1}\mathbf{1}^\top/n`
    (Cortes, Mohri & Rostamizadeh, "Algorithms for learning kernels based on centered
    alignment", JMLR 13, 795 (2012)). With the column-centred :math:`\Phi_c = H\Phi`,
    :math:`K_c = \Phi_c\Phi_c^\top`, so :math:`A = \|\Phi_c^\top y\|^2 / (\|\Phi_c^\top
    \Phi_c\|_F\, n)`: :math:`O(nN^2)`, no :math:`n\times n` matrix. :math:`A\in[0, 1]`; 1 iff
    :math:`K_c \propto yy^\top`.

    Parameters
    ----------
    features : array_like, shape (n, N)
    labels : array_like, shape (n,)
        :math:`\pm1`.

    Returns
    -------
    float
        0.0 where the centred features vanish (constant features).
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or labels.shape != features.shape[:1]:
        raise ValueError(f"features must have shape (n, N) and labels (n,); got "
                         f"{features.shape} and {labels.shape}")
    centred = features - features.mean(axis=0)
    scale = np.linalg.norm(centred.T @ centred) * (labels @ labels)
    projection = centred.T @ labels
    return float(projection @ projection / scale) if scale > 0 else 0.0


def explained_label_variance(features, labels, test_features, test_labels) -> float:
    r"""Out-of-sample fraction of the label variance explained by a linear fit on the features.

    Least squares of :math:`y` on :math:`(1, \phi)` over the first set, then
    :math:`R^2_y = 1 - \overline{(y - \hat y)^2}/\operatorname{Var} y` on the second (so that
    a fit with as many points as features is not rewarded for interpolating). For features
    jointly Gaussian with a teacher field :math:`\nu` and :math:`y = \operatorname{sign}\nu`,
    :math:`\operatorname{Cov}(\phi, y) = \sqrt{2/\pi}\,\operatorname{Cov}(\phi, \nu)`
    (Bussgang), so the fraction of :math:`\nu` explained linearly by the features, the
    :math:`R^2` of S1's teacher threshold (:mod:`jamming.theory.teacher`), is
    :math:`(\pi/2)\,R^2_y` in the limit of many points.

    Parameters
    ----------
    features : array_like, shape (n, N)
    labels : array_like, shape (n,)
    test_features : array_like, shape (n_test, N)
    test_labels : array_like, shape (n_test,)
        At least two distinct values.

    Returns
    -------
    float
        At most 1; negative where the fit predicts worse than the test mean.
    """
    features = np.asarray(features, dtype=np.float64)
    test_features = np.asarray(test_features, dtype=np.float64)
    test_labels = np.asarray(test_labels, dtype=np.float64)
    design = np.column_stack([np.ones(len(features)), features])
    coefficients = np.linalg.lstsq(design, np.asarray(labels, dtype=np.float64), rcond=None)[0]
    predicted = coefficients[0] + test_features @ coefficients[1:]
    return float(1.0 - np.mean((test_labels - predicted) ** 2) / np.var(test_labels))


def support_vectors(features, labels, w) -> np.ndarray:
    r"""Points whose margin :math:`y_\mu w\cdot\phi_\mu` is at most 1 plus its rounding bound.

    For the hard-margin solution (every margin :math:`\ge 1` to rounding) these are the
    points on the margin, the support vectors.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, N)
    labels : numpy.ndarray, shape (n,)
    w : numpy.ndarray, shape (N,)

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    return labels * (features @ w) <= 1.0 + margin_rounding(features, w)


#: The dtype of each per-prefix array of :func:`vanishing_ridge_path`.
_PATH_DTYPES = {"sat": bool, "n_delta": np.int64, "n_sv": np.int64, "loss": float,
                "certified": bool, "rank": np.int64, "active_rank": np.int64, "w_norm": float,
                "test_loss": float, "test_error": float}
#: The per-prefix arrays of :func:`vanishing_ridge_path`.
PATH_FIELDS = tuple(_PATH_DTYPES)


def vanishing_ridge_path(features, labels, sizes, test_features, test_labels) -> dict:
    r"""The vanishing-ridge linear model on nested prefixes, with its test loss and error.

    Every prefix is solved by ``solve_quadratic_hinge_path`` (:mod:`jamming.simulate.hinge`)
    (:math:`N_\Delta`, the loss and the UNSAT minimiser, each with its certificate); the SAT
    prefixes again by :func:`jamming.simulate.generalization.hard_margin_weights` (the
    vanishing-ridge solution among the separating ones). The sizes :math:`n^*` and
    :math:`n^* + 1` are added to ``sizes``, so that both sides of the transition are solved.

    Parameters
    ----------
    features : array_like, shape (n_data, N)
        The rows in the order in which points join the training set.
    labels : array_like, shape (n_data,)
    sizes : sequence of int
        Prefix sizes in ``[1, n_data]``.
    test_features : array_like, shape (n_test, N)
    test_labels : array_like, shape (n_test,)

    Returns
    -------
    dict
        ``n_star``: the last separable size (``n_data`` if all the data are separable,
        then ``censored`` is True); ``sizes``, the sorted prefix sizes with ``n_star`` and
        ``n_star + 1`` (when ``<= n_data``); and per size the arrays of
        :data:`PATH_FIELDS`: ``sat`` (:math:`n \le n^*`), ``n_delta`` (0 on SAT prefixes),
        ``n_sv`` (-1 on UNSAT prefixes), ``loss`` (the training loss, a sum), ``certified``
        (the solver's certificate holds, its SAT flag agrees with the LP's :math:`n^*`
        and, when SAT, the hard-margin certificate holds), ``rank``, ``active_rank`` (the
        rank of the features of the support vectors when SAT, of the points with
        :math:`\Delta_\mu > 0` when UNSAT: it is below ``rank`` where those points are not in
        general position), ``w_norm``,
        ``test_loss`` (mean per test point) and ``test_error``.
    """
    from jamming.simulate.hinge import solve_quadratic_hinge_path

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    test_features = np.asarray(test_features, dtype=np.float64)
    test_labels = np.asarray(test_labels, dtype=np.float64)
    n_data = len(labels)
    try:
        n_star, censored = last_separable_size(features, labels), False
    except ValueError:  # every point separable: the transition lies beyond the data
        n_star, censored = n_data, True
    sizes = np.unique(np.concatenate([np.asarray(sizes, dtype=np.int64), [n_star, n_star + 1]]))
    sizes = sizes[(sizes >= 1) & (sizes <= n_data)]
    out = {name: np.zeros(len(sizes), dtype=dtype) for name, dtype in _PATH_DTYPES.items()}
    path = solve_quadratic_hinge_path(features, labels, sizes.tolist())
    for k, (size, solution) in enumerate(zip(sizes, path, strict=True)):
        sat = bool(size <= n_star)
        certified = bool(solution.converged) and bool(solution.sat) == sat
        w, n_sv, counted = np.asarray(solution.w), -1, np.asarray(solution.active)
        if sat:
            try:
                w = hard_margin_weights(features[:size], labels[:size])
                counted = support_vectors(features[:size], labels[:size], w)
                n_sv = int(counted.sum())
            except ValueError:  # no hard-margin certificate: recorded, solver's w kept
                certified = False
        test_margins = test_labels * (test_features @ w)
        out["sat"][k], out["n_delta"][k], out["n_sv"][k] = sat, solution.n_delta, n_sv
        out["loss"][k], out["certified"][k] = solution.loss, certified
        out["rank"][k] = numerical_rank(features[:size])[0]
        out["active_rank"][k] = numerical_rank(features[:size][counted])[0] if counted.any() \
            else 0
        out["w_norm"][k] = np.linalg.norm(w)
        out["test_loss"][k] = pointwise_quadratic_hinge(test_features, test_labels, w).mean()
        out["test_error"][k] = np.mean(test_margins <= 0.0)
    return {"n_star": int(n_star), "censored": censored, "sizes": sizes, **out}
