"""Spectra of random-feature Gram matrices (S3, Pennington–Worah).

With :math:`W\\in\\mathbb{R}^{n_1\\times n_0}` and :math:`X\\in\\mathbb{R}^{n_0\\times m}` of
i.i.d. :math:`N(0,1)` entries, :math:`Y = f(WX/\\sqrt{n_0})` (entrywise) and
:math:`M = YY^\\top/m` (:math:`n_1\\times n_1`); :math:`\\phi = n_0/m`,
:math:`\\psi = n_0/n_1`. The activation is centred for :math:`z\\sim N(0,1)`; ``tanh`` is odd,
so it stays centred whatever the scale of its argument (the row and column norms of
:math:`W` and :math:`X` fluctuate at finite size).
"""

from __future__ import annotations

import numpy as np

from jamming.simulate.activations import check_activation, numpy_activation

#: Centred activations (E f(z) = 0 for z ~ N(0, 1)), names of
#: :data:`jamming.simulate.activations.ACTIVATIONS`.
ACTIVATIONS = ("tanh",)


def random_feature_eigenvalues(n0: int, n1: int, m: int, activation: str,
                               rng: np.random.Generator) -> np.ndarray:
    """Increasing eigenvalues of :math:`M = YY^\\top/m` for one draw of :math:`W, X`.

    The smaller of :math:`YY^\\top` and :math:`Y^\\top Y` is diagonalised (float64); when
    :math:`m < n_1` the :math:`n_1 - m` eigenvalues that vanish by rank are returned as exact
    zeros.

    Returns
    -------
    numpy.ndarray, shape (n1,)
    """
    f = numpy_activation(check_activation(activation, ACTIVATIONS))
    weights = rng.standard_normal((n1, n0))
    inputs = rng.standard_normal((n0, m))
    features = f(weights @ inputs / np.sqrt(n0))
    gram = features @ features.T if n1 <= m else features.T @ features
    values = np.linalg.eigvalsh(gram / m)
    return np.concatenate([np.zeros(n1 - values.size), values])
