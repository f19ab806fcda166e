"""Fully connected networks against independent computations: a numpy forward pass and
Jacobian written here, per-sample autograd loops, finite differences, the analytic kernels of
:mod:`jamming.theory.kernels`, and the batch axis against one network at a time."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import erf, expit

from jamming.simulate.activations import (
    ACTIVATIONS,
    check_activation,
    numpy_activation,
    torch_activation,
)
from jamming.simulate.devices import torch_device
from jamming.simulate.features import sphere_inputs
from jamming.simulate.networks import (
    LOSSES,
    NTK_METHODS,
    PARAMETERIZATIONS,
    Adam,
    DenseNetwork,
    GradientDescent,
    empirical_ntk,
    empirical_ntk_loop,
    flatten_parameters,
    forward,
    hidden_layers,
    init_networks,
    jacobian,
    loss_hessians,
    losses,
    network_outputs,
    newton_refinement,
    output_hessians,
    per_sample_gradient_function,
    per_sample_gradients_loop,
    train,
    unflatten_parameters,
)
from jamming.theory.kernels import ntk as analytic_ntk

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
    "sigmoid": expit,
}


def numpy_forward(network: DenseNetwork, params: dict, x: np.ndarray) -> np.ndarray:
    """stax.serial(*[Dense, act] * depth, Dense) written again from the formulas, (S, n)."""
    act = NUMPY_ACTIVATIONS[network.activation]
    outputs = []
    for s in range(params["W1"].shape[0]):
        hidden = x
        for layer in range(1, network.depth + 2):
            weights = params[f"W{layer}"][s].cpu().numpy()
            z = network.W_std / math.sqrt(hidden.shape[1]) * np.einsum("nj,jk->nk", hidden,
                                                                       weights)
            if network.bias:
                z = z + network.b_std * params[f"b{layer}"][s].cpu().numpy()
            hidden = act(z) if layer <= network.depth else z
        outputs.append(hidden[:, 0])
    return np.stack(outputs)


NETWORKS = [
    DenseNetwork(3, 5, depth=0, activation="relu", W_std=1.2, bias=True, b_std=0.4),
    DenseNetwork(4, 6, depth=1, activation="relu"),
    DenseNetwork(4, 6, depth=1, activation="erf", W_std=1.5, bias=True, b_std=0.3),
    DenseNetwork(3, 5, depth=2, activation="relu", W_std=2.0, bias=True, b_std=0.5),
    DenseNetwork(3, 5, depth=2, activation="tanh"),
    DenseNetwork(2, 4, depth=3, activation="gelu", W_std=1.3, bias=True, b_std=0.2),
    DenseNetwork(3, 4, depth=2, activation="sin", W_std=0.8),
    DenseNetwork(3, 4, depth=1, activation="abs", bias=True, b_std=1.0),
    DenseNetwork(3, 4, depth=2, activation="identity", bias=True, b_std=0.1),
]


# -- network ---------------------------------------------------------------------------------


def test_parameter_shapes_follow_stax():
    network = DenseNetwork(3, 5, depth=2, bias=True, b_std=0.1)
    assert network.parameter_shapes() == [("W1", (3, 5)), ("b1", (5,)), ("W2", (5, 5)),
                                          ("b2", (5,)), ("W3", (5, 1)), ("b3", (1,))]
    assert network.n_parameters == 15 + 5 + 25 + 5 + 5 + 1
    assert [name for name, _ in DenseNetwork(3, 5).parameter_shapes()] == ["W1", "W2"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_depth_two_network_matches_numpy(activation):
    network = DenseNetwork(4, 7, depth=2, activation=activation, W_std=1.4, bias=True,
                           b_std=0.3)
    params = init_networks(network, 5, n_networks=3)
    x = sphere_inputs(6, 4, 1) * 1.7  # not on the sphere: inputs are not normalised
    ours = network_outputs(network, params, x)
    assert ours.shape == (3, 6) and ours.dtype == np.float64
    assert_allclose(ours, numpy_forward(network, params, x), rtol=1e-13, atol=1e-14)


def test_networks_are_drawn_from_per_network_seeds():
    network = DenseNetwork(3, 4, depth=1, bias=True, b_std=0.5)
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
    network = DenseNetwork(2, 3, depth=2, activation="tanh", W_std=1.3, bias=True, b_std=0.4)
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
    network = DenseNetwork(3, 4, depth=1, bias=True, b_std=0.2)
    params = init_networks(network, 0, n_networks=2)
    x = torch.as_tensor(sphere_inputs(5, 3, 0))
    kernel = empirical_ntk(network, params, x, device="cpu", to_numpy=False)
    assert isinstance(kernel, torch.Tensor) and kernel.dtype == torch.float64
    assert kernel.shape == (2, 5, 5)


# -- validation, imports, CUDA -----------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_dim": 0, "width": 3}, ValueError, "input_dim"),
    ({"input_dim": 2, "width": 2.5}, TypeError, "width"),
    ({"input_dim": 2, "width": 3, "depth": -1}, ValueError, "depth must be an integer >= 0"),
    ({"input_dim": 2, "width": 3, "activation": "softplus"}, ValueError, "activation"),
    ({"input_dim": 2, "width": 3, "W_std": 0.0}, ValueError, "W_std must be a finite number > 0"),
    ({"input_dim": 2, "width": 3, "bias": True, "b_std": -1.0}, ValueError,
     "b_std must be a finite number >= 0"),
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


@pytest.mark.gpu
def test_cuda_matches_cpu():
    network = DenseNetwork(5, 64, depth=2, activation="relu", W_std=1.4, bias=True, b_std=0.1)
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


def test_import_does_not_load_torch():
    code = ("import sys, jamming, jamming.simulate.networks, jamming.simulate.activations\n"
            "import jamming.simulate.kernel_estimates, jamming.simulate.kernel_drift\n"
            "import jamming.simulate.lazy, jamming.simulate.spectra\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# -- general architectures: per-layer widths, activations, biases; parametrisations ------------

#: A bottleneck of width 1 (S5's f(x) = v . relu(u (w . x) + b)), mixed activations, every
#: parametrisation.
GENERAL = [
    DenseNetwork(4, (1, 7), depth=2, activation=("identity", "relu"), W_std=(1.0, 1.2, 1.5),
                 bias=(False, True, False), b_std=(0.0, 0.3, 0.0)),
    DenseNetwork(3, (5, 4), depth=2, activation=("tanh", "sigmoid"), bias=(True, False, True),
                 b_std=(0.2, 0.0, 0.4),
                 parameterization="standard"),
    DenseNetwork(3, 6, depth=2, activation="erf", W_std=1.3, bias=True, b_std=0.1,
                 parameterization="mean_field"),
    DenseNetwork(2, 5, depth=1, activation="gelu", W_std=0.9, parameterization="standard"),
]


def multipliers(network: DenseNetwork) -> list[tuple[float, float]]:
    """(c_w, c_b) of every layer, from the table of the module docstring."""
    fans = [network.input_dim, *network.widths]
    out = []
    for layer, (fan, w_std, b_std) in enumerate(zip(fans, network.W_stds, network.b_stds,
                                                    strict=True)):
        if network.parameterization == "standard":
            out.append((1.0, 1.0))
        elif network.parameterization == "mean_field" and layer == network.depth:
            out.append((w_std / fan, b_std))
        else:
            out.append((w_std / math.sqrt(fan), b_std))
    return out


def numpy_general_forward(network: DenseNetwork, params: dict, x: np.ndarray) -> np.ndarray:
    """The forward pass of one network (unstacked numpy parameters), shape (n,)."""
    hidden = x
    for layer, (c_w, c_b) in enumerate(multipliers(network), start=1):
        z = c_w * hidden @ params[f"W{layer}"]
        if f"b{layer}" in params:
            z = z + c_b * params[f"b{layer}"]
        hidden = NUMPY_ACTIVATIONS[network.activations[layer - 1]](z) \
            if layer <= network.depth else z
    return hidden[:, 0]


def numpy_jacobian(network, params: dict, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of :func:`numpy_general_forward`, columns in parameter order."""
    columns = []
    for name, value in params.items():
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += step
            minus[name][index] -= step
            columns.append((numpy_general_forward(network, plus, x)
                            - numpy_general_forward(network, minus, x)) / (2 * step))
    return np.stack(columns, axis=1)


