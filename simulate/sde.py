r"""Ensembles for the stochastic-modified-equation and label-noise studies (seed 003).

Two one-dimensional problems, simulated with numba on the CPU (``parallel=True``, prange over
blocks of trajectories), each with a vectorised numpy reference that draws the same random
numbers (:mod:`jamming.simulate.random_streams`, Box–Muller normals evaluated without libm)
and performs the same floating-point operations in the same order; the tests check that
they agree bitwise.

Quadratic test problem: SGD coupled with its SMEs
-------------------------------------------------
Per-sample loss :math:`f_\gamma(\theta) = \tfrac12 a(\theta-\gamma)^2` with
:math:`\gamma = \sigma\xi`, :math:`\xi\sim N(0,1)`, so SGD with step :math:`\eta` is

.. math::

    \theta_{k+1} = \theta_k - \eta a(\theta_k - \sigma\xi_k), \qquad k = 0..n-1,

compared at :math:`T = n\eta` with the SME of order 1 (drift :math:`-a\Theta`) and of order 2
(drift :math:`-b\Theta`, :math:`b = a + \eta a^2/2`), both with diffusion
:math:`\sqrt\eta\,a\sigma` (Li, Tai & E). The SMEs are integrated by Euler–Maruyama with
``m = substeps`` substeps per SGD step (:math:`dt = \eta/m`, the **coarse** level) and with
:math:`2m` substeps (:math:`dt/2`, the **fine** level), all driven by one Brownian path:

* SGD step ``k`` draws the :math:`2m` normals :math:`Z_{k,0..2m-1}` (normal pairs
  ``p = k m + i``, ``i < m``, of the stream; pair ``p`` gives :math:`Z_{k,2i}, Z_{k,2i+1}`);
* fine increments :math:`\Delta W = \sqrt{\eta/2m}\,Z_{k,j}`; coarse increments are their
  pairwise sums :math:`\sqrt{\eta/2m}(Z_{k,2i} + Z_{k,2i+1})`;
* the SGD noise is :math:`\xi_k = (2m)^{-1/2}\sum_j Z_{k,j}`, exactly :math:`N(0,1)`, so
  :math:`\sqrt\eta\,\xi_k = W_{(k+1)\eta} - W_{k\eta}`: SGD and SMEs share the noise.

Euler–Maruyama has weak order 1 in :math:`dt`, so :math:`\mathbb{E}g(\Theta^{\rm fine}) -
\mathbb{E}g(\Theta) = c\,dt/2 + O(dt^2)`, and the Richardson combination
:math:`2g(\Theta^{\rm fine}) - g(\Theta^{\rm coarse})` removes the :math:`O(dt)` bias.
:func:`sme_weak_errors` averages, per path, the combined coupled difference
:math:`2g(\Theta^{\rm fine}) - g(\Theta^{\rm coarse}) - g(\theta_n)` (:math:`g(\theta) =
\theta` and :math:`\theta^2`), and its standard error is that of this per-path estimator (the
coupling makes it far smaller than the spread of :math:`\theta_n` itself).

Label-noise SDE and label-noise SGD for :math:`h_\theta(x) = x\theta^2`
-----------------------------------------------------------------------
Conventions of :mod:`jamming.theory.sde`: loss :math:`L = \frac1{2n}\sum_i(h_\theta(x_i) -
y_i)^2`, :math:`y_i = x_i\theta_*^2`, :math:`m_2 = \frac1n\sum_i x_i^2`, labels perturbed by
independent noise of variance :math:`\delta`. :func:`label_noise_sde_1d` integrates

.. math::

    d\theta = 2m_2\,\theta(\theta_*^2-\theta^2)\,dt + 2\sqrt{\eta\delta m_2}\,\theta\,dW

by Euler–Maruyama: :math:`\theta \leftarrow \theta + 2dt\,x^2\theta(\theta_*^2-\theta^2) +
2\sqrt{\eta\delta\,dt}\;x\theta Z` with :math:`x = \sqrt{m_2}`. :func:`label_noise_sgd_1d`
runs SGD with one sample per step, :math:`x_t` uniform on :math:`[x_{\min}, x_{\max}]` and
Gaussian label noise :math:`\varepsilon_t = \sqrt\delta Z_t`, on the per-sample loss
:math:`\tfrac12(x\theta^2 - x\theta_*^2 - \varepsilon)^2` (the :math:`\tfrac12` loss of
:mod:`jamming.theory.sde`; :func:`jamming.simulate.maps.sgd_1d` uses :math:`\tfrac14`, i.e.
half this step size):

.. math::

    \theta \leftarrow \theta + 2\eta\,x_t^2\,\theta(\theta_*^2-\theta^2) + 2\eta\,x_t\theta\,
    \sqrt\delta\,Z_t .

**Matching.** Per step the increment has mean :math:`\eta\,b(\theta)` (with :math:`m_2 =
\mathbb{E}x^2`) and label-noise variance :math:`4\eta^2\delta\,\mathbb{E}x^2\,\theta^2 =
\eta\,s(\theta)^2` over the time :math:`\eta` of one step: the SDE with :math:`dt = \eta`
per step, the same :math:`\eta` in :math:`s`, and :math:`\delta` the label-noise variance.
With :math:`x_{\min} = x_{\max} = x` the SGD step **is** the Euler–Maruyama step of the SDE
with :math:`dt = \eta`, :math:`m_2 = x^2` (same random numbers: the two agree to rounding).
A random :math:`x` adds the sampling noise :math:`4\eta^2\mathrm{Var}(x^2)\theta^2
(\theta_*^2-\theta^2)^2`, which vanishes at interpolation and is :math:`O(\eta^2\cdot\eta
\delta)` near the stationary law, negligible against the label noise as :math:`\eta\to0`;
the remaining difference is the :math:`O(dt) = O(\eta)` Euler–Maruyama bias.

Random numbers: step ``t`` (1-based) uses normal number ``t - 1`` of the trajectory's stream
(normal pair ``(t - 1) // 2``, first member for odd ``t``) and, for SGD, the uniform at counter
``2**62 + t`` for :math:`x_t`. The domain :math:`\theta > 0` is invariant for the SDE but
not exactly for the scheme; a step across 0 is kept as it is (the law is mirror-symmetric).

Divergence: a trajectory whose update is not finite or has ``|theta| > bound`` (default
``1e3 * theta_star``) is frozen at its last in-bound value, flagged in ``diverged`` with the
step in ``diverged_at``, and counted by ``n_diverged``; nothing is dropped.

numba is imported inside :func:`!_kernels`, never at import time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from jamming.simulate.ensemble_inputs import (
    label_noise_sde_args,
    label_noise_sgd_args,
    validate_coupled,
)
from jamming.simulate.random_streams import (
    keys_np,
    normal_pair_np,
    numba_functions,
    uniform_np,
)
from jamming.validation import check_positive

# trajectories per numba task (as in simulate.maps)
_BLOCK = 64
#: Counter offset of the uniforms that draw :math:`x_t` in :func:`label_noise_sgd_1d`: step
#: ``t`` uses the uniform at counter ``X_COUNTER + t`` (the normals use counters 1..n+1).
X_COUNTER = 2**62


@dataclass(frozen=True)
class CoupledSMEPaths:
    """Result of :func:`sme_coupled_paths`: final states at :math:`T = n\\eta`, shape (n_paths,).

    ``sgd``: :math:`\\theta_n`; ``sme1_coarse``/``sme1_fine``: SME of order 1 with ``substeps``
    and ``2 * substeps`` Euler–Maruyama substeps per SGD step; ``sme2_coarse``/``sme2_fine``:
    the same for order 2. All five share one Brownian path per trajectory.
    """

    sgd: np.ndarray
    sme1_coarse: np.ndarray
    sme1_fine: np.ndarray
    sme2_coarse: np.ndarray
    sme2_fine: np.ndarray
    substeps: int


@dataclass(frozen=True)
class LabelNoiseEnsemble:
    """Result of :func:`label_noise_sde_1d` / :func:`label_noise_sgd_1d`, arrays (n_paths,).

    ``theta``: final state (frozen value for diverged paths); ``diverged``: bool flags;
    ``diverged_at``: step that left the bound, -1 if none; ``recorded``: (n_paths, n_rec)
    states at ``record_steps`` (step 0 is ``theta0``) or ``None``.
    """

    theta: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    recorded: np.ndarray | None
    record_steps: np.ndarray | None

    @property
    def n_diverged(self) -> int:
        return int(np.count_nonzero(self.diverged))


# ----------------------------------------------------------------------- numba kernels


@functools.cache
def _kernels():
    import numba as nb

    streams = numba_functions()
    block_keys = streams.block_keys
    uniform = streams.uniform
    normal_pair = streams.normal_pair
    BLOCK = _BLOCK
    x_counter = np.uint64(X_COUNTER)

    @nb.njit(parallel=True)
    def coupled_kernel(theta0, n_steps, seed, m, coef, out):
        a_dt, a_fine, b_dt, b_fine, noise, eta_a, sigma, inv_sqrt = (
            coef[0], coef[1], coef[2], coef[3], coef[4], coef[5], coef[6], coef[7])
        n = theta0.shape[0]
        seed_u = np.uint64(seed)
        for blk in nb.prange((n + BLOCK - 1) // BLOCK):
            lo = blk * BLOCK
            k = min(BLOCK, n - lo)
            key = block_keys(seed_u, lo, k)
            sgd = theta0[lo:lo + k].copy()
            c1 = sgd.copy()
            f1 = sgd.copy()
            c2 = sgd.copy()
            f2 = sgd.copy()
            zsum = np.empty(k)
            for step in range(n_steps):
                zsum[:] = 0.0
                for i in range(m):
                    pair = step * m + i
                    for j in range(k):
                        z0, z1 = normal_pair(key[j], pair)
                        x = f1[j]
                        x = x - a_fine * x + noise * z0
                        f1[j] = x - a_fine * x + noise * z1
                        x = f2[j]
                        x = x - b_fine * x + noise * z0
                        f2[j] = x - b_fine * x + noise * z1
                        zz = z0 + z1
                        c1[j] = c1[j] - a_dt * c1[j] + noise * zz
                        c2[j] = c2[j] - b_dt * c2[j] + noise * zz
                        zsum[j] += zz
                for j in range(k):
                    sgd[j] = sgd[j] - eta_a * (sgd[j] - sigma * (zsum[j] * inv_sqrt))
            out[0, lo:lo + k] = sgd
            out[1, lo:lo + k] = c1
            out[2, lo:lo + k] = f1
            out[3, lo:lo + k] = c2
            out[4, lo:lo + k] = f2

    @nb.njit(parallel=True)
    def label_noise_kernel(theta_star, drift_c, noise_c, x_lo, width, random_x, theta0,
                           n_steps, seed, bound, rec_steps, rec, theta_out, diverged_at):
        n = theta0.shape[0]
        n_rec = rec_steps.shape[0]
        ts2 = theta_star * theta_star
        seed_u = np.uint64(seed)
        for blk in nb.prange((n + BLOCK - 1) // BLOCK):
            lo = blk * BLOCK
            k = min(BLOCK, n - lo)
            key = block_keys(seed_u, lo, k)
            th = theta0[lo:lo + k].copy()
            z_odd = np.empty(k)
            z_even = np.empty(k)
            div = np.full(k, -1, dtype=np.int64)
            r = 0
            if r < n_rec and rec_steps[r] == 0:
                for j in range(k):
                    rec[lo + j, r] = th[j]
                r += 1
            for t in range(1, n_steps + 1):
                if t % 2 == 1:  # one normal pair serves steps t and t + 1
                    for j in range(k):
                        z_odd[j], z_even[j] = normal_pair(key[j], (t - 1) // 2)
                    zs = z_odd
                else:
                    zs = z_even
                for j in range(k):
                    if div[j] < 0:
                        x = x_lo
                        if random_x:
                            x = x_lo + width * uniform(key[j], x_counter + np.uint64(t))
                        tj = th[j]
                        new = (tj + drift_c * (x * x) * tj * (ts2 - tj * tj)
                               + noise_c * x * tj * zs[j])
                        if not (abs(new) <= bound):
                            div[j] = t
                        else:
                            th[j] = new
                if r < n_rec and rec_steps[r] == t:
                    for j in range(k):
                        rec[lo + j, r] = th[j]
                    r += 1
            theta_out[lo:lo + k] = th
            diverged_at[lo:lo + k] = div

    return coupled_kernel, label_noise_kernel


# ------------------------------------------------------------- quadratic problem: public API


def sme_coupled_paths(eta: float, n_steps: int, a: float, sigma: float, theta0, n_paths: int,
                      seed: int, *, substeps: int = 4) -> CoupledSMEPaths:
    r"""SGD on :math:`\tfrac12 a(\theta-\sigma\xi)^2` coupled with its SMEs of order 1 and 2.

    Parameters
    ----------
    eta : float
        SGD step, > 0, with ``eta * a < 2``.
    n_steps : int
        Number :math:`n \ge 0` of SGD steps; the SMEs are compared at :math:`T = n\eta`.
    a, sigma : float
        Curvature (> 0) and noise scale (>= 0).
    theta0 : float or array of shape (n_paths,)
        Initial point of every process.
    n_paths : int
        Ensemble size (>= 1).
    seed : int
        Seed of the counter-based stream, in [0, 2**64).
    substeps : int
        ``m >= 1`` Euler–Maruyama substeps per SGD step at the coarse level (the fine level
        has ``2 m``), with :math:`(a + \eta a^2/2)\,\eta/m < 2`.

    Returns
    -------
    CoupledSMEPaths
        Final states, each of shape (n_paths,), sharing one Brownian path per trajectory (see
        the module docstring). numba, parallel over trajectories; reproducible and independent
        of the thread count.
    """
    theta0, n_steps, seed, substeps, coef = validate_coupled(eta, n_steps, a, sigma, theta0,
                                                             n_paths, seed, substeps)
    coupled_kernel, _ = _kernels()
    out = np.empty((5, theta0.shape[0]))
    coupled_kernel(theta0, n_steps, seed, substeps, np.array(coef), out)
    return CoupledSMEPaths(*out, substeps=substeps)


def sme_coupled_paths_reference(eta: float, n_steps: int, a: float, sigma: float, theta0,
                                n_paths: int, seed: int, *,
                                substeps: int = 4) -> CoupledSMEPaths:
    """Vectorised numpy version of :func:`sme_coupled_paths` (same random numbers and
    operations)."""
    theta0, n_steps, seed, substeps, coef = validate_coupled(eta, n_steps, a, sigma, theta0,
                                                             n_paths, seed, substeps)
    a_dt, a_fine, b_dt, b_fine, noise, eta_a, sigma, inv_sqrt = coef
    keys = keys_np(seed, theta0.shape[0])
    sgd, c1, f1, c2, f2 = (theta0.copy() for _ in range(5))
    for step in range(n_steps):
        zsum = np.zeros_like(sgd)
        for i in range(substeps):
            z0, z1 = normal_pair_np(keys, step * substeps + i)
            f1 = f1 - a_fine * f1 + noise * z0
            f1 = f1 - a_fine * f1 + noise * z1
            f2 = f2 - b_fine * f2 + noise * z0
            f2 = f2 - b_fine * f2 + noise * z1
            zz = z0 + z1
            c1 = c1 - a_dt * c1 + noise * zz
            c2 = c2 - b_dt * c2 + noise * zz
            zsum += zz
        sgd = sgd - eta_a * (sgd - sigma * (zsum * inv_sqrt))
    return CoupledSMEPaths(sgd, c1, f1, c2, f2, substeps=substeps)


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def sme_weak_errors(T: float, n_steps, a: float, sigma: float, theta0: float, n_paths: int,
                    seed: int, *, substeps: int = 4) -> dict:
    r"""Measured weak errors (SME minus SGD) at time ``T``, Richardson-extrapolated in ``dt``.

    For each :math:`n` in ``n_steps`` (int or 1-D array of ints >= 1; :math:`\eta = T/n`),
    runs :func:`sme_coupled_paths` (same ``seed`` for every :math:`n`, so the entries are
    correlated; ``substeps`` an int or one per entry of ``n_steps``) and averages over paths
    the combined coupled differences :math:`2g(\Theta^{\rm fine}) - g(\Theta^{\rm coarse})
    - g(\theta_n)`, which remove the :math:`O(dt)` Euler–Maruyama bias.

    Returns
    -------
    dict
        Arrays of shape (len(n_steps),): ``'eta'``, ``'n_steps'`` and, for ``order`` in 1, 2
        and ``q`` in ``'mean'`` (:math:`g = \theta`), ``'second_moment'``
        (:math:`g = \theta^2`): ``'<q>_<order>'`` (extrapolated, signed, the keys of
        :func:`jamming.theory.sde.weak_errors`), ``'<q>_<order>_se'`` (its standard error
        from the per-path combined estimator), ``'<q>_<order>_fine'`` (fine level only, not
        extrapolated) and ``'<q>_<order>_fine_se'``.
    """
    T = check_positive("T", T)
    n = np.atleast_1d(np.asarray(n_steps))
    if n.ndim != 1 or n.dtype.kind not in "iu" or np.any(n < 1):
        raise ValueError(f"n_steps must be an integer or 1-D array of integers >= 1, "
                         f"got {n_steps!r}")
    try:
        subs = np.broadcast_to(np.asarray(substeps, dtype=object), n.shape)
    except ValueError:
        raise ValueError(f"substeps must be an integer or one per entry of n_steps, "
                         f"got {substeps!r}") from None
    rows = []
    for steps, sub in zip(n, subs, strict=True):
        p = sme_coupled_paths(T / int(steps), int(steps), a, sigma, theta0, n_paths, seed,
                              substeps=sub)
        row = {}
        for order in (1, 2):
            coarse = getattr(p, f"sme{order}_coarse")
            fine = getattr(p, f"sme{order}_fine")
            for q, g in (("mean", lambda x: x), ("second_moment", lambda x: x * x)):
                name = f"{q}_{order}"
                row[name], row[f"{name}_se"] = _mean_se(2.0 * g(fine) - g(coarse) - g(p.sgd))
                row[f"{name}_fine"], row[f"{name}_fine_se"] = _mean_se(g(fine) - g(p.sgd))
        rows.append(row)
    out = {"eta": T / n.astype(np.float64), "n_steps": n.astype(np.int64)}
    for name in rows[0]:
        out[name] = np.array([row[name] for row in rows])
    return out


# --------------------------------------------------------------- label noise: public API


def _run_label_noise(args, steps) -> LabelNoiseEnsemble:
    _, kernel = _kernels()
    n = args[6].shape[0]
    rec_steps = steps if steps is not None else np.empty(0, dtype=np.int64)
    rec = np.empty((n, rec_steps.shape[0]))
    theta = np.empty(n)
    diverged_at = np.empty(n, dtype=np.int64)
    kernel(*args, rec_steps, rec, theta, diverged_at)
    return LabelNoiseEnsemble(theta, diverged_at >= 0, diverged_at,
                              rec if steps is not None else None, steps)


def _label_noise_numpy(args, steps) -> LabelNoiseEnsemble:
    theta_star, drift_c, noise_c, x_lo, width, random_x, theta0, n_steps, seed, bound = args
    ts2 = theta_star * theta_star
    keys = keys_np(seed, theta0.shape[0])
    th = theta0.copy()
    diverged_at = np.full(th.shape, -1, dtype=np.int64)
    active = np.ones(th.shape, dtype=bool)
    steps_set = set() if steps is None else {int(s) for s in steps}
    recs = [th.copy()] if 0 in steps_set else []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, n_steps + 1):
            if t % 2 == 1:
                z, spare = normal_pair_np(keys, (t - 1) // 2)
            else:
                z = spare
            x = x_lo + width * uniform_np(keys, X_COUNTER + t) if random_x else x_lo
            new = th + drift_c * (x * x) * th * (ts2 - th * th) + noise_c * x * th * z
            leaving = active & ~(np.abs(new) <= bound)
            diverged_at[leaving] = t
            active &= ~leaving
            th = np.where(active, new, th)
            if t in steps_set:
                recs.append(th.copy())
    rec = np.stack(recs, axis=1) if steps is not None else None
    return LabelNoiseEnsemble(th, diverged_at >= 0, diverged_at, rec, steps)


def label_noise_sde_1d(theta_star: float, eta: float, delta: float, m2: float, theta0,
                       dt: float, n_steps: int, n_paths: int, seed: int, *,
                       bound: float | None = None, record_every: int | None = None,
                       record_start: int = 0) -> LabelNoiseEnsemble:
    r"""Euler–Maruyama ensemble of :math:`d\theta = 2m_2\theta(\theta_*^2-\theta^2)dt +
    2\sqrt{\eta\delta m_2}\,\theta\,dW` (conventions of :mod:`jamming.theory.sde`).

    Parameters
    ----------
    theta_star : float
        Target :math:`\theta_* > 0` (labels :math:`y = x\theta_*^2`).
    eta, delta : float
        SGD step size (> 0) and label-noise variance (>= 0); only :math:`\eta\delta` enters.
    m2 : float
        :math:`m_2 = \frac1n\sum x_i^2 > 0`.
    theta0 : float or array of shape (n_paths,)
        Initial states, finite with ``|theta0| <= bound``.
    dt : float
        Time step (> 0); the final time is ``n_steps * dt``.
    n_steps, n_paths, seed : int
        Steps (>= 0), ensemble size (>= 1), stream seed in [0, 2**64).
    bound : float, optional
        Divergence threshold on ``|theta|`` (default ``1e3 * theta_star``).
    record_every, record_start : int, optional
        Record the states at steps ``record_start, record_start + record_every, ... <=
        n_steps`` (as :func:`jamming.simulate.maps.iterate_map`).

    Returns
    -------
    LabelNoiseEnsemble
        ``theta`` (n_paths,), divergence flags and steps, ``recorded`` (n_paths, n_rec) or
        ``None``. numba, parallel over paths, independent of the thread count.
    """
    return _run_label_noise(*label_noise_sde_args(theta_star, eta, delta, m2, theta0, dt,
                                                  n_steps, n_paths, seed, bound, record_every,
                                                  record_start))


def label_noise_sde_1d_reference(theta_star: float, eta: float, delta: float, m2: float,
                                 theta0, dt: float, n_steps: int, n_paths: int, seed: int, *,
                                 bound: float | None = None, record_every: int | None = None,
                                 record_start: int = 0) -> LabelNoiseEnsemble:
    """Vectorised numpy version of :func:`label_noise_sde_1d` (same random numbers)."""
    return _label_noise_numpy(*label_noise_sde_args(theta_star, eta, delta, m2, theta0, dt,
                                                    n_steps, n_paths, seed, bound, record_every,
                                                    record_start))


def label_noise_sgd_1d(theta_star: float, eta: float, delta: float, x_min: float,
                       x_max: float, theta0, n_steps: int, n_paths: int, seed: int, *,
                       bound: float | None = None, record_every: int | None = None,
                       record_start: int = 0) -> LabelNoiseEnsemble:
    r"""Label-noise SGD :math:`\theta \leftarrow \theta + 2\eta x_t^2\theta(\theta_*^2 -
    \theta^2) + 2\eta x_t\theta\sqrt\delta Z_t` (one sample per step, ``x_t`` uniform on
    ``[x_min, x_max]``, Gaussian label noise of variance ``delta``).

    Matches :func:`label_noise_sde_1d` with ``dt = eta`` and ``m2 = E x^2`` as ``eta -> 0``
    (module docstring); with ``x_min == x_max = x`` it is that Euler–Maruyama scheme with
    ``m2 = x**2``. Other parameters and the result as in :func:`label_noise_sde_1d`.
    """
    return _run_label_noise(*label_noise_sgd_args(theta_star, eta, delta, x_min, x_max, theta0,
                                                  n_steps, n_paths, seed, bound, record_every,
                                                  record_start))


def label_noise_sgd_1d_reference(theta_star: float, eta: float, delta: float, x_min: float,
                                 x_max: float, theta0, n_steps: int, n_paths: int, seed: int, *,
                                 bound: float | None = None, record_every: int | None = None,
                                 record_start: int = 0) -> LabelNoiseEnsemble:
    """Vectorised numpy version of :func:`label_noise_sgd_1d` (same random numbers)."""
    return _label_noise_numpy(*label_noise_sgd_args(theta_star, eta, delta, x_min, x_max,
                                                    theta0, n_steps, n_paths, seed, bound,
                                                    record_every, record_start))
