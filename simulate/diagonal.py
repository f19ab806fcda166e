r"""Diagonal linear networks on sparse regression (S4, seed 003).

Model
-----
Linear predictor :math:`f(x) = \langle\beta, x\rangle` with :math:`\beta = u\odot u - v\odot v`,
:math:`u, v\in\mathbb{R}^d`, initialised at :math:`u = v = \alpha\mathbf 1` (so
:math:`\beta(0) = 0`), trained on the mean square loss
:math:`L = \tfrac1{2n}\lVert X\beta - y\rVert^2`. With :math:`g = \tfrac1m X_B^\top
(X_B\beta - \tilde y_B)` for a batch :math:`B` of size :math:`m` (all :math:`n` rows for full
batch) one step with step size :math:`\eta_t` is

.. math::

    u \leftarrow u - 2\eta_t\, u\odot g, \qquad v \leftarrow v + 2\eta_t\, v\odot g,

(:math:`\nabla_u L = 2u\odot g`, :math:`\nabla_v L = -2v\odot g`). The labels of the batch
are :math:`\tilde y_B = y_B + \sigma\xi` with fresh :math:`\xi\sim N(0, I_m)` at every step
when label noise :math:`\sigma>0` is asked for (label-noise GD: full batch, :math:`\sigma>0`).

Note that gradient flow conserves :math:`u_j v_j = \alpha^2`, while each discrete step
multiplies it by :math:`1 - 4\eta_t^2 g_j^2`: large steps and gradient noise shrink the
"features" :math:`(u_j, v_j)` of the coordinates that the fit does not need.

Data (:func:`sparse_regression_data`)
--------------------------------------
Gaussian design :math:`X_{ij}\sim N(0,1)` (n x d), a support of ``r`` coordinates drawn
uniformly without replacement, :math:`\beta^*_j = \pm1` (independent fair signs) on it and 0
elsewhere, :math:`y = X\beta^* + \text{noise\_std}\cdot N(0, I_n)` (noiseless by default).

Recorded quantities (:func:`diagonal_metrics`)
-----------------------------------------------
* ``train_loss``: :math:`\tfrac1{2n}\lVert X\beta - y\rVert^2` with the *noiseless* labels y.
* ``beta_error``: :math:`\lVert\beta-\beta^*\rVert_2`.
* ``test_error``: the population risk of the Gaussian design,
  :math:`\tfrac12\mathbb{E}_{x\sim N(0,I)}\langle\beta-\beta^*, x\rangle^2 =
  \tfrac12\lVert\beta-\beta^*\rVert^2`; ``test_error_sample``: the same on ``X_test``,
  :math:`\tfrac1{2n_\mathrm{test}}\lVert X_\mathrm{test}(\beta-\beta^*)\rVert^2`.
* ``false_positives`` / ``false_negatives``: the support of :math:`\beta` is
  :math:`\{j : |\beta_j| > \text{support\_tol}\cdot\lVert\beta^*\rVert_\infty\}`
  (default 0.1, i.e. 0.1 for the :math:`\pm1` targets); counted against
  :math:`\operatorname{supp}\beta^*`.
* ``jacobian_rank``: numerical rank of :math:`\phi(X)\in\mathbb{R}^{n\times 2d}` with rows
  :math:`[2x_i\odot u, -2x_i\odot v]`: singular values :math:`> \text{rank\_tol}\cdot
  \sigma_\max` with ``rank_tol = 1e-4`` (the fixed relative threshold of the reference
  code of Andriushchenko et al., ``compute_grad_matrix_ranks`` in
  ``tml-epfl/sgd-sparse-features``). Columns :math:`j` and :math:`d+j` are both multiples
  of :math:`X_{:,j}`, so the rank is at most
  :math:`\min(n, \#\{j : (u_j, v_j)\ \text{non-negligible}\})`.
* ``feature_sparsity``: the fraction of coordinates whose feature pair is non-negligible,
  :math:`\tfrac1d\#\{j : \lVert(u_j, v_j)\rVert_2 > \text{feature\_tol}\cdot\max_k
  \lVert(u_k, v_k)\rVert_2\}`, ``feature_tol = 1e-2`` (our definition for diagonal nets:
  Andriushchenko et al.'s coefficient counts the distinct, non-zero activations of a ReLU
  layer; here the :math:`j`-th "neuron" is :math:`x\mapsto x_j (u_j, v_j)`). 1 = dense
  (every feature in use), small = sparse features. At initialisation it is 1.

Divergence
----------
A step whose update leaves :math:`|u_j|, |v_j| \le` ``bound`` for some j (or is not finite)
is not taken: the run stops with ``diverged = True``, ``diverged_at`` = that step, and the
state frozen at the last in-bound iterate (reported, never dropped).

Random numbers
--------------
``numpy.random.default_rng(seed)``; batch indices (i.i.d. uniform over the n rows, *with*
replacement within a batch) and label noise are drawn in blocks of :data:`!_BLOCK` steps
(indices first, then noise), so a trajectory does not depend on ``record_every`` nor on
the backend. The numba kernel and the numpy reference (``backend="numpy"``) consume the same
numbers and agree to rounding.

Sweeps
------
:data:`!WOODWORTH_SWEEP` (GD limit vs :math:`\alpha`, with a Richardson extrapolation in
the step), :data:`!LABEL_NOISE_SWEEP` (time-averaged label-noise GD vs the weighted Lasso) and
:data:`!SPARSE_FEATURES_SWEEP` (small-step SGD vs a large step decayed at 10 / 30 / 50 %).

numba is imported inside the function that compiles the kernel, never at import time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from jamming.validation import check_count as _check_int
from jamming.validation import check_nonnegative, check_positive

#: Steps per block of pre-drawn random numbers (batch indices, label noise).
_BLOCK = 4096
BACKENDS = ("numba", "numpy")


# ----------------------------------------------------------------------------- data


def sparse_regression_data(n: int, d: int, r: int, seed: int, *, noise_std: float = 0.0,
                           n_test: int = 0) -> dict:
    r"""Gaussian design and an r-sparse :math:`\pm1` target (see the module docstring).

    Parameters
    ----------
    n, d, r : int
        Samples, dimension, support size (``1 <= r <= d``).
    seed : int
        Seed of ``numpy.random.default_rng``.
    noise_std : float, optional
        Std of additive Gaussian label noise on the training labels (default 0).
    n_test : int, optional
        Rows of an independent test design (default 0: none).

    Returns
    -------
    dict
        ``X`` (n, d), ``y`` (n,), ``beta_star`` (d,), ``X_test`` (n_test, d),
        ``y_test`` (n_test,) = ``X_test @ beta_star`` (noiseless).
    """
    n, d = _int("n", n, 1), _int("d", d, 1)
    r = _int("r", r, 1, d)
    noise_std = check_nonnegative("noise_std", noise_std)
    n_test = _int("n_test", n_test, 0)
    rng = np.random.default_rng(_int("seed", seed, 0))
    X = rng.standard_normal((n, d))
    support = rng.choice(d, size=r, replace=False)
    beta_star = np.zeros(d)
    beta_star[support] = rng.choice(np.array([-1.0, 1.0]), size=r)
    y = X @ beta_star + noise_std * rng.standard_normal(n)
    X_test = rng.standard_normal((n_test, d))
    return {"X": X, "y": y, "beta_star": beta_star, "X_test": X_test,
            "y_test": X_test @ beta_star}


def step_schedule(eta: float, n_steps: int, *, decay_at: float | None = None,
                  eta_after: float | None = None) -> np.ndarray:
    """Step sizes ``eta`` for the first ``decay_at`` fraction of steps, then ``eta_after``.

    Parameters
    ----------
    eta : float
        Initial step, > 0.
    n_steps : int
        Number of steps (>= 0).
    decay_at : float, optional
        Fraction in [0, 1] of the steps after which the step decays; ``None``: constant.
    eta_after : float, optional
        Step after the decay (> 0); default ``0.1 * eta``.

    Returns
    -------
    numpy.ndarray, shape (n_steps,), float64
    """
    eta = check_positive("eta", eta)
    n_steps = _int("n_steps", n_steps, 0)
    etas = np.full(n_steps, eta)
    if decay_at is not None:
        decay_at = float(decay_at)
        if not 0.0 <= decay_at <= 1.0:
            raise ValueError(f"decay_at must be in [0, 1], got {decay_at}")
        after = 0.1 * eta if eta_after is None else check_positive("eta_after", eta_after)
        etas[int(round(decay_at * n_steps)):] = after
    return etas


# ----------------------------------------------------------------------------- validation


def _int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    value = _check_int(name, value, minimum)
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {value}")
    return value


def _array(name: str, value, shape: tuple) -> np.ndarray:
    array = np.ascontiguousarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no nan or inf entries)")
    return array


def _design(name: str, value, d: int | None) -> np.ndarray:
    shape = np.shape(value)
    if len(shape) != 2 or shape[1] < 1 or (d is None and shape[0] < 1) or (
            d is not None and shape[1] != d):
        want = "(n, d) with n, d >= 1" if d is None else f"(n_test, {d})"
        raise ValueError(f"{name} must be a 2-d array of shape {want}, got shape {shape}")
    return _array(name, value, shape)


# ----------------------------------------------------------------------------- metrics


def jacobian(X, u, v) -> np.ndarray:
    r""":math:`\phi(X)`, shape (n, 2d), rows :math:`[2x_i\odot u, -2x_i\odot v]`."""
    X = np.asarray(X, dtype=np.float64)
    return np.concatenate([2.0 * X * u, -2.0 * X * v], axis=1)


def diagonal_metrics(X, y, u, v, *, beta_star=None, X_test=None, support_tol: float = 0.1,
                     rank_tol: float = 1e-4, feature_tol: float = 1e-2) -> dict:
    """The recorded quantities of one state ``(u, v)`` (definitions in the module docstring).

    Returns
    -------
    dict of floats / ints
        ``train_loss``, ``jacobian_rank``, ``feature_sparsity``; with ``beta_star`` also
        ``beta_error``, ``test_error``, ``false_positives``, ``false_negatives``; with
        ``X_test`` (and ``beta_star``) also ``test_error_sample``.
    """
    X = np.asarray(X, dtype=np.float64)
    beta = (u - v) * (u + v)
    res = X @ beta - y
    out = {"train_loss": float(res @ res) / (2 * X.shape[0])}
    s = np.linalg.svd(jacobian(X, u, v), compute_uv=False)
    out["jacobian_rank"] = int(np.sum(s > rank_tol * s[0])) if s.size and s[0] > 0 else 0
    norms = np.hypot(u, v)
    top = norms.max() if norms.size else 0.0
    out["feature_sparsity"] = float(np.mean(norms > feature_tol * top)) if top > 0 else 0.0
    if beta_star is not None:
        diff = beta - beta_star
        out["beta_error"] = float(np.linalg.norm(diff))
        out["test_error"] = 0.5 * float(diff @ diff)
        scale = float(np.max(np.abs(beta_star))) if beta_star.size else 0.0
        on = np.abs(beta) > support_tol * scale
        true = beta_star != 0
        out["false_positives"] = int(np.sum(on & ~true))
        out["false_negatives"] = int(np.sum(~on & true))
        if X_test is not None and X_test.shape[0] > 0:
            pred = X_test @ diff
            out["test_error_sample"] = float(pred @ pred) / (2 * X_test.shape[0])
    return out


# ----------------------------------------------------------------------------- kernels


@functools.cache
def _kernel():
    import numba as nb

    @nb.njit(cache=False)
    def run_steps(X, y, u, v, beta, etas, idx, noise, bound, avg_after, t0, beta_sum):
        """Advance k = len(etas) steps in place; returns the number of steps taken."""
        n, d = X.shape
        k = etas.shape[0]
        full = idx.shape[1] == 0
        m = n if full else idx.shape[1]
        has_noise = noise.shape[1] > 0
        g = np.empty(d)
        un = np.empty(d)
        vn = np.empty(d)
        for s in range(k):
            for j in range(d):
                g[j] = 0.0
            for a in range(m):
                i = a if full else idx[s, a]
                r = 0.0
                for j in range(d):
                    r += X[i, j] * beta[j]
                r -= y[i]
                if has_noise:
                    r -= noise[s, a]
                for j in range(d):
                    g[j] += r * X[i, j]
            step = 2.0 * etas[s] / m
            ok = True
            for j in range(d):
                c = step * g[j]
                un[j] = u[j] - c * u[j]
                vn[j] = v[j] + c * v[j]
                if not (abs(un[j]) <= bound and abs(vn[j]) <= bound):
                    ok = False
            if not ok:
                return s
            for j in range(d):
                u[j] = un[j]
                v[j] = vn[j]
                beta[j] = (un[j] - vn[j]) * (un[j] + vn[j])
            if t0 + s + 1 > avg_after:
                for j in range(d):
                    beta_sum[j] += beta[j]
        return k

    return run_steps


def _run_steps_numpy(X, y, u, v, beta, etas, idx, noise, bound, avg_after, t0, beta_sum):
    """Numpy reference of the numba kernel (same random numbers, same update)."""
    n = X.shape[0]
    full = idx.shape[1] == 0
    m = n if full else idx.shape[1]
    has_noise = noise.shape[1] > 0
    for s in range(etas.shape[0]):
        Xb = X if full else X[idx[s]]
        r = Xb @ beta - (y if full else y[idx[s]])
        if has_noise:
            r = r - noise[s]
        c = (2.0 * etas[s] / m) * (Xb.T @ r)
        with np.errstate(over="ignore", invalid="ignore"):
            un = u - c * u
            vn = v + c * v
        if not (np.all(np.abs(un) <= bound) and np.all(np.abs(vn) <= bound)):
            return s
        u[:] = un
        v[:] = vn
        beta[:] = (un - vn) * (un + vn)
        if t0 + s + 1 > avg_after:
            beta_sum += beta
    return etas.shape[0]


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class DiagonalRun:
    """Result of :func:`train_diagonal`.

    ``u``, ``v``, ``beta``: final state (d,) (the last in-bound state if diverged).
    ``beta_avg``: (d,) mean of the iterates :math:`\\beta_t` over the steps
    ``average_from < t <= steps_done`` (``None`` without ``average_from``, NaN if no step
    was averaged). ``steps``: (n_rec,) recorded steps; ``records``: dict name -> (n_rec,)
    array of the quantities of :func:`diagonal_metrics` at those steps (recorded before
    divergence or the stop). ``final``: those quantities at the final state.
    ``steps_done``: steps taken; ``diverged`` / ``diverged_at`` (-1 if not);
    ``stopped``: True if ``stop_loss`` was reached.
    """

    u: np.ndarray
    v: np.ndarray
    beta: np.ndarray
    beta_avg: np.ndarray | None
    steps: np.ndarray
    records: dict
    final: dict
    steps_done: int
    diverged: bool
    diverged_at: int
    stopped: bool


def _schedule(schedule, n_steps: int) -> np.ndarray:
    if np.ndim(schedule) == 0:
        return np.full(n_steps, check_positive("schedule", schedule))
    etas = np.ascontiguousarray(schedule, dtype=np.float64)
    if etas.shape != (n_steps,):
        raise ValueError(f"schedule must be a step size > 0 or an array of shape "
                         f"(n_steps,) = ({n_steps},), got shape {etas.shape}")
    if not (np.all(np.isfinite(etas)) and np.all(etas > 0)):
        raise ValueError("schedule entries must be finite step sizes in (0, inf)")
    return etas


def record_steps(n_steps: int, record_every) -> np.ndarray:
    """The steps at which :func:`train_diagonal` records its metrics.

    Parameters
    ----------
    n_steps : int
    record_every : int or None
        ``None`` records the start and the end only.

    Returns
    -------
    numpy.ndarray of int64, shape (n_rec,)
        ``0, record_every, 2 record_every, ...`` and ``n_steps`` (always the last).
    """
    if record_every is None:
        return np.array([0, n_steps], dtype=np.int64) if n_steps else np.zeros(1, np.int64)
    record_every = _int("record_every", record_every, 1)
    steps = np.arange(0, n_steps + 1, record_every, dtype=np.int64)
    return steps if steps[-1] == n_steps else np.append(steps, n_steps)


def train_diagonal(X, y, alpha: float, schedule, n_steps: int, *, batch_size: int | None = None,
                   label_noise_std: float = 0.0, seed: int = 0, record_every: int | None = None,
                   average_from: int | None = None, beta_star=None, X_test=None,
                   stop_loss: float | None = None, bound: float | None = None,
                   support_tol: float = 0.1, rank_tol: float = 1e-4, feature_tol: float = 1e-2,
                   backend: str = "numba") -> DiagonalRun:
    r"""Train :math:`\beta = u\odot u - v\odot v` from :math:`u = v = \alpha\mathbf 1`.

    Covers gradient descent (``batch_size=None``), SGD (``batch_size=m``), step decay
    (``schedule`` an array, see :func:`step_schedule`) and label-noise GD
    (``label_noise_std > 0``, full batch) with a running time average
    (``average_from``).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Design (float64, finite).
    y : array_like, shape (n,)
        Noiseless training labels (label noise, if any, is added afresh at every step).
    alpha : float
        Initialisation scale, in (0, inf).
    schedule : float or array_like of shape (n_steps,)
        Constant step size or the step size of every step (all in (0, inf)).
    n_steps : int
        Number of steps, >= 0.
    batch_size : int, optional
        ``None``: full batch; otherwise the number of rows per step, in [1, n], drawn
        i.i.d. uniformly with replacement.
    label_noise_std : float, optional
        Std :math:`\sigma\ge0` of the Gaussian noise added to the batch labels at every step.
    seed : int, optional
        Seed (>= 0) of the batch indices and label noise.
    record_every : int, optional
        Record :func:`diagonal_metrics` at steps 0, k, 2k, ... and at ``n_steps``;
        ``None``: at 0 and ``n_steps`` only.
    average_from : int, optional
        Average :math:`\beta_t` over ``average_from < t <= n_steps`` (in [0, n_steps]).
    beta_star : array_like, shape (d,), optional
        Target for ``beta_error``, ``test_error`` and support recovery.
    X_test : array_like, shape (n_test, d), optional
        Test design for ``test_error_sample`` (needs ``beta_star``).
    stop_loss : float, optional
        Stop at the first recorded step whose noiseless train loss is <= ``stop_loss``.
    bound : float, optional
        Divergence bound on :math:`|u_j|, |v_j|` (default ``1e3 * max(1, alpha)``).
    support_tol, rank_tol, feature_tol : float, optional
        Relative thresholds of :func:`diagonal_metrics`.
    backend : {"numba", "numpy"}
        numba kernel (default) or the vectorised numpy reference.

    Returns
    -------
    DiagonalRun
    """
    X = _design("X", X, None)
    n, d = X.shape
    y = _array("y", y, (n,))
    alpha = check_positive("alpha", alpha)
    n_steps = _int("n_steps", n_steps, 0)
    etas = _schedule(schedule, n_steps)
    if batch_size is not None:
        batch_size = _int("batch_size", batch_size, 1, n)
    sigma = check_nonnegative("label_noise_std", label_noise_std)
    seed = _int("seed", seed, 0)
    steps = record_steps(n_steps, record_every)
    if average_from is not None:
        average_from = _int("average_from", average_from, 0, n_steps)
    if beta_star is not None:
        beta_star = _array("beta_star", beta_star, (d,))
    if X_test is not None:
        if beta_star is None:
            raise ValueError("X_test needs beta_star")
        X_test = _design("X_test", X_test, d)
    if stop_loss is not None:
        stop_loss = check_nonnegative("stop_loss", stop_loss)
    bound = 1e3 * max(1.0, alpha) if bound is None else check_positive("bound", bound)
    if alpha > bound:
        raise ValueError(f"alpha must be <= bound = {bound}, got {alpha}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    kernel = _kernel() if backend == "numba" else _run_steps_numpy

    def metrics(u, v):
        return diagonal_metrics(X, y, u, v, beta_star=beta_star, X_test=X_test,
                                support_tol=support_tol, rank_tol=rank_tol,
                                feature_tol=feature_tol)

    rng = np.random.default_rng(seed)
    m = n if batch_size is None else batch_size
    u = np.full(d, alpha)
    v = np.full(d, alpha)
    beta = np.zeros(d)
    beta_sum = np.zeros(d)
    avg_after = n_steps + 1 if average_from is None else average_from
    no_idx = np.zeros((0, 0), dtype=np.int64)
    no_noise = np.zeros((0, 0))
    rec_steps, recs = [], []
    t, block, idx_block, noise_block = 0, -1, no_idx, no_noise
    diverged_at, stopped = -1, False
    for target in steps:
        while t < target:
            if t // _BLOCK != block:  # blocks are consumed in order: draw the next one
                block = t // _BLOCK
                size = min(_BLOCK, n_steps - block * _BLOCK)
                if batch_size is not None:
                    idx_block = rng.integers(0, n, size=(size, batch_size), dtype=np.int64)
                noise_block = (sigma * rng.standard_normal((size, m)) if sigma > 0
                               else np.zeros((size, 0)))
            start = block * _BLOCK
            hi = min(int(target), start + _BLOCK)
            done = kernel(X, y, u, v, beta, etas[t:hi],
                          idx_block[t - start:hi - start] if batch_size is not None else no_idx,
                          noise_block[t - start:hi - start], bound, avg_after, t, beta_sum)
            t += int(done)
            if t < hi:
                diverged_at = t + 1
                break
        if diverged_at >= 0:
            break
        rec_steps.append(int(target))
        recs.append(metrics(u, v))
        if stop_loss is not None and recs[-1]["train_loss"] <= stop_loss:
            stopped = True
            break
    keys = recs[0].keys() if recs else ()
    records = {k: np.array([r[k] for r in recs]) for k in keys}
    beta_avg = None
    if average_from is not None:
        count = t - average_from
        beta_avg = beta_sum / count if count > 0 else np.full(d, np.nan)
    return DiagonalRun(u=u, v=v, beta=(u - v) * (u + v), beta_avg=beta_avg,
                       steps=np.array(rec_steps, dtype=np.int64), records=records,
                       final=metrics(u, v), steps_done=t, diverged=diverged_at >= 0,
                       diverged_at=diverged_at, stopped=stopped)


def gd_step_size(X, alpha: float, beta_scale: float, factor: float = 0.25) -> float:
    r"""A stable gradient-descent step for :math:`\beta = u\odot u - v\odot v` on data X.

    Near the path of gradient flow :math:`u_j^2 + v_j^2 = \sqrt{\beta_j^2 + 4\alpha^4}
    \le |\beta_j| + 2\alpha^2`, so the Hessian of L in (u, v) is bounded by
    :math:`4(\lVert\beta\rVert_\infty + 2\alpha^2)\lambda_\max(XX^\top/n)` (plus a term in
    the residual, small near interpolation). Returns ``factor * 2 /`` that bound with
    :math:`\lVert\beta\rVert_\infty` replaced by ``beta_scale`` (so :math:`\eta\propto
    1/\alpha^2` for large :math:`\alpha`).
    """
    X = np.asarray(X, dtype=np.float64)
    lam = float(np.linalg.norm(X, 2) ** 2) / X.shape[0]
    return factor * 2.0 / (4.0 * lam * (beta_scale + 2.0 * alpha * alpha))
