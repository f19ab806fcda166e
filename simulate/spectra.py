"""Gram spectra of random Gaussian features: the smallest non-zero eigenvalue (S1, S3)."""

from __future__ import annotations

import numpy as np


def smallest_nonzero_gram_eigenvalue(features: np.ndarray) -> float:
    """Smallest non-zero eigenvalue of ``K / n_eff`` with ``K = features @ features.T``.

    The non-zero spectrum of ``Phi Phi^T`` equals that of ``Phi^T Phi``; the smaller of the two
    (size ``min(n_data, n_eff)``) is diagonalised, so for Gaussian features (full rank with
    probability 1) its smallest eigenvalue is the smallest non-zero one.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_data, n_eff)
    """
    n_data, n_eff = features.shape
    gram = features.T @ features if n_data >= n_eff else features @ features.T
    return float(np.linalg.eigvalsh(gram / n_eff)[0])
