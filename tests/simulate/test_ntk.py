"""Finite-network kernels against independent computations: per-sample autograd loops, a numpy
forward pass, arc-cosine closed forms written here, dense Hessians and brute-force maxima."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize
from scipy.special import erf

from jamming.simulate.features import random_features, sphere_inputs
from jamming.simulate.ntk import (
    ACTIVATIONS,
    NTK_METHODS,
    DenseNetwork,
    empirical_ntk,
    empirical_ntk_loop,
    forward,
    init_networks,
    jacobian_operator_norm,
    kernel_gram_spectrum,
    lazy_training_ratio,
    monte_carlo_kernels,
    network_outputs,
    output_hessian_norm,
    random_feature_gram_spectrum,
    relative_frobenius_error,
    train_kernel_drift,
)

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("single_threaded")

NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "erf": erf,
    "tanh": np.tanh,
    "identity": lambda z: z,
    "abs": np.abs,
    "sin": np.sin,
    "gelu": lambda z: 0.5 * z * (1.0 + erf(z / math.sqrt(2.0))),
}


def numpy_forward(network: DenseNetwork, params: dict, x: np.ndarray) -> np.ndarray:
    """stax.serial(*[Dense, act] * depth, Dense) written again from the formulas, (S, n)."""
    act = NUMPY_ACTIVATIONS[network.activation]
    outputs = []
    for s in range(params["W1"].shape[0]):
        hidden = x
        for layer in range(1, network.depth + 2):
            weights = params[f"W{layer}"][s].cpu().numpy()
            z = network.w_std / math.sqrt(hidden.shape[1]) * np.einsum("nj,jk->nk", hidden,
                                                                       weights)
            if network.b_std is not None:
                z = z + network.b_std * params[f"b{layer}"][s].cpu().numpy()
            hidden = act(z) if layer <= network.depth else z
        outputs.append(hidden[:, 0])
    return np.stack(outputs)


NETWORKS = [
    DenseNetwork(3, 5, depth=0, activation="relu", w_std=1.2, b_std=0.4),
    DenseNetwork(4, 6, depth=1, activation="relu"),
    DenseNetwork(4, 6, depth=1, activation="erf", w_std=1.5, b_std=0.3),
    DenseNetwork(3, 5, depth=2, activation="relu", w_std=2.0, b_std=0.5),
    DenseNetwork(3, 5, depth=2, activation="tanh", b_std=0.0),
    DenseNetwork(2, 4, depth=3, activation="gelu", w_std=1.3, b_std=0.2),
    DenseNetwork(3, 4, depth=2, activation="sin", w_std=0.8),
    DenseNetwork(3, 4, depth=1, activation="abs", b_std=1.0),
    DenseNetwork(3, 4, depth=2, activation="identity", b_std=0.1),
]


# -- network ---------------------------------------------------------------------------------


def test_parameter_shapes_follow_stax():
    network = DenseNetwork(3, 5, depth=2, b_std=0.1)
    assert network.parameter_shapes() == [("W1", (3, 5)), ("b1", (5,)), ("W2", (5, 5)),
                                          ("b2", (5,)), ("W3", (5, 1)), ("b3", (1,))]
    assert network.n_parameters == 15 + 5 + 25 + 5 + 5 + 1
    assert [name for name, _ in DenseNetwork(3, 5).parameter_shapes()] == ["W1", "W2"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_depth_two_network_matches_numpy(activation):
    network = DenseNetwork(4, 7, depth=2, activation=activation, w_std=1.4, b_std=0.3)
    params = init_networks(network, 5, n_networks=3)
    x = sphere_inputs(6, 4, 1) * 1.7  # not on the sphere: inputs are not normalised
    ours = network_outputs(network, params, x)
    assert ours.shape == (3, 6) and ours.dtype == np.float64
    assert_allclose(ours, numpy_forward(network, params, x), rtol=1e-13, atol=1e-14)


def test_networks_are_drawn_from_per_network_seeds():
    network = DenseNetwork(3, 4, depth=1, b_std=0.5)
    all_three = init_networks(network, 9, n_networks=3)
    last = init_networks(network, 9, n_networks=1, first=2)
    rng = np.random.default_rng(np.random.SeedSequence(9, spawn_key=(1,)))
    for name, shape in network.parameter_shapes():
        assert all_three[name].dtype == torch.float64
        assert torch.equal(all_three[name][2:], last[name])
        assert_allclose(all_three[name][1].numpy(), rng.standard_normal(shape), rtol=0)
    assert not torch.equal(all_three["W1"][0], all_three["W1"][1])


# -- empirical NTK -----------------------------------------------------------------------------


@pytest.mark.parametrize("network", NETWORKS, ids=str)
@pytest.mark.parametrize("method", NTK_METHODS)
def test_batched_ntk_equals_per_sample_autograd_loop(network, method):
    params = init_networks(network, 2, n_networks=3)
    x = sphere_inputs(7, network.input_dim, 3)
    x2 = 1.5 * sphere_inputs(5, network.input_dim, 4)
    for second in (None, x2):
        reference = empirical_ntk_loop(network, params, x, second)
        ours = empirical_ntk(network, params, x, second, method=method)
        assert ours.shape == reference.shape == (3, 7, 7 if second is None else 5)
        scale = np.abs(reference).max()
        assert np.abs(ours - reference).max() <= 1e-12 * scale
        chunked = empirical_ntk(network, params, x, second, method=method, network_chunk=2,
                                input_chunk=3)
        assert np.abs(chunked - reference).max() <= 1e-12 * scale
    symmetric = empirical_ntk(network, params, x, method=method)
    assert np.array_equal(symmetric, np.swapaxes(symmetric, 1, 2))


def test_loop_reference_matches_finite_differences():
    """The anchor itself: its Jacobian rows are those of the numpy forward pass."""
    network = DenseNetwork(2, 3, depth=2, activation="tanh", w_std=1.3, b_std=0.4)
    params = init_networks(network, 1)
    x = sphere_inputs(4, 2, 2)
    flat = torch.cat([v[0].reshape(-1) for v in params.values()]).numpy()
    shapes = network.parameter_shapes()

    def outputs(vector):
        pieces, offset = {}, 0
        for name, shape in shapes:
            size = math.prod(shape)
            pieces[name] = torch.as_tensor(vector[offset:offset + size].reshape(1, *shape))
            offset += size
        return numpy_forward(network, pieces, x)[0]

    step = 1e-6
    jacobian = np.stack([(outputs(flat + step * e) - outputs(flat - step * e)) / (2 * step)
                         for e in np.eye(flat.size)], axis=1)
    assert_allclose(empirical_ntk_loop(network, params, x)[0], jacobian @ jacobian.T,
                    rtol=1e-7, atol=1e-8)


def test_ntk_tensor_output_and_device_argument():
    network = DenseNetwork(3, 4, depth=1, b_std=0.2)
    params = init_networks(network, 0, n_networks=2)
    x = torch.as_tensor(sphere_inputs(5, 3, 0))
    kernel = empirical_ntk(network, params, x, device="cpu", to_numpy=False)
    assert isinstance(kernel, torch.Tensor) and kernel.dtype == torch.float64
    assert kernel.shape == (2, 5, 5)


# -- Monte Carlo kernels -----------------------------------------------------------------------


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
    network = DenseNetwork(d, 32, depth=1, activation="relu", w_std=w_std, b_std=b_std)
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


# -- training and drift ------------------------------------------------------------------------


def test_kernel_drift_is_zero_at_start_and_decreases_with_width():
    d, n = 3, 8
    x = sphere_inputs(n, d, 0)
    x_test = sphere_inputs(4, d, 1)
    y = np.sign(x[:, 0])
    finals, gaps = [], []
    for width in (16, 512):
        network = DenseNetwork(d, width, depth=1, activation="relu", w_std=1.4, b_std=0.1)
        params = init_networks(network, 3, n_networks=3)
        before = {name: value.clone() for name, value in params.items()}
        run = train_kernel_drift(network, params, x, y, learning_rate=0.05,
                                 record_at=[0, 10, 100], test_inputs=x_test,
                                 keep_kernels=True)
        assert all(torch.equal(before[name], params[name]) for name in params)
        assert run.drift.shape == run.loss.shape == run.parameter_distance.shape == (3, 3)
        assert run.train_outputs.shape == (3, 3, n) and run.test_outputs.shape == (3, 3, 4)
        assert np.all(run.drift[:, 0] == 0.0) and np.all(run.parameter_distance[:, 0] == 0)
        assert_allclose(run.train_outputs[:, 0], network_outputs(network, params, x))
        assert_allclose(run.kernels[:, 0], run.kernel0)
        assert np.all(run.loss[:, -1] < run.loss[:, 0])
        finals.append(run.drift[:, -1].mean())
        # The linearised model with the initial kernel: f_t = y + (1 - eta K0)^t (f0 - y).
        linear = np.stack([y + np.linalg.matrix_power(np.eye(n) - 0.05 * k, 100)
                           @ (f0 - y) for k, f0 in zip(run.kernel0, run.train_outputs[:, 0],
                                                      strict=True)])
        gaps.append(np.abs(run.train_outputs[:, -1] - linear).max())
    assert finals[1] < 0.5 * finals[0]
    assert gaps[1] < gaps[0]


def test_one_gradient_step_by_hand():
    network = DenseNetwork(2, 3, depth=1, activation="tanh", b_std=0.5)
    params = init_networks(network, 0)
    x, y = sphere_inputs(4, 2, 0), np.arange(4.0)
    run = train_kernel_drift(network, params, x, y, learning_rate=0.1, record_at=[1])
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    outputs = forward(network, leaves, torch.as_tensor(x))
    loss = 0.5 * ((outputs - torch.as_tensor(y)) ** 2).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    stepped = {k: v - 0.1 * g for (k, v), g in zip(params.items(), grads, strict=True)}
    assert_allclose(run.train_outputs[:, 0], network_outputs(network, stepped, x), rtol=1e-13)


# -- Hessian and laziness ----------------------------------------------------------------------


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
    DenseNetwork(3, 4, depth=1, activation="tanh", w_std=1.3, b_std=0.5),
    DenseNetwork(2, 3, depth=2, activation="erf", w_std=1.5, b_std=0.2),
    DenseNetwork(3, 4, depth=1, activation="relu", w_std=1.2),
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
    network = DenseNetwork(3, 5, depth=1, activation="tanh", b_std=0.3)
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


# -- Gram spectra ------------------------------------------------------------------------------


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


# -- validation, imports, CUDA -----------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_dim": 0, "width": 3}, ValueError, "input_dim"),
    ({"input_dim": 2, "width": 2.5}, TypeError, "width"),
    ({"input_dim": 2, "width": 3, "depth": -1}, ValueError, "depth must be an integer >= 0"),
    ({"input_dim": 2, "width": 3, "activation": "softplus"}, ValueError, "activation"),
    ({"input_dim": 2, "width": 3, "w_std": 0.0}, ValueError, "w_std must be a finite number > 0"),
    ({"input_dim": 2, "width": 3, "b_std": -1.0}, ValueError, "b_std must be a finite number >= 0"),
])
def test_network_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        DenseNetwork(**kwargs)


def test_function_validation():
    network = DenseNetwork(2, 3)
    params = init_networks(network, 0, n_networks=2)
    x = sphere_inputs(4, 2, 0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        init_networks(network, -1)
    with pytest.raises(TypeError, match="seed must be an integer >= 0"):
        init_networks(network, 1.5)
    with pytest.raises(TypeError, match="network must be a DenseNetwork"):
        empirical_ntk("net", params, x)
    with pytest.raises(ValueError, match="method must be one of"):
        empirical_ntk(network, params, x, method="vjp")
    with pytest.raises(ValueError, match="params must be a dict with keys"):
        empirical_ntk(network, {"W1": params["W1"]}, x)
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(n_networks, 3, 1\)"):
        empirical_ntk(network, {"W1": params["W1"], "W2": params["W2"][:1]}, x)
    with pytest.raises(ValueError, match="inputs must have 2 columns"):
        empirical_ntk(network, params, np.ones((4, 3)))
    with pytest.raises(ValueError, match="inputs2 must have shape"):
        empirical_ntk(network, params, x, torch.ones(4, 3))
    with pytest.raises(ValueError, match="network_chunk must be an integer >= 1"):
        empirical_ntk(network, params, x, network_chunk=0)
    with pytest.raises(ValueError, match="n_networks must be an integer >= 2"):
        monte_carlo_kernels(network, x, 1, 0)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        train_kernel_drift(network, params, x, np.zeros(4), learning_rate=0, record_at=[1])
    with pytest.raises(ValueError, match="record_at must be a non-empty increasing"):
        train_kernel_drift(network, params, x, np.zeros(4), learning_rate=0.1,
                           record_at=[3, 1])
    with pytest.raises(ValueError, match="train_targets must be finite with shape"):
        train_kernel_drift(network, params, x, np.zeros(5), learning_rate=0.1, record_at=[1])
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        output_hessian_norm(network, params, x, tol=0.0)
    with pytest.raises(ValueError, match="targets must be finite with shape"):
        lazy_training_ratio(network, params, x, np.zeros(3))
    with pytest.raises(ValueError, match="samples must have shape"):
        relative_frobenius_error(np.ones((1, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="reference must not be all zero"):
        relative_frobenius_error(np.ones((3, 2, 2)), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="kernel must be callable"):
        kernel_gram_spectrum(np.eye(3), 3, 2, 0)


def test_import_does_not_load_torch():
    code = ("import sys, jamming.simulate.ntk\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.gpu
def test_cuda_matches_cpu():
    network = DenseNetwork(5, 64, depth=2, activation="relu", w_std=1.4, b_std=0.1)
    x = sphere_inputs(40, 5, 0)
    cpu_params = init_networks(network, 1, n_networks=3)
    cuda_params = init_networks(network, 1, n_networks=3, device="cuda")
    assert cuda_params["W1"].device.type == "cuda"
    reference = empirical_ntk(network, cpu_params, x)
    for method in NTK_METHODS:
        kernel = empirical_ntk(network, cuda_params, x, method=method, to_numpy=False)
        assert kernel.device.type == "cuda"
        assert_allclose(kernel.cpu().numpy(), reference, rtol=1e-11, atol=1e-12)
    assert_allclose(empirical_ntk(network, cpu_params, x, x[:7], device="cuda"),
                    reference[:, :, :7], rtol=1e-11, atol=1e-12)
    estimate = monte_carlo_kernels(network, x, 4, 2, device="cuda")
    assert_allclose(estimate.ntk, monte_carlo_kernels(network, x, 4, 2).ntk, rtol=1e-11)
    run = train_kernel_drift(network, cuda_params, x, np.ones(40), learning_rate=0.01,
                             record_at=[0, 3])
    assert run.drift.shape == (3, 2)
    assert output_hessian_norm(network, cuda_params, x[:5], max_iterations=5).norm.shape == (3,)
