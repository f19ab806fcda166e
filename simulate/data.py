"""Synthetic data sets: features and labels, each drawn from an explicit generator."""

from __future__ import annotations

import numpy as np


def gaussian_features(n_data: int, n_eff: int, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. standard normal features (points in general position with probability 1).

    Parameters
    ----------
    n_data, n_eff : int
        Number of points and feature dimension.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (n_data, n_eff), float64
    """
    return rng.standard_normal((n_data, n_eff))


def random_labels(n_data: int, rng: np.random.Generator) -> np.ndarray:
    """Independent uniform labels in {-1, +1}.

    Returns
    -------
    numpy.ndarray, shape (n_data,), float64
    """
    return rng.choice(np.array([-1.0, 1.0]), size=n_data)
