"""The grids and point functions of the feature sweeps (S1)."""

from __future__ import annotations

import numpy as np

from jamming.simulate.features import (
    NetworkSpec,
    init_parameters,
    sphere_inputs,
)


def test_relu_rank_trial_against_a_closed_form_jacobian():
    """Rank of the closed-form one-hidden-layer Jacobian (numpy's matrix_rank), and the
    active counts counted directly, for the same draws (parameters, then inputs)."""
    from jamming.sweeps.features import relu_rank_trial

    for bias, b_std, seed in ((True, 2.0, 7), (True, 1.0, 8), (False, 1.0, 9)):
        params = {"input_dim": 3, "width": 5, "bias": bias, "b_std": b_std, "load": 2,
                  "seed": seed}
        result = relu_rank_trial(params)
        spec = NetworkSpec(3, 5, 1, "relu", bias, b_std=b_std if bias else 0.0)
        rng = np.random.default_rng(seed)
        weights = {name: value.numpy() for name, value in init_parameters(spec, rng).items()}
        n_data = 2 * spec.n_parameters
        x = sphere_inputs(n_data, 3, rng)
        z = spec.W_std / np.sqrt(3) * x @ weights["W1"].T
        if bias:
            z = z + b_std * weights["b1"]
        gate = weights["a"] * (z > 0)
        blocks = [((spec.W_std**2 / np.sqrt(5 * 3)) * gate[:, :, None] * x[:, None, :])
                  .reshape(n_data, -1)]
        if bias:
            blocks.append(spec.W_std * b_std / np.sqrt(5) * gate)
        blocks.append(spec.W_std / np.sqrt(5) * np.maximum(z, 0))
        jacobian = np.hstack(blocks)
        assert jacobian.shape == (n_data, spec.n_parameters)
        assert result["rank"] == np.linalg.matrix_rank(jacobian)
        distinct, counts = np.unique(z > 0, axis=0, return_counts=True)
        assert np.array_equal(result["patterns"], distinct)
        assert np.array_equal(result["pattern_counts"], counts)
        assert result["pattern_counts"].sum() == n_data
        assert result["n_parameters"] == spec.n_parameters and result["n_data"] == n_data
        counts = result["active_counts"]
        assert counts.dtype == np.int64 and counts.shape == (5,)
        assert np.array_equal(counts, np.sum(z > 0, axis=0))


def test_relu_rank_grid_reaches_scarce_data_with_fresh_seeds():
    """d >= 3, N_data = P to 3P, with and without biases; fresh seeds, unlike those of the
    jacobian-rank sweep; the quick grid keeps the scarce-data regime (d = 3, N_data = P)."""
    from jamming.sweeps.features import JACOBIAN_RANK_SWEEP, RELU_RANK_SWEEP

    for scale in ("quick", "paper", "full"):
        grid = RELU_RANK_SWEEP.points(scale)
        assert all(p["input_dim"] >= 3 and p["load"] in (1, 2, 3) for p in grid)
        assert {p["bias"] for p in grid} == {False, True}
        assert any(p["input_dim"] == 3 and p["load"] == 1 and p["bias"] for p in grid)
        seeds = [p["seed"] for p in grid]
        assert len(set(seeds)) == len(seeds)
        assert not set(seeds) & {p["seed"] for p in JACOBIAN_RANK_SWEEP.points(scale)}
    assert len(RELU_RANK_SWEEP.points("quick")) <= 24


def test_smallest_pair_difference_against_brute_force():
    from itertools import combinations

    from jamming.sweeps.features import smallest_pair_difference

    rng = np.random.default_rng(5)
    for _ in range(20):
        active = rng.random((30, 6)) < rng.uniform(0.05, 0.95, 6)
        active[:, 0] = True  # always active: not crossing
        counts = active.sum(0)
        crossing = [i for i in range(6) if 0 < counts[i] < 30]
        pairs = [np.sum(active[:, i] != active[:, j]) for i, j in combinations(crossing, 2)]
        assert smallest_pair_difference(active) == (min(pairs) if pairs else 30)


def test_jacobian_rank_records_the_activity_of_every_layer():
    from jamming.sweeps.features import JACOBIAN_RANK_SWEEP, jacobian_rank_trial

    point = next(p for p in JACOBIAN_RANK_SWEEP.points("quick") if p["depth"] == 2)
    result = jacobian_rank_trial(point)
    assert result["active_counts"].shape == (2, point["width"])
    assert result["pair_differences"].shape == (2,)
    assert result["dead"] == int((result["active_counts"][0] == 0).sum())
