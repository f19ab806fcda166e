"""Gram spectra of sampled data (S1, S3).

The smallest non-zero eigenvalue of Gram matrices of random Gaussian features (S1's hard
edge), and the spectra of kernel and random-feature Gram matrices of points on the sphere
(S3's Mercer eigenvalues and random-matrix spectra).
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.features import random_features, sphere_inputs
from jamming.validation import check_count


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


def kernel_gram_spectrum(kernel, n_data: int, input_dim: int, seed: int) -> np.ndarray:
    r"""Eigenvalues of the Gram matrix :math:`K(x_\mu, x_\nu)` of points on the sphere.

    The points are :func:`~jamming.simulate.features.sphere_inputs` (radius
    :math:`\sqrt d`) with ``rng = seed``. For a dot-product kernel with Mercer eigenvalues
    :math:`\mu_k` (multiplicity :math:`N(d,k)`) with respect to the uniform measure,
    :math:`\lambda_i(K)/n` converge to the :math:`\mu_k` as :math:`n\to\infty`.

    Parameters
    ----------
    kernel : callable
        ``kernel(x1, x2)`` with arrays of shapes ``(n1, d)`` and ``(n2, d)`` returning an
        array of shape ``(n1, n2)`` (e.g. a closed form, or the mean of
        :func:`.monte_carlo_kernels` wrapped in a lambda).
    n_data : int
        :math:`n \ge 1`.
    input_dim : int
        :math:`d \ge 1`.
    seed : int
        Seed of the points.

    Returns
    -------
    numpy.ndarray, shape (n_data,)
        The eigenvalues of the (symmetrised) Gram matrix, in decreasing order.
    """
    if not callable(kernel):
        raise TypeError(f"kernel must be callable; got {type(kernel).__name__}")
    seed = check_count("seed", seed, minimum=0)
    inputs = sphere_inputs(n_data, input_dim, seed)
    gram = np.asarray(kernel(inputs, inputs), dtype=np.float64)
    if gram.shape != (inputs.shape[0],) * 2 or not np.all(np.isfinite(gram)):
        raise ValueError(f"kernel(x, x) must return a finite array of shape "
                         f"{(inputs.shape[0],) * 2}; got shape {gram.shape}")
    return np.linalg.eigvalsh(0.5 * (gram + gram.T))[::-1].copy()


def random_feature_gram_spectrum(n_data: int, input_dim: int, n_features: int, seed: int, *,
                                 activation: str = "relu") -> np.ndarray:
    r"""Eigenvalues of the random-feature Gram matrix :math:`\Phi\Phi^\top/N_f`.

    ``rng = numpy.random.default_rng(seed)`` draws the points
    (:func:`~jamming.simulate.features.sphere_inputs`) and then the weights of
    :func:`~jamming.simulate.features.random_features`:
    :math:`\Phi_{\mu i} = \sigma(w_i\cdot x_\mu/\sqrt d)`, :math:`w_i\sim N(0, I_d)`. As
    :math:`N_f\to\infty`, :math:`\Phi\Phi^\top/N_f` tends to the kernel
    :math:`\mathbb{E}_w\sigma(w\cdot x/\sqrt d)\sigma(w\cdot x'/\sqrt d)`; in the proportional
    limit (:math:`n, N_f, d\to\infty`) its spectrum is that of Pennington–Worah /
    Louart–Liao–Couillet (Marchenko–Pastur for ``identity``). For :math:`N_f < n` the last
    :math:`n - N_f` eigenvalues are zero to rounding; the non-zero eigenvalues of
    :math:`\Phi^\top\Phi/n` are these times :math:`N_f/n`.

    Parameters
    ----------
    n_data, input_dim, n_features : int
        :math:`n, d, N_f \ge 1`.
    seed : int
    activation : {"relu", "tanh", "erf", "identity"}
        As in :func:`~jamming.simulate.features.random_features`.

    Returns
    -------
    numpy.ndarray, shape (n_data,)
        In decreasing order.
    """
    seed = check_count("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    inputs = sphere_inputs(n_data, input_dim, rng)
    features = random_features(inputs, n_features, rng, activation=activation)
    return np.linalg.eigvalsh(features @ features.T / features.shape[1])[::-1].copy()
