"""The effective number of parameters against measured Jacobian ranks of finite networks.

Theory (jamming.theory.parameters) predicts; simulation (jamming.simulate.features)
measures the rank of the empirical-NTK features by SVD. Stable neurons (dead or always
active on the data) are counted with an independent numpy forward pass.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from jamming.theory.parameters import (
    activation_pattern_rank,
    effective_parameters,
    effective_parameters_expr,
    expected_shallow_relu_rank,
    parameter_count,
    relu_rank_bound,
    shallow_relu_rank,
    stable_neuron_probability,
)

features = pytest.importorskip("jamming.simulate.features")
torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("single_threaded")


def measure(d, h, depth, activation, bias, *, seed, n_data=None, load=3.0, b_std=1.0,
            gaussian=False):
    """Measured rank of the Jacobian, the spec, parameters (numpy) and inputs."""
    spec = features.NetworkSpec(d, h, depth, activation, bias, b_std=b_std if bias else 0.0)
    n_data = n_data or int(load * spec.n_parameters)
    data_seed, parameter_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(data_seed)
    x = rng.standard_normal((n_data, d)) if gaussian else features.sphere_inputs(n_data, d, rng)
    params = features.init_parameters(spec, np.random.default_rng(parameter_seed))
    jac = features.empirical_ntk_features(spec, params, x)
    rank, _ = features.numerical_rank(jac)
    return rank, spec, {k: v.numpy() for k, v in params.items()}, x, jac


def patterns(spec, params, x):
    """Per hidden layer: which neurons are active at each data point, bool (n_data, h)."""
    active, hidden, fan_in = [], x, spec.input_dim
    for layer in range(1, spec.depth + 1):
        z = spec.W_std / math.sqrt(fan_in) * hidden @ params[f"W{layer}"].T
        if spec.bias:
            z = z + spec.b_std * params[f"b{layer}"]
        active.append(z > 0)
        hidden, fan_in = np.maximum(z, 0.0), spec.width
    return active


def activity(spec, params, x):
    """Per hidden layer: number of data points on which each neuron is active (numpy)."""
    return [a.sum(axis=0) for a in patterns(spec, params, x)]


def stable_counts(spec, params, x):
    n = len(x)
    counts = activity(spec, params, x)
    return ([int((c == 0).sum()) for c in counts], [int((c == n).sum()) for c in counts])


def resolved(spec, params, x):
    """Every crossing neuron has >= 2(d+1) data points on each side of its hyperplane."""
    n, need = len(x), 2 * (spec.input_dim + 1)
    return all(np.all(((c < need) | (c > n - need)) <= ((c == 0) | (c == n)))
               for c in activity(spec, params, x))


# -- bookkeeping ----------------------------------------------------------------------------


@pytest.mark.parametrize("d, h, depth, bias", [(3, 4, 1, False), (5, 7, 2, True),
                                               (2, 3, 4, True), (1, 1, 1, False)])
def test_parameter_count_matches_the_network(d, h, depth, bias):
    spec = features.NetworkSpec(d, h, depth, "relu", bias, b_std=1.0 if bias else 0.0)
    params = features.init_parameters(spec, 0)
    assert parameter_count(d, h, depth=depth, bias=bias) == spec.n_parameters == sum(
        v.numel() for v in params.values())


def test_table_of_generic_values():
    assert effective_parameters(10, 100).n_eff == 1000
    relu = effective_parameters(10, 100, depth=2, bias=True)
    assert (relu.n_weights, relu.n_symmetries, relu.n_eff) == (11_300, 200, 11_100)
    assert relu.rank == 11_100 and "positively homogeneous" in relu.explanation
    assert effective_parameters(10, 100, activation="erf", bias=True).n_eff == 1200
    assert effective_parameters(10, 100, depth=3, activation="identity", bias=True).n_eff == 11
    assert effective_parameters(10, 100, activation="tanh", n_data=77).n_eff == 77
    assert effective_parameters(1, 9, depth=2).n_eff == 2                # d = 1, no bias
    assert effective_parameters(1, 9, bias=True).n_eff == 18
    with pytest.raises(dataclasses.FrozenInstanceError):
        effective_parameters(3, 3).n_eff = 1


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf", "identity"])
def test_sympy_expression_matches(activation):
    expr, (d, h, depth, beta) = effective_parameters_expr(activation)
    for values in [(3, 4, 1, 0), (5, 7, 2, 1), (10, 3, 3, 1)]:
        value = expr.subs(dict(zip((d, h, depth, beta), values, strict=True)))
        rank = effective_parameters(values[0], values[1], depth=values[2], bias=bool(values[3]),
                                    activation=activation).rank
        assert sp.Integer(rank) == value


@pytest.mark.parametrize("call, error, message", [
    (lambda: effective_parameters(0, 3), ValueError, "input_dim must be an integer >= 1; got 0"),
    (lambda: effective_parameters(3, 2.5), TypeError, "width must be an integer >= 1; got 2.5"),
    (lambda: effective_parameters(3, 3, depth=0), ValueError, "depth must be an integer >= 1"),
    (lambda: effective_parameters(3, 3, activation="gelu"), ValueError,
     "activation must be one of relu, tanh, erf, identity; got 'gelu'"),
    (lambda: effective_parameters(3, 3, bias=1), TypeError, "bias must be a bool; got 1"),
    (lambda: effective_parameters(3, 3, n_data=0), ValueError, "n_data must be an integer >= 1"),
    (lambda: relu_rank_bound(3, 3, depth=3), ValueError, "depth must be 1 or 2"),
    (lambda: relu_rank_bound(3, 3, dead=(1, 1)), ValueError,
     r"dead must give one count per hidden layer \(1\)"),
    (lambda: relu_rank_bound(3, 3, dead=(2,), always_active=(2,)), ValueError,
     "dead \\+ always_active must be <= width = 3 in layer 1; got 2 \\+ 2"),
    (lambda: relu_rank_bound(3, 3, dead=(-1,)), ValueError, r"dead\[0\] must be an integer >= 0"),
    (lambda: stable_neuron_probability(3, b_std=0.0), ValueError, "b_std must be a finite"),
])
def test_input_validation(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- the symmetries, directly ---------------------------------------------------------------


def scaling_generators(spec, params):
    """One null vector per hidden neuron: +incoming weights (and bias), -outgoing weights."""
    shapes = spec.parameter_shapes()
    offsets = np.cumsum([0] + [math.prod(s) for _, s in shapes])
    where = {name: (offsets[i], shape) for i, (name, shape) in enumerate(shapes)}
    vectors = []
    for layer in range(1, spec.depth + 1):
        out_name = f"W{layer + 1}" if layer < spec.depth else "a"
        for i in range(spec.width):
            v = np.zeros(spec.n_parameters)
            start, shape = where[f"W{layer}"]
            block = np.zeros(shape)
            block[i] = params[f"W{layer}"][i]
            v[start:start + block.size] = block.ravel()
            if spec.bias:
                v[where[f"b{layer}"][0] + i] = params[f"b{layer}"][i]
            start, shape = where[out_name]
            block = np.zeros(shape)
            if out_name == "a":
                block[i] = -params["a"][i]
            else:
                block[:, i] = -params[out_name][:, i]
            v[start:start + block.size] = block.ravel()
            vectors.append(v)
    return np.array(vectors)


@pytest.mark.parametrize("depth, bias", [(1, False), (1, True), (2, True)])
def test_relu_rescalings_are_null_vectors_and_tanh_has_none(depth, bias):
    _, spec, params, _, jac = measure(4, 6, depth, "relu", bias, seed=1, n_data=50)
    generators = scaling_generators(spec, params)
    assert np.linalg.matrix_rank(generators) == depth * 6
    scale = np.abs(jac).max() * np.linalg.norm(generators, axis=1).max()
    assert np.abs(jac @ generators.T).max() < 1e-13 * scale
    _, spec, params, _, jac = measure(4, 6, depth, "tanh", bias, seed=1, n_data=50)
    assert np.abs(jac @ scaling_generators(spec, params).T).max() > 1e-3 * scale


# -- measured ranks -------------------------------------------------------------------------


@pytest.mark.parametrize("d, h, load", [(2, 6, 30.0), (3, 5, 3.0), (5, 8, 3.0), (10, 6, 3.0),
                                         (4, 12, 3.0)])
def test_one_hidden_layer_relu_without_bias_has_hd(d, h, load):
    """Each region of the arrangement contributes <= d dimensions, so small regions need
    data: on the circle (d = 2) the 2h arcs have random lengths, and N_data = 3P or 10P
    leaves some seeds with rank 9 to 11 < 12."""
    for seed in (0, 1):
        rank, *_ = measure(d, h, 1, "relu", False, seed=seed, load=load)
        assert rank == effective_parameters(d, h).n_eff == h * d


@pytest.mark.parametrize("d, h, b_std", [(3, 6, 2.0), (5, 6, 2.0), (5, 8, 1.0), (10, 6, 1.0),
                                         (3, 10, 0.2)])
def test_one_hidden_layer_relu_with_bias_counts_stable_neurons(d, h, b_std):
    """(d+1)(crossing + [any always active]); P - h when no neuron is stable."""
    checked = 0
    for seed in range(6):
        rank, spec, params, x, _ = measure(d, h, 1, "relu", True, seed=seed, load=12.0,
                                           b_std=b_std)
        if not resolved(spec, params, x):
            continue  # a neuron with too few points on one side: the data cannot show it
        checked += 1
        dead, active = stable_counts(spec, params, x)
        assert rank == relu_rank_bound(d, h, bias=True, dead=dead, always_active=active).n_eff
        if dead == active == [0]:
            assert rank == effective_parameters(d, h, bias=True).n_eff == h * (d + 1)
    assert checked >= 3


def test_stable_neurons_occur_and_cost_what_the_bound_says():
    rank, spec, params, x, _ = measure(3, 6, 1, "relu", True, seed=0, load=6.0, b_std=2.0)
    assert stable_counts(spec, params, x) == ([1], [3]) and resolved(spec, params, x)
    assert rank == 4 * (2 + 1) == relu_rank_bound(3, 6, bias=True, dead=[1],
                                                  always_active=[3]).n_eff
    assert rank < effective_parameters(3, 6, bias=True).n_eff == 24


@pytest.mark.parametrize("d, h, bias, b_std", [(10, 16, False, 1.0), (20, 12, False, 1.0),
                                                (10, 16, True, 0.1)])
def test_two_hidden_layer_relu_typically_reaches_p_minus_2h(d, h, bias, b_std):
    """P - 2h bounds every seed and is attained by most; the others have a neuron that is
    stable on the data, or active on a small region only."""
    maximal = effective_parameters(d, h, depth=2, bias=bias).n_eff
    ranks = [measure(d, h, 2, "relu", bias, seed=seed, b_std=b_std)[0] for seed in range(4)]
    assert max(ranks) <= maximal
    assert sum(rank == maximal for rank in ranks) >= 2


def test_dead_second_layer_neuron_costs_its_fan_in():
    """Seen at d = 5, h = 8: one dead layer-2 neuron; the rank drops by exactly h more."""
    rank, spec, params, x, _ = measure(5, 8, 2, "relu", False, seed=2)
    dead, active = stable_counts(spec, params, x)
    assert (dead, active) == ([0, 1], [0, 0])
    bound = relu_rank_bound(5, 8, depth=2, dead=dead, always_active=active).n_eff
    assert rank == bound == effective_parameters(5, 8, depth=2).n_eff - 8


@pytest.mark.parametrize("d, h, bias, b_std", [(3, 5, True, 1.0), (6, 8, True, 1.0),
                                                (5, 8, False, 1.0), (4, 12, False, 1.0)])
def test_two_hidden_layer_relu_stays_below_the_stable_neuron_bound(d, h, bias, b_std):
    for seed in range(3):
        rank, spec, params, x, _ = measure(d, h, 2, "relu", bias, seed=seed, b_std=b_std)
        dead, active = stable_counts(spec, params, x)
        bound = relu_rank_bound(d, h, depth=2, bias=bias, dead=dead, always_active=active)
        assert rank <= bound.n_eff <= effective_parameters(d, h, depth=2, bias=bias).n_eff


@pytest.mark.parametrize("activation", ["tanh", "erf"])
@pytest.mark.parametrize("d, h, depth, bias", [(5, 8, 1, False), (4, 12, 1, True),
                                               (10, 6, 2, False), (5, 8, 2, True),
                                               (3, 6, 2, True)])
def test_smooth_activations_have_full_rank(activation, d, h, depth, bias):
    rank, spec, *_ = measure(d, h, depth, activation, bias, seed=0, load=2.0)
    assert rank == effective_parameters(d, h, depth=depth, activation=activation,
                                        bias=bias).n_eff == spec.n_parameters


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_network_has_d_plus_bias(depth, bias):
    rank, spec, *_ = measure(6, 5, depth, "identity", bias, seed=depth, load=1.0)
    expected = effective_parameters(6, 5, depth=depth, activation="identity", bias=bias)
    assert rank == expected.n_eff == 6 + bias
    assert expected.n_symmetries == spec.n_parameters - 6 - bias


@pytest.mark.parametrize("activation, d, h, depth", [("tanh", 5, 8, 1), ("erf", 4, 6, 2),
                                                     ("relu", 10, 6, 1), ("relu", 8, 10, 2)])
def test_rank_is_capped_by_the_data(activation, d, h, depth):
    """N_eff = N_data below P - s, counting only the points with a non-zero Jacobian row
    (ReLU: points where every neuron of the last hidden layer is off have none)."""
    n_data = parameter_count(d, h, depth=depth) * 2 // 3
    rank, *_, jac = measure(d, h, depth, activation, False, seed=5, n_data=n_data)
    live = int(np.count_nonzero(np.abs(jac).max(axis=1) > 0))
    assert live == n_data or activation == "relu"
    assert rank == effective_parameters(d, h, depth=depth, activation=activation,
                                        n_data=live).n_eff == live


@pytest.mark.parametrize("depth", [1, 2])
def test_relu_in_one_dimension_without_bias_spans_two_functions(depth):
    rank, *_ = measure(1, 7, depth, "relu", False, seed=4, n_data=100, gaussian=True)
    assert rank == effective_parameters(1, 7, depth=depth).n_eff == 2


# -- finite data: small caps ----------------------------------------------------------------


def test_shallow_rank_arithmetic_by_hand():
    """d = 3 with bias (k = 4), 100 points."""
    # crossing with caps >= 4: 4 each; no always-active: no affine part
    assert shallow_relu_rank(3, [50, 30, 70], 100, bias=True).n_eff == 12
    # a dead neuron and a mostly dead one with a 2-point cap: 4 + 2
    assert shallow_relu_rank(3, [0, 50, 2], 100, bias=True).n_eff == 6
    # a mostly active neuron with a 1-point cap: 1 + min(4, 3) for its affine share
    assert shallow_relu_rank(3, [50, 99], 100, bias=True).n_eff == 4 + 1 + 3
    # two always-active neurons: the affine functions once
    assert shallow_relu_rank(3, [100, 100, 50], 100, bias=True).n_eff == 4 + 4
    # large caps everywhere: the infinite-data count
    for counts, dead, active in ([[40, 60, 0, 100, 100], 1, 2], [[10, 90, 50], 0, 0]):
        assert shallow_relu_rank(3, counts, 100, bias=True).n_eff == relu_rank_bound(
            3, len(counts), bias=True, dead=[dead], always_active=[active]).n_eff
    with pytest.raises(ValueError, match="active_counts must be <= n_data = 10; got 11"):
        shallow_relu_rank(3, [11], 10)
    with pytest.raises(ValueError, match=r"active_counts\[1\] must be an integer >= 0"):
        shallow_relu_rank(3, [1, -1], 10)


@pytest.mark.parametrize("d, h, bias, b_std, load", [(3, 6, True, 2.0, 3.0),
                                                     (5, 6, True, 2.0, 2.0),
                                                     (5, 8, True, 1.0, 2.0),
                                                     (10, 16, True, 1.0, 2.0),
                                                     (4, 12, False, 1.0, 2.0)])
def test_shallow_rank_is_an_upper_bound_that_refines_the_infinite_data_count(d, h, bias,
                                                                              b_std, load):
    """The theorem: rank <= shallow count <= infinite-data count, on every draw; the
    refinement matters where caps hold fewer than d + 1 points (not exactness: measured,
    the count misses the rank of some fresh networks, S1.relu-rank-finite-data)."""
    refined = 0
    for seed in range(8):
        rank, spec, params, x, _ = measure(d, h, 1, "relu", bias, seed=seed, load=load,
                                           b_std=b_std)
        counts = activity(spec, params, x)[0]
        shallow = shallow_relu_rank(d, counts.tolist(), len(x), bias=bias).n_eff
        dead, active = stable_counts(spec, params, x)
        infinite_data = relu_rank_bound(d, h, bias=bias, dead=dead, always_active=active).n_eff
        assert rank <= shallow <= infinite_data
        refined += shallow < infinite_data
    if (d, load) in ((5, 2.0), (10, 2.0)):
        assert refined >= 2  # the refinement matters in these (measured: 2 to 5 of 8 seeds)


def test_shallow_rank_is_an_upper_bound_with_scarce_data():
    for seed in range(10):
        rank, spec, params, x, _ = measure(3, 10, 1, "relu", True, seed=seed, load=1.2,
                                           b_std=1.5)
        counts = activity(spec, params, x)[0].tolist()
        assert rank <= shallow_relu_rank(3, counts, len(x), bias=True).n_eff


# -- finite data: the activation-pattern count ----------------------------------------------


def _minimum_over_pattern_sets(table, counts, k):
    """The theorem's minimum by enumeration of every set of distinct patterns."""
    best = int(np.sum(counts))
    for size in range(1, len(table) + 1):
        for chosen in itertools.combinations(range(len(table)), size):
            rank = np.linalg.matrix_rank(table[list(chosen)].astype(float))
            outside = np.sum(np.delete(counts, chosen))
            best = min(best, int(k * rank + outside))
    return best


