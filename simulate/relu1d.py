r"""Two-layer ReLU networks on 1-D regression: small steps against large steps + decay (S4).

Seed 003 (Andriushchenko, Varre, Pillaud-Vivien, Flammarion, "SGD with large step sizes
learns sparse features", ICML 2023, "Two-layer ReLU networks in 1D").

Model
-----
:math:`f(x) = \sum_{j=1}^m a_j\,\mathrm{relu}(w_j x + b_j) + c`, with the output bias
:math:`c` only when ``output_bias=True`` (off by default, as in the authors' notebook, whose
second layer has no bias). Parameters are stored as one float64 vector
``theta = [a (m), w (m), b (m), c (0 or 1)]`` (``p = 3m`` or ``3m + 1``).

This is :class:`jamming.simulate.networks.DenseNetwork` ``(1, m, depth=1,
activation="relu", parameterization="standard", bias=(True, output_bias),
b_std=(s, s if output_bias else 0.0))`` (any :math:`s`) with ``W1 = w[None, :]``,
``b1 = b``, ``W2 = a[:, None]``, ``b2 = [c]``: the same function and, up to the column
order, the same Jacobian (tests/simulate/test_relu1d.py checks both). The model keeps its
own flat vector and numpy/numba code because its SGD runs millions of single-sample steps,
for which a compiled loop over one vector is the fast path (measured against numpy below; a
per-step pass of a batched torch network is slower still), and its recorded results are tied
to this numpy arithmetic bit for bit.

Initialisation (seeded): :math:`w_j, b_j \sim N(0, \mathrm{hidden\_scale}^2)`,
:math:`a_j \sim N(0, \mathrm{init\_scale}^2/m)`, :math:`c = 0` (both scales 1 by default).

Loss :math:`L(\theta) = \frac{1}{2n}\sum_i (f(x_i) - y_i)^2`; one SGD step on the mini-batch
:math:`B` (``batch_size`` distinct indices drawn uniformly without replacement, seeded) is
:math:`\theta \leftarrow \theta - \eta_t \frac{1}{|B|}\sum_{i\in B}(f(x_i) - y_i)\nabla f(x_i)`
with the hand-written gradients :math:`\partial_{a_j} f = \mathrm{relu}(w_jx+b_j)`,
:math:`\partial_{w_j} f = a_j x\,1[w_jx+b_j>0]`, :math:`\partial_{b_j} f = a_j1[w_jx+b_j>0]`,
:math:`\partial_c f = 1` (the sub-gradient 0 is used at the kink).

Data
----
``target="paper"``: the 12 training points of the authors' notebook
(``fc_nets_1d_regression.ipynb``: labels ``0.345 + (-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1)``
at 12 equally spaced inputs), with the inputs mapped affinely onto :math:`[-1, 1]`
(``x_k = -1 + 2k/11``); ``n`` must be 12. The "target" used for the test loss is the
piecewise-linear interpolant of these points (the paper has no ground-truth function).
``target="sine"``: ``n`` equally spaced points on :math:`[-1, 1]` and
:math:`y = \sin(\pi x)`. The test loss is :math:`\frac12` times the mean squared difference
between :math:`f` and the target on ``n_test`` equally spaced points of :math:`[-1, 1]`.

Schedules
---------
``schedule="small"``: the constant step ``eta_small`` for ``n_steps`` steps.
``schedule="large"``: ``eta_large`` for the first ``round(decay_fraction * n_steps)`` steps,
then ``eta_small`` (the decay) for the rest; same total number of steps.

Diagnostics (recorded every ``record_every`` steps, step 0 included)
--------------------------------------------------------------------
* train and test loss;
* ``jacobian_rank``: the number of singular values of the Jacobian
  :math:`\phi_\theta(X)\in\mathbb{R}^{n\times p}` (rows :math:`\nabla_\theta f(x_i)`) above
  ``rank_rtol`` (default 1e-4, the authors' ``l0_threshold_grad_matrix``) times the largest;
* ``feature_sparsity``: the feature-sparsity coefficient, as in the authors' code
  (``fc_nets.py``, ``feature_sparsity``): with the hidden activations
  :math:`\Phi_{ij} = \mathrm{relu}(w_jx_i+b_j)` (:math:`n\times m`, not scaled by :math:`a`,
  not normalised), drop the neurons inactive on every training point, group the remaining
  columns whose Pearson correlation over the training points has
  :math:`|\rho| >` ``corr_threshold`` (0.99) greedily (a column joins the group of the
  first kept column it is that correlated with; columns of zero variance are grouped
  together), keep one column per group, and return the number of non-zero entries of the
  kept columns divided by :math:`nm`: the average over training points of the number of
  distinct non-zero activations, divided by the width.

Kinks of the final predictor (:func:`count_kinks`)
--------------------------------------------------
Neuron ``j`` has a kink at :math:`t_j = -b_j/w_j` where the slope of :math:`f` jumps by
:math:`a_j|w_j|`. Only neurons with :math:`|a_j||w_j| >` ``neuron_rtol`` (1e-3) times
:math:`\max_k |a_k||w_k|` and :math:`t_j` inside the data range
:math:`[\min x_i, \max x_i]` are kept; sorted kinks closer than ``merge_tol`` (default
0.01 times the data range) to the previous one are merged (single linkage); a merged kink
counts only when the total jump :math:`|\sum a_j|w_j||` exceeds ``slope_rtol`` (0.01) times
:math:`\max_k |a_k||w_k|` (aligned neurons whose jumps cancel do not count).

Divergence
----------
A run diverges at the first step whose update makes a parameter non-finite or larger than
``bound`` in absolute value (default 1e6), or whose recorded train loss is not finite. It
then stops: ``diverged`` is set, ``diverged_at`` is that step (-1 otherwise), the recorded
curves after it are NaN and the final scalars are NaN (``final_kinks`` is -1). Nothing is
dropped.

The training loop is compiled with numba when it is installed (far faster than the per-step
numpy loop; the measurement is in ``benchmarks/README.md``); :func:`train_relu1d` with
``use_numba=False`` runs the same operations in numpy, and the tests check both agree.
"""

