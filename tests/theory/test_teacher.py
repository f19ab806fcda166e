"""Teacher-label separability thresholds: quadrature, limits, Marchenko-Pastur, Monte Carlo.

The Monte Carlo tests decide separability exactly (certified LP) and compare the fraction of
separable (SAT) instances on either side of the predicted threshold, at 0.85 and 1.15 times
``phi_c``: at least 2/3 must be SAT below, at most 1/3 above (and, for ReLU features, between
0.15 and 0.85 at ``phi_c`` itself). SAT fractions measured at the sizes used here (200
independent trials each, at 0.85 / 1.0 / 1.15 phi_c):

=========================================  =====  =====  =====
ReLU random features, psi = 0.5, d = 160    0.95   0.45   0.07
ReLU random features, psi = 1,   d = 100    0.92   0.60   0.09
ReLU random features, psi = 2,   d = 60     0.97   0.53   0.14
linear features, psi = 0.5, d = 160         0.94   0.49   0.14
abs features (mu_1 = 0), psi = 1, d = 100   0.99   0.49   0.05
logistic teacher, gamma = 2, N_eff = 100    0.95   0.48   0.13
=========================================  =====  =====  =====

so the fraction crosses 1/2 at phi_c within the resolution of these sizes. With 32 trials
and a true rate of 0.14 (the worst case), the chance that a test fails although the
prediction is right is P[Bin(32, 0.14) > 32/3] = 3e-3 (< 1e-4 for rates below 0.09; the
middle check fails with probability 7e-4 at a true rate of 0.6); the seeds are fixed, so
the outcome is reproducible. A prediction off by 15% (e.g. Cover's phi_c = 2 instead of
2.83 at psi = 1) moves one side to a rate near 1/2 or beyond, and the test fails.

Per-instance critical loads n*/N_eff (bisection over nested data sets; mean +- standard
error) agree with the theory at larger sizes: psi = 0.5: 2.367 +- 0.030 (d = 100),
2.331 +- 0.026 (d = 200), theory 2.360; psi = 1: 2.837 +- 0.030 (d = 100), 2.856 +- 0.029
(d = 200), 2.851 +- 0.032 (d = 400), theory 2.833; psi = 2: 4.179 +- 0.057 (d = 50),
3.976 +- 0.038 (d = 100), 3.896 +- 0.050 (d = 200), theory 3.883. At psi = 4 (theory 5.662)
ReLU features converge slowly: 6.30 +- 0.09 (d = 30), 6.03 +- 0.07 (d = 50), 5.99 +- 0.06
(d = 70), 6.06 +- 0.07 (d = 100), 5.79 +- 0.06 (d = 200, from the SAT fraction 17/40 at
phi = 5.85), while the Gaussian-equivalent model at d = 50 gives
5.72 +- 0.06 and features z/2 + mu_star sqrt(2) sin(5z) (same mu_1, mu_star, no low-degree
nonlinear part) 5.68 +- 0.07: the excess comes from the quadratic Hermite component of
ReLU, whose span has dimension ~d^2/2, not much larger than N_data = 24 d here. See the
derivation in ``docs/derivations/teacher.md``.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate
from scipy.optimize import minimize_scalar
from scipy.special import erf, expit, ndtr

from jamming.simulate.separability import is_linearly_separable
from jamming.theory.teacher import (
    ACTIVATIONS,
    GaussianEquivalence,
    candes_sur_h,
    candes_sur_phi_c,
    candes_sur_threshold,
    effective_signal_strength,
    gaussian_equivalence_coefficients,
    gaussian_features_sign_teacher_phi_c,
    marchenko_pastur_explained_variance,
    marchenko_pastur_unexplained_variance,
    random_features_explained_variance,
    random_features_sign_teacher_phi_c,
    random_features_sign_teacher_threshold,
    teacher_objective,
)

LINKS = {"logistic": expit, "probit": ndtr}
RELU_KAPPA = (0.25 - 0.5 / math.pi) / 0.25


def relu(z):
    return np.maximum(z, 0.0)


# --------------------------------------------------------------------------------------
# Candès-Sur h(gamma)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["logistic", "probit", lambda s: float(expit(s))])
def test_h_at_zero_signal_is_cover(link):
    threshold = candes_sur_threshold(0.0, link)
    assert_allclose(threshold.h, 0.5, rtol=1e-13)
    assert_allclose(threshold.phi_c, 2.0, rtol=1e-13)
    assert threshold.t_star == 0.0


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_h_decreases_from_one_half_to_zero(link):
    gammas = [0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0]
    values = np.array([candes_sur_h(g, link) for g in gammas])
    assert np.all(np.diff(values) < 0)
    assert values[-1] < 0.02 and values[0] == pytest.approx(0.5)
    assert candes_sur_h(math.inf, link) == 0.0
    assert candes_sur_phi_c(math.inf, link) == math.inf


def _objective_double_integral(t, gamma, rho):
    """E (X - tYV)_+^2 straight from its definition, as a 2-d integral over (V, X)."""
    def inner(v, sign):
        shift = sign * t * v  # (X - shift)_+^2 integrated over X > shift
        return integrate.quad(lambda x: (x - shift) ** 2 * math.exp(-x * x / 2),
                              shift, shift + 40, epsabs=1e-13, epsrel=1e-11)[0] / math.sqrt(
                                  2 * math.pi)

    def outer(v):
        p_plus = float(rho(gamma * v))
        return math.exp(-v * v / 2) / math.sqrt(2 * math.pi) * (
            p_plus * inner(v, 1.0) + (1.0 - p_plus) * inner(v, -1.0))

    return sum(integrate.quad(outer, a, b, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
               for a, b in ((-12, 0), (0, 12)))


@pytest.mark.parametrize("link", ["logistic", "probit"])
@pytest.mark.parametrize("gamma, t", [(0.7, 0.3), (2.0, 0.9), (6.0, -0.5)])
def test_objective_matches_its_definition(link, gamma, t):
    expected = _objective_double_integral(t, gamma, LINKS[link])
    assert_allclose(teacher_objective(t, gamma, link), expected, rtol=1e-8)


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_h_is_the_minimum_over_t(link):
    threshold = candes_sur_threshold(1.5, link)
    brute = minimize_scalar(lambda t: teacher_objective(t, 1.5, link), bounds=(0.0, 5.0),
                            method="bounded", options={"xatol": 1e-9})
    assert_allclose(threshold.h, brute.fun, rtol=1e-12)
    assert_allclose(threshold.t_star, brute.x, atol=1e-6)
    for step in (-0.05, 0.05):
        assert teacher_objective(threshold.t_star + step, 1.5, link) > threshold.h


@pytest.mark.parametrize("gamma", [0.03, 0.1])
def test_small_signal_expansion(gamma):
    """h = 1/2 - E[YV]^2/pi + O(gamma^4), E[YV] = 2 gamma E rho'(gamma V)."""
    m_probit = 2 * gamma / math.sqrt(2 * math.pi * (1 + gamma**2))
    assert abs(candes_sur_h(gamma, "probit") - (0.5 - m_probit**2 / math.pi)) < 0.2 * gamma**4

    density = integrate.quad(lambda v: expit(gamma * v) * expit(-gamma * v)
                             * math.exp(-v * v / 2) / math.sqrt(2 * math.pi), -40, 40,
                             epsabs=1e-15)[0]
    m_logistic = 2 * gamma * density
    assert abs(candes_sur_h(gamma, "logistic") - (0.5 - m_logistic**2 / math.pi)) < 0.05 * gamma**4