def _gaussian_rows_rank(table, counts, k, rng):
    """Float rank of rows 1_A (x) g with Gaussian g (another generic choice)."""
    rows = np.repeat(table, counts, axis=0).astype(float)
    if rows.size == 0:
        return 0
    draws = rng.standard_normal((len(rows), k))
    return int(np.linalg.matrix_rank((rows[:, :, None] * draws[:, None, :]).reshape(len(rows), -1)))


def test_pattern_rank_is_the_minimum_over_pattern_sets():
    """Three implementations agree on 200 random pattern sets: the minimum by enumeration,
    the float rank of Gaussian rows, and the exact rank over F_p."""
    rng = np.random.default_rng(20261202)
    for _ in range(200):
        k, width = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        table = np.unique(rng.random((int(rng.integers(1, 9)), width)) < 0.5, axis=0)
        counts = rng.integers(0, 6, size=len(table))
        exact = activation_pattern_rank(k, table, counts).n_eff
        assert exact == _minimum_over_pattern_sets(table, counts, k)
        assert exact == _gaussian_rows_rank(table, counts, k, rng)


def test_pattern_rank_by_hand():
    """k = 3 (d = 2 with bias). Two neurons, 1 point on each alone, 10 on both: each
    neuron spans 3 dimensions, and they share max(0, 3 - |S_1 xor S_2|) = 1."""
    table = np.array([[True, False], [False, True], [True, True]])
    assert activation_pattern_rank(2, table, [1, 1, 10], bias=True).n_eff == 3 + 3 - 1
    # one point per row, repeated rows allowed; inactive points and dead neurons add nothing
    rows = np.array([[True, False, False]] * 5 + [[False, False, False]] * 4)
    assert activation_pattern_rank(2, rows, bias=True).n_eff == 3
    assert activation_pattern_rank(2, rows, bias=True).n_weights == 3 * 4
    with pytest.raises(ValueError, match="patterns must be a 2-d bool array"):
        activation_pattern_rank(2, [[1, 0]])
    with pytest.raises(ValueError, match="counts must be 2 non-negative integers"):
        activation_pattern_rank(2, table[:2], [1, -1])


