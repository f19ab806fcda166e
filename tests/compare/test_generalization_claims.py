"""S1.test-cusp (registration 2): the exception forecast, the median-curve peak, the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from jamming.compare.generalization import (
    INSTANCE_LEVEL,
    LossCuspAtJamming,
    exception_forecast,
    median_curve_peak,
)


def _counts(exceptions, instances=400, sizes=(20, 40, 80, 160)):
    return pd.DataFrame({"n_eff": sizes, "exceptions": exceptions,
                         "instances": [instances] * len(sizes)})


def test_the_forecast_is_a_power_law_through_the_two_smallest_sizes():
    forecast = exception_forecast(_counts([40, 20, 0, 0]))  # halves per doubling
    np.testing.assert_allclose(forecast["forecast"], [0.025, 0.0125], rtol=1e-12)
    allowed = binom.ppf(1 - 0.01 / 2, 400, np.array([0.025, 0.0125]))
    assert forecast["allowed"].tolist() == allowed.astype(int).tolist()


def test_the_forecast_never_goes_below_the_false_alarm_floor():
    assert exception_forecast(_counts([8, 0, 0, 0]))["forecast"].tolist() == [INSTANCE_LEVEL] * 2
    # a zero at the smallest size gives no slope: the rate at the second is carried forward
    assert exception_forecast(_counts([0, 8, 0, 0]))["forecast"].tolist() == [0.02, 0.02]


def _curves(peaks, n_eff=100, noise=0.0, seed=0):
    """Instances whose log test loss is a tent with its top at ``peaks`` (in phi)."""
    rng = np.random.default_rng(seed)
    rows = []
    for peak in peaks:
        sizes = np.arange(50, 451, 5)
        log_loss = -np.abs(sizes / n_eff - peak) + noise * rng.standard_normal(sizes.size)
        rows.append({"sizes": sizes, "test_loss": np.exp(log_loss), "n_features": n_eff})
    return pd.DataFrame(rows)


def test_median_curve_peak_finds_the_top_and_its_spread():
    peak, se = median_curve_peak(_curves([2.5] * 9))
    assert abs(peak - 2.5) < 0.006 and se == pytest.approx(0.005 / np.sqrt(12))


@pytest.mark.slow
def test_the_bootstrap_error_of_the_peak_matches_its_monte_carlo_spread():
    """30 fresh groups of 400 tents with tops ~ N(2.5, 0.2): the peaks scatter around 2.5
    as much as the bootstrap says (MC: sd 0.036, bootstrap 0.033, at 40 groups)."""
    results = [median_curve_peak(_curves(np.random.default_rng(100 + k).normal(2.5, 0.2, 400)))
               for k in range(30)]
    peaks, errors = np.array(results).T
    spread = peaks.std(ddof=1)
    assert abs(peaks.mean() - 2.5) < 3 * spread / np.sqrt(30)
    assert 0.7 < errors.mean() / spread < 1.4  # the sd of 30 draws is known to +-13 %


def _records(rng, psi, d, instances, exception_rate, phi_star):
    """Synthetic sweep records: loss peaks at N* unless the instance is an exception."""
    n_eff = round(psi * d)
    rows = []
    for _ in range(instances):
        n_star = round(phi_star * n_eff * (1 + 0.02 * rng.standard_normal()))
        sizes = np.unique(np.concatenate([np.rint(n_star * np.linspace(0.3, 2, 35)),
                                          [n_star, n_star + 1]])).astype(int)
        loss = np.exp(-np.abs(sizes - n_star - 0.5) / n_eff)
        z_sat = np.where(sizes == n_star, 0.0, -5.0)
        z_unsat = np.where(sizes == n_star + 1, 0.0, -5.0)
        if rng.random() < exception_rate:  # a size off the transition is far higher
            z_sat[0], z_unsat[0] = 10.0, 10.0
        rows.append({"psi": psi, "input_dim": d, "n_features": n_eff, "n_star": n_star,
                     "sizes": sizes, "test_loss": loss, "excess_z_last_sat": z_sat,
                     "excess_z_first_unsat": z_unsat, "test_error": loss})
    data = pd.DataFrame(rows)
    data.attrs["failed_points"] = 0
    return data


def _data(rate_at_large, phi_shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    claim = LossCuspAtJamming()
    parts = []
    for psi, dims, count in ((1.0, (20, 40, 80, 160), 200), (2.0, (20, 40, 80), 60)):
        phi_c = claim.theory()["phi_c"](psi)
        for d in dims:
            rate = 0.04 if d == 20 else 0.0 if d == 40 else rate_at_large
            parts.append(_records(rng, psi, d, count, rate, phi_c + phi_shift))
    data = pd.concat(parts, ignore_index=True)
    data.attrs["failed_points"] = 0
    return data


def test_the_verdict_passes_when_exceptions_vanish_and_the_peak_sits_at_phi_c():
    verdict = LossCuspAtJamming().verdict(_data(rate_at_large=0.0))
    assert verdict.passed, verdict.details
    assert verdict.details["exception_scan"][0]["exceptions"] > 0
    # flat keys for the paper's macros, named by integer sizes
    assert verdict.details["exceptions_neff_20"] > 0 and "allowed_neff_160" in verdict.details


def test_the_verdict_fails_when_exceptions_persist_at_large_size():
    verdict = LossCuspAtJamming().verdict(_data(rate_at_large=0.08))
    assert not verdict.passed and not verdict.details["rate_ok"]


def test_the_verdict_fails_when_the_peak_extrapolates_elsewhere():
    verdict = LossCuspAtJamming().verdict(_data(rate_at_large=0.0, phi_shift=0.3))
    assert not verdict.passed and verdict.measured > verdict.tolerance


def test_a_psi_with_few_instances_is_reported_not_tested():
    data = _data(rate_at_large=0.0)
    rng = np.random.default_rng(3)
    small = [_records(rng, 0.5, d, 5, 0.0, 1.0) for d in (40, 80, 160)]  # far from phi_c
    verdict = LossCuspAtJamming().verdict(pd.concat([data, *small], ignore_index=True))
    assert verdict.passed and verdict.details["peaks_tested"] == 2
    assert abs(verdict.details["peak_z_psi_0.5"]) > verdict.tolerance


def test_a_failed_point_fails_the_claim():
    data = _data(rate_at_large=0.0)
    data.attrs["failed_points"] = 1
    assert not LossCuspAtJamming().verdict(data).passed