from __future__ import annotations

import functools

import numpy as np

from jamming.validation import check_count as _check_int
from jamming.validation import check_positive as _check_positive

#: The targets of :func:`make_data` and :func:`train_relu1d` (see the module docstring).
TARGETS = ("paper", "sine")
SCHEDULES = ("small", "large")
#: Labels of the 12 training points of the authors' notebook (inputs mapped to [-1, 1]).
PAPER_LABELS = 0.345 + np.array([-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1], dtype=np.float64)


# ----------------------------------------------------------------------------- validation


# ----------------------------------------------------------------------------- data, model


def make_data(target: str, n: int, n_test: int = 1001) -> tuple[np.ndarray, ...]:
    """Training points and the test grid of a target (see the module docstring).

    Returns
    -------
    x : numpy.ndarray, shape (n,)
    y : numpy.ndarray, shape (n,)
    x_test : numpy.ndarray, shape (n_test,), equally spaced on [-1, 1]
    y_test : numpy.ndarray, shape (n_test,), the target on ``x_test``
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    n = _check_int("n", n, 2)
    n_test = _check_int("n_test", n_test, 2)
    x = np.linspace(-1.0, 1.0, n)
    x_test = np.linspace(-1.0, 1.0, n_test)
    if target == "paper":
        if n != PAPER_LABELS.size:
            raise ValueError(f"n must be {PAPER_LABELS.size} for target 'paper', got {n}")
        y = PAPER_LABELS.copy()
        y_test = np.interp(x_test, x, y)
    else:
        y, y_test = np.sin(np.pi * x), np.sin(np.pi * x_test)
    return x, y, x_test, y_test


def split_params(theta: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(a, w, b, c)`` views of a parameter vector of length ``3m`` or ``3m + 1``."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.size not in (3 * m, 3 * m + 1):
        raise ValueError(f"theta must have shape ({3 * m},) or ({3 * m + 1},), got {theta.shape}")
    c = float(theta[3 * m]) if theta.size == 3 * m + 1 else 0.0
    return theta[:m], theta[m:2 * m], theta[2 * m:3 * m], c


def init_params(m: int, rng: np.random.Generator, init_scale: float = 1.0,
                output_bias: bool = False, hidden_scale: float = 1.0) -> np.ndarray:
    """Seeded initial parameters, shape (3m,) or (3m + 1,) (module docstring)."""
    m = _check_int("m", m, 1)
    init_scale = _check_positive("init_scale", init_scale)
    hidden_scale = _check_positive("hidden_scale", hidden_scale)
    w = hidden_scale * rng.standard_normal(m)
    b = hidden_scale * rng.standard_normal(m)
    a = init_scale * rng.standard_normal(m) / np.sqrt(m)
    return np.concatenate([a, w, b, [0.0] if output_bias else []])


def predict(theta: np.ndarray, m: int, x: np.ndarray) -> np.ndarray:
    """:math:`f(x)`, shape of ``x`` (1-D)."""
    a, w, b, c = split_params(theta, m)
    return np.maximum(np.multiply.outer(x, w) + b, 0.0) @ a + c


def jacobian(theta: np.ndarray, m: int, x: np.ndarray) -> np.ndarray:
    """:math:`\\phi_\\theta(x)`: rows :math:`\\nabla_\\theta f(x_i)`, shape (len(x), p)."""
    a, w, b, _ = split_params(theta, m)
    pre = np.multiply.outer(x, w) + b
    active = (pre > 0).astype(np.float64)
    blocks = [np.maximum(pre, 0.0), active * a * x[:, None], active * a]
    if theta.size == 3 * m + 1:
        blocks.append(np.ones((x.size, 1)))
    return np.hstack(blocks)


def loss(theta: np.ndarray, m: int, x: np.ndarray, y: np.ndarray) -> float:
    """:math:`\\frac{1}{2n}\\sum_i (f(x_i) - y_i)^2`."""
    r = predict(theta, m, x) - y
    return 0.5 * float(np.mean(r * r))


def loss_gradient(theta: np.ndarray, m: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of :func:`loss` with respect to ``theta``, shape (p,)."""
    r = predict(theta, m, x) - y
    return jacobian(theta, m, x).T @ r / x.size