@pytest.mark.parametrize("d, h, bias, b_std, load", [(3, 8, True, 2.0, 1.0),
                                                     (3, 8, True, 2.0, 3.0),
                                                     (5, 8, True, 2.0, 2.0),
                                                     (10, 16, True, 1.0, 2.0),
                                                     (4, 12, False, 1.0, 2.0)])
def test_the_measured_rank_is_the_pattern_rank(d, h, bias, b_std, load):
    """The theorem on fresh networks (every draw): rank = pattern count <= shallow count."""
    below_shallow = 0
    for seed in range(6):
        rank, spec, params, x, _ = measure(d, h, 1, "relu", bias, seed=1000 + seed, load=load,
                                           b_std=b_std)
        table = patterns(spec, params, x)[0]
        predicted = activation_pattern_rank(d, table, bias=bias).n_eff
        shallow = shallow_relu_rank(d, table.sum(axis=0).tolist(), len(x), bias=bias).n_eff
        assert rank == predicted <= shallow
        below_shallow += predicted < shallow
    if (d, load) == (3, 1.0):
        assert below_shallow >= 1  # scarce data: the pair deficits the shallow count misses


# -- stable first-layer neurons on the sphere -----------------------------------------------


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.0])
def test_stable_probability_in_two_dimensions_in_closed_form(ratio):
    """d = 2: |w|^2 is exponential with mean 2, so p = 1 - E exp(-r^2 Z^2/2) = 1 - 1/sqrt(1+r^2)."""
    assert_allclose(stable_neuron_probability(2, b_std=ratio), 1 - 1 / math.sqrt(1 + ratio**2),
                    rtol=1e-12)


