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
    shallow_output_hessian_norm,
    shallow_relu_hessian_norm,
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


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_shallow_relu_hessian_norm_against_dense_hessians(parameterization):
    """The closed form: for every c, ||H(c)|| = c1 c2 max_i ||X_{S_i}^T c|| (dense Hessians),
    its maximiser (the top singular vector of the best active set) attains the formula, and
    power iteration never exceeds it."""
    network = DenseNetwork(3, 5, activation="relu", W_std=1.5,
                           parameterization=parameterization)
    params = init_networks(network, 11, 3)
    x = sphere_inputs(6, 3, np.random.default_rng(12))
    hessians = dense_output_hessians(network, params, x)
    exact = shallow_relu_hessian_norm(network, params, x)
    first, second = network.layer_scales()
    rng = np.random.default_rng(13)
    for s in range(3):
        active = (x @ params["W1"][s].numpy()) > 0
        for c in rng.standard_normal((5, 6)):
            c /= np.linalg.norm(c)
            dense = np.linalg.norm(np.einsum("m,mab->ab", c, hessians[s]), ord=2)
            blocks = max(np.linalg.norm(x[active[:, i]].T @ c[active[:, i]])
                         for i in range(5))
            assert_allclose(dense, first.weight * second.weight * blocks, rtol=1e-10)
        best = max(range(5), key=lambda i: np.linalg.norm(x[active[:, i]], ord=2)
                   if active[:, i].any() else 0.0)
        c = np.zeros(6)
        c[active[:, best]] = np.linalg.svd(x[active[:, best]])[0][:, 0]
        attained = np.linalg.norm(np.einsum("m,mab->ab", c, hessians[s]), ord=2)
        assert_allclose(attained, exact[s], rtol=1e-10)
    power = output_hessian_norm(network, params, x, n_starts=3, tol=1e-12).norm
    assert np.all(power <= exact * (1 + 1e-9))


def test_shallow_relu_hessian_norm_needs_a_shallow_relu_network():
    with pytest.raises(ValueError, match="depth-1 ReLU network without biases"):
        network = DenseNetwork(3, 4, activation="erf")
        shallow_relu_hessian_norm(network, init_networks(network, 0), np.ones((2, 3)))


@pytest.mark.parametrize("activation, parameterization", [("erf", "ntk"), ("erf", "standard"),
                                                          ("tanh", "ntk"),
                                                          ("relu", "standard")])
def test_neuron_by_neuron_hessian_norm_against_dense_hessians(activation, parameterization):
    """The block-diagonal maximisation equals the brute-force maximum over c of the dense
    Hessians (n = 3 inputs), and is never below the power iteration over all parameters."""
    network = DenseNetwork(3, 4, activation=activation, W_std=1.4,
                           parameterization=parameterization)
    params = init_networks(network, 21, 2)
    x = sphere_inputs(3, 3, np.random.default_rng(22))
    hessians = dense_output_hessians(network, params, x)
    blocks = shallow_output_hessian_norm(network, params, x, n_starts=16)
    for s in range(2):
        assert blocks[s] == pytest.approx(brute_force_norm(hessians[s]), rel=1e-6)
    power = output_hessian_norm(network, params, x, n_starts=3, tol=1e-12).norm
    assert np.all(power <= blocks * (1 + 1e-9))


def test_neuron_by_neuron_hessian_norm_is_the_relu_closed_form_at_large_width():
    network = DenseNetwork(4, 512, activation="relu", W_std=1.5)
    params = init_networks(network, 3, 2)
    x = sphere_inputs(8, 4, np.random.default_rng(4))
    assert_allclose(shallow_output_hessian_norm(network, params, x),
                    shallow_relu_hessian_norm(network, params, x), rtol=1e-9)
    with pytest.raises(ValueError, match="depth-1 network without biases"):
        deep = DenseNetwork(3, 4, depth=2, activation="erf")
        shallow_output_hessian_norm(deep, init_networks(deep, 0), np.ones((2, 3)))
