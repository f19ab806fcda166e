"""Statistics for verdicts: binomial goodness of fit and confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import xlogy
from scipy.stats import chi2 as chi2_distribution
from scipy.stats import norm


@dataclass(frozen=True)
class BinomialFit:
    """Goodness of fit of observed counts to predicted binomial probabilities.

    Attributes
    ----------
    chi2 : float
        Likelihood-ratio statistic (the binomial deviance, asymptotically chi-square)
        :math:`G = 2\\sum_i [k_i\\ln(k_i/n_ip_i) + (n_i - k_i)\\ln((n_i - k_i)/(n_i(1 -
        p_i)))]` over the points with :math:`0 < p_i < 1` (not Pearson's statistic, which an
        earlier version of this docstring named).
    dof : int
        Number of such points (no parameter is fitted).
    p_value : float
        Probability under the prediction of a statistic at least as large, from a
        parametric bootstrap (exact in the limit of many replicas, valid for small counts
        where the chi-square law is not).
    p_value_asymptotic : float
        The same from the chi-square law with ``dof`` degrees of freedom.
    chi2_critical : float
        The bootstrap :math:`1-\\text{level}` quantile of the statistic under the prediction:
        the test at false-alarm rate ``level`` passes iff ``chi2 <= chi2_critical``.
    max_z : float
        Largest :math:`|k_i - n_i p_i| / \\sqrt{n_i p_i (1-p_i)}`.
    p_value_max_z : float
        Bootstrap probability of a largest deviation at least ``max_z`` (family-wise).
    violations_of_certainty : int
        Points predicted certain (:math:`p_i \\in \\{0, 1\\}`) where the count disagrees.
    replicas : int
        Bootstrap replicas.
    """

    chi2: float
    dof: int
    p_value: float
    p_value_asymptotic: float
    chi2_critical: float
    max_z: float
    p_value_max_z: float
    violations_of_certainty: int
    replicas: int


def binomial_goodness_of_fit(counts, trials, probabilities, *, level: float = 0.01,
                             replicas: int = 20_000, seed: int = 0) -> BinomialFit:
    """Test observed binomial counts against predicted success probabilities.

    Parameters
    ----------
    counts : array_like of int, shape (m,)
        Successes :math:`k_i`.
    trials : array_like of int, shape (m,)
        Trials :math:`n_i \\ge 1`.
    probabilities : array_like of float, shape (m,)
        Predicted :math:`p_i \\in [0, 1]`.
    level : float
        False-alarm rate for ``chi2_critical``.
    replicas : int
        Parametric-bootstrap replicas for the p-values.
    seed : int
        Seed of the bootstrap's generator.

    Returns
    -------
    BinomialFit
    """
    k = np.asarray(counts, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if not (k.shape == n.shape == p.shape and k.ndim == 1):
        raise ValueError("counts, trials and probabilities must be 1-d arrays of one length")
    if np.any(n < 1) or np.any((k < 0) | (k > n)) or np.any((p < 0) | (p > 1)):
        raise ValueError("need trials >= 1, 0 <= counts <= trials and 0 <= probabilities <= 1")
    certain = (p == 0.0) | (p == 1.0)
    violations = int(np.sum(certain & (k != n * p)))
    k, n, p = k[~certain], n[~certain], p[~certain]
    sd = np.sqrt(n * p * (1.0 - p))

    def statistics(successes):
        deviance = 2.0 * (xlogy(successes, successes / (n * p))
                          + xlogy(n - successes, (n - successes) / (n * (1.0 - p))))
        z = (successes - n * p) / sd
        return np.sum(deviance, axis=-1), np.max(np.abs(z), axis=-1, initial=0.0)

    observed_chi2, observed_max_z = statistics(k)
    rng = np.random.default_rng(seed)
    null_counts = rng.binomial(n.astype(np.int64), p, size=(replicas, k.size))
    null_chi2, null_max_z = statistics(null_counts)
    return BinomialFit(
        chi2=float(observed_chi2),
        dof=int(k.size),
        p_value=float((1 + np.sum(null_chi2 >= observed_chi2)) / (1 + replicas)),
        p_value_asymptotic=float(chi2_distribution.sf(observed_chi2, k.size)),
        chi2_critical=float(np.quantile(null_chi2, 1.0 - level)),
        max_z=float(observed_max_z),
        p_value_max_z=float((1 + np.sum(null_max_z >= observed_max_z)) / (1 + replicas)),
        violations_of_certainty=violations,
        replicas=replicas,
    )


def wilson_interval(counts, trials, confidence: float = 0.6827):
    """Wilson score interval of a binomial proportion (never outside [0, 1]).

    Parameters
    ----------
    counts, trials : array_like
        Successes and trials (broadcast together).
    confidence : float
        Coverage; the default is one standard error of a normal law.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
    """
    k = np.asarray(counts, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = norm.ppf(0.5 + confidence / 2.0)
    centre = (k + z**2 / 2.0) / (n + z**2)
    half = z * np.sqrt(k * (n - k) / n + z**2 / 4.0) / (n + z**2)
    return centre - half, centre + half


#: Family-wise false-alarm rate of the z-score tests of the verdicts.
FAMILY_LEVEL = 0.01


def bonferroni_threshold(tests: int, level: float = FAMILY_LEVEL) -> float:
    """Largest :math:`|z|` allowed when ``tests`` two-sided z-tests share false-alarm ``level``."""
    return float(norm.isf(level / (2 * max(tests, 1))))


class LineFit(NamedTuple):
    """A weighted straight-line fit and its goodness of fit (:func:`weighted_line_fit`)."""

    intercept: float
    intercept_se: float
    slope: float
    #: :math:`\chi^2 = \sum_i (y_i - a - b x_i)^2/\sigma_i^2` of the residuals.
    chi2: float
    #: Degrees of freedom, ``len(x) - 2``.
    dof: int
    #: Upper-tail probability of ``chi2`` for ``dof`` (``nan`` when ``dof`` is 0).
    p_value: float


def weighted_line_fit(x, y, sigma) -> LineFit:
    r"""Weighted least squares ``y = intercept + slope * x`` with known errors ``sigma``.

    The standard error of the intercept is the one of the known ``sigma``, never inflated by
    a poor fit (which would make a verdict easier to pass); the residual :math:`\chi^2` and
    its p-value say whether the line describes the data at all.

    Returns
    -------
    LineFit
        ``(intercept, intercept_se, slope, chi2, dof, p_value)``; unpacks as a tuple.
    """
    x, y, weights = np.asarray(x, float), np.asarray(y, float), 1.0 / np.asarray(sigma) ** 2
    design = np.column_stack([np.ones_like(x), x])
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    intercept, slope = covariance @ design.T @ (weights * y)
    chi2 = float(np.sum(weights * (y - intercept - slope * x) ** 2))
    dof = x.size - 2
    return LineFit(float(intercept), float(np.sqrt(covariance[0, 0])), float(slope), chi2, dof,
                   float(chi2_distribution.sf(chi2, dof)) if dof > 0 else float("nan"))


def wilson_errorbars(counts, trials) -> tuple[np.ndarray, np.ndarray]:
    """Fractions ``k/n`` and their one-standard-error Wilson bars, shape (2, m), for errorbar.

    The bars are clipped at 0 (the interval contains ``k/n`` up to rounding).
    """
    k, n = np.asarray(counts, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    fraction = k / n
    low, high = wilson_interval(k, n)
    return fraction, np.clip(np.vstack([fraction - low, high - fraction]), 0.0, None)


def poisson_binomial_pmf(probabilities) -> np.ndarray:
    """Distribution of a sum of independent Bernoulli(p_i), by exact convolution.

    Parameters
    ----------
    probabilities : array_like of float, shape (n,)
        Each in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (n + 1,)
        ``pmf[k] = P(sum = k)``.
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("probabilities must lie in [0, 1]")
    pmf = np.zeros(p.size + 1)
    pmf[0] = 1.0
    for i, q in enumerate(p, start=1):
        pmf[1:i + 1] = pmf[1:i + 1] * (1 - q) + pmf[:i] * q
        pmf[0] *= 1 - q
    return pmf