def _large_signal_constant(rho_density):
    """lim gamma h(gamma) = 2 phi(0) min_tau E(X - tau S)_+^3 / (3 tau), S with density rho'."""
    def j(tau):
        def integrand(s):  # E_X (X - tau s)_+^3 for X ~ N(0, 1), in closed form
            a = tau * s
            return ((a * a + 2) * math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
                    - a * (a * a + 3) * float(ndtr(-a))) * rho_density(s)

        return integrate.quad(integrand, -60, 60, epsabs=1e-14, limit=200)[0] / (3 * tau)

    best = minimize_scalar(j, bounds=(0.05, 5.0), method="bounded", options={"xatol": 1e-10})
    return 2 / math.sqrt(2 * math.pi) * best.fun


def test_large_signal_asymptotics():
    """h ~ C/gamma: C = sqrt(3)/pi for the probit (tau* = 1/sqrt 2), 1.01527 logistic."""
    probit = _large_signal_constant(lambda s: math.exp(-s * s / 2) / math.sqrt(2 * math.pi))
    assert_allclose(probit, math.sqrt(3) / math.pi, rtol=1e-8)
    logistic = _large_signal_constant(lambda s: float(expit(s) * expit(-s)))
    for gamma in (1e3, 1e4):
        assert_allclose(gamma * candes_sur_h(gamma, "probit"), probit, rtol=2 / gamma)
        assert_allclose(gamma * candes_sur_h(gamma, "logistic"), logistic, rtol=2 / gamma)


