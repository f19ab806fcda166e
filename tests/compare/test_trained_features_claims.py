"""The S2 claims on trained features judge hand-made data: each can pass and fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jamming.compare.trained_features import (
    CuspOrigin,
    Digits,
    IsostaticFeatures,
    SupportVectorsMeetUnsat,
    transitions,
)

WIDTH = 10


def frame(rows: list[dict], task: str = "relu-teacher") -> pd.DataFrame:
    """Per transition (input_dim, depth, instance, step, n_star, n_sv, rank, n_delta, r2 and
    optionally censored, active_rank, certified): a SAT prefix of 5 points, the last SAT
    prefix n_star and the first UNSAT prefix n_star + 1, as the sweep records them."""
    out = []
    for row in rows:
        base = {"task": task, "width": WIDTH, "input_dim": row["input_dim"],
                "depth": row.get("depth", 1), "instance": row.get("instance", 0),
                "step": row["step"], "n_star": row["n_star"],
                "censored": row.get("censored", False), "alignment": row["r2"] / 2,
                "alignment_network": row["r2"] / 2, "explained_variance": row["r2"],
                "network_loss": 1.0, "certified": row.get("certified", True), "loss": 0.0,
                "w_norm": 1.0}
        out.append({**base, "size": 5, "sat": True, "n_delta": 0, "n_sv": 3, "rank": 5,
                    "active_rank": 3, "test_loss": 0.5, "test_error": 0.2})
        out.append({**base, "size": row["n_star"], "sat": True, "n_delta": 0,
                    "n_sv": row["n_sv"], "rank": row["rank"], "active_rank": row["n_sv"],
                    "test_loss": 3.0, "test_error": 0.3})
        if not row.get("censored", False):
            out.append({**base, "size": row["n_star"] + 1, "sat": False,
                        "n_delta": row["n_delta"], "n_sv": -1, "rank": row["rank"],
                        "active_rank": row.get("active_rank", row["rank"]), "loss": 1.0,
                        "test_loss": 2.0, "test_error": 0.3})
    data = pd.DataFrame(out)
    data["load"] = data["size"] / data["width"]
    data.attrs["failed_points"] = 0
    return data


def bounded(**change) -> list[dict]:
    """Two networks, two steps, every bound held (n_SV = rank = N, N_Delta = N + 3)."""
    rows = [{"input_dim": 10, "instance": i, "step": step, "n_star": 30 + 10 * step,
             "n_sv": WIDTH, "rank": WIDTH, "n_delta": WIDTH + 3, "r2": 0.3}
            for i in range(2) for step in (0, 1)]
    rows[-1].update(change)
    return rows


@pytest.mark.parametrize("claim", [SupportVectorsMeetUnsat(), IsostaticFeatures()])
def test_the_bounds_pass_on_bounded_transitions(claim):
    verdict = claim.verdict(frame(bounded()))
    assert verdict.passed and verdict.measured == 0


@pytest.mark.parametrize("change", [{"n_sv": WIDTH + 1}, {"n_delta": WIDTH},
                                    {"certified": False}])
def test_sv_meets_unsat_fails_on_a_broken_bound_or_an_uncertified_solution(change):
    verdict = SupportVectorsMeetUnsat().verdict(frame(bounded(**change)))
    assert not verdict.passed
    assert verdict.measured == (0 if "certified" in change else 1)


def test_sv_meets_unsat_tests_depth_one_and_reports_deeper_networks():
    verdict = SupportVectorsMeetUnsat().verdict(frame(bounded(n_delta=WIDTH, depth=2)))
    assert verdict.passed and verdict.details["transitions"] == 3
    assert verdict.details["by_depth"][2]["unsat_violations"] == 1


def test_sv_meets_unsat_reports_the_jump_and_degenerate_minima():
    data = frame(bounded(n_delta=WIDTH, active_rank=WIDTH - 1))
    details = SupportVectorsMeetUnsat().verdict(data).details
    assert details["unsat_violations"] == 1 and details["degenerate_unsat"] == 1
    assert details["by_step"][0]["jump_median"] == pytest.approx(0.3)
    assert details["by_step"][1]["jump_min"] == pytest.approx(0.0)
    # n* = 30 or 40: the SAT prefix nearest n*/2 is the one of 5 points, with 3 SVs
    assert details["by_step"][0]["sv_per_n_half_median"] == pytest.approx(0.3)
    failed = frame(bounded())
    failed.attrs["failed_points"] = 1
    assert not SupportVectorsMeetUnsat().verdict(failed).passed


def test_isostatic_features_fails_below_rank_plus_one():
    verdict = IsostaticFeatures().verdict(frame(bounded(n_delta=WIDTH)))
    assert not verdict.passed and verdict.measured == 1
    assert verdict.details["smallest_excess"] == 0


def cusp_rows(load_star, r2, censored=lambda d, depth, i: False) -> list[dict]:
    """Transitions over d = 10, 20, 40, depth 1-2, 3 instances, steps 0 and 100."""
    rng = np.random.default_rng(0)
    rows = []
    for d in (10, 20, 40):
        for depth in (1, 2):
            for instance in range(3):
                for step in (0, 100):
                    noise = rng.normal(0, 0.03)
                    rows.append({"input_dim": d, "depth": depth, "instance": instance,
                                 "step": step, "n_sv": WIDTH, "rank": WIDTH,
                                 "n_delta": WIDTH + 2, "r2": r2(d, step, rng),
                                 "n_star": max(2, round(WIDTH * load_star(d, step, noise))),
                                 "censored": censored(d, depth, instance)})
    return rows


def test_cusp_origin_supports_alignment_when_the_cusp_tracks_r2_and_not_d():
    def r2(d, step, rng):
        return (0.2 if step == 0 else 0.8 - 0.005 * d) + rng.normal(0, 0.005)

    rows = cusp_rows(lambda d, step, noise: 2.0 if step == 0 else
                     (30 - 0.5 * d) * np.exp(noise), r2)
    for row in rows:  # P* a monotone function of R2 (plus small noise)
        row["n_star"] = round(WIDTH * 2 * np.exp(4 * row["r2"]))
    verdict = CuspOrigin().verdict(frame(rows))
    assert verdict.details["outcome"] == "supports alignment" and verdict.passed
    assert verdict.measured < 0 and verdict.discrepancy > verdict.tolerance


def test_cusp_origin_supports_d_plus_one_when_the_late_cusp_scales_with_it():
    def r2(d, step, rng):
        return rng.uniform(0.1, 0.6)

    rows = cusp_rows(lambda d, step, noise: 2.0 if step == 0 else 1.0 * (d + 1) * np.exp(noise),
                     r2)
    verdict = CuspOrigin().verdict(frame(rows))
    assert verdict.details["outcome"] == "supports (d+1)N" and not verdict.passed
    assert verdict.measured == pytest.approx(1.0, abs=0.1)
    assert verdict.discrepancy <= verdict.tolerance


def test_cusp_origin_says_neither_without_a_trend_or_with_censored_transitions():
    def r2(d, step, rng):
        return rng.uniform(0.1, 0.6)

    verdict = CuspOrigin().verdict(frame(cusp_rows(lambda d, step, noise: 4 * np.exp(noise),
                                                   r2)))
    assert verdict.details["outcome"] == "neither" and not verdict.passed
    censored = frame(cusp_rows(lambda d, step, noise: (d + 1) * np.exp(noise), r2,
                               censored=lambda d, depth, i: d == 40))
    verdict = CuspOrigin().verdict(censored)
    assert verdict.details["censored_fraction"] == pytest.approx(1 / 3)
    assert verdict.details["outcome"] == "neither"


def digits_rows(late_loads) -> list[dict]:
    return [{"input_dim": 20, "instance": i, "step": step, "n_sv": WIDTH, "rank": WIDTH,
             "n_delta": WIDTH + 4, "r2": 0.5, "n_star": 30 if step == 0 else round(WIDTH * late)}
            for i, late in enumerate(late_loads) for step in (0, 1000)]


def test_digits_passes_when_the_cusp_moves_up_and_fails_otherwise():
    passed = Digits().verdict(frame(digits_rows([6.0, 9.0]), task="digits"))
    assert passed.passed and passed.details["load_star_late"] == [6.0, 9.0]
    failed = Digits().verdict(frame(digits_rows([6.0, 2.5]), task="digits"))
    assert not failed.passed and failed.details["not_moved"] == 1 and failed.measured == 1


def test_transitions_pick_the_last_sat_and_first_unsat_prefix():
    table = transitions(frame(bounded()))
    assert len(table) == 4 and table["peak_at_transition"].all()
    assert table["load_star"].tolist() == [3.0, 4.0, 3.0, 4.0]
    assert (table["n_delta"] == WIDTH + 3).all() and (table["rank_unsat"] == WIDTH).all()
