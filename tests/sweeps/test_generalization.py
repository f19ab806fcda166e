"""The test-cusp sweep: nested training curves and their grid."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.sweeps.generalization import TEST_CUSP_SWEEP, nested_training_curve


def test_nested_training_curve_is_consistent():
    point = TEST_CUSP_SWEEP.points("quick")[0]
    result = nested_training_curve(point)
    again = nested_training_curve(point)
    assert all(np.array_equal(result[k], again[k]) for k in result)  # seeded
    sizes, sat, n_star = result["sizes"], result["sat"], result["n_star"]
    assert {n_star, n_star + 1} <= set(sizes.tolist())
    assert np.array_equal(sat, sizes <= n_star)  # separability is monotone in nested data
    # SAT: support-vector margins are 1 to rounding, so the training loss is ~ (1e-13)^2
    assert (result["train_loss"][sat] < 1e-20).all() and (result["train_loss"][~sat] > 1e-6).all()
    # adding constraints can only raise the hard-margin norm |w| = 1 / kappa_max
    assert (np.diff(result["w_norm"][sat]) >= -1e-9 * result["w_norm"][sat][1:]).all()
    assert result["excess_z_last_sat"][sizes == n_star] == 0
    assert result["excess_z_first_unsat"][sizes == n_star + 1] == 0
    assert ((0 <= result["test_error"]) & (result["test_error"] <= 1)).all()


def test_cusp_points_are_distinct_and_seeded():
    points = TEST_CUSP_SWEEP.points("paper")
    assert len({p["seed"] for p in points}) == len(points)
    assert {p["psi"] for p in points} == {0.5, 1.0, 2.0}
    with pytest.raises(ValueError, match="scale must be one of"):
        TEST_CUSP_SWEEP.points("huge")


def test_grids_scan_the_exception_rate_where_it_is_hardest():
    """psi = 1 at N_eff = 20, 40 (the forecast) and beyond (tested): 400 instances per size
    at paper scale; the quick grid keeps the hardest sizes, 20 and 40, at 20 instances."""
    for scale, expected in (("quick", {20: 20, 40: 20, 80: 6, 160: 2}),
                            ("paper", {20: 400, 40: 400, 80: 400, 160: 400})):
        scan = [p["input_dim"] for p in TEST_CUSP_SWEEP.points(scale) if p["psi"] == 1.0]
        assert {d: scan.count(d) for d in set(scan)} == expected
