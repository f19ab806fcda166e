r"""Input validation and argument packing shared by the one-dimensional ensembles.

The numba ensembles of :mod:`jamming.simulate.maps` and :mod:`jamming.simulate.sde`, their
numpy references and their torch twins in :mod:`jamming.simulate.torch_ensembles` validate
their arguments here, so that every implementation accepts the same inputs, raises the same
errors with the same messages and hands its kernel the same normalised values.

* :func:`as_traj_array`, :func:`record_steps` -- the per-trajectory array and the recorded
  steps, the two building blocks;
* :func:`validate_map`, :func:`validate_sgd` -- :func:`~jamming.simulate.maps.iterate_map`
  and :func:`~jamming.simulate.maps.sgd_1d`;
* :func:`validate_coupled` -- :func:`~jamming.simulate.sde.sme_coupled_paths` and the
  Euler factors of its coupled SGD/SME updates;
* :func:`label_noise_sde_args`, :func:`label_noise_sgd_args` -- the label-noise SDE and SGD
  of :mod:`jamming.simulate.sde`, packed into the argument tuple of their common kernel.

Errors are ``TypeError``/``ValueError`` naming the parameter, its value and the allowed
range (:mod:`jamming.validation`).
"""

from __future__ import annotations

import math

import numpy as np

from jamming.simulate.random_streams import check_stream_seed
from jamming.validation import check_count as _check_int
from jamming.validation import check_finite as _check_finite
from jamming.validation import check_nonnegative, check_positive

#: The laws of the sample ``x`` implemented by :func:`jamming.simulate.maps.sgd_1d`.
DISTRIBUTIONS = ("uniform",)


def record_steps(n_steps: int, record_every, record_start: int) -> np.ndarray | None:
    """The steps ``record_start, record_start + record_every, ... <= n_steps`` to record.

    Parameters
    ----------
    n_steps : int
        Number of steps of the run (already validated, >= 0).
    record_every : int or None
        Recording interval, >= 1; ``None`` records nothing.
    record_start : int
        First recorded step, in [0, n_steps] (step 0 is the initial state).

    Returns
    -------
    ndarray of int64, shape (n_rec,), or None
        ``None`` when ``record_every`` is ``None``.
    """
    if record_every is None:
        return None
    record_every = _check_int("record_every", record_every, 1)
    record_start = _check_int("record_start", record_start, 0)
    if record_start > n_steps:
        raise ValueError(f"record_start must be <= n_steps = {n_steps}, got {record_start}")
    return np.arange(record_start, n_steps + 1, record_every, dtype=np.int64)