def test_general_link_matches_named_link():
    assert_allclose(candes_sur_h(1.3, lambda s: float(ndtr(s))), candes_sur_h(1.3, "probit"),
                    rtol=1e-10)


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_gamma_is_validated(bad):
    with pytest.raises(ValueError, match="gamma"):
        candes_sur_h(bad)


def test_link_is_validated():
    with pytest.raises(ValueError, match="link"):
        candes_sur_h(1.0, "cauchit")
    with pytest.raises(ValueError, match="probability"):
        candes_sur_h(1.0, lambda s: 2.0)


def _logistic_sat(n_eff, phi, gamma, trials, rng):
    n_data = round(phi * n_eff)
    count = 0
    for _ in range(trials):
        x = rng.standard_normal((n_data, n_eff))
        y = np.where(rng.random(n_data) < expit(gamma * x[:, 0]), 1.0, -1.0)
        count += is_linearly_separable(x, y)
    return count / trials


def test_candes_sur_threshold_by_monte_carlo():
    """Logistic teacher, gamma = 2: phi_c = 2.899 (Cover's 2 would fail the check above it).

    Measured at N_eff = 100 (200 trials): SAT fraction 0.95 at 0.85 phi_c, 0.13 at 1.15.
    """
    rng = np.random.default_rng(20240901)
    phi_c = candes_sur_phi_c(2.0, "logistic")
    assert_allclose(phi_c, 2.8991, atol=1e-4)
    assert _logistic_sat(100, 0.85 * phi_c, 2.0, 32, rng) >= 2 / 3
    assert _logistic_sat(100, 1.15 * phi_c, 2.0, 32, rng) <= 1 / 3


# --------------------------------------------------------------------------------------
# Gaussian-equivalence coefficients
# --------------------------------------------------------------------------------------


def test_relu_closed_form():
    c = gaussian_equivalence_coefficients("relu")
    assert c.mu_0 == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-15)
    assert c.mu_1 == 0.5
    assert_allclose(c.mu_star**2, 0.5 - 1 / (2 * math.pi) - 0.25, rtol=1e-14)
    adaptive = gaussian_equivalence_coefficients(relu, method="adaptive")
    assert_allclose([adaptive.mu_0, adaptive.mu_1, adaptive.mu_star],
                    [c.mu_0, c.mu_1, c.mu_star], rtol=1e-11)
    hermite = gaussian_equivalence_coefficients(relu)  # a kink: O(1/n) error
    assert_allclose([hermite.mu_0, hermite.mu_1, hermite.mu_star],
                    [c.mu_0, c.mu_1, c.mu_star], rtol=1e-2)


@pytest.mark.parametrize("name, function", [
    ("erf", erf), ("sign", np.sign), ("abs", np.abs), ("identity", lambda z: z),
])
def test_closed_forms_against_quadrature(name, function):
    closed = gaussian_equivalence_coefficients(name)
    numeric = gaussian_equivalence_coefficients(function, method="adaptive")
    assert_allclose([closed.mu_0, closed.mu_1, closed.mu_star],
                    [numeric.mu_0, numeric.mu_1, numeric.mu_star], rtol=1e-10, atol=1e-12)
    if name in ("erf", "identity"):  # smooth: Gauss-Hermite is exact to rounding
        hermite = gaussian_equivalence_coefficients(function)
        assert_allclose([hermite.mu_0, hermite.mu_1, hermite.mu_star],
                        [closed.mu_0, closed.mu_1, closed.mu_star], rtol=1e-12, atol=1e-13)


