r"""Ensembles of the normalised large-step map and of one-dimensional SGD (seed 003).

Model
-----
One-dimensional data :math:`x`, labels :math:`y = x\theta_*^2`, per-sample loss
:math:`\tfrac14(y - x\theta^2)^2` with gradient :math:`-x\theta(y - x\theta^2)`, so one SGD
step with step size :math:`\eta` on the sample :math:`x_t` is

.. math::

    \theta_{t+1} = \theta_t + \eta\,x_t^2\,\theta_t(\theta_*^2 - \theta_t^2),

and with :math:`z = \theta/\theta_*`, :math:`\gamma = \eta\theta_*^2x^2` this is the map
:math:`h_\gamma(z) = z + \gamma z(1 - z^2)`. The population loss reported by
:func:`sgd_1d` is :math:`F(\theta) = \tfrac14\,\mathbb{E}[x^2]\,(\theta_*^2 - \theta^2)^2`.

Functions
---------
* :func:`iterate_map` -- the deterministic map with one fixed :math:`\gamma` per trajectory.
* :func:`sgd_1d` -- SGD with :math:`x_t` drawn afresh at every step, independently per
  trajectory, **uniformly on** :math:`[x_\mathrm{min}, x_\mathrm{max}]` (the only
  distribution implemented).
* :func:`iterate_map_reference`, :func:`sgd_1d_reference` -- vectorised numpy versions
  (loop over steps, arrays over trajectories) with the same random numbers and the same
  floating-point operations in the same order; the tests check they agree bitwise, and the
  benchmark (``benchmarks/maps.py``) uses them as the anchor.

Random numbers
--------------
Counter-based: the uniform for trajectory ``i`` at step ``t`` (1-based) is a pure function of
``(seed, i, t)`` (:func:`uniforms`): with the SplitMix64 finaliser ``mix`` and
``G = 0x9E3779B97F4A7C15``, ``key = mix(seed + (i + 1) G)``,
``bits = mix(key + t G)`` (all mod 2^64), ``u = (bits >> 11) 2^-53`` in [0, 1). No generator
state is shared between trajectories, so the results do not depend on the number of numba
threads nor on how trajectories are split (trajectory ``i`` of an ensemble of 10 equals
trajectory ``i`` of an ensemble of 10^6 with the same seed). The streams live in
:mod:`jamming.simulate.random_streams` (shared with :mod:`jamming.simulate.sde`).

Divergence
----------
A trajectory whose update leaves ``|theta| <= bound`` (or is not finite) is **frozen** at its
last in-bound value; ``diverged`` flags it, ``diverged_at`` gives the step that left the
bound, and :attr:`SGDResult.n_diverged` counts them. Nothing is dropped: every trajectory is
in every output array. Its loss statistics cover the steps before divergence only and
``loss_mean`` is NaN for it.

numba is imported inside the functions that compile the kernels, never at import time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from jamming.simulate.ensemble_inputs import validate_map, validate_sgd
from jamming.simulate.random_streams import (
    check_stream_seed,
    keys_np,
    numba_functions,
    uniform_np,
)
from jamming.validation import check_count as _check_int

# trajectories per numba task: each task advances a block step by step, so the independent
# updates of its lanes overlap (SIMD / instruction-level parallelism) instead of one
# latency-bound chain per trajectory
_BLOCK = 64


@dataclass(frozen=True)
class MapEnsemble:
    """Result of :func:`iterate_map`.

    ``final``: (n_traj,) states after ``n_steps``; ``recorded``: (n_traj, n_rec) states at
    the steps ``record_steps`` (``None`` when nothing was recorded).
    """

    final: np.ndarray
    recorded: np.ndarray | None
    record_steps: np.ndarray | None


@dataclass(frozen=True)
class SGDResult:
    """Result of :func:`sgd_1d` (all arrays of shape (n_traj,) unless stated).

    ``theta``: final parameter (frozen value for diverged trajectories). ``crossings``:
    number of steps ``t > burn_in`` at which ``theta`` moved to the other side of
    ``theta_star`` (``theta_t > theta_star`` differs from ``theta_{t-1} > theta_star``).
    ``loss_final``: population loss at ``theta``. ``loss_mean``, ``loss_min``,
    ``loss_max``: statistics of the population loss over the steps ``t > burn_in`` (NaN
    mean, and +inf / -inf extremes, when there were none). ``diverged``: bool flags;
    ``diverged_at``: step that left the bound, -1 if none. ``recorded``: (n_traj, n_rec)
    values of ``theta`` at ``record_steps`` or ``None``.
    """

    theta: np.ndarray
    crossings: np.ndarray
    loss_final: np.ndarray
    loss_mean: np.ndarray
    loss_min: np.ndarray
    loss_max: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    recorded: np.ndarray | None
    record_steps: np.ndarray | None

    @property
    def n_diverged(self) -> int:
        """Number of diverged trajectories."""
        return int(np.count_nonzero(self.diverged))

    @classmethod
    def from_accumulators(cls, theta, crossings, loss_final, loss_sum, loss_count, loss_min,
                          loss_max, diverged_at, rec, steps) -> SGDResult:
        """The result from the per-trajectory accumulators of an SGD run.

        Every implementation of :func:`sgd_1d` (numba, numpy, torch) ends with it.

        Parameters
        ----------
        theta, crossings, loss_final, loss_min, loss_max, diverged_at : ndarray, (n_traj,)
            As the fields of the same names.
        loss_sum : ndarray of float64, shape (n_traj,)
            Sum of the population loss over the steps ``t > burn_in`` before divergence.
        loss_count : ndarray of int64, shape (n_traj,)
            Number of those steps.
        rec : ndarray, shape (n_traj, n_rec)
            Recorded values (ignored when ``steps`` is ``None``).
        steps : ndarray of int64 or None
            The recorded steps.

        Returns
        -------
        SGDResult
            With ``loss_mean = loss_sum / loss_count``, NaN for diverged trajectories and
            where no step counted, and ``diverged = diverged_at >= 0``.
        """
        diverged = diverged_at >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            loss_mean = loss_sum / loss_count
        loss_mean = np.where(diverged | (loss_count == 0), np.nan, loss_mean)
        return cls(theta, crossings, loss_final, loss_mean, loss_min, loss_max, diverged,
                   diverged_at, rec if steps is not None else None, steps)


# ------------------------------------------------------------------------- random numbers


def uniforms(seed: int, n_traj: int, step: int) -> np.ndarray:
    """The (n_traj,) uniforms in [0, 1) used at ``step`` (1-based) by both implementations."""
    seed = check_stream_seed(seed)
    return uniform_np(keys_np(seed, _check_int("n_traj", n_traj, 1)), _check_int("step", step, 1))


# ----------------------------------------------------------------------- numba kernels


@functools.cache
def _kernels():
    import numba as nb

    streams = numba_functions()  # counter-based streams shared with simulate.sde
    key_of = streams.key
    uniform = streams.uniform
    BLOCK = _BLOCK

    @nb.njit(parallel=True)
    def map_kernel(gamma, z0, n_steps, rec_steps, rec):
        n = gamma.shape[0]
        n_rec = rec_steps.shape[0]
        out = np.empty(n)
        for b in nb.prange((n + BLOCK - 1) // BLOCK):
            lo = b * BLOCK
            k = min(BLOCK, n - lo)
            z = z0[lo:lo + k].copy()
            g = gamma[lo:lo + k].copy()
            r = 0
            if r < n_rec and rec_steps[r] == 0:
                for j in range(k):
                    rec[lo + j, r] = z[j]
                r += 1
            for t in range(1, n_steps + 1):
                for j in range(k):
                    zj = z[j]
                    z[j] = zj + g[j] * zj * (1.0 - zj * zj)
                if r < n_rec and rec_steps[r] == t:
                    for j in range(k):
                        rec[lo + j, r] = z[j]
                    r += 1
            out[lo:lo + k] = z
        return out

    @nb.njit(parallel=True)
    def sgd_kernel(theta_star, eta, x_min, x_max, theta0, n_steps, seed, burn_in, bound, m2,
                   rec_steps, rec, theta_out, crossings, loss_final, loss_sum, loss_count,
                   loss_min, loss_max, diverged_at):
        n = theta0.shape[0]
        n_rec = rec_steps.shape[0]
        ts2 = theta_star * theta_star
        width = x_max - x_min
        seed_u = np.uint64(seed)
        for b in nb.prange((n + BLOCK - 1) // BLOCK):
            lo = b * BLOCK
            k = min(BLOCK, n - lo)
            key = np.empty(k, dtype=np.uint64)
            th = theta0[lo:lo + k].copy()
            side = np.empty(k, dtype=np.bool_)
            cross = np.zeros(k, dtype=np.int64)
            lsum = np.zeros(k)
            lcount = np.zeros(k, dtype=np.int64)
            lmin = np.full(k, np.inf)
            lmax = np.full(k, -np.inf)
            div = np.full(k, -1, dtype=np.int64)
            for j in range(k):
                key[j] = key_of(seed_u, lo + j)
                side[j] = th[j] > theta_star
            r = 0
            if r < n_rec and rec_steps[r] == 0:
                for j in range(k):
                    rec[lo + j, r] = th[j]
                r += 1
            for t in range(1, n_steps + 1):
                after = t > burn_in
                for j in range(k):
                    if div[j] < 0:
                        u = uniform(key[j], t)
                        x = x_min + width * u
                        tj = th[j]
                        new = tj + eta * x * x * tj * (ts2 - tj * tj)
                        if not (abs(new) <= bound):
                            div[j] = t
                        else:
                            th[j] = new
                            new_side = new > theta_star
                            if after:
                                if new_side != side[j]:
                                    cross[j] += 1
                                d = ts2 - new * new
                                loss = 0.25 * m2 * (d * d)
                                lsum[j] += loss
                                lcount[j] += 1
                                if loss < lmin[j]:
                                    lmin[j] = loss
                                if loss > lmax[j]:
                                    lmax[j] = loss
                            side[j] = new_side
                if r < n_rec and rec_steps[r] == t:
                    for j in range(k):
                        rec[lo + j, r] = th[j]
                    r += 1
            for j in range(k):
                d = ts2 - th[j] * th[j]
                theta_out[lo + j] = th[j]
                crossings[lo + j] = cross[j]
                loss_final[lo + j] = 0.25 * m2 * (d * d)
                loss_sum[lo + j] = lsum[j]
                loss_count[lo + j] = lcount[j]
                loss_min[lo + j] = lmin[j]
                loss_max[lo + j] = lmax[j]
                diverged_at[lo + j] = div[j]

    return map_kernel, sgd_kernel


# ---------------------------------------------------------------------------- public API


def iterate_map(gamma, z0, n_steps: int, *, record_every: int | None = None,
                record_start: int = 0) -> MapEnsemble:
    """Iterate ``z <- z + gamma z (1 - z^2)`` ``n_steps`` times for each trajectory.

    ``gamma`` and ``z0``: arrays of shape (n_traj,) (``z0`` may be a scalar), float64. With
    ``record_every = k`` the states at steps ``record_start, record_start + k, ... <=
    n_steps`` (step 0 is ``z0``) are returned in ``recorded`` (n_traj, n_rec). numba,
    parallel over trajectories. No divergence handling: escaping orbits overflow to
    +-inf / NaN (use :func:`sgd_1d` for frozen and counted divergence).
    """
    gamma, z0, n_steps, steps = validate_map(gamma, z0, n_steps, record_every, record_start)
    map_kernel, _ = _kernels()
    rec_steps = steps if steps is not None else np.empty(0, dtype=np.int64)
    rec = np.empty((gamma.shape[0], rec_steps.shape[0]))
    final = map_kernel(gamma, z0, n_steps, rec_steps, rec)
    return MapEnsemble(final, rec if steps is not None else None, steps)


def iterate_map_reference(gamma, z0, n_steps: int, *, record_every: int | None = None,
                          record_start: int = 0) -> MapEnsemble:
    """Vectorised numpy version of :func:`iterate_map` (same operations, same order)."""
    gamma, z0, n_steps, steps = validate_map(gamma, z0, n_steps, record_every, record_start)
    z = z0.copy()
    recs = []
    steps_set = set() if steps is None else {int(s) for s in steps}
    with np.errstate(over="ignore", invalid="ignore"):
        if 0 in steps_set:
            recs.append(z.copy())
        for t in range(1, n_steps + 1):
            z = z + gamma * z * (1.0 - z * z)
            if t in steps_set:
                recs.append(z.copy())
    recorded = np.stack(recs, axis=1) if steps is not None else None
    return MapEnsemble(z, recorded, steps)


def sgd_1d(theta_star: float, eta: float, x_min: float, x_max: float, theta0, n_steps: int,
           seed: int, n_traj: int, *, distribution: str = "uniform", burn_in: int | None = None,
           bound: float | None = None, record_every: int | None = None,
           record_start: int = 0) -> SGDResult:
    """SGD ``theta <- theta + eta x^2 theta (theta_star^2 - theta^2)`` on ``n_traj`` trajectories.

    ``x`` is drawn at every step, independently per trajectory, uniformly on
    ``[x_min, x_max]`` (``distribution="uniform"``, the only one) from the counter-based
    stream of (``seed``, trajectory, step) described in the module docstring: results are
    reproducible and independent of the numba thread count. ``theta0``: scalar or (n_traj,).
    ``burn_in`` (default ``n_steps // 2``): crossings of ``theta_star`` and loss statistics
    are taken over steps ``t > burn_in``. ``bound`` (default ``1e3 theta_star``): a
    trajectory whose update has ``|theta| > bound`` (or non-finite) is frozen and flagged
    (see :class:`SGDResult`). ``record_every``/``record_start`` as in :func:`iterate_map`.
    numba, parallel over trajectories.
    """
    (theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, burn_in, bound, m2,
     steps) = validate_sgd(theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj,
                           distribution, burn_in, bound, record_every, record_start)
    _, sgd_kernel = _kernels()
    rec_steps = steps if steps is not None else np.empty(0, dtype=np.int64)
    rec = np.empty((n_traj, rec_steps.shape[0]))
    theta = np.empty(n_traj)
    crossings = np.empty(n_traj, dtype=np.int64)
    loss_final = np.empty(n_traj)
    loss_sum = np.empty(n_traj)
    loss_count = np.empty(n_traj, dtype=np.int64)
    loss_min = np.empty(n_traj)
    loss_max = np.empty(n_traj)
    diverged_at = np.empty(n_traj, dtype=np.int64)
    sgd_kernel(theta_star, eta, x_min, x_max, theta0, n_steps, seed, burn_in, bound, m2,
               rec_steps, rec, theta, crossings, loss_final, loss_sum, loss_count, loss_min,
               loss_max, diverged_at)
    return SGDResult.from_accumulators(theta, crossings, loss_final, loss_sum, loss_count,
                                       loss_min, loss_max, diverged_at, rec, steps)


def sgd_1d_reference(theta_star: float, eta: float, x_min: float, x_max: float, theta0,
                     n_steps: int, seed: int, n_traj: int, *, distribution: str = "uniform",
                     burn_in: int | None = None, bound: float | None = None,
                     record_every: int | None = None, record_start: int = 0) -> SGDResult:
    """Vectorised numpy version of :func:`sgd_1d` (same random numbers, same operations)."""
    (theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, burn_in, bound, m2,
     steps) = validate_sgd(theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj,
                           distribution, burn_in, bound, record_every, record_start)
    ts2 = theta_star * theta_star
    width = x_max - x_min
    keys = keys_np(seed, n_traj)
    th = theta0.copy()
    side = th > theta_star
    crossings = np.zeros(n_traj, dtype=np.int64)
    loss_sum = np.zeros(n_traj)
    loss_count = np.zeros(n_traj, dtype=np.int64)
    loss_min = np.full(n_traj, np.inf)
    loss_max = np.full(n_traj, -np.inf)
    diverged_at = np.full(n_traj, -1, dtype=np.int64)
    active = np.ones(n_traj, dtype=bool)
    steps_set = set() if steps is None else {int(s) for s in steps}
    recs = [th.copy()] if 0 in steps_set else []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, n_steps + 1):
            x = x_min + width * uniform_np(keys, t)
            new = th + eta * x * x * th * (ts2 - th * th)
            leaving = active & ~(np.abs(new) <= bound)
            diverged_at[leaving] = t
            active &= ~leaving
            th = np.where(active, new, th)
            new_side = th > theta_star
            if t > burn_in:
                crossings += active & (new_side != side)
                d = ts2 - th * th
                loss = 0.25 * m2 * (d * d)
                loss_sum = np.where(active, loss_sum + loss, loss_sum)
                loss_count += active
                loss_min = np.where(active & (loss < loss_min), loss, loss_min)
                loss_max = np.where(active & (loss > loss_max), loss, loss_max)
            side = np.where(active, new_side, side)
            if t in steps_set:
                recs.append(th.copy())
    d = ts2 - th * th
    loss_final = 0.25 * m2 * (d * d)
    rec = np.stack(recs, axis=1) if steps is not None else None
    return SGDResult.from_accumulators(th, crossings, loss_final, loss_sum, loss_count,
                                       loss_min, loss_max, diverged_at, rec, steps)
