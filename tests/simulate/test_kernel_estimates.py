"""Monte Carlo kernel estimates against arc-cosine closed forms written here and a
brute-force jackknife."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from jamming.simulate.features import sphere_inputs
from jamming.simulate.kernel_estimates import monte_carlo_kernels, relative_frobenius_error
from jamming.simulate.networks import DenseNetwork

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("single_threaded")


def arccos_relu(k12, k11, k22):
    """E relu(u) relu(v) and E relu'(u) relu'(v) for (u, v) ~ N(0, [[k11, k12], [k12, k22]])
    (Cho & Saul's arc-cosine kernels of degree 1 and 0)."""
    norm = np.sqrt(k11 * k22)
    theta = np.arccos(np.clip(k12 / norm, -1.0, 1.0))
    degree1 = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    degree0 = (np.pi - theta) / (2 * np.pi)
    return degree1, degree0


def test_depth_one_relu_monte_carlo_matches_arccos_kernels():
    """For one hidden layer the output covariance and the mean empirical NTK equal the
    infinite-width kernels at every width, so the estimates must agree within 4 SE."""
    w_std, b_std, d = 1.5, 0.3, 3
    network = DenseNetwork(d, 32, depth=1, activation="relu", W_std=w_std, bias=True, b_std=b_std)
    x = sphere_inputs(5, d, 11) * np.array([[1.0], [0.5], [2.0], [1.0], [1.3]])
    estimate = monte_carlo_kernels(network, x, 3000, seed=4, network_chunk=700)
    k0 = w_std ** 2 * x @ x.T / d + b_std ** 2
    diagonal = np.diag(k0)
    degree1, degree0 = arccos_relu(k0, diagonal[:, None], diagonal[None, :])
    nngp = w_std ** 2 * degree1 + b_std ** 2
    ntk = nngp + k0 * w_std ** 2 * degree0
    assert estimate.n_networks == 3000 and estimate.outputs.shape == (3000, 5)
    assert estimate.nngp_samples.shape == estimate.ntk_samples.shape == (3000, 5, 5)
    for mean, se, exact in ((estimate.nngp, estimate.nngp_se, nngp),
                            (estimate.ntk, estimate.ntk_se, ntk)):
        assert np.all(se > 0) and np.all(se < 0.05 * np.abs(exact).max())
        assert np.all(np.abs(mean - exact) <= 4 * se), (mean - exact) / se
    # The same networks whatever the chunking; no samples when not asked for.
    again = monte_carlo_kernels(network, x, 50, seed=4, keep_samples=False)
    assert again.nngp_samples is None
    assert_allclose(again.outputs, estimate.outputs[:50], rtol=1e-13)
    assert_allclose(again.ntk, estimate.ntk_samples[:50].mean(axis=0), rtol=1e-12)
    assert_allclose(again.ntk_se, estimate.ntk_samples[:50].std(axis=0, ddof=1)
                    / math.sqrt(50), rtol=1e-10)
    error = relative_frobenius_error(estimate.ntk_samples, ntk)
    assert error.value < 4 * error.noise_floor


def test_relative_frobenius_error_jackknife_by_brute_force():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((12, 3, 4)) + 2.0
    reference = np.full((3, 4), 1.5)
    error = relative_frobenius_error(samples, reference)
    norm = np.linalg.norm(reference)
    assert error.value == pytest.approx(np.linalg.norm(samples.mean(0) - reference) / norm)
    leave_one_out = np.array([np.linalg.norm(np.delete(samples, s, 0).mean(0) - reference)
                              / norm for s in range(12)])
    jackknife = math.sqrt(11 / 12 * ((leave_one_out - leave_one_out.mean()) ** 2).sum())
    assert error.se == pytest.approx(jackknife, rel=1e-10)
    floor = math.sqrt((samples.var(axis=0, ddof=1) / 12).sum()) / norm
    assert error.noise_floor == pytest.approx(floor, rel=1e-12)


def test_function_validation():
    network = DenseNetwork(2, 3)
    x = sphere_inputs(4, 2, 0)
    with pytest.raises(ValueError, match="n_networks must be an integer >= 2"):
        monte_carlo_kernels(network, x, 1, 0)
    with pytest.raises(ValueError, match="samples must have shape"):
        relative_frobenius_error(np.ones((1, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="reference must not be all zero"):
        relative_frobenius_error(np.ones((3, 2, 2)), np.zeros((2, 2)))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    network = DenseNetwork(5, 64, depth=2, activation="relu", W_std=1.4, bias=True, b_std=0.1)
    x = sphere_inputs(40, 5, 0)
    estimate = monte_carlo_kernels(network, x, 4, 2, device="cuda")
    assert_allclose(estimate.ntk, monte_carlo_kernels(network, x, 4, 2).ntk, rtol=1e-11)
