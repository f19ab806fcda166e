"""The grids and point functions of the Cover sweep."""

from __future__ import annotations

import pytest

from jamming.sweeps.jamming_linear import COVER_SWEEP, cover_trials


def test_cover_trials_is_a_pure_function_of_its_seed():
    params = {"n_eff": 6, "n_data": 12, "trials": 30, "seed": 123}
    first, second = cover_trials(params), cover_trials(dict(params))
    assert first == second and first["trials"] == 30
    assert 0 <= first["n_separable"] <= 30


@pytest.mark.parametrize("scale", ["quick", "paper", "full"])
def test_cover_grid_has_distinct_keys_and_seeds(scale):
    points = COVER_SWEEP.points(scale)
    keys = {COVER_SWEEP.key(p) for p in points}
    assert len(keys) == len(points)
    assert len({p["seed"] for p in points}) == len(points)
    loads = [p["n_data"] / p["n_eff"] for p in points]
    assert min(loads) <= 0.6 and max(loads) >= 3.9


def test_paper_grid_meets_the_standard_error_target():
    """At paper scale every (N_eff, N_data) has >= 625 trials: SE <= 0.5/sqrt(625) = 0.02."""
    trials = {}
    for p in COVER_SWEEP.points("paper"):
        trials[(p["n_eff"], p["n_data"])] = trials.get((p["n_eff"], p["n_data"]), 0) + p["trials"]
    assert min(trials.values()) >= 625
    assert {n for n, _ in trials} == {5, 10, 20, 40, 80}
