"""The network-jump and lazy-limit sweeps: one point each, grids and seeds."""

from __future__ import annotations

import numpy as np

from jamming.config import SCALES
from jamming.simulate.network_jamming import STATUSES
from jamming.sweeps.network_jamming import (
    LAZY_LIMIT_SWEEP,
    NETWORK_JUMP_SWEEP,
    network_jamming_trials,
)


def test_a_lazy_point_records_certificates_and_the_linearisation():
    point = {"input_dim": 10, "depth": 1, "width": 3, "activation": "tanh", "alpha": 1e5,
             "n_data": 80, "instances": 2, "linear": True, "max_iterations": 100, "seed": 5}
    out = network_jamming_trials(point)
    assert out["n_weights"] == 33 and out["hessian_eigenvalues"].shape == (2, 33)
    for name in ("outcome", "sat", "certified", "loss", "n_delta", "rank_initial",
                 "linear_sat", "linear_n_delta", "weight_growth"):
        assert out[name].shape == (2,), name
    assert [STATUSES[k] for k in out["outcome"]] == ["unsat", "unsat"]
    # 80 points > 2 rank J(w_0) = 66: UNSAT, and at alpha = 1e5 as the linearisation.
    assert out["rank_initial"].tolist() == [33, 33]
    assert out["n_delta"].tolist() == out["linear_n_delta"].tolist()
    assert np.all(out["n_negative"] == 0)


def test_a_jump_point_without_output_scale_records_no_linearisation():
    point = {"input_dim": 10, "depth": 2, "width": 3, "activation": "tanh", "alpha": None,
             "n_data": 20, "instances": 2, "linear": False, "max_iterations": 200, "seed": 6}
    out = network_jamming_trials(point)
    assert "linear_sat" not in out and out["n_weights"] == 10 * 3 + 9 + 3
    assert out["sat"].all() and np.all(out["loss"] == 0.0)  # 20 points, 42 weights


def test_grids_cover_the_transition_with_fresh_seeds_per_scale():
    for spec in (NETWORK_JUMP_SWEEP, LAZY_LIMIT_SWEEP):
        seeds = {scale: {p["seed"] for p in spec.points(scale)} for scale in SCALES}
        assert seeds["quick"].isdisjoint(seeds["paper"])
        assert seeds["paper"].isdisjoint(seeds["full"])
    loads = {p["n_data"] / (10 * p["width"] + p["width"]) for p in LAZY_LIMIT_SWEEP.points("paper")}
    assert min(loads) < 2.0 < max(loads)  # across Cover's N_data = 2 rank J(w_0)
    assert max(p["alpha"] for p in LAZY_LIMIT_SWEEP.points("paper")) >= 1e5
