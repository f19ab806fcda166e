"""Two-layer ReLU networks in 1-D (S4): gradients, diagnostics, training, sweep."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate import relu1d as R

SMALL = {"target": "paper", "n": 12, "m": 20, "schedule": "large", "eta_small": 3e-3,
         "eta_large": 0.03, "decay_fraction": 0.5, "n_steps": 3000, "batch_size": 1,
         "record_every": 500, "seed": 7}


def _params(a, w, b, c=None):
    parts = [a, w, b] + ([[c]] if c is not None else [])
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])


@pytest.mark.parametrize("output_bias", [False, True])
def test_model_is_the_standard_parametrised_dense_network(output_bias):
    """The correspondence of the module docstring with :mod:`jamming.simulate.networks`."""
    torch = pytest.importorskip("torch")
    from jamming.simulate.networks import DenseNetwork, jacobian, network_outputs

    m = 6
    theta = R.init_params(m, np.random.default_rng(2), output_bias=output_bias)
    theta[3 * m:] = 0.4  # a non-zero output bias
    a, w, b, c = R.split_params(theta, m)
    network = DenseNetwork(1, m, depth=1, activation="relu", parameterization="standard",
                           bias=(True, output_bias), b_std=(1.0, 1.0 if output_bias else 0.0))
    params = {"W1": w[None, None, :], "b1": b[None], "W2": a[None, :, None]}
    if output_bias:
        params["b2"] = np.array([[c]])
    params = {name: torch.as_tensor(value) for name, value in params.items()}
    x = np.linspace(-1.0, 1.0, 9)
    np.testing.assert_allclose(network_outputs(network, params, x[:, None])[0],
                               R.predict(theta, m, x), rtol=1e-14, atol=1e-15)
    rows = jacobian(network, params, x[:, None])[0]  # columns w, b, a (, c)
    order = np.r_[2 * m:3 * m, 0:2 * m, 3 * m:rows.shape[1]]
    np.testing.assert_allclose(rows[:, order], R.jacobian(theta, m, x), rtol=1e-14,
                               atol=1e-15)


@pytest.mark.parametrize("output_bias", [False, True])
def test_gradient_and_jacobian_match_finite_differences(output_bias):
    m = 9
    theta = R.init_params(m, np.random.default_rng(3), output_bias=output_bias)
    if output_bias:
        theta[-1] = 0.4
    x, y, _, _ = R.make_data("sine", 15)
    eps = 1e-6
    basis = np.eye(theta.size)
    fd_grad = np.array([(R.loss(theta + eps * e, m, x, y) - R.loss(theta - eps * e, m, x, y))
                        / (2 * eps) for e in basis])
    np.testing.assert_allclose(R.loss_gradient(theta, m, x, y), fd_grad, atol=1e-8)
    fd_jac = np.stack([(R.predict(theta + eps * e, m, x) - R.predict(theta - eps * e, m, x))
                       / (2 * eps) for e in basis], axis=1)
    np.testing.assert_allclose(R.jacobian(theta, m, x), fd_jac, atol=1e-7)


@pytest.mark.parametrize("batch_size, output_bias", [(1, False), (3, True)])
def test_numba_training_matches_numpy(batch_size, output_bias):
    params = {**SMALL, "batch_size": batch_size, "output_bias": output_bias, "n_steps": 400,
              "record_every": 100}
    fast = R.train_relu1d(params, use_numba=True)
    slow = R.train_relu1d(params, use_numba=False)
    np.testing.assert_allclose(fast["final_theta"], slow["final_theta"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast["train_loss"], slow["train_loss"], rtol=1e-10)
    assert fast["final_theta"].size == 3 * 20 + output_bias


def test_count_kinks_merges_aligned_and_ignores_silent_neurons():
    # neuron 0: kink at -0.5; 1 and 2: aligned at 0.2 (one kink); 3: a = 0 at 0.6 (silent);
    # 4: kink outside the range; 5 and 6: aligned at 0.7 with cancelling slope jumps
    a = [1.0, 0.5, 0.3, 0.0, 2.0, 1.0, -1.0]
    w = [1.0, 2.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    b = [0.5, -0.4, 0.2 + 1e-4, -0.6, -3.0, -0.7, -0.7]
    theta = _params(a, w, b)
    count, positions = R.count_kinks(theta, 7, (-1.0, 1.0))
    assert count == 2
    np.testing.assert_allclose(positions, [-0.5, 0.2], atol=1e-3)
    # the slope of f jumps by sum a_j |w_j| there (checked numerically), and nowhere else
    grid = np.linspace(-1, 1, 4001)
    slope = np.diff(R.predict(theta, 7, grid)) / np.diff(grid)
    jumps = np.flatnonzero(np.abs(np.diff(slope)) > 1e-6)
    assert np.all((np.abs(grid[jumps] + 0.5) < 2e-3) | (np.abs(grid[jumps] - 0.2) < 2e-3))
    # no merging: the aligned pair counts twice when apart by more than merge_tol
    assert R.count_kinks(theta, 7, (-1.0, 1.0), merge_tol=1e-6)[0] == 3


def test_count_kinks_edge_cases():
    count, positions = R.count_kinks(np.zeros(6), 2, (-1, 1))
    assert count == 0 and positions.shape == (0,)
    with pytest.raises(ValueError, match="x_range"):
        R.count_kinks(np.zeros(6), 2, (1, -1))


def test_feature_sparsity_hand_built():
    x = np.array([-1.0, 0.0, 1.0])
    # activations: [0,0,1], [0,0,2] (aligned with the first), [1.5,0.5,0], dead,
    # two constant columns [1,1,1], [2,2,2] (one group)
    w = [1.0, 2.0, -1.0, -1.0, 0.0, 0.0]
    b = [0.0, 0.0, 0.5, -5.0, 1.0, 2.0]
    theta = _params(np.ones(6), w, b)
    # kept groups {0, 1}, {2}, {4, 5} hold 1 + 2 + 3 = 6 non-zero activations
    assert R.feature_sparsity(theta, 6, x) == pytest.approx(6 / (3 * 6))
    assert R.feature_sparsity(_params(np.ones(2), [1.0, 1.0], [-5.0, -6.0]), 2, x) == 0.0


def test_jacobian_rank_of_identical_neurons_is_two():
    m = 5
    theta = _params(np.full(m, 0.3), np.full(m, 1.0), np.full(m, 2.0))
    x = np.linspace(-1, 1, 12)
    assert R.jacobian_rank(theta, m, x) == 2   # spans {x, 1}
    assert R.jacobian_rank(_params(np.zeros(m), np.ones(m), -5 * np.ones(m)), m, x) == 0


def test_training_reproducible_by_seed_and_shapes():
    a = R.train_relu1d(SMALL)
    b = R.train_relu1d(SMALL)
    c = R.train_relu1d({**SMALL, "seed": 8})
    for key, value in a.items():
        np.testing.assert_array_equal(value, b[key], err_msg=key)
    assert not np.array_equal(a["final_theta"], c["final_theta"])
    n_rec = SMALL["n_steps"] // SMALL["record_every"] + 1
    for key in ("steps", "train_loss", "test_loss", "jacobian_rank", "feature_sparsity"):
        assert a[key].shape == (n_rec,)
    np.testing.assert_array_equal(a["steps"], np.arange(0, 3001, 500))
    assert not a["diverged"] and a["diverged_at"] == -1
    assert a["final_train_loss"] == pytest.approx(a["train_loss"][-1])
    assert isinstance(a["final_kinks"], int) and a["final_kinks"] >= 0
    assert np.all(np.isfinite(a["train_loss"]))


def test_step_sizes_schedule():
    etas = R.step_sizes("large", 10, 0.1, 1.0, 0.3)
    np.testing.assert_array_equal(etas, [1.0] * 3 + [0.1] * 7)
    np.testing.assert_array_equal(R.step_sizes("small", 4, 0.1, 1.0, 0.3), [0.1] * 4)


@pytest.mark.parametrize("use_numba", [True, False])
def test_divergence_is_flagged_not_dropped(use_numba):
    out = R.train_relu1d({**SMALL, "eta_large": 50.0, "n_steps": 600, "record_every": 100},
                         use_numba=use_numba)
    assert out["diverged"] and 0 < out["diverged_at"] <= 300
    rec = out["steps"] < out["diverged_at"]
    assert np.all(np.isfinite(out["train_loss"][rec]))
    assert np.all(np.isnan(out["train_loss"][~rec]))
    assert np.isnan(out["final_train_loss"]) and out["final_kinks"] == -1
    assert out["train_loss"].shape == (7,)
    # a tight bound flags the run too
    assert R.train_relu1d({**SMALL, "bound": 1e-3}, use_numba=use_numba)["diverged_at"] == 1


@pytest.mark.parametrize("change, match", [
    ({"target": "cosine"}, "target"),
    ({"n": 10}, "n must be 12"),
    ({"batch_size": 13}, "batch_size"),
    ({"eta_small": 0.0}, "eta_small"),
    ({"eta_large": float("nan")}, "eta_large"),
    ({"decay_fraction": 1.5}, "decay_fraction"),
    ({"schedule": "huge"}, "schedule"),
    ({"m": 0}, "m must"),
    ({"n_steps": 10.5}, "n_steps"),
    ({"record_every": 0}, "record_every"),
    ({"corr_threshold": 1.0}, "corr_threshold"),
    ({"seed": -1}, "seed"),
])
def test_input_validation(change, match):
    # a value of the wrong type (n_steps = 10.5) raises TypeError, a bad value ValueError
    with pytest.raises((ValueError, TypeError), match=match):
        R.train_relu1d({**SMALL, **change})
