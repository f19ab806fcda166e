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


# --- S1.teacher-threshold (registration 2) ------------------------------------------------


def _teacher_data(limits, slope=3.0, bend=0.0, trials=4000, width=0.08, dims=(40, 80, 160)):
    """Expected (noise-free) separable counts of a probit whose crossing is
    ``limit + slope / N_eff + bend / sqrt(N_eff)`` at each psi and size."""
    from scipy.stats import norm

    rows = []
    for psi, limit in limits.items():
        for d in dims:
            n_eff = round(psi * d)
            crossing = limit + slope / n_eff + bend / np.sqrt(n_eff)
            for load in np.linspace(0.85, 1.15, 9) * limit:
                p = norm.cdf((crossing - load) / (width * limit))
                rows.append({"psi": psi, "input_dim": d, "load": load, "trials": trials,
                             "n_separable": int(round(trials * p))})
    data = pd.DataFrame(rows)
    data.attrs["failed_points"] = 0
    return data


def _phi_c(psi):
    from jamming.compare.features import TeacherThreshold

    return TeacherThreshold().theory()["phi_c"](psi)


def test_teacher_crossings_on_the_registered_line_pass():
    from jamming.compare.features import TeacherThreshold

    verdict = TeacherThreshold().verdict(_teacher_data({p: _phi_c(p) for p in (0.5, 1, 2)}))
    assert verdict.passed, verdict.details
    assert verdict.measured < 1.0 and not verdict.details["psis_with_poor_fit"]
    assert len(verdict.details["other_exponents"]) == 6


def test_teacher_limit_away_from_phi_c_fails():
    from jamming.compare.features import TeacherThreshold

    limits = {p: _phi_c(p) for p in (0.5, 1, 2)} | {1: _phi_c(1) + 0.15}
    verdict = TeacherThreshold().verdict(_teacher_data(limits))
    assert not verdict.passed and verdict.measured > verdict.tolerance


def test_teacher_crossings_off_the_line_fail_the_goodness_of_fit():
    """A strongly bent finite-size shift: the limit can be right, the line is not."""
    from jamming.compare.features import TeacherThreshold

    data = _teacher_data({p: _phi_c(p) for p in (0.5, 1, 2)}, slope=-60.0, bend=12.0,
                         trials=20_000)
    verdict = TeacherThreshold().verdict(data)
    assert not verdict.passed
    assert verdict.details["psis_with_poor_fit"]


def test_teacher_with_two_sizes_says_the_fit_is_unchecked():
    from jamming.compare.features import TeacherThreshold

    data = _teacher_data({p: _phi_c(p) for p in (0.5, 1, 2)}, dims=(40, 80))
    verdict = TeacherThreshold().verdict(data)
    assert verdict.details["psis_without_fit_check"] == [0.5, 1, 2]
    assert "0 of 3 lines" in verdict.justification


# --- S1.relu-rank-finite-data (registration 2) -------------------------------------------


def _rank_rows(*triples):
    """Rows (rank, predicted, shallow) of the finite-data rank claim."""
    data = pd.DataFrame([{"input_dim": 3, "width": 8, "bias": True, "b_std": 2.0, "load": 1,
                          "seed": i, "n_data": 40, "rank": r, "predicted": p, "shallow": s,
                          "infinite_data": s} for i, (r, p, s) in enumerate(triples)])
    data.attrs["failed_points"] = 0
    return data


def test_the_rank_claim_needs_every_network_on_the_pattern_count():
    from jamming.compare.features import FiniteDataReluRank

    claim = FiniteDataReluRank()
    assert claim.verdict(_rank_rows((30, 30, 32), (40, 40, 40))).passed
    verdict = claim.verdict(_rank_rows((29, 30, 32), (40, 40, 40)))
    assert not verdict.passed and verdict.measured == 1
    assert verdict.details["mismatching_networks"][0]["rank"] == 29
    assert not claim.verdict(_rank_rows((31, 30, 32))).passed  # above the count: no pass


def test_the_rank_claim_must_reach_networks_where_the_counts_differ():
    """If the pattern count never differs from the neuron-by-neuron count, the data cannot
    tell the theorem from the refuted registration 1: no pass."""
    from jamming.compare.features import FiniteDataReluRank

    verdict = FiniteDataReluRank().verdict(_rank_rows((40, 40, 40), (32, 32, 32)))
    assert not verdict.passed and verdict.details["below_the_shallow_count"] == 0
