"""The Hessian norm and the lazy-training ratio against dense Hessians, brute-force maxima and
per-sample autograd Jacobians."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize

from jamming.simulate.features import sphere_inputs
from jamming.simulate.lazy import (
    jacobian_operator_norm,
    lazy_training_ratio,
    output_hessian_norm,
)
from jamming.simulate.networks import DenseNetwork, forward, init_networks, network_outputs

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("single_threaded")


def dense_output_hessians(network, params, x):
    """(S, n, P, P): the Hessian of every output with respect to the flat parameters."""
    shapes = network.parameter_shapes()
    hessians = []
    for s in range(params["W1"].shape[0]):
        flat = torch.cat([v[s].reshape(-1) for v in params.values()])

        def outputs(vector):
            pieces, offset = {}, 0
            for name, shape in shapes:
                size = math.prod(shape)
                pieces[name] = vector[offset:offset + size].reshape(1, *shape)
                offset += size
            return forward(network, pieces, torch.as_tensor(x))[0]

        hessians.append(torch.func.jacfwd(torch.func.jacrev(outputs))(flat).numpy())
    return np.stack(hessians)


def brute_force_norm(hessians):
    """max over unit c of ||sum_mu c_mu H_mu||_2 (n = 3): a grid on the sphere, then the
    best grid points refined by a local optimiser."""
    def value(c):
        c = c / np.linalg.norm(c)
        return np.abs(np.linalg.eigvalsh(np.tensordot(c, hessians, 1))).max()

    grid = sphere_inputs(3000, hessians.shape[0], 0)
    values = np.abs(np.linalg.eigvalsh(np.tensordot(grid, hessians, 1))).max(axis=1)
    starts = grid[np.argsort(values)[-5:]]
    return max(-optimize.minimize(lambda c: -value(c), start, method="Nelder-Mead",
                                  options={"xatol": 1e-12, "fatol": 1e-15}).fun
               for start in starts)


@pytest.mark.parametrize("network", [
    DenseNetwork(3, 4, depth=1, activation="tanh", W_std=1.3, bias=True, b_std=0.5),
    DenseNetwork(2, 3, depth=2, activation="erf", W_std=1.5, bias=True, b_std=0.2),
    DenseNetwork(3, 4, depth=1, activation="relu", W_std=1.2),
], ids=str)
def test_hessian_power_iteration_matches_dense_hessian(network):
    params = init_networks(network, 7, n_networks=2)
    x = sphere_inputs(3, network.input_dim, 8)
    hessians = dense_output_hessians(network, params, x)
    result = output_hessian_norm(network, params, x, n_starts=6, tol=1e-11,
                                 max_iterations=2000)
    assert result.norm.shape == (2,) and result.output_direction.shape == (2, 3)
    for s in range(2):
        assert result.norm[s] == pytest.approx(brute_force_norm(hessians[s]), rel=1e-6)
        assert np.linalg.norm(result.output_direction[s]) == pytest.approx(1.0)
    # One input: the spectral norm of the single Hessian.
    single = output_hessian_norm(network, params, x[:1], n_starts=1, tol=1e-11,
                                 max_iterations=2000)
    exact = [np.abs(np.linalg.eigvalsh(hessians[s, 0])).max() for s in range(2)]
    assert_allclose(single.norm, exact, rtol=1e-6)


def test_lazy_training_ratio_from_its_factors():
    network = DenseNetwork(3, 5, depth=1, activation="tanh", bias=True, b_std=0.3)
    params = init_networks(network, 1, n_networks=2)
    x = sphere_inputs(4, 3, 2)
    y = np.array([1.0, -1.0, 0.5, 0.0])
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(
        forward(network, {k: v[s] for k, v in leaves.items()}, torch.as_tensor(x[i])),
        list(leaves.values()))])
        for s in range(2) for i in range(4)
        for leaves in [{k: v.clone().requires_grad_(True) for k, v in params.items()}]]
    jacobians = torch.stack(rows).reshape(2, 4, -1).numpy()
    singular = np.linalg.svd(jacobians, compute_uv=False)[:, 0]
    assert_allclose(jacobian_operator_norm(network, params, x), singular, rtol=1e-12)
    ratio = lazy_training_ratio(network, params, x, y, tol=1e-12, max_iterations=2000)
    residual = np.linalg.norm(network_outputs(network, params, x) - y, axis=1)
    assert_allclose(ratio.residual_norm, residual, rtol=1e-14)
    assert_allclose(ratio.jacobian_norm, singular, rtol=1e-12)
    assert_allclose(ratio.kappa, residual * ratio.hessian_norm / singular ** 2, rtol=1e-14)


def test_function_validation():
    network = DenseNetwork(2, 3)
    params = init_networks(network, 0, n_networks=2)
    x = sphere_inputs(4, 2, 0)
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        output_hessian_norm(network, params, x, tol=0.0)
    with pytest.raises(ValueError, match="targets must be finite with shape"):
        lazy_training_ratio(network, params, x, np.zeros(3))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    network = DenseNetwork(5, 64, depth=2, activation="relu", W_std=1.4, bias=True, b_std=0.1)
    x = sphere_inputs(40, 5, 0)
    cuda_params = init_networks(network, 1, n_networks=3, device="cuda")
    assert cuda_params["W1"].device.type == "cuda"
    assert output_hessian_norm(network, cuda_params, x[:5], max_iterations=5).norm.shape == (3,)