# ------------------------------------------------------------------------- diagnostics


def jacobian_rank(theta: np.ndarray, m: int, x: np.ndarray, rtol: float = 1e-4) -> int:
    """Number of singular values of :func:`jacobian` above ``rtol`` times the largest."""
    s = np.linalg.svd(jacobian(theta, m, x), compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.count_nonzero(s > rtol * s[0]))


def feature_sparsity(theta: np.ndarray, m: int, x: np.ndarray,
                     corr_threshold: float = 0.99) -> float:
    """Feature-sparsity coefficient (module docstring), in [0, 1]."""
    a, w, b, _ = split_params(theta, m)
    phi = np.maximum(np.multiply.outer(x, w) + b, 0.0)
    active = np.flatnonzero(np.any(phi > 0, axis=0))
    if active.size == 0:
        return 0.0
    cols = phi[:, active] - phi[:, active].mean(axis=0)
    norms = np.linalg.norm(cols, axis=0)
    constant = norms <= 1e-12 * np.maximum(1.0, np.abs(phi[:, active]).max(axis=0))
    unit = np.where(constant, 0.0, cols / np.where(constant, 1.0, norms))
    corr = unit.T @ unit
    kept: list[int] = []
    for k in range(active.size):
        if any((constant[k] and constant[j]) or
               (not constant[k] and not constant[j] and abs(corr[k, j]) > corr_threshold)
               for j in kept):
            continue
        kept.append(k)
    return float(np.count_nonzero(phi[:, active[kept]])) / (x.size * m)


def count_kinks(theta: np.ndarray, m: int, x_range: tuple[float, float],
                neuron_rtol: float = 1e-3, slope_rtol: float = 1e-2,
                merge_tol: float | None = None) -> tuple[int, np.ndarray]:
    """Distinct kinks of the predictor inside ``x_range`` (module docstring).

    Returns
    -------
    count : int
    positions : numpy.ndarray, shape (count,)
        Contribution-weighted mean position of each counted kink, increasing.
    """
    lo, hi = float(x_range[0]), float(x_range[1])
    if not lo < hi:
        raise ValueError(f"x_range must satisfy lo < hi, got {x_range}")
    merge_tol = 0.01 * (hi - lo) if merge_tol is None else float(merge_tol)
    if merge_tol < 0:
        raise ValueError(f"merge_tol must be >= 0, got {merge_tol}")
    a, w, b, _ = split_params(theta, m)
    contribution = np.abs(a) * np.abs(w)
    ref = contribution.max() if m else 0.0
    if not ref > 0:
        return 0, np.zeros(0)
    keep = contribution > neuron_rtol * ref
    t = np.full(m, np.nan)
    t[keep] = -b[keep] / w[keep]
    keep &= (t >= lo) & (t <= hi)
    order = np.argsort(t[keep])
    t, jump, weight = t[keep][order], (a * np.abs(w))[keep][order], contribution[keep][order]
    positions = []
    start = 0
    for k in range(1, t.size + 1):
        if k == t.size or t[k] - t[k - 1] > merge_tol:
            if abs(jump[start:k].sum()) > slope_rtol * ref:
                positions.append(np.average(t[start:k], weights=weight[start:k]))
            start = k
    return len(positions), np.array(positions)