def one(params: dict, s: int) -> dict:
    """Network ``s`` of a parameter set as numpy arrays without the network axis."""
    return {name: value[s].cpu().numpy().copy() for name, value in params.items()}


def test_bottleneck_layout():
    network = GENERAL[0]
    assert network.widths == (1, 7) and network.biases == (False, True, False)
    assert network.parameter_shapes() == [("W1", (4, 1)), ("W2", (1, 7)), ("b2", (7,)),
                                          ("W3", (7, 1))]
    assert network.n_parameters == 4 + 7 + 7 + 7


@pytest.mark.parametrize("network", GENERAL, ids=str)
def test_general_forward_jacobian_and_ntk_match_numpy(network):
    params = init_networks(network, 3, n_networks=2)
    x = 1.3 * sphere_inputs(6, network.input_dim, 4)
    outputs = network_outputs(network, params, x)
    for s in range(2):
        assert_allclose(outputs[s], numpy_general_forward(network, one(params, s), x),
                        rtol=1e-13, atol=1e-14)
    rows = jacobian(network, params, x)
    assert rows.shape == (2, 6, network.n_parameters)
    for s in range(2):
        assert_allclose(rows[s], numpy_jacobian(network, one(params, s), x), rtol=1e-6,
                        atol=1e-8)
    reference = empirical_ntk_loop(network, params, x)
    assert_allclose(np.einsum("snp,smp->snm", rows, rows), reference, rtol=1e-12, atol=1e-13)
    for method in NTK_METHODS:
        assert_allclose(empirical_ntk(network, params, x, method=method), reference,
                        rtol=1e-12, atol=1e-13)
    assert [h.shape for h in hidden_layers(network, params, torch.as_tensor(x))] == [
        (2, 6, width) for width in network.widths]


