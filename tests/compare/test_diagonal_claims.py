"""S4 diagonal-network and sparse-features claims: their statistics on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jamming.compare.diagonal_networks import _kkt_statistic, _support_mismatches
from jamming.compare.sparse_features import paired_differences
from jamming.theory.label_noise_lasso import label_noise_lasso, label_noise_lasso_weights


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((30, 60))
    beta = np.zeros(60)
    beta[:5] = [1.0, -1.0, 1.0, 1.0, -1.0]
    y = X @ beta
    eta, delta = 0.02, 1.5
    return X, y, label_noise_lasso(X, y, eta, delta), label_noise_lasso_weights(X, eta, delta)


def test_kkt_statistic_vanishes_at_the_lasso_and_measures_a_rescaled_weight(problem):
    X, y, lasso, weights = problem
    assert np.all(np.abs(_kkt_statistic(X, y, lasso.beta[None, :], lasso, weights)) < 1e-9)
    # the Lasso with weights 1.3 x as large has kappa = +0.3 on the common support
    stronger = label_noise_lasso(X, y, 0.02 * 1.3, 1.5)
    assert set(stronger.support) == set(lasso.support)
    kappa = _kkt_statistic(X, y, stronger.beta[None, :], lasso, weights)
    assert np.allclose(kappa, 0.3, atol=1e-8)


def test_support_mismatches_count_missed_and_spurious_coordinates(problem):
    _, _, lasso, _ = problem
    runs = np.stack([lasso.beta, lasso.beta, lasso.beta])
    assert _support_mismatches(runs, lasso.beta) == 0
    off = np.flatnonzero(lasso.beta == 0)[0]
    on = np.argmax(np.abs(lasso.beta))
    runs[1, off] = np.max(np.abs(lasso.beta))
    runs[2, on] = -lasso.beta[on]
    assert _support_mismatches(runs, lasso.beta) == 2


def test_paired_differences_pair_by_seed_and_exclude_divergence():
    frame = pd.DataFrame({
        "seed": [1, 2, 3, 1, 2, 3],
        "configuration": ["small"] * 3 + ["large 0.1, decay at 50 %"] * 3,
        "diverged": [False, False, False, False, False, True],
        "final_test_loss": [1.0, 2.0, 3.0, 0.5, 1.0, np.nan],
        "final_jacobian_rank": [10, 10, 10, 8, 9, 0],
        "final_feature_sparsity": [0.5, 0.5, 0.5, 0.5, 0.5, 0.0],
        "final_kinks": [6, 6, 6, 4, 4, 0],
    })
    table = paired_differences(frame, "relu1d").set_index("metric")
    assert (table["pairs"] == 2).all() and (table["diverged"] == 1).all()
    assert table.loc["test loss", "difference"] == pytest.approx(-0.75)
    assert table.loc["kinks", "t"] == -np.inf  # identical differences: zero spread
    assert table.loc["feature sparsity", "t"] == 0.0