def test_tanh_by_two_quadratures():
    hermite = gaussian_equivalence_coefficients("tanh")
    adaptive = gaussian_equivalence_coefficients("tanh", method="adaptive")
    assert abs(hermite.mu_0) < 1e-15
    assert_allclose([hermite.mu_1, hermite.mu_star], [adaptive.mu_1, adaptive.mu_star],
                    rtol=1e-12)
    assert_allclose(hermite.mu_1, 0.6057055096, rtol=1e-9)  # E tanh'(G)


def test_scalar_callable_and_validation():
    scalar = gaussian_equivalence_coefficients(lambda z: math.tanh(z))
    assert_allclose(scalar.mu_1, gaussian_equivalence_coefficients("tanh").mu_1, rtol=1e-14)
    assert sorted(ACTIVATIONS) == sorted(["relu", "tanh", "erf", "sign", "abs", "identity"])
    with pytest.raises(ValueError, match="activation"):
        gaussian_equivalence_coefficients("gelu")
    with pytest.raises(ValueError, match="n_nodes"):
        gaussian_equivalence_coefficients("tanh", n_nodes=1000)


# --------------------------------------------------------------------------------------
# Marchenko-Pastur: the explained variance R^2
# --------------------------------------------------------------------------------------


def _mp_integral(psi, kappa):
    """psi * int lambda/(lambda + kappa) dMP_psi, from the Marchenko-Pastur density."""
    lo, hi = (1 - math.sqrt(psi)) ** 2, (1 + math.sqrt(psi)) ** 2

    def density(lam):
        return math.sqrt(max((hi - lam) * (lam - lo), 0.0)) / (2 * math.pi * psi * lam)

    return psi * integrate.quad(lambda lam: density(lam) * lam / (lam + kappa), lo, hi,
                                epsabs=1e-14, limit=200)[0]


@pytest.mark.parametrize("psi", [0.1, 0.5, 1.0, 2.0, 7.0])
@pytest.mark.parametrize("kappa", [0.01, RELU_KAPPA, 3.0])
def test_explained_variance_closed_form(psi, kappa):
    r2 = marchenko_pastur_explained_variance(psi, kappa)
    assert_allclose(r2, _mp_integral(psi, kappa), rtol=1e-9)
    assert_allclose((1 - r2) * (psi - r2), kappa * r2, rtol=1e-12)
    assert 0 < r2 < min(1.0, psi)


def test_explained_variance_limits():
    for psi in (0.3, 1.0, 4.0):
        assert marchenko_pastur_explained_variance(psi, 0.0) == min(1.0, psi)
        assert marchenko_pastur_explained_variance(psi, math.inf) == 0.0
    assert_allclose(marchenko_pastur_explained_variance(1e-6, 2.0), 1e-6 / 3, rtol=1e-5)
    assert_allclose(1 - marchenko_pastur_explained_variance(1e6, 2.0), 2e-6, rtol=1e-5)


@pytest.mark.parametrize("psi", [1e-3, 0.5, 1.0, 7.0, 1e8, 1e14, 9e15])
@pytest.mark.parametrize("kappa", [0.0, 1e-3, RELU_KAPPA, 3.0])
def test_unexplained_variance_keeps_its_precision(psi, kappa):
    """1 - R^2 against 50-digit mpmath, where 1 - (explained variance) loses all digits."""
    with mpmath.workdps(50):
        s = 1 + mpmath.mpf(psi) + kappa
        r2 = 2 * mpmath.mpf(psi) / (s + mpmath.sqrt((1 - mpmath.mpf(psi)) ** 2
                                                    + kappa * (2 + 2 * mpmath.mpf(psi) + kappa)))
        exact = float(1 - r2)
    assert_allclose(marchenko_pastur_unexplained_variance(psi, kappa), exact, rtol=1e-13,
                    atol=0 if kappa else 1e-300)


