"""S1.effective-parameters (registration 2): which part judges a network, and that each part
of the verdict can fail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.features import EffectiveParameterCount, resolved


def _record(rank, predicted, part):
    return {"activation": "relu", "bias": False, "depth": 1, "input_dim": 5, "width": 8,
            "rank": rank, "predicted": predicted, "part": part, "n_parameters": 48}


def _verdict(rows):
    data = pd.DataFrame(rows)
    data.attrs["failed_points"] = 0
    return EffectiveParameterCount().verdict(data)


def test_a_resolved_network_must_have_the_predicted_rank():
    assert _verdict([_record(40, 40, "exact"), _record(12, 12, "attainment")]).passed
    verdict = _verdict([_record(39, 40, "exact"), _record(12, 12, "attainment")])
    assert not verdict.passed and verdict.discrepancy == 1
    assert verdict.details["mismatches"][0]["rank"] == 39


def test_an_unresolved_network_may_fall_short_but_never_exceed():
    base = [_record(40, 40, "exact"), _record(12, 12, "attainment")]
    assert _verdict([*base, _record(37, 40, "bound")]).passed
    assert not _verdict([*base, _record(41, 40, "bound")]).passed


def test_the_depth_two_attainment_rate_is_tested_one_sided():
    exact = [_record(40, 40, "exact")]
    half = [_record(12, 12, "attainment")] * 6 + [_record(11, 12, "attainment")] * 6
    assert _verdict(exact + half).passed
    rare = [_record(12, 12, "attainment")] * 2 + [_record(11, 12, "attainment")] * 18
    verdict = _verdict(exact + rare)  # 2 of 20: P(X <= 2 | 1/2) = 2e-4
    assert not verdict.passed and verdict.details["depth_two_p_value"] < 1e-3
    assert not _verdict(exact).passed  # no depth-2 case: nothing confirms part (iii)


def test_resolution_needs_both_sides_and_distinct_neurons():
    record = {"active_counts": np.array([[0, 3, 7, 10]]), "pair_differences": np.array([4]),
              "n_data": 10}
    assert resolved(record, 0, 3)  # crossing counts 3 and 7: 3 on each side; dead/always ok
    assert not resolved(record, 0, 4)
    record["pair_differences"] = np.array([2])
    assert not resolved(record, 0, 3)