def test_standard_and_mean_field_are_rescaled_ntk_networks():
    """The same draws give the same function in the NTK and standard parametrisations with
    matched scales, and the mean-field output is the NTK one divided by sqrt(n_L)."""
    shape = dict(input_dim=3, width=(5, 8), depth=2, activation=("tanh", "relu"),
                 W_std=(1.4, 0.7, 1.1), bias=(True, False, True), b_std=(0.3, 0.0, 0.2))
    ntk_net = DenseNetwork(**shape)
    standard = DenseNetwork(**shape, parameterization="standard")
    mean_field = DenseNetwork(**shape, parameterization="mean_field")
    ntk_params = init_networks(ntk_net, 8, n_networks=3)
    standard_params = init_networks(standard, 8, n_networks=3)
    fans = {"W1": 3, "W2": 5, "W3": 8}
    stds = {"W1": 1.4, "W2": 0.7, "W3": 1.1, "b1": 0.3, "b3": 0.2}
    for name, value in ntk_params.items():
        scale = stds[name] / math.sqrt(fans[name]) if name in fans else stds[name]
        assert torch.equal(standard_params[name], value * scale)  # same draws, scaled
    x = sphere_inputs(7, 3, 9)
    reference = network_outputs(ntk_net, ntk_params, x)
    assert_allclose(network_outputs(standard, standard_params, x), reference, rtol=1e-13,
                    atol=1e-15)
    assert_allclose(network_outputs(mean_field, ntk_params, x) * math.sqrt(8),
                    reference - 0.2 * ntk_params["b3"].numpy() * (1 - math.sqrt(8)),
                    rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(("activation", "depth", "b_std"),
                         [("erf", 2, 0.3), ("relu", 1, 0.5), ("relu", 2, 0.0)])
def test_wide_network_ntk_approaches_the_analytic_kernel(activation, depth, b_std):
    """At width 2048 the empirical NTK of stax networks is the infinite-width kernel of
    :mod:`jamming.theory.kernels` up to fluctuations of order 1/sqrt(width); the theory's
    ``b_std = 0`` is the network without biases."""
    network = DenseNetwork(5, 2048, depth=depth, activation=activation, W_std=1.5,
                           bias=b_std > 0, b_std=b_std)
    x = np.random.default_rng(0).standard_normal((6, 5))
    kernels = empirical_ntk(network, init_networks(network, 1, n_networks=4), x)
    exact = analytic_ntk(x, depth=depth, activation=activation, W_std=1.5, b_std=b_std)
    error = np.linalg.norm(kernels.mean(axis=0) - exact) / np.linalg.norm(exact)
    assert error < 0.05, error


# -- batch axis, dtypes --------------------------------------------------------------------------


@pytest.mark.parametrize("network", [NETWORKS[3], GENERAL[0], GENERAL[1]], ids=str)
def test_batched_networks_equal_one_network_at_a_time_bitwise(network):
    params = init_networks(network, 5, n_networks=4)
    x = sphere_inputs(9, network.input_dim, 6)
    stacked = {"outputs": network_outputs(network, params, x),
               "jacobian": jacobian(network, params, x),
               **{method: empirical_ntk(network, params, x, method=method)
                  for method in NTK_METHODS}}
    for s in range(4):
        alone = init_networks(network, 5, n_networks=1, first=s)
        assert all(torch.equal(alone[name][0], params[name][s]) for name in params)
        single = {"outputs": network_outputs(network, alone, x),
                  "jacobian": jacobian(network, alone, x),
                  **{method: empirical_ntk(network, alone, x, method=method)
                     for method in NTK_METHODS}}
        for key, value in single.items():
            assert np.array_equal(value[0], stacked[key][s]), key
    runs = [train(network, p, x, np.sign(x[:, 0]), optimizer=Adam(0.01), record_at=[0, 5, 20],
                  loss="quadratic-hinge") for p in (params, {k: v[2:3] for k, v in
                                                              params.items()})]
    assert np.array_equal(runs[1].loss[0], runs[0].loss[2])
    assert all(torch.equal(runs[1].params[k][0], runs[0].params[k][2]) for k in params)


def test_float32_networks_are_the_float64_ones_rounded():
    network = GENERAL[2]
    params64 = init_networks(network, 2, n_networks=2)
    params32 = init_networks(network, 2, n_networks=2, dtype="float32")
    assert all(v.dtype == torch.float32 and torch.equal(v, params64[k].float())
               for k, v in params32.items())
    x = sphere_inputs(5, network.input_dim, 3)
    out32 = network_outputs(network, params32, x)
    assert out32.dtype == np.float32
    assert_allclose(out32, network_outputs(network, params64, x), rtol=1e-5, atol=1e-6)
    for method in NTK_METHODS:
        kernel = empirical_ntk(network, params32, x, method=method)
        assert kernel.dtype == np.float32
        assert_allclose(kernel, empirical_ntk(network, params64, x), rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="params must all be float64 or all float32"):
        network_outputs(network, {**params64, "W1": params32["W1"]}, x)


# -- Jacobians, Hessians -------------------------------------------------------------------------


def test_per_sample_gradients_vmap_equals_autograd_loop():
    network = GENERAL[1]
    params = init_networks(network, 4, n_networks=1)
    values = [value[0].clone().requires_grad_(True) for value in params.values()]
    x = torch.as_tensor(sphere_inputs(5, network.input_dim, 5))
    vectorised = per_sample_gradient_function(network)(*[v.detach() for v in values], x)
    looped = per_sample_gradients_loop(network, values, x)
    for a, b in zip(vectorised, looped, strict=True):
        assert a.shape == b.shape
        assert_allclose(a.numpy(), b.numpy(), rtol=1e-13, atol=1e-15)


def test_flat_parameters_round_trip():
    network = GENERAL[0]
    params = init_networks(network, 1, n_networks=3)
    vector = flatten_parameters(network, params)
    assert vector.shape == (3, network.n_parameters)
    back = unflatten_parameters(network, vector)
    assert all(torch.equal(back[name], params[name]) for name in params)


@pytest.mark.parametrize("loss", LOSSES)
def test_exact_hessians_match_finite_differences_of_gradients(loss):
    network = DenseNetwork(2, 3, depth=2, activation="tanh", W_std=1.3, bias=True, b_std=0.4)
    params = init_networks(network, 6, n_networks=2)
    x = sphere_inputs(4, 2, 7)
    y = np.array([1.0, -1.0, 1.0, 1.0])
    flat = flatten_parameters(network, params)
    step = 1e-5

    def gradient(vector, function):
        vector = vector.clone().requires_grad_(True)
        return torch.autograd.grad(function(vector), vector)[0]

    def loss_of(vector):
        out = forward(network, unflatten_parameters(network, vector), torch.as_tensor(x))
        return losses(out, torch.as_tensor(y), loss)

    def output_of(index):
        return lambda vector: forward(network, unflatten_parameters(network, vector),
                                      torch.as_tensor(x[index]))

    exact_loss = loss_hessians(network, params, x, y, loss=loss)
    exact_outputs = output_hessians(network, params, x)
    assert exact_loss.shape == (2, network.n_parameters, network.n_parameters)
    eye = torch.eye(network.n_parameters, dtype=torch.float64)
    for s in range(2):
        numeric = torch.stack([(gradient(flat[s] + step * e, loss_of)
                                - gradient(flat[s] - step * e, loss_of)) / (2 * step)
                               for e in eye], dim=1).numpy()
        assert_allclose(exact_loss[s], numeric, rtol=1e-6, atol=1e-7)
        for mu in range(4):
            numeric = torch.stack([(gradient(flat[s] + step * e, output_of(mu))
                                    - gradient(flat[s] - step * e, output_of(mu))) / (2 * step)
                                   for e in eye], dim=1).numpy()
            assert_allclose(exact_outputs[s, mu], numeric, rtol=1e-6, atol=1e-7)


# -- training ------------------------------------------------------------------------------------


def test_output_scale_alpha_centres_the_model_and_divides_the_loss():
    """alpha (f - f0): zero at initialisation (the loss is sum y^2 / 2 / alpha^2), and one
    gradient step is theta - eta / alpha * sum_mu (alpha (f - f0) - y) grad f."""
    network = DenseNetwork(3, 5, depth=1, activation="tanh", bias=True, b_std=0.2)
    params = init_networks(network, 3, n_networks=2)
    x, y = sphere_inputs(6, 3, 4), np.linspace(-1, 1, 6)
    alpha, eta = 7.0, 0.05
    run = train(network, params, x, y, optimizer=GradientDescent(eta), record_at=[0, 1],
                alpha=alpha)
    assert_allclose(run.loss[:, 0], 0.5 * (y ** 2).sum() / alpha ** 2, rtol=1e-15)
    rows = jacobian(network, params, x)  # initial outputs: f = f0, the residual is -y
    expected = flatten_parameters(network, params).numpy() + eta / alpha * np.einsum(
        "snp,n->sp", rows, y)
    assert_allclose(flatten_parameters(network, run.params).numpy(), expected, rtol=1e-13)
    final = alpha * (network_outputs(network, run.params, x) - network_outputs(network,
                                                                                params, x))
    assert_allclose(run.loss[:, 1], 0.5 * ((final - y) ** 2).sum(axis=1) / alpha ** 2,
                    rtol=1e-12)


def test_adam_matches_torch_optim_adam():
    network = GENERAL[0]
    params = init_networks(network, 2, n_networks=1)
    x, y = sphere_inputs(8, 4, 1), np.sign(np.arange(8) - 3.5)
    run = train(network, params, x, y, optimizer=Adam(0.01, beta2=0.99), record_at=[0, 30],
                loss="hinge", reduction="mean")
    leaves = [v.clone().requires_grad_(True) for v in params.values()]
    reference = torch.optim.Adam(leaves, lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    for _ in range(30):
        reference.zero_grad()
        out = forward(network, dict(zip(params, leaves, strict=True)), torch.as_tensor(x))
        torch.relu(1 - torch.as_tensor(y) * out).mean().backward()
        reference.step()
    for name, leaf in zip(params, leaves, strict=True):
        assert_allclose(run.params[name].numpy(), leaf.detach().numpy(), rtol=1e-12,
                        atol=1e-14)


def test_sgd_batches_are_seeded_and_independent_per_network():
    network = DenseNetwork(2, 4, depth=1, activation="relu", bias=True, b_std=0.3)
    params = init_networks(network, 0, n_networks=1)
    both = {k: v.expand(2, *v.shape[1:]).clone() for k, v in params.items()}
    x, y = sphere_inputs(10, 2, 0), np.linspace(-1, 1, 10)
    kwargs = dict(optimizer=GradientDescent(0.1), record_at=[0, 20], batch_size=3,
                  reduction="mean")
    first, again = (train(network, both, x, y, seed=5, **kwargs) for _ in range(2))
    assert np.array_equal(first.loss, again.loss)
    assert not np.array_equal(first.loss[0], first.loss[1])  # same start, other batches
    other = train(network, both, x, y, seed=6, **kwargs)
    assert not np.array_equal(other.loss, first.loss)
    full = train(network, params, x, y, optimizer=GradientDescent(0.1), record_at=[0, 20],
                 reduction="mean")
    whole = train(network, params, x, y, batch_size=10, seed=1, **{
        k: v for k, v in kwargs.items() if k != "batch_size"})
    assert_allclose(whole.loss, full.loss, rtol=1e-12)  # a batch of all points: full batch


def test_newton_refinement_reaches_a_critical_point_to_machine_precision():
    """Seed 004's perturbation test, small: students started near their teacher (same width,
    an isolated global minimum) take Adam steps, then Newton steps on the exact Hessian,
    which end on the teacher to machine precision."""
    teacher = DenseNetwork(2, 2, depth=1, activation="sigmoid", parameterization="standard")
    x = np.stack(np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-2, 2, 5)), -1).reshape(-1, 2)
    exact = init_networks(teacher, 3)
    y = network_outputs(teacher, exact, x)[0]
    noise = init_networks(teacher, 4, n_networks=2)
    params = {name: exact[name] + 0.05 * noise[name] for name in exact}
    run = train(teacher, params, x, y, optimizer=Adam(0.002), record_at=[0, 20, 21],
                reduction="mean", refine=newton_refinement(max_iterations=20, tol=1e-13))
    flat = flatten_parameters(teacher, run.params).clone().requires_grad_(True)
    out = forward(teacher, unflatten_parameters(teacher, flat), torch.as_tensor(x))
    gradient = torch.autograd.grad(losses(out, torch.as_tensor(y), reduction="mean").sum(),
                                   flat)[0]
    assert torch.linalg.vector_norm(gradient, dim=1).max() < 1e-13
    assert np.all(run.loss[:, -1] < 1e-26) and np.all(run.loss[:, 1] > 1e-8)
    for name in exact:
        assert_allclose(run.params[name].numpy(), exact[name].expand_as(run.params[name]),
                        rtol=1e-9, atol=1e-12)
    hessians = loss_hessians(teacher, run.params, x, y, reduction="mean")
    assert np.all(np.linalg.eigvalsh(hessians)[:, 0] > 0)  # a strict minimum


