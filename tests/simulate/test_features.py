"""Feature maps against independent computations: numpy forward passes, finite differences,
a per-sample autograd loop, Archimedes' theorem on the sphere and numpy's matrix rank."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from jamming.simulate.features import (
    FEATURE_ACTIVATIONS as ACTIVATIONS,
)
from jamming.simulate.features import (
    NetworkSpec,
    empirical_ntk_features,
    empirical_ntk_features_loop,
    init_parameters,
    network_output,
    numerical_rank,
    random_feature_map,
    random_features,
    sphere_inputs,
)

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("single_threaded")

SCALAR_ACTIVATIONS = {
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "erf": math.erf,
    "identity": lambda z: z,
}


def numpy_forward(spec: NetworkSpec, params: dict, inputs: np.ndarray) -> np.ndarray:
    """The network of the module docstring, written again in numpy from the formulas."""
    act = np.vectorize(SCALAR_ACTIVATIONS[spec.activation])
    hidden, fan_in = inputs, spec.input_dim
    for layer in range(1, spec.depth + 1):
        z = spec.W_std / np.sqrt(fan_in) * np.einsum("ij,nj->ni", params[f"W{layer}"], hidden)
        if spec.bias:
            z = z + spec.b_std * params[f"b{layer}"]
        hidden, fan_in = act(z), spec.width
    return spec.W_std / np.sqrt(spec.width) * hidden @ params["a"]


def numpy_params(params: dict) -> dict:
    return {name: value.cpu().numpy().copy() for name, value in params.items()}


def finite_difference_jacobian(spec, params, inputs, step=1e-6):
    """Central differences of the numpy forward pass, parameter by parameter."""
    columns = []
    for name, value in params.items():
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += step
            minus[name][index] -= step
            columns.append((numpy_forward(spec, plus, inputs)
                            - numpy_forward(spec, minus, inputs)) / (2 * step))
    return np.stack(columns, axis=1)


# -- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3, 17])
def test_sphere_inputs_have_norm_sqrt_d(d):
    x = sphere_inputs(200, d, np.random.default_rng(0))
    assert x.shape == (200, d) and x.dtype == np.float64
    assert_allclose(np.linalg.norm(x, axis=1), np.sqrt(d), rtol=1e-14)


def test_sphere_inputs_are_uniform():
    """Archimedes: on S^2 a coordinate is uniform on [-1, 1]; and E[x x^T] = I."""
    x = sphere_inputs(20_000, 3, 1) / np.sqrt(3)
    for k in range(3):
        assert stats.kstest(x[:, k], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    y = sphere_inputs(20_000, 5, 2)
    second_moment = y.T @ y / len(y)
    # each entry has standard error <= sqrt(Var(y_i y_j)/n) <= sqrt(3/n) ~ 0.012
    assert np.abs(second_moment - np.eye(5)).max() < 5 * np.sqrt(3 / len(y))
    assert np.abs(y.mean(axis=0)).max() < 5 / np.sqrt(len(y))


def test_sphere_inputs_reproducible_from_seed_or_generator():
    a = sphere_inputs(10, 4, 7)
    b = sphere_inputs(10, 4, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, sphere_inputs(10, 4, 8))


# -- random features ------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_random_features_match_a_direct_computation(activation):
    d, n, m = 6, 9, 11
    x = sphere_inputs(n, d, 3)
    phi = random_features(x, m, np.random.default_rng(4), activation=activation)
    w = np.random.default_rng(4).standard_normal((m, d))  # the documented draw
    sigma = SCALAR_ACTIVATIONS[activation]
    direct = np.array([[sigma(sum(w[i, k] * x[mu, k] for k in range(d)) / math.sqrt(d))
                        for i in range(m)] for mu in range(n)])
    assert phi.shape == (n, m) and phi.dtype == np.float64
    assert_allclose(phi, direct, rtol=1e-13, atol=1e-14)
    assert_allclose(random_feature_map(x, w, activation=activation), direct, rtol=1e-13,
                    atol=1e-14)
    assert np.array_equal(phi, random_features(x, m, 4, activation=activation))


def test_random_relu_features_have_full_rank():
    x = sphere_inputs(80, 5, 0)
    assert numerical_rank(random_features(x, 30, 1))[0] == 30
    assert numerical_rank(random_features(x, 30, 1, activation="identity"))[0] == 5


# -- network and its Jacobian ---------------------------------------------------------------

SPECS = [
    NetworkSpec(4, 5, 1, "relu", False),
    NetworkSpec(4, 5, 1, "tanh", True, W_std=1.5, b_std=0.3),
    NetworkSpec(3, 4, 2, "erf", True, b_std=1.0),
    NetworkSpec(3, 4, 2, "relu", True, W_std=2.0, b_std=0.5),
    NetworkSpec(2, 3, 3, "identity", True, b_std=1.0),
    NetworkSpec(3, 4, 3, "tanh", False),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_network_output_matches_numpy(spec):
    params = init_parameters(spec, 11)
    x = sphere_inputs(7, spec.input_dim, 12)
    ours = network_output(spec, params, torch.as_tensor(x)).numpy()
    assert_allclose(ours, numpy_forward(spec, numpy_params(params), x), rtol=1e-13,
                    atol=1e-14)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_jacobian_matches_finite_differences_and_autograd_loop(spec):
    params = init_parameters(spec, 21)
    x = sphere_inputs(6, spec.input_dim, 22)
    jac = empirical_ntk_features(spec, params, x)
    assert jac.shape == (6, spec.n_parameters) and jac.dtype == np.float64
    assert_allclose(jac, empirical_ntk_features_loop(spec, params, x), rtol=1e-12, atol=1e-14)
    numeric = finite_difference_jacobian(spec, numpy_params(params), x)
    # central differences: truncation O(step^2), rounding O(eps/step) ~ 1e-10
    assert_allclose(jac, numeric, rtol=1e-6, atol=1e-8)


def test_jacobian_of_one_hidden_layer_relu_in_closed_form():
    """d f/d W_ik = (W_std^2/sqrt(hd)) a_i 1[z_i > 0] x_k, d f/d a_i = (W_std/sqrt h) relu(z_i)."""
    spec = NetworkSpec(5, 7, 1, "relu", False, W_std=1.3)
    params = numpy_params(init_parameters(spec, 5))
    x = sphere_inputs(40, 5, 6)
    z = spec.W_std / np.sqrt(5) * x @ params["W1"].T
    d_w = (spec.W_std**2 / np.sqrt(7 * 5)) * (params["a"] * (z > 0))[:, :, None] * x[:, None, :]
    d_a = spec.W_std / np.sqrt(7) * np.maximum(z, 0)
    expected = np.hstack([d_w.reshape(40, -1), d_a])
    jac = empirical_ntk_features(spec, {k: torch.as_tensor(v) for k, v in params.items()}, x)
    assert_allclose(jac, expected, rtol=1e-13, atol=1e-15)


def test_jacobian_options_agree():
    spec = NetworkSpec(3, 6, 2, "tanh", True, b_std=1.0)
    params = init_parameters(spec, 1)
    x = sphere_inputs(25, 3, 2)
    full = empirical_ntk_features(spec, params, x)
    chunked = empirical_ntk_features(spec, params, x, chunk_size=4)
    tensor = empirical_ntk_features(spec, params, torch.as_tensor(x), to_numpy=False)
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64
    buffer = torch.full((25, spec.n_parameters), np.nan, dtype=torch.float64)
    written = empirical_ntk_features(spec, params, x, out=buffer)
    assert np.shares_memory(written, buffer.numpy())
    assert_allclose(chunked, full, rtol=1e-14, atol=1e-15)
    assert_allclose(tensor.numpy(), full, rtol=1e-14, atol=1e-15)
    assert_allclose(written, full, rtol=1e-14, atol=1e-15)
    assert all(not p.requires_grad for p in params.values())


@pytest.mark.parametrize("n_data, chunk_size", [(1, None), (11, 4), (11, 11)])
def test_jacobian_columns_follow_parameter_order_in_every_chunk(n_data, chunk_size):
    """Seven parameter tensors (depth 3 with biases), ragged last chunk, written into ``out``."""
    spec = NetworkSpec(4, 5, 3, "erf", True, W_std=1.4, b_std=0.3)
    params = init_parameters(spec, 31)
    x = sphere_inputs(n_data, 4, 32)
    expected = empirical_ntk_features_loop(spec, params, x)
    buffer = torch.full((n_data, spec.n_parameters), np.nan, dtype=torch.float64)
    jac = empirical_ntk_features(spec, params, x, chunk_size=chunk_size, out=buffer)
    assert_allclose(jac, expected, rtol=1e-12, atol=1e-14)
    start = 0
    for name, shape in spec.parameter_shapes():  # each block is that parameter's gradient
        size = math.prod(shape)
        assert np.any(jac[:, start:start + size] != 0), name
        start += size
    assert start == jac.shape[1]


def test_parameters_are_reproducible_standard_normal():
    spec = NetworkSpec(30, 40, 2, "relu", True, b_std=1.0)
    first, second = init_parameters(spec, 3), init_parameters(spec, np.random.default_rng(3))
    assert list(first) == ["W1", "b1", "W2", "b2", "a"]
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["W1"], init_parameters(spec, 4)["W1"])
    flat = torch.cat([v.reshape(-1) for v in first.values()]).numpy()
    assert flat.size == spec.n_parameters == 30 * 40 + 40 * 40 + 40 + 2 * 40
    assert abs(flat.mean()) < 5 / np.sqrt(flat.size)
    assert abs(flat.var() - 1) < 5 * np.sqrt(2 / flat.size)


@pytest.mark.gpu
def test_jacobian_on_cuda_matches_cpu():
    spec = NetworkSpec(8, 32, 2, "relu", True, b_std=1.0)
    x = sphere_inputs(64, 8, 0)
    cpu = empirical_ntk_features(spec, init_parameters(spec, 1), x)
    params = init_parameters(spec, 1, device="cuda")
    assert params["a"].device.type == "cuda"
    gpu = empirical_ntk_features(spec, params, x, to_numpy=False)
    assert gpu.device.type == "cuda" and gpu.dtype == torch.float64
    assert_allclose(gpu.cpu().numpy(), cpu, rtol=1e-12, atol=1e-14)
    assert_allclose(empirical_ntk_features(spec, init_parameters(spec, 1), x, device="cuda"),
                    cpu, rtol=1e-12, atol=1e-14)


# -- numerical rank -------------------------------------------------------------------------


@pytest.mark.parametrize("shape, rank", [((30, 20), 7), ((20, 30), 20), ((15, 15), 1)])
def test_numerical_rank_matches_numpy(shape, rank):
    rng = np.random.default_rng(rank)
    matrix = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    ours, singular_values = numerical_rank(matrix)
    assert ours == rank == np.linalg.matrix_rank(matrix)
    assert_allclose(singular_values, np.linalg.svd(matrix, compute_uv=False), rtol=1e-12,
                    atol=1e-12)
    assert np.all(np.diff(singular_values) <= 0)
    assert numerical_rank(matrix, tol=0.0)[0] >= rank
    assert numerical_rank(np.zeros(shape))[0] == 0


def test_numerical_rank_tolerance_is_numpys():
    """sigma_max * max(n, m) * eps: 6 eps = 1.33e-15 drops 1.1e-15 (min(n, m) * eps keeps it)."""
    matrix = np.zeros((4, 6))
    matrix[np.arange(4), np.arange(4)] = [1.0, 1e-10, 1.1e-15, 1e-17]
    assert numerical_rank(matrix)[0] == np.linalg.matrix_rank(matrix) == 2
    assert numerical_rank(matrix.T)[0] == 2
    assert numerical_rank(matrix, tol=1e-9)[0] == 1
    assert numerical_rank(matrix, tol=1e-16)[0] == 3


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: sphere_inputs(0, 3, 1), ValueError, "n_data must be an integer >= 1; got 0"),
    (lambda: sphere_inputs(5, 2.0, 1), TypeError, "input_dim must be an integer >= 1; got 2.0"),
    (lambda: sphere_inputs(5, 2, -1), TypeError, "rng must be a numpy.random.Generator"),
    (lambda: random_features(np.ones((3, 2)), 0, 1), ValueError, "n_features must be"),
    (lambda: random_features(np.ones((3, 2)), 4, 1, activation="gelu"), ValueError,
     "activation must be one of relu, tanh, erf, identity; got 'gelu'"),
    (lambda: random_features(np.ones(3), 4, 1), ValueError, "inputs must have shape"),
    (lambda: random_feature_map(np.ones((3, 2)), np.ones((4, 3))), ValueError,
     r"weights must have shape \(n_features, 2\)"),
    (lambda: NetworkSpec(0, 3), ValueError, "input_dim must be an integer >= 1; got 0"),
    (lambda: NetworkSpec(3, 3, depth=0), ValueError, "depth must be an integer >= 1; got 0"),
    (lambda: NetworkSpec(3, 3, activation="sigmoid"), ValueError, "activation must be"),
    (lambda: NetworkSpec(3, 3, bias=1), TypeError, "bias must be a bool; got 1"),
    (lambda: NetworkSpec(3, 3, W_std=0.0), ValueError, "W_std must be a finite number > 0"),
    (lambda: NetworkSpec(3, 3, b_std=float("nan")), ValueError, "b_std must be a finite"),
    (lambda: numerical_rank(np.ones(3)), ValueError, "features must be a 2-d array"),
    (lambda: numerical_rank(np.ones((2, 2)), tol=-1.0), ValueError, "tol must be a finite"),
    (lambda: numerical_rank(np.full((2, 2), np.inf)), ValueError, "features must be finite"),
])
def test_input_validation(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_jacobian_input_validation():
    spec = NetworkSpec(3, 4)
    params = init_parameters(spec, 0)
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"inputs must have 3 columns \(input_dim\)"):
        empirical_ntk_features(spec, params, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"params must be a dict with keys \['W1', 'a'\]"):
        empirical_ntk_features(spec, {"a": params["a"]}, x)
    with pytest.raises(ValueError, match=r"params\['W1'\] must have shape \(4, 3\)"):
        empirical_ntk_features(spec, {"W1": params["W1"].T, "a": params["a"]}, x)
    with pytest.raises(TypeError, match="spec must be a NetworkSpec"):
        empirical_ntk_features((3, 4), params, x)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1; got 0"):
        empirical_ntk_features(spec, params, x, chunk_size=0)
    with pytest.raises(ValueError, match=r"out must be a contiguous float64 torch.Tensor of "
                                         r"shape \(2, 16\)"):
        empirical_ntk_features(spec, params, x, out=torch.empty(2, 16, dtype=torch.float32))
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda; got 'tpu'"):
        init_parameters(spec, 0, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            empirical_ntk_features(spec, params, x, device="cuda")


def test_numpy_feature_maps_do_not_import_torch():
    code = ("import sys\n"
            "from jamming.simulate.features import sphere_inputs, random_features\n"
            "random_features(sphere_inputs(5, 3, 0), 4, 1)\n"
            "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