@pytest.mark.parametrize("d, w_std, b_std", [(3, 1.0, 1.0), (5, 1.0, 1.5), (10, 0.7, 1.0)])
def test_stable_probability_by_monte_carlo(d, w_std, b_std):
    rng = np.random.default_rng(d)
    n = 400_000
    w_norm = np.linalg.norm(rng.standard_normal((n, d)), axis=1)
    stable = b_std * np.abs(rng.standard_normal(n)) >= w_std * w_norm
    p = stable_neuron_probability(d, W_std=w_std, b_std=b_std)
    assert abs(stable.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_expected_shallow_rank_by_monte_carlo_and_jacobians():
    d, h, b_std = 3, 6, 1.5
    rng = np.random.default_rng(9)
    trials = 100_000
    w_norm = np.linalg.norm(rng.standard_normal((trials, h, d)), axis=2)
    b = b_std * rng.standard_normal((trials, h))
    crossing = (np.abs(b) < w_norm).sum(axis=1)
    any_active = (b >= w_norm).any(axis=1)
    ranks = (d + 1) * (crossing + any_active)
    expected = expected_shallow_relu_rank(d, h, b_std=b_std)
    assert abs(ranks.mean() - expected) < 5 * ranks.std() / math.sqrt(trials)
    # and the count formula against measured Jacobian ranks, with stability on the sphere
    checked = 0
    for seed in range(4):
        rank, spec, params, x, _ = measure(d, h, 1, "relu", True, seed=seed, load=12.0,
                                           b_std=b_std)
        w_norm = np.linalg.norm(params["W1"], axis=1)
        on_sphere_crossing = int((b_std * np.abs(params["b1"]) < w_norm).sum())
        on_sphere_active = int((b_std * params["b1"] >= w_norm).sum())
        if resolved(spec, params, x):
            checked += 1
            assert rank == (d + 1) * (on_sphere_crossing + min(on_sphere_active, 1))
    assert checked >= 2


def test_shallow_rank_never_exceeds_the_infinite_data_count():
    """Small caps only remove dimensions: the finite-data count is at most relu_rank_bound
    (with the same stable neurons), with equality when every side holds d + beta points."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        d, h, bias = int(rng.integers(1, 8)), int(rng.integers(1, 10)), bool(rng.integers(2))
        n_data = int(rng.integers(1, 60))
        counts = rng.integers(0, n_data + 1, size=h)
        # push some neurons to the ends (stable or nearly so)
        ends = rng.random(h)
        counts[ends < 0.15] = 0
        counts[ends > 0.85] = n_data
        dead, always = int(np.sum(counts == 0)), int(np.sum(counts == n_data))
        finite = shallow_relu_rank(d, counts.tolist(), n_data, bias=bias).n_eff
        infinite = relu_rank_bound(d, h, bias=bias, dead=[dead], always_active=[always],
                                   n_data=n_data).n_eff
        assert finite <= infinite
        side = np.minimum(counts, n_data - counts)
        if np.all((side == 0) | (side >= d + int(bias))):
            assert finite == infinite