class PoissonBinomialTest(NamedTuple):
    """Counts of successes against per-trial probabilities (:func:`poisson_binomial_test`)."""

    #: :math:`\sum_g (k_g - E_g)^2/V_g` over the groups with :math:`V_g > 0`.
    chi2: float
    #: Number of such groups.
    dof: int
    #: Probability of a statistic at least as large under the probabilities (parametric
    #: bootstrap from each group's exact distribution).
    p_value: float
    #: Trials whose outcome a probability of 0 or 1 forbids.
    violations_of_certainty: int


def poisson_binomial_test(outcomes, probabilities, *, replicas: int = 20_000,
                          seed: int = 0) -> PoissonBinomialTest:
    """Test groups of Bernoulli outcomes against their own per-trial probabilities.

    Each group's count of successes :math:`k_g` has the Poisson-binomial law of its trials'
    probabilities (mean :math:`E_g`, variance :math:`V_g`); the statistic is Pearson's
    :math:`\\chi^2 = \\sum_g (k_g - E_g)^2/V_g`, its p-value from replicas drawn from the exact
    laws (:func:`poisson_binomial_pmf`), valid where the chi-square law is not (few trials
    with intermediate probabilities).

    Parameters
    ----------
    outcomes : sequence of array_like of bool
        One array per group, shape (n_g,).
    probabilities : sequence of array_like of float
        The matching predicted probabilities, shape (n_g,).
    replicas : int
    seed : int

    Returns
    -------
    PoissonBinomialTest
    """
    rng = np.random.default_rng(seed)
    observed, simulated = 0.0, np.zeros(replicas)
    dof = violations = 0
    for outcome, p in zip(outcomes, probabilities, strict=True):
        outcome, p = np.asarray(outcome, dtype=bool), np.asarray(p, dtype=np.float64)
        violations += int(np.sum((p == 0) & outcome) + np.sum((p == 1) & ~outcome))
        mean, variance = p.sum(), np.sum(p * (1 - p))
        if variance <= 0:
            continue
        dof += 1
        observed += (outcome.sum() - mean) ** 2 / variance
        draws = rng.choice(p.size + 1, size=replicas, p=poisson_binomial_pmf(p))
        simulated += (draws - mean) ** 2 / variance
    p_value = float((1 + np.sum(simulated >= observed * (1 - 1e-12))) / (1 + replicas)) \
        if dof else float("nan")
    return PoissonBinomialTest(float(observed), dof, p_value, violations)
