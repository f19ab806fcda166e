"""Gram spectra against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from jamming.simulate.features import random_features, sphere_inputs
from jamming.simulate.spectra import kernel_gram_spectrum, random_feature_gram_spectrum


def test_kernel_gram_spectrum_of_the_linear_kernel():
    eigenvalues = kernel_gram_spectrum(lambda a, b: a @ b.T / a.shape[1], 40, 5, seed=3)
    assert eigenvalues.shape == (40,) and np.all(np.diff(eigenvalues) <= 1e-12)
    assert eigenvalues.sum() == pytest.approx(40.0)  # trace: |x|^2 / d = 1 per point
    assert np.count_nonzero(eigenvalues > 1e-10) == 5
    x = sphere_inputs(40, 5, 3)
    assert_allclose(eigenvalues, np.linalg.eigvalsh(x @ x.T / 5)[::-1], atol=1e-12)


def test_random_feature_gram_spectrum_matches_direct_draws():
    rng = np.random.default_rng(6)
    x = sphere_inputs(30, 4, rng)
    phi = random_features(x, 20, rng, activation="erf")
    direct = np.linalg.eigvalsh(phi @ phi.T / 20)[::-1]
    ours = random_feature_gram_spectrum(30, 4, 20, 6, activation="erf")
    assert_allclose(ours, direct, atol=1e-12)
    assert np.all(np.abs(ours[20:]) < 1e-12)
    linear = random_feature_gram_spectrum(30, 4, 20, 6, activation="identity")
    assert np.count_nonzero(linear > 1e-10) == 4


def test_function_validation():
    with pytest.raises(TypeError, match="kernel must be callable"):
        kernel_gram_spectrum(np.eye(3), 3, 2, 0)
