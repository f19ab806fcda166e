"""Pieces of the finite-width claims of S3: the sweep, the fit and the linear recursion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jamming.compare.finite_width import (
    LAZY_EXPONENTS,
    LAZY_LOG_POWERS,
    PARAMETERIZATIONS,
    _linear_recursion,
    power_law_fit,
)
from jamming.sweeps.finite_width import (
    FINITE_WIDTH_GRIDS,
    FINITE_WIDTH_SWEEP,
    FW_RECORD_AT,
    INPUT_DIM,
    N_TEST,
    N_TRAIN,
    finite_width_data,
    finite_width_trials,
)


@pytest.fixture(scope="module")
def trial():
    point = {**FINITE_WIDTH_SWEEP.points("quick")[0], "width": 16, "n_networks": 3, "n_kappa": 2}
    return point, finite_width_trials(point)


def test_finite_width_trials_shapes(trial, single_threaded):
    _, result = trial
    n, times = N_TRAIN + N_TEST, len(FW_RECORD_AT)
    train, test, targets = finite_width_data()
    assert np.array_equal(result["inputs"], np.concatenate([train, test]))
    assert result["inputs"].shape == (n, INPUT_DIM)
    assert np.array_equal(result["targets"], targets)
    assert result["kernel0"].shape == (3, n, n)
    assert result["drift"].shape == (3, times)
    assert np.all(result["drift"][:, 0] == 0.0) and np.all(result["drift"][:, 1:] > 0.0)
    assert result["train_outputs"].shape == (3, times, N_TRAIN)
    assert result["test_outputs"].shape == (3, times, N_TEST)
    for key in ("kappa", "hessian_norm", "jacobian_norm", "residual_norm"):
        assert result[key].shape == (2,) and np.all(result[key] > 0)
    for kernel in result["kernel0"]:
        assert np.linalg.eigvalsh(kernel).min() > -1e-10


def test_finite_width_trials_are_deterministic(trial, single_threaded):
    point, result = trial
    again = finite_width_trials({**point, "n_networks": 2})  # same n_kappa: same starts
    for key in ("kernel0", "drift", "train_outputs", "test_outputs"):
        np.testing.assert_allclose(again[key], result[key][:2], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(again["kappa"], result["kappa"], rtol=1e-10)


def test_finite_width_points_have_distinct_seeds():
    for scale, grid in FINITE_WIDTH_GRIDS.items():
        points = FINITE_WIDTH_SWEEP.points(scale)
        assert len(points) == 2 * len(grid["widths"])
        assert len({p["seed"] for p in points}) == len(points)


def test_linear_recursion_matches_the_linearised_network(trial, single_threaded):
    """With the network's own kernel the recursion tracks GD at first order: the gap at
    the first recorded step is small compared with the distance travelled."""
    point, result = trial
    steps = [int(s) for s in result["steps"]]
    lin_train, lin_test = _linear_recursion(result["kernel0"], result["train_outputs"][:, 0],
                                            result["test_outputs"][:, 0], result["targets"],
                                            point["learning_rate"], steps)
    assert np.array_equal(lin_train[:, 0], result["train_outputs"][:, 0])
    travelled = np.abs(result["train_outputs"][:, -1] - result["train_outputs"][:, 0]).max()
    assert np.abs(lin_train - result["train_outputs"]).max() < 0.5 * travelled
    # closed form of the discrete recursion on the training points
    kernel = result["kernel0"][0, :N_TRAIN, :N_TRAIN]
    eta, t = point["learning_rate"], steps[-1]
    residual = result["train_outputs"][0, 0] - result["targets"]
    expected = result["targets"] + np.linalg.matrix_power(
        np.eye(N_TRAIN) - eta * kernel, t) @ residual
    np.testing.assert_allclose(lin_train[0, -1], expected, rtol=1e-10, atol=1e-12)
    assert lin_test.shape == (3, len(steps), N_TEST)


def test_power_law_fit_recovers_exponent_and_correction():
    h = np.array([64.0, 128, 256, 512, 1024])
    means = 3.0 * h ** -0.7 * np.exp(5.0 / h)
    fit = power_law_fit(h, means, 0.01 * means)
    assert fit["slope"] == pytest.approx(-0.7, abs=1e-10)
    assert fit["correction"] == pytest.approx(5.0, abs=1e-8)
    assert fit["chi2"] == pytest.approx(0.0, abs=1e-12) and fit["dof"] == 2
    assert fit["p_value"] == pytest.approx(1.0)
    # a poor fit keeps the error of the points (no Birge inflation) and says it is poor
    noisy = means * np.array([1.05, 0.95, 1.05, 0.95, 1.05])
    poor = power_law_fit(h, noisy, 0.01 * noisy)
    assert poor["se"] == pytest.approx(fit["se"], rel=1e-12)
    assert poor["chi2"] > 50 and poor["p_value"] < 1e-10
    # a predicted (log h)^lambda factor is divided out before the fit
    logged = means * np.log(h) ** 0.5
    assert power_law_fit(h, logged, 0.01 * logged, 0.5)["slope"] == pytest.approx(-0.7,
                                                                                 abs=1e-10)


def test_a_poor_fit_fails_the_exponent_test_even_at_the_predicted_slope():
    """The goodness-of-fit criterion: means scattered far beyond their errors around the
    predicted power law fail, although the slope's z is small."""
    from jamming.compare.finite_width import _tested

    h = np.array([64.0, 128, 256, 512, 1024, 2048])
    means = 2.0 * h ** -0.5 * np.array([1.04, 0.96, 1.04, 0.96, 1.04, 0.96])
    good = power_law_fit(h, 2.0 * h ** -0.5, 0.02 * means)
    poor = power_law_fit(h, means, 0.002 * means)
    passed = _tested([{"activation": "erf", "quantity": "q", **good}], [-0.5])
    assert passed.passed and passed.poor_fits == []
    failed = _tested([{"activation": "erf", "quantity": "q", **poor}], [-0.5])
    assert abs(failed.table["z"].iloc[0]) < failed.threshold
    assert not failed.passed and failed.poor_fits == ["erf q"]


