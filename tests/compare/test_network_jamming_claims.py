"""S2.network-jump and S2.lazy-limit: their verdicts on hand-made data pass and fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jamming.compare.network_jamming import LazyLimit, NetworkJump
from jamming.theory.capacity import cover_probability


def _jump_frame(n_delta_at_transition, certified=True):
    """One tanh architecture (N = 66): SAT at load 2, UNSAT at loads 2.5 and 3."""
    rows = []
    for load, n_deltas in ((2.0, [0, 0, 0]), (2.5, n_delta_at_transition), (3.0, [70, 72, 75])):
        for n_delta in n_deltas:
            rows.append({"architecture": "tanh L=1 h=6", "activation": "tanh", "depth": 1,
                         "width": 6, "n_weights": 66, "n_data": round(66 * load),
                         "load": load, "sat": n_delta == 0, "certified": certified,
                         "n_delta": n_delta, "rank": 66})
    frame = pd.DataFrame(rows)
    frame.attrs["failed_points"] = 0
    return frame


def test_jump_passes_when_the_jump_lands_in_c0_to_one():
    verdict = NetworkJump().verdict(_jump_frame([40, 45, 50]))
    assert verdict.passed and verdict.discrepancy == 0.0
    assert verdict.measured == pytest.approx(45 / 66) and verdict.details["z"] == {
        "tanh L=1 h=6": 0.0}
    transition = verdict.details["transitions"][0]
    assert transition["hypostatic"] == 1.0 and transition["minus_rank"] == -21


def test_jump_fails_below_c0_and_without_certified_minima():
    low = NetworkJump().verdict(_jump_frame([10, 12, 14]))
    assert not low.passed and low.discrepancy == 1.0
    assert low.details["z"]["tanh L=1 h=6"] > low.details["z_threshold"]
    uncertified = NetworkJump().verdict(_jump_frame([40, 45, 50], certified=False))
    assert not uncertified.passed and uncertified.discrepancy == 1.0
    assert uncertified.details["measured_from"] == "uncertified"
    assert uncertified.measured == pytest.approx(45 / 66)  # finite, for information


def _lazy_frame(sat_fraction, rank=55, n_delta_excess=3, instances=40):
    """Largest alpha only: loads around 2 rank with a given SAT fraction per load."""
    rows = []
    for n_data in (100, 110, 120):
        p = cover_probability(n_data, rank) if sat_fraction is None else sat_fraction
        n_sat = round(p * instances)
        for i in range(instances):
            sat = i < n_sat
            rows.append({"alpha": 1e5, "n_data": n_data, "rank_initial": rank, "sat": sat,
                         "width": 5,
                         "certified": True, "n_delta": 0 if sat else rank + n_delta_excess,
                         "linear_sat": sat, "n_weights": rank})
    frame = pd.DataFrame(rows)
    frame.attrs["failed_points"] = 0
    return frame


def test_lazy_limit_passes_on_cover_counts_and_fails_on_others():
    assert LazyLimit().verdict(_lazy_frame(None)).passed
    wrong = LazyLimit().verdict(_lazy_frame(0.5))  # 1/2 at every load: not Cover's law
    assert not wrong.passed and wrong.discrepancy > wrong.tolerance


def test_lazy_limit_fails_on_a_minimum_below_the_isostatic_bound():
    verdict = LazyLimit().verdict(_lazy_frame(None, n_delta_excess=0))
    assert not verdict.passed and verdict.details["isostatic_violations"] > 0
    assert verdict.details["isostatic_violations_alpha_5"] == verdict.details[
        "isostatic_violations"] == verdict.details["unsat_minima_alpha_5"]


def test_the_lazy_scan_reports_every_large_alpha_and_judges_only_the_largest():
    below = _lazy_frame(None, n_delta_excess=0).assign(alpha=1e4)  # violations at 1e4 only
    below["linear_sat"] = ~below["sat"]
    frame = pd.concat([below, _lazy_frame(None)], ignore_index=True)
    frame.attrs["failed_points"] = 0
    verdict = LazyLimit().verdict(frame)
    assert verdict.passed and verdict.details["isostatic_violations_alpha_5"] == 0
    assert verdict.details["isostatic_violations_alpha_4"] == verdict.details[
        "unsat_minima_alpha_4"] > 0
    assert verdict.details["agreement_alpha_4"] == 0.0
    assert verdict.details["agreement_alpha_5"] == 1.0


def test_the_lazy_prediction_is_twice_the_ntk_rank():
    assert LazyLimit().theory()["n_data"](5) == 2 * 55
    assert np.isclose(LazyLimit().theory()["probability"](110, 55), 0.5)


def test_lazy_limit_tolerates_few_uncertified_networks_but_not_many():
    frame = _lazy_frame(None)
    unsat = frame.index[~frame["sat"]]
    few = frame.copy()
    few.loc[unsat[:3], "certified"] = False  # 3 of 120: below 5 %
    few.attrs["failed_points"] = 0
    assert LazyLimit().verdict(few).passed
    many = frame.copy()
    many.loc[unsat[:10], "certified"] = False
    many.attrs["failed_points"] = 0
    verdict = LazyLimit().verdict(many)
    assert not verdict.passed and verdict.details["uncertified"] == 10