def test_phi_c_keeps_its_large_psi_asymptotics():
    """phi_c ~ (pi/sqrt 3) sqrt(psi/kappa) up to the largest psi phi_c accepts (2**53)."""
    kappa = RELU_KAPPA
    for psi in (1e10, 1e14, 9e15):
        ratio = random_features_sign_teacher_phi_c(psi) / math.sqrt(psi / kappa)
        assert_allclose(ratio, math.pi / math.sqrt(3), rtol=1e-6)


def test_explained_variance_of_finite_random_matrices():
    """R^2 = mu_1^2 b.W'(mu_1^2 WW'/d + mu*^2)^-1 W b / d at d = 400, averaged over draws."""
    rng = np.random.default_rng(7)
    c = gaussian_equivalence_coefficients("relu")
    for psi in (0.5, 2.0):
        d = 400
        p = round(psi * d)
        values = []
        for _ in range(6):
            w = rng.standard_normal((p, d))
            beta = rng.standard_normal(d)
            beta /= np.linalg.norm(beta)
            cov = c.mu_1**2 * w @ w.T / d + c.mu_star**2 * np.eye(p)
            cross = c.mu_1 * w @ beta / math.sqrt(d)
            values.append(cross @ np.linalg.solve(cov, cross))
        # fluctuations ~ 0.03/sqrt(6) per mean, bias O(1/d)
        assert_allclose(np.mean(values), random_features_explained_variance(psi), atol=0.03)


# --------------------------------------------------------------------------------------
# Random features: limits and Monte Carlo
# --------------------------------------------------------------------------------------


def test_relu_numbers_and_hypothesis():
    values = [random_features_sign_teacher_phi_c(psi) for psi in (0.5, 1.0, 2.0, 4.0)]
    assert_allclose(values, [2.35970, 2.83327, 3.88342, 5.66241], atol=1e-5)
    assert values[1] == pytest.approx(2.83, abs=0.01)  # the project brief's hypothesis


def test_no_linear_part_gives_cover():
    for activation in ("abs", lambda z: z * z - 1.0):
        for psi in (0.5, 3.0):
            assert_allclose(random_features_sign_teacher_phi_c(psi, activation), 2.0,
                            rtol=1e-12)


def test_linear_activation():
    assert random_features_sign_teacher_phi_c(1.0, "identity") == math.inf
    assert random_features_sign_teacher_phi_c(2.5, "identity") == math.inf
    assert_allclose(random_features_sign_teacher_phi_c(0.5, "identity"),
                    candes_sur_phi_c(1.0, "probit"), rtol=1e-12)  # gamma^2 = psi/(1-psi)


def test_small_and_large_psi():
    kappa = RELU_KAPPA
    for psi in (1e-3, 1e-2):
        expected = 2 + 8 * psi / (math.pi**2 * (1 + kappa))
        assert abs(random_features_sign_teacher_phi_c(psi) - expected) < psi**2
    for psi in (1e4, 1e6):  # phi_c ~ (pi/sqrt 3) sqrt(psi/kappa)
        ratio = random_features_sign_teacher_phi_c(psi) / math.sqrt(psi / kappa)
        assert_allclose(ratio, math.pi / math.sqrt(3), rtol=1 / psi)
    values = [random_features_sign_teacher_phi_c(psi) for psi in np.geomspace(0.01, 100, 9)]
    assert np.all(np.diff(values) > 0)


def test_activation_enters_through_kappa_only():
    tanh = gaussian_equivalence_coefficients("tanh")
    rescaled = GaussianEquivalence(5.0, 3 * tanh.mu_1, 3 * tanh.mu_star)
    assert_allclose(random_features_sign_teacher_phi_c(1.5, rescaled),
                    random_features_sign_teacher_phi_c(1.5, "tanh"), rtol=1e-12)


def test_teacher_noise_and_whitening_reduction():
    threshold = random_features_sign_teacher_threshold(1.0, teacher_noise=0.5)
    assert_allclose(threshold.gamma_eff,
                    effective_signal_strength(threshold.r_squared / 1.25), rtol=1e-14)
    assert_allclose(threshold.phi_c,
                    gaussian_features_sign_teacher_phi_c(threshold.r_squared, 0.5), rtol=1e-14)
    assert threshold.phi_c < random_features_sign_teacher_phi_c(1.0)
    assert gaussian_features_sign_teacher_phi_c(0.0) == pytest.approx(2.0)
    assert gaussian_features_sign_teacher_phi_c(1.0) == math.inf


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_psi_is_validated(bad):
    with pytest.raises(ValueError, match="psi"):
        random_features_sign_teacher_phi_c(bad)


