"""The grids and point functions of the sparse-features sweeps (S4)."""

from __future__ import annotations

import numpy as np

from jamming.sweeps.sparse_features import (
    RELU_SPARSE_FEATURES_SWEEP,
    relu1d_point,
    sparse_features_point,
)


def test_diagonal_points_return_documented_shapes():
    base = {"n": 20, "d": 40, "r": 3, "seed": 2, "alpha": 0.1, "eta_small": 0.002,
            "eta_large": 0.02, "n_steps": 2000, "record_every": 200}
    for schedule in ("small", "large-30"):
        out = sparse_features_point({**base, "schedule": schedule})
        assert out["steps"].shape == out["train_loss"].shape == (11,)
        assert out["jacobian_rank"].dtype == np.int64 and out["beta"].shape == (40,)
    assert np.isfinite(out["large_phase_loss"])


def test_relu1d_grid_pairs_schedules_by_seed():
    points = RELU_SPARSE_FEATURES_SWEEP.points("quick")
    assert RELU_SPARSE_FEATURES_SWEEP.name == "relu1d-sparse-features"
    assert [p["schedule"] for p in points] == ["small", "large"] * 2
    assert points[0]["seed"] == points[1]["seed"] != points[2]["seed"]
    assert len(RELU_SPARSE_FEATURES_SWEEP.points("paper")) == 16
    assert len(RELU_SPARSE_FEATURES_SWEEP.points("full")) == 96
    out = relu1d_point({**points[1], "n_steps": 200, "record_every": 100})
    assert out["steps"].tolist() == [0, 100, 200]
