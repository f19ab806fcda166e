"""The trained-features sweeps: exact SVM paths on a trained network's last hidden layer."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate.readout_paths import PATH_FIELDS
from jamming.sweeps.trained_features import (
    DIGITS_FEATURES_SWEEP,
    SNAPSHOT_FIELDS,
    TRAINED_FEATURES_SWEEP,
    prefix_sizes,
    trained_feature_trials,
)


@pytest.mark.parametrize("task, depth", [("relu-teacher", 2), ("digits", 1)])
def test_one_point_records_certified_paths_per_snapshot(task, depth):
    point = {"task": task, "input_dim": 5, "depth": depth, "width": 8, "n_train": 80,
             "n_pool": 80, "n_test": 100, "record_at": [0, 200], "learning_rate": 1e-2,
             "min_load": 0.5, "n_loads": 6, "instance": 0, "seed": 11}
    out = trained_feature_trials(point)
    assert out["steps"].tolist() == [0, 200]
    for name in SNAPSHOT_FIELDS:
        assert out[name].shape == (2,), name
    rows = len(out["path_step"])
    for name in ("sizes", *PATH_FIELDS):
        assert out[name].shape == (rows,), name
    assert set(out["path_step"].tolist()) == {0, 200}
    assert out["certified"].all()
    for t, step in enumerate(out["steps"]):
        mine = out["path_step"] == step
        sizes, sat = out["sizes"][mine], out["sat"][mine]
        assert np.all(np.diff(sizes) > 0)
        n_star = out["n_star"][t]
        np.testing.assert_array_equal(sat, sizes <= n_star)  # the LP's transition
        assert (n_star in sizes) and (out["censored"][t] or n_star + 1 in sizes)
    assert np.all(out["rank"] <= 8) and np.all(out["loss"][out["sat"]] == 0)
    assert np.all(out["n_delta"][out["sat"]] == 0) and (~out["sat"]).any()
    assert np.all((0 <= out["alignment"]) & (out["alignment"] <= 1))
    # the same point gives the same record (explicit seeds)
    again = trained_feature_trials(point)
    np.testing.assert_array_equal(again["test_loss"], out["test_loss"])


def test_prefix_sizes_are_geometric_in_the_load_and_end_at_the_pool():
    sizes = prefix_sizes(20, 800, 0.25, 30)
    assert sizes[0] == 5 and sizes[-1] == 800 and np.all(np.diff(sizes) > 0)
    ratios = sizes[1:] / sizes[:-1]
    assert np.allclose(ratios[-5:], (800 / 5) ** (1 / 29), rtol=0.05)


def test_grids_scale_the_sets_with_the_width_and_draw_fresh_seeds():
    quick, paper = TRAINED_FEATURES_SWEEP.points("quick"), TRAINED_FEATURES_SWEEP.points("paper")
    assert all(p["n_train"] == 20 * p["width"] and p["n_pool"] == 20 * p["width"]
               for p in quick)
    assert {(p["input_dim"], p["depth"]) for p in paper} == {
        (d, depth) for d in (10, 20, 40) for depth in (1, 2, 3)}
    seeds = [p["seed"] for spec in (TRAINED_FEATURES_SWEEP, DIGITS_FEATURES_SWEEP)
             for scale in ("quick", "paper", "full") for p in spec.points(scale)]
    assert len(set(seeds)) == len(seeds)
    for scale in ("quick", "paper", "full"):
        assert all(p["n_train"] + p["n_pool"] + p["n_test"] <= 1797
                   for p in DIGITS_FEATURES_SWEEP.points(scale))
