"""S4 map claims: their verdicts on hand-made data (the quick-scale run is in tests/claims)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jamming.compare.claims import select
from jamming.compare.large_steps import _covers_its_rectangles, _cycle_distance
from jamming.theory.stabilization import two_cycle, verify_stabilization


def test_cycle_distance_is_zero_on_the_cycle_in_either_phase():
    low, high = two_cycle(1.1)
    on = np.array([[low, high, low, high], [high, low, high, low]])
    assert np.all(_cycle_distance(on, 1.1) < 1e-15)
    off = on.copy()
    off[0, 2] += 1e-3
    assert np.isclose(_cycle_distance(off, 1.1)[0], 1e-3)


def test_certificate_coverage_detects_a_missing_box():
    certificate = verify_stabilization(1.01, 1.25)
    assert _covers_its_rectangles(certificate)
    name = next(k for k, boxes in certificate.boxes.items() if len(boxes) > 1)
    certificate.boxes[name] = certificate.boxes[name][1:]
    assert not _covers_its_rectangles(certificate)


def _bounce_frame(changes=None):
    (claim,) = select("S4.sgd-bounce")
    predict = claim.theory()["regime"]
    rows = []
    for eta in (0.8, 1.02, 2.1):
        p = predict(eta)
        rows.append({"eta": eta, "n_traj": 10, "burn_in": 100, "crossing_shortfall": 0,
                     "loss_min": p.get("loss_low", 0.0) * 2, "loss_max": p.get("loss_high", 1) / 2,
                     "n_diverged": 10 if p["regime"] == "diverge" else 0,
                     "n_converged": 10 if p["regime"] == "converge" else 0,
                     "regime": p["regime"], "loss_low": p.get("loss_low", np.nan),
                     "loss_high": p.get("loss_high", np.nan)})
    frame = pd.DataFrame(rows)
    for (eta, column), value in (changes or {}).items():
        frame.loc[frame["eta"] == eta, column] = value
    return claim, frame


def test_sgd_bounce_verdict_counts_each_kind_of_violation():
    claim, frame = _bounce_frame()
    assert claim.verdict(frame).passed
    for change in ({(1.02, "crossing_shortfall"): 3}, {(0.8, "n_converged"): 7},
                   {(2.1, "n_diverged"): 9}, {(1.02, "loss_max"): 1.0}):
        claim, frame = _bounce_frame(change)
        verdict = claim.verdict(frame)
        assert not verdict.passed and verdict.measured > 0, change


def test_regimes_of_the_step_sizes():
    (claim,) = select("S4.sgd-bounce")
    predict = claim.theory()["regime"]
    assert [predict(eta)["regime"] for eta in (0.8, 1.01, 1.03, 1.1, 2.1)] == [
        "converge", "bounce", "bounce", "none", "diverge"]