def _lazy_rows(exponent_shift=0.0, power_above=False):
    """Per-network lazy-ratio rows on the registered power laws (+ noise), 16 per width."""
    rng = np.random.default_rng(3)
    rows = []
    for activation in ("erf", "relu"):
        for h in (64, 128, 256, 512, 1024, 2048):
            for s in range(16):
                row = {"activation": activation, "width": h, "network": s,
                       "residual": 2.0 * np.exp(0.1 * rng.standard_normal())}
                for p, suffix in PARAMETERIZATIONS.items():
                    k_exp, j_exp, h_exp = LAZY_EXPONENTS[p]
                    logs = np.log(h) ** LAZY_LOG_POWERS.get((activation, p), 0.0)
                    noise = np.exp(0.05 * rng.standard_normal(3))
                    hessian = 3.0 * h ** h_exp * logs * noise[0]
                    jacobian2 = 5.0 * h ** (j_exp + exponent_shift) * noise[1]
                    row |= {"kappa" + suffix: row["residual"] * hessian / jacobian2,
                            "jacobian2" + suffix: jacobian2, "hessian" + suffix: hessian,
                            "hessian_power" + suffix: hessian * (1.01 if power_above else 0.99),
                            "hessian_exact" + suffix: hessian if activation == "relu"
                            else np.nan}
                rows.append(row)
    data = pd.DataFrame(rows)
    data.attrs["failed_points"] = 0
    return data


def test_lazy_ratio_verdict_passes_on_the_registered_laws_and_can_fail():
    from jamming.compare.finite_width import LazyRatio

    claim = LazyRatio()
    verdict = claim.verdict(_lazy_rows())
    assert verdict.passed, verdict.justification
    assert len(verdict.details["tested"]) == 8
    assert len(verdict.details["hessian_exponents_reported"]) == 4
    shifted = claim.verdict(_lazy_rows(exponent_shift=0.25))  # |Dy|^2 and kappa off by 1/4
    assert not shifted.passed and shifted.discrepancy > shifted.tolerance
    missed = claim.verdict(_lazy_rows(power_above=True))  # power iteration above the blocks
    assert not missed.passed
    assert missed.details["hessian_block_missed"] == {"ntk": 192, "standard": 192}