def _random_features_sat(d, psi, phi, trials, rng, activation=relu, sphere=False):
    """Fraction of separable instances of sigma(W x / sqrt d) labelled by sign(beta . x).

    Inputs are standard Gaussian, or uniform on the sphere of radius sqrt(d) if ``sphere``.
    """
    n_eff = round(psi * d)
    n_data = round(phi * n_eff)
    count = 0
    for _ in range(trials):
        w = rng.standard_normal((n_eff, d))
        beta = rng.standard_normal(d)
        x = rng.standard_normal((n_data, d))
        if sphere:
            x *= math.sqrt(d) / np.linalg.norm(x, axis=1, keepdims=True)
        count += is_linearly_separable(activation(x @ w.T / math.sqrt(d)), np.sign(x @ beta))
    return count / trials


@pytest.mark.parametrize("psi, d", [(0.5, 160), (1.0, 100), (2.0, 60)])
def test_random_features_threshold_by_monte_carlo(psi, d):
    """ReLU features: separable at 0.85 phi_c(psi), not at 1.15 phi_c(psi) (see module doc)."""
    rng = np.random.default_rng(20240902 + round(10 * psi))
    phi_c = random_features_sign_teacher_phi_c(psi)
    assert _random_features_sat(d, psi, 0.85 * phi_c, 32, rng) >= 2 / 3
    assert 0.15 <= _random_features_sat(d, psi, phi_c, 32, rng) <= 0.85
    assert _random_features_sat(d, psi, 1.15 * phi_c, 32, rng) <= 1 / 3


def test_linear_features_by_monte_carlo():
    """Linear features W x / sqrt d at psi = 0.5 are exactly Gaussian (no equivalence assumed):
    the probit reduction with R^2 = psi gives phi_c = 1/h_probit(1) = 2.695."""
    rng = np.random.default_rng(20240905)
    phi_c = random_features_sign_teacher_phi_c(0.5, "identity")
    assert_allclose(phi_c, 2.69535, atol=1e-5)
    assert _random_features_sat(160, 0.5, 0.85 * phi_c, 32, rng, lambda z: z) >= 2 / 3
    assert _random_features_sat(160, 0.5, 1.15 * phi_c, 32, rng, lambda z: z) <= 1 / 3


def test_features_without_linear_part_by_monte_carlo():
    """|.| features (mu_1 = 0) carry no linear trace of the teacher: Cover's phi_c = 2."""
    rng = np.random.default_rng(20240903)
    assert _random_features_sat(100, 1.0, 0.85 * 2, 32, rng, np.abs) >= 2 / 3
    assert _random_features_sat(100, 1.0, 1.15 * 2, 32, rng, np.abs) <= 1 / 3


@pytest.mark.slow
@pytest.mark.parametrize("psi, sphere", [(0.5, False), (1.0, False), (1.0, True), (2.0, False)])
def test_random_features_threshold_at_larger_size(psi, sphere):
    """d = 200, a narrower window (0.9 / 1.1 phi_c), Gaussian or spherical inputs (~3 min).

    Per-instance critical loads at d = 200 have means 2.33, 2.86, 3.90 and standard
    deviations 0.19, 0.21, 0.27 (psi = 0.5, 1, 2), hence SAT rates of about 0.9 or more at
    0.9 phi_c and 0.1 or less at 1.1 phi_c: P[Bin(40, 0.1) > 40/3] < 1e-4.
    """
    rng = np.random.default_rng(20240904 + round(10 * psi) + sphere)
    phi_c = random_features_sign_teacher_phi_c(psi)
    assert _random_features_sat(200, psi, 0.9 * phi_c, 40, rng, sphere=sphere) >= 2 / 3
    assert _random_features_sat(200, psi, 1.1 * phi_c, 40, rng, sphere=sphere) <= 1 / 3