def as_traj_array(name: str, value, n_traj: int | None) -> np.ndarray:
    """``value`` as a finite, C-contiguous float64 array of shape (n_traj,).

    Parameters
    ----------
    name : str
        Parameter name, for the error messages.
    value : float or array_like
        A scalar (broadcast to ``n_traj`` entries when ``n_traj`` is given) or a 1-D array.
    n_traj : int or None
        The required length; ``None`` accepts any 1-D array (and no scalar).

    Returns
    -------
    ndarray of float64, shape (n_traj,)
    """
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0 and n_traj is not None:
        array = np.full(n_traj, float(array))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of shape (n_traj,), got shape {array.shape}")
    if n_traj is not None and array.shape[0] != n_traj:
        raise ValueError(f"{name} must have shape ({n_traj},), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return np.ascontiguousarray(array)


def validate_map(gamma, z0, n_steps, record_every, record_start):
    """Validated arguments of :func:`jamming.simulate.maps.iterate_map`.

    Returns
    -------
    gamma : ndarray, shape (n_traj,)
    z0 : ndarray, shape (n_traj,)
        A scalar ``z0`` is broadcast to the length of ``gamma``.
    n_steps : int
    steps : ndarray of int64 or None
        The recorded steps (:func:`record_steps`).
    """
    gamma = as_traj_array("gamma", gamma, None)
    z0 = as_traj_array("z0", z0, gamma.shape[0])
    n_steps = _check_int("n_steps", n_steps, 0)
    steps = record_steps(n_steps, record_every, record_start)
    return gamma, z0, n_steps, steps


def validate_sgd(theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, distribution,
                 burn_in, bound, record_every, record_start):
    """Validated arguments of :func:`jamming.simulate.maps.sgd_1d`, with its defaults filled.

    Returns
    -------
    tuple
        ``(theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, burn_in, bound, m2,
        steps)``: ``theta0`` of shape (n_traj,), ``burn_in`` defaulting to ``n_steps // 2``,
        ``bound`` to ``1e3 theta_star``, ``m2 = E[x^2]`` of the uniform law on
        ``[x_min, x_max]`` and ``steps`` the recorded steps (:func:`record_steps`).
    """
    theta_star = check_positive("theta_star", theta_star)
    eta = check_positive("eta", eta)
    x_min = _check_finite("x_min", x_min)
    x_max = _check_finite("x_max", x_max)
    if not x_min <= x_max:
        raise ValueError(f"x_min must be <= x_max, got x_min={x_min}, x_max={x_max}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    n_steps = _check_int("n_steps", n_steps, 0)
    n_traj = _check_int("n_traj", n_traj, 1)
    seed = check_stream_seed(seed)
    theta0 = as_traj_array("theta0", theta0, n_traj)
    burn_in = n_steps // 2 if burn_in is None else _check_int("burn_in", burn_in, 0)
    bound = 1e3 * theta_star if bound is None else check_positive("bound", bound)
    if np.any(np.abs(theta0) > bound):
        raise ValueError(f"theta0 must satisfy |theta0| <= bound = {bound}")
    steps = record_steps(n_steps, record_every, record_start)
    m2 = (x_min * x_min + x_min * x_max + x_max * x_max) / 3.0  # E[x^2], uniform law
    return (theta_star, eta, x_min, x_max, theta0, n_steps, seed, n_traj, burn_in, bound, m2,
            steps)


def validate_coupled(eta, n_steps, a, sigma, theta0, n_paths, seed, substeps):
    r"""Validated arguments of :func:`jamming.simulate.sde.sme_coupled_paths` and its factors.

    Requires :math:`\eta a < 2` (stable SGD) and :math:`(a + \eta a^2/2)\,\eta/m < 2`
    (stable Euler–Maruyama at the coarse level, ``m = substeps``).

    Returns
    -------
    theta0 : ndarray, shape (n_paths,)
    n_steps, seed, substeps : int
    coef : tuple of 8 floats
        ``(a dt, a dt/2, b dt, b dt/2, sqrt(eta) a sigma sqrt(dt/2), eta a, sigma,
        1/sqrt(2m))`` with ``dt = eta/m`` and ``b = a + eta a^2/2``: the coarse and fine
        Euler factors of the SMEs of order 1 and 2, the fine noise scale and the SGD factors.
    """
    eta = check_positive("eta", eta)
    a = check_positive("a", a)
    sigma = check_nonnegative("sigma", sigma)
    if not eta * a < 2.0:
        raise ValueError(f"eta * a must be < 2 (stable SGD), got eta={eta}, a={a}")
    n_steps = _check_int("n_steps", n_steps, 0)
    n_paths = _check_int("n_paths", n_paths, 1)
    seed = check_stream_seed(seed)
    substeps = _check_int("substeps", substeps, 1)
    b2 = a + 0.5 * eta * a * a
    dt = eta / substeps
    if not b2 * dt < 2.0:
        raise ValueError(f"substeps must make (a + eta a^2/2) eta / substeps < 2 (stable "
                         f"Euler-Maruyama), got substeps={substeps}")
    theta0 = as_traj_array("theta0", theta0, n_paths)
    # Euler factors (1 - b dt) enter as x - (b dt) x; coarse dt = eta/m, fine dt = eta/(2m)
    fine = 0.5 * dt
    coef = (a * dt, a * fine, b2 * dt, b2 * fine, math.sqrt(eta) * a * sigma * math.sqrt(fine),
            eta * a, sigma, 1.0 / math.sqrt(2 * substeps))
    return theta0, n_steps, seed, substeps, coef


def _validate_label_noise(theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound,
                          record_every, record_start):
    theta_star = check_positive("theta_star", theta_star)
    eta = check_positive("eta", eta)
    delta = check_nonnegative("delta", delta)
    n_steps = _check_int("n_steps", n_steps, 0)
    n_paths = _check_int("n_paths", n_paths, 1)
    seed = check_stream_seed(seed)
    theta0 = as_traj_array("theta0", theta0, n_paths)
    bound = 1e3 * theta_star if bound is None else check_positive("bound", bound)
    if np.any(np.abs(theta0) > bound):
        raise ValueError(f"theta0 must satisfy |theta0| <= bound = {bound}")
    steps = record_steps(n_steps, record_every, record_start)
    return theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound, steps


def label_noise_sde_args(theta_star, eta, delta, m2, theta0, dt, n_steps, n_paths, seed, bound,
                         record_every, record_start):
    r"""Kernel arguments of :func:`jamming.simulate.sde.label_noise_sde_1d`, validated.

    The Euler–Maruyama step is the label-noise kernel's update with the fixed sample
    :math:`x = \sqrt{m_2}`, drift factor ``2 dt`` and noise factor ``2 sqrt(eta delta dt)``.

    Returns
    -------
    args : tuple
        ``(theta_star, drift_c, noise_c, x_lo, width, random_x, theta0, n_steps, seed,
        bound)`` with ``x_lo = sqrt(m2)``, ``width = 0``, ``random_x = False``,
        ``theta0`` of shape (n_paths,) and ``bound`` defaulting to ``1e3 theta_star``.
    steps : ndarray of int64 or None
        The recorded steps (:func:`record_steps`).
    """
    m2 = check_positive("m2", m2)
    dt = check_positive("dt", dt)
    theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound, steps = \
        _validate_label_noise(theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound,
                              record_every, record_start)
    return (theta_star, 2.0 * dt, 2.0 * math.sqrt(eta * delta * dt), math.sqrt(m2), 0.0, False,
            theta0, n_steps, seed, bound), steps


def label_noise_sgd_args(theta_star, eta, delta, x_min, x_max, theta0, n_steps, n_paths, seed,
                         bound, record_every, record_start):
    r"""Kernel arguments of :func:`jamming.simulate.sde.label_noise_sgd_1d`, validated.

    One SGD step is the label-noise kernel's update with drift factor ``2 eta``, noise factor
    ``2 eta sqrt(delta)`` and :math:`x_t` uniform on ``[x_min, x_max]`` (fixed when
    ``x_min == x_max``).

    Returns
    -------
    args : tuple
        ``(theta_star, drift_c, noise_c, x_lo, width, random_x, theta0, n_steps, seed,
        bound)`` with ``x_lo = x_min``, ``width = x_max - x_min``, ``random_x = x_max >
        x_min``, ``theta0`` of shape (n_paths,) and ``bound`` defaulting to
        ``1e3 theta_star``.
    steps : ndarray of int64 or None
        The recorded steps (:func:`record_steps`).
    """
    x_min = _check_finite("x_min", x_min)
    x_max = _check_finite("x_max", x_max)
    if not x_min <= x_max:
        raise ValueError(f"x_min must be <= x_max, got x_min={x_min}, x_max={x_max}")
    theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound, steps = \
        _validate_label_noise(theta_star, eta, delta, theta0, n_steps, n_paths, seed, bound,
                              record_every, record_start)
    return (theta_star, 2.0 * eta, 2.0 * eta * math.sqrt(delta), x_min, x_max - x_min,
            x_max > x_min, theta0, n_steps, seed, bound), steps