# -- activations, devices ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_registry_torch_equals_numpy(name):
    z = np.linspace(-4, 4, 101)
    assert_allclose(torch_activation(name)(torch.as_tensor(z)).numpy(),
                    numpy_activation(name)(z), rtol=1e-14, atol=1e-16)
    assert_allclose(numpy_activation(name)(z), NUMPY_ACTIVATIONS[name](z), rtol=1e-15)


def test_activation_and_device_validation():
    with pytest.raises(ValueError, match="activation must be one of relu, tanh"):
        check_activation("softplus")
    with pytest.raises(ValueError, match="activation must be one of relu; got 'tanh'"):
        check_activation("tanh", ("relu",))
    assert torch_device("cpu") == torch.device("cpu")
    assert torch_device(None, default=torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(TypeError, match="device must be one of auto, cpu, cuda or a "
                                        "torch.device; got NoneType"):
        torch_device(None)
    with pytest.raises(TypeError, match="device must be None, one of"):
        torch_device(3, default="cpu")
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda; got 'tpu'"):
        torch_device("tpu")
    with pytest.raises(ValueError, match="or cuda:N; got 'cuda:x'"):
        torch_device("cuda:x")
    if not torch.cuda.is_available():
        for device in (torch.device("cuda"), "cuda:0"):
            with pytest.raises(ValueError, match="torch sees no CUDA device"):
                torch_device(device)
    else:
        assert torch_device("cuda:0") == torch.device("cuda", 0)
    network = DenseNetwork(2, 3)
    with pytest.raises(ValueError, match="parameterization must be one of ntk, standard, "
                                         "mean_field; got 'mup'"):
        DenseNetwork(2, 3, parameterization="mup")
    with pytest.raises(ValueError, match=r"width must be one value or a tuple of 2"):
        DenseNetwork(2, (3, 4, 5), depth=2)
    with pytest.raises(ValueError, match="loss must be one of square, hinge"):
        losses(torch.zeros(2), torch.zeros(2), "logistic")
    with pytest.raises(TypeError, match="optimizer must be a GradientDescent or an Adam"):
        train(network, init_networks(network, 0), np.ones((2, 2)), np.ones(2),
              optimizer="sgd", record_at=[1])
    with pytest.raises(ValueError, match="batch_size must be <= n_data = 2"):
        train(network, init_networks(network, 0), np.ones((2, 2)), np.ones(2),
              optimizer=GradientDescent(0.1), record_at=[1], batch_size=3)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\)"):
        Adam(0.1, beta2=1.0)
    assert set(PARAMETERIZATIONS) == {"ntk", "standard", "mean_field"}


@pytest.mark.gpu
def test_general_networks_and_training_on_cuda_match_cpu():
    network = GENERAL[0]
    x = sphere_inputs(30, network.input_dim, 0)
    y = np.sign(x[:, 0])
    cpu = init_networks(network, 1, n_networks=3)
    cuda = init_networks(network, 1, n_networks=3, device="cuda")
    assert_allclose(network_outputs(network, cuda, x), network_outputs(network, cpu, x),
                    rtol=1e-12, atol=1e-13)
    assert_allclose(jacobian(network, cuda, x), jacobian(network, cpu, x), rtol=1e-12,
                    atol=1e-13)
    runs = [train(network, p, x, y, optimizer=Adam(0.01), record_at=[0, 50], loss="hinge",
                  alpha=3.0, batch_size=8) for p in (cpu, cuda)]
    assert_allclose(runs[1].loss, runs[0].loss, rtol=1e-9, atol=1e-12)
