"""Plain numpy simulators for the tests of :mod:`theory.sde` (theory holds no simulators)."""

from __future__ import annotations

import math

import numpy as np


def simulate_sgd_quadratic(n_steps: int, eta: float, a: float, sigma: float, theta0: float,
                           n_paths: int, rng: np.random.Generator) -> np.ndarray:
    r"""``n_paths`` SGD runs :math:`\theta \leftarrow \theta - \eta a(\theta - \sigma\xi)`,
    :math:`\xi\sim N(0,1)`; returns :math:`\theta_n` (shape ``(n_paths,)``)."""
    th = np.full(n_paths, float(theta0))
    for _ in range(n_steps):
        th = th - eta * a * (th - sigma * rng.standard_normal(n_paths))
    return th


def euler_maruyama(drift, diffusion, x0, dt: float, n_steps: int,
                   rng: np.random.Generator) -> np.ndarray:
    r"""Euler–Maruyama for the scalar SDE :math:`dX = b(X)dt + s(X)dW` on an ensemble.

    ``drift`` and ``diffusion`` are vectorised callables, ``x0`` one initial point per path;
    returns :math:`X` after ``n_steps`` steps of size ``dt``.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    sq = math.sqrt(dt)
    for _ in range(n_steps):
        x = x + drift(x) * dt + diffusion(x) * sq * rng.standard_normal(x.shape)
    return x
