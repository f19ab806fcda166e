"""Binomial goodness of fit: calibration under the null, power, and the Wilson interval."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import binomtest

from jamming.compare.stats import binomial_goodness_of_fit, wilson_interval


def test_p_values_are_calibrated_under_the_null():
    """P(p <= 0.05) = 0.05 when the data follow the prediction (small counts included)."""
    rng = np.random.default_rng(1)
    probabilities = np.array([0.003, 0.02, 0.1, 0.3, 0.5, 0.5, 0.8, 0.97, 0.999, 1.0])
    trials = np.full(probabilities.size, 60)
    datasets = 400
    p_values, p_values_max_z = [], []
    for i in range(datasets):
        counts = rng.binomial(trials, probabilities)
        fit = binomial_goodness_of_fit(counts, trials, probabilities, replicas=2000, seed=i)
        p_values.append(fit.p_value)
        p_values_max_z.append(fit.p_value_max_z)
        assert fit.dof == 9 and fit.violations_of_certainty == 0
    standard_error = np.sqrt(0.05 * 0.95 / datasets)
    for values in (p_values, p_values_max_z):
        assert abs(np.mean(np.array(values) <= 0.05) - 0.05) < 4 * standard_error


def test_detects_a_wrong_prediction():
    trials = np.full(8, 400)
    counts = np.random.default_rng(2).binomial(trials, 0.5)
    fit = binomial_goodness_of_fit(counts, trials, np.full(8, 0.42))
    assert fit.p_value < 1e-3 and fit.chi2 > fit.chi2_critical
    assert fit.p_value_max_z < 0.05


def test_counts_violations_of_certain_predictions():
    fit = binomial_goodness_of_fit([10, 9, 0, 1], [10, 10, 10, 10], [1.0, 1.0, 0.0, 0.0])
    assert fit.violations_of_certainty == 2 and fit.dof == 0 and fit.chi2 == 0.0


def test_statistic_is_the_likelihood_ratio():
    counts, trials, p = np.array([3, 50]), np.array([10, 100]), np.array([0.5, 0.4])
    expected = 2 * np.sum(counts * np.log(counts / (trials * p))
                          + (trials - counts) * np.log((trials - counts) / (trials * (1 - p))))
    fit = binomial_goodness_of_fit(counts, trials, p)
    assert_allclose(fit.chi2, expected, rtol=1e-13)
    z = (counts - trials * p) / np.sqrt(trials * p * (1 - p))
    assert_allclose(fit.max_z, np.abs(z).max(), rtol=1e-13)


def test_rejects_inconsistent_inputs():
    with pytest.raises(ValueError, match="one length"):
        binomial_goodness_of_fit([1, 2], [3], [0.5, 0.5])
    with pytest.raises(ValueError, match="counts <= trials"):
        binomial_goodness_of_fit([4], [3], [0.5])


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (57, 640), (320, 640)])
def test_wilson_interval_matches_scipy(k, n):
    low, high = wilson_interval(k, n, confidence=0.95)
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert_allclose([low, high], [reference.low, reference.high], rtol=1e-12, atol=1e-15)


def test_weighted_line_fit_recovers_a_line_and_its_error():
    from jamming.compare.stats import weighted_line_fit

    x = np.array([0.0, 1.0, 2.0, 3.0])
    intercept, error, slope, chi2, dof, _ = weighted_line_fit(x, 2.0 + 0.5 * x, np.full(4, 0.1))
    assert_allclose([intercept, slope], [2.0, 0.5], atol=1e-12)
    assert_allclose(error, 0.1 * np.sqrt(7 / 10), rtol=1e-12)  # (X^T X)^-1_00 = 7/10
    assert chi2 < 1e-20 and dof == 2


def test_weighted_line_fit_reports_a_poor_fit_instead_of_hiding_it():
    """Residuals of a parabola: chi^2 = sum(r^2)/sigma^2, by hand; the error is not inflated."""
    from jamming.compare.stats import weighted_line_fit

    x = np.array([0.0, 1.0, 2.0, 3.0])
    fit = weighted_line_fit(x, x**2, np.full(4, 0.1))
    # least-squares line through (0,0), (1,1), (2,4), (3,9): y = -1 + 3x, residuals 1,-1,-1,1
    assert_allclose([fit.intercept, fit.slope, fit.chi2], [-1.0, 3.0, 400.0], atol=1e-9)
    assert_allclose(fit.intercept_se, 0.1 * np.sqrt(7 / 10), rtol=1e-12)
    assert fit.p_value < 1e-80


def test_bonferroni_threshold():
    from jamming.compare.stats import bonferroni_threshold

    assert_allclose(bonferroni_threshold(1, 0.05), 1.959963984540054, rtol=1e-12)
    assert bonferroni_threshold(10) > bonferroni_threshold(2)


def test_the_statistic_is_the_likelihood_ratio_deviance_of_scipy():
    from scipy.stats import power_divergence

    counts, trials = np.array([3, 9, 14, 0]), np.array([10, 12, 20, 5])
    probabilities = np.array([0.5, 0.6, 0.55, 0.2])
    fit = binomial_goodness_of_fit(counts, trials, probabilities, replicas=100)
    expected = sum(power_divergence([k, n - k], [n * p, n * (1 - p)],
                                    lambda_="log-likelihood").statistic
                   for k, n, p in zip(counts, trials, probabilities, strict=True))
    assert fit.chi2 == pytest.approx(expected, rel=1e-12)


def test_poisson_binomial_pmf_against_the_binomial_and_enumeration():
    from itertools import product

    from scipy.stats import binom

    from jamming.compare.stats import poisson_binomial_pmf

    np.testing.assert_allclose(poisson_binomial_pmf([0.3] * 12), binom.pmf(range(13), 12, 0.3),
                               rtol=1e-12, atol=1e-15)
    p = np.array([0.1, 0.5, 0.9, 0.25, 1.0, 0.0])
    brute = np.zeros(7)
    for outcome in product([0, 1], repeat=6):
        o = np.array(outcome)
        brute[o.sum()] += np.prod(np.where(o == 1, p, 1 - p))
    np.testing.assert_allclose(poisson_binomial_pmf(p), brute, atol=1e-15)


def test_poisson_binomial_test_accepts_the_model_and_rejects_a_shift():
    from jamming.compare.stats import poisson_binomial_test

    rng = np.random.default_rng(5)
    probabilities = [rng.uniform(0, 1, 200) for _ in range(8)]
    drawn = [rng.random(p.size) < p for p in probabilities]
    fit = poisson_binomial_test(drawn, probabilities, replicas=4000)
    assert fit.dof == 8 and fit.violations_of_certainty == 0 and fit.p_value > 0.001
    shifted = [np.clip(p + 0.15, 0, 1) for p in probabilities]
    assert poisson_binomial_test(drawn, shifted, replicas=4000).p_value < 1e-3
    # a certain prediction contradicted is counted, and adds no degree of freedom
    certain = poisson_binomial_test([np.array([True, False])], [np.array([0.0, 0.0])])
    assert certain.violations_of_certainty == 1 and certain.dof == 0


def test_poisson_binomial_p_value_is_calibrated():
    """Under the model the p-value is uniform: about 10 % of 200 repetitions below 0.1."""
    from jamming.compare.stats import poisson_binomial_test

    rng = np.random.default_rng(6)
    probabilities = [rng.uniform(0, 1, 30) for _ in range(4)]
    p_values = [poisson_binomial_test([rng.random(30) < p for p in probabilities],
                                      probabilities, replicas=2000, seed=i).p_value
                for i in range(200)]
    below = np.sum(np.array(p_values) < 0.1)
    assert abs(below - 20) <= 3 * np.sqrt(200 * 0.1 * 0.9)  # binomial 3-sigma
