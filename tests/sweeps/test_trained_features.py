"""The trained-features sweep: exact SVM paths on a trained network's hidden features."""

from __future__ import annotations

import numpy as np

from jamming.sweeps.trained_features import trained_feature_trials, trained_grid


def test_one_point_records_certified_paths_per_snapshot():
    point = {"input_dim": 5, "width": 8, "n_train": 80, "record_at": [0, 200],
             "learning_rate": 1e-2, "size_step": 10, "instance": 0, "seed": 11}
    out = trained_feature_trials(point)
    assert out["sizes"].tolist() == list(range(10, 81, 10))
    for name in ("sat", "n_delta", "loss", "certified", "rank"):
        assert out[name].shape == (2, 8), name
    assert out["certified"].all()
    assert np.all(out["rank"] <= 8) and np.all(out["loss"][out["sat"]] == 0)
    assert np.all(out["n_delta"][out["sat"]] == 0) and (~out["sat"]).any()


def test_grids_scale_the_training_set_with_the_width_and_draw_fresh_seeds():
    quick, paper = trained_grid("quick"), trained_grid("paper")
    assert all(p["n_train"] == 10 * p["width"] for p in quick)
    assert {p["seed"] for p in quick}.isdisjoint({p["seed"] for p in paper})