# ----------------------------------------------------------------------------- training


def _sgd_segment_numpy(theta, m, x, y, batches, etas, bound):
    """Steps ``batches[k]`` with ``etas[k]`` in place; index of the diverging step or -1."""
    has_c = theta.size == 3 * m + 1
    for k in range(batches.shape[0]):
        xb, yb = x[batches[k]], y[batches[k]]
        a, w, b = theta[:m], theta[m:2 * m], theta[2 * m:3 * m]
        pre = np.multiply.outer(xb, w) + b
        act = np.maximum(pre, 0.0)
        r = (act @ a + (theta[3 * m] if has_c else 0.0) - yb) / xb.size
        gate = (pre > 0) * a
        grad = np.concatenate([r @ act, (r * xb) @ gate, r @ gate,
                               [r.sum()] if has_c else []])
        theta -= etas[k] * grad
        if not np.all(np.abs(theta) <= bound):
            return k
    return -1


@functools.lru_cache(maxsize=1)
def _numba_segment():
    import numba

    @numba.njit(cache=True, fastmath=False)
    def segment(theta, m, x, y, batches, etas, bound):
        has_c = theta.size == 3 * m + 1
        bsz = batches.shape[1]
        r = np.empty(bsz)
        grad = np.empty(theta.size)
        for k in range(batches.shape[0]):
            for q in range(bsz):
                i = batches[k, q]
                f = theta[3 * m] if has_c else 0.0
                for j in range(m):
                    h = theta[m + j] * x[i] + theta[2 * m + j]
                    if h > 0:
                        f += theta[j] * h
                r[q] = (f - y[i]) / bsz
            grad[:] = 0.0
            for q in range(bsz):
                i = batches[k, q]
                for j in range(m):
                    h = theta[m + j] * x[i] + theta[2 * m + j]
                    if h > 0:
                        grad[j] += r[q] * h
                        grad[m + j] += r[q] * theta[j] * x[i]
                        grad[2 * m + j] += r[q] * theta[j]
                if has_c:
                    grad[3 * m] += r[q]
            ok = True
            for j in range(theta.size):
                theta[j] -= etas[k] * grad[j]
                if not abs(theta[j]) <= bound:
                    ok = False
            if not ok:
                return k
        return -1

    return segment


def step_sizes(schedule: str, n_steps: int, eta_small: float, eta_large: float,
               decay_fraction: float) -> np.ndarray:
    """Step size of each of the ``n_steps`` steps, shape (n_steps,)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    etas = np.full(n_steps, eta_small)
    if schedule == "large":
        etas[:round(decay_fraction * n_steps)] = eta_large
    return etas


def train_relu1d(params: dict, use_numba: bool | None = None) -> dict:
    """Train one network by SGD and record its diagnostics (module docstring).

    Parameters
    ----------
    params : dict
        ``target`` (a key of :data:`TARGETS`), ``n`` (training points), ``m`` (width),
        ``schedule`` ("small" or "large"), ``eta_small``, ``eta_large`` (used by "large"),
        ``decay_fraction`` (in (0, 1]), ``n_steps``, ``batch_size`` (1..n),
        ``record_every``, ``seed``; optional ``init_scale`` (1.0), ``output_bias``
        (False), ``n_test`` (1001), ``bound`` (1e6), ``rank_rtol`` (1e-4),
        ``corr_threshold`` (0.99).
    use_numba : bool, optional
        Default: numba when importable.

    Returns
    -------
    dict
        Curves of shape (n_rec,), ``n_rec = n_steps // record_every + 1``: ``steps``
        (int64), ``train_loss``, ``test_loss``, ``jacobian_rank`` (float, NaN after a
        divergence), ``feature_sparsity``. Scalars: ``final_train_loss``,
        ``final_test_loss``, ``final_jacobian_rank``, ``final_feature_sparsity``,
        ``final_kinks`` (int, -1 after a divergence), ``diverged`` (bool), ``diverged_at``
        (int, -1 if none). Array ``final_theta``, shape (p,).
    """
    target = params["target"]
    n = _check_int("n", params["n"], 2)
    m = _check_int("m", params["m"], 1)
    n_steps = _check_int("n_steps", params["n_steps"], 1)
    record_every = _check_int("record_every", params["record_every"], 1)
    batch_size = _check_int("batch_size", params["batch_size"], 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {batch_size}")
    seed = _check_int("seed", params["seed"], 0)
    eta_small = _check_positive("eta_small", params["eta_small"])
    eta_large = _check_positive("eta_large", params.get("eta_large", eta_small))
    decay_fraction = float(params.get("decay_fraction", 0.5))
    if not 0 < decay_fraction <= 1:
        raise ValueError(f"decay_fraction must be in (0, 1], got {decay_fraction}")
    bound = _check_positive("bound", params.get("bound", 1e6))
    rank_rtol = _check_positive("rank_rtol", params.get("rank_rtol", 1e-4))
    corr_threshold = float(params.get("corr_threshold", 0.99))
    if not 0 < corr_threshold < 1:
        raise ValueError(f"corr_threshold must be in (0, 1), got {corr_threshold}")
    etas = step_sizes(params["schedule"], n_steps, eta_small, eta_large, decay_fraction)
    x, y, x_test, y_test = make_data(target, n, params.get("n_test", 1001))

    rng = np.random.default_rng(seed)
    theta = init_params(m, rng, params.get("init_scale", 1.0),
                        bool(params.get("output_bias", False)), params.get("hidden_scale", 1.0))
    if batch_size == 1:
        batches = rng.integers(0, n, size=(n_steps, 1))
    else:
        batches = np.argsort(rng.random((n_steps, n)), axis=1)[:, :batch_size]
    batches = np.ascontiguousarray(batches, dtype=np.int64)
    if use_numba is None:
        try:
            segment = _numba_segment()
        except ImportError:
            segment = _sgd_segment_numpy
    else:
        segment = _numba_segment() if use_numba else _sgd_segment_numpy

    steps = np.arange(0, n_steps + 1, record_every, dtype=np.int64)
    curves = {name: np.full(steps.size, np.nan) for name in
              ("train_loss", "test_loss", "jacobian_rank", "feature_sparsity")}
    diverged_at = -1
    done = 0
    for k, step in enumerate(steps):
        if step > done:
            hit = segment(theta, m, x, y, batches[done:step], etas[done:step], bound)
            if hit >= 0:
                diverged_at = done + hit + 1
                break
            done = step
        train = loss(theta, m, x, y)
        if not np.isfinite(train):
            diverged_at = int(step)
            break
        curves["train_loss"][k] = train
        curves["test_loss"][k] = loss(theta, m, x_test, y_test)
        curves["jacobian_rank"][k] = jacobian_rank(theta, m, x, rank_rtol)
        curves["feature_sparsity"][k] = feature_sparsity(theta, m, x, corr_threshold)
    if diverged_at < 0 and done < n_steps:
        hit = segment(theta, m, x, y, batches[done:], etas[done:], bound)
        diverged_at = done + hit + 1 if hit >= 0 else -1
    diverged = diverged_at >= 0
    if diverged:
        final = dict(final_train_loss=np.nan, final_test_loss=np.nan,
                     final_jacobian_rank=np.nan, final_feature_sparsity=np.nan,
                     final_kinks=-1)
    else:
        final = dict(final_train_loss=loss(theta, m, x, y),
                     final_test_loss=loss(theta, m, x_test, y_test),
                     final_jacobian_rank=float(jacobian_rank(theta, m, x, rank_rtol)),
                     final_feature_sparsity=feature_sparsity(theta, m, x, corr_threshold),
                     final_kinks=count_kinks(theta, m, (x.min(), x.max()))[0])
    return {"steps": steps, **curves, **final, "diverged": diverged,
            "diverged_at": int(diverged_at), "final_theta": theta.copy()}
