import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats
from sde_helpers import euler_maruyama, simulate_sgd_quadratic

from theory.sde import (
    label_noise_diffusion,
    label_noise_diffusion_matrix,
    label_noise_drift,
    label_noise_log_normaliser,
    label_noise_stationary_cdf,
    label_noise_stationary_density,
    label_noise_stationary_second_moment,
    quadratic_jacobian,
    sgd_moments,
    sme_drift,
    sme_moments,
    stationary_density_1d,
    symbolic_weak_errors,
    weak_errors,
)

A, SIGMA, THETA0 = 1.3, 0.8, 1.5


@pytest.fixture(scope="module")
def sym():
    return symbolic_weak_errors()


def _moment_checks(sample, mean, var, bias=0.0):
    n = sample.size
    se_mean = math.sqrt(var / n)
    se_var = var * math.sqrt(2.0 / (n - 1))
    assert abs(sample.mean() - mean) < 4.0 * se_mean + bias
    assert abs(sample.var(ddof=1) - var) < 4.0 * se_var + bias


def test_sgd_moments_match_simulation():
    rng = np.random.default_rng(0)
    eta, k = 0.15, 12
    th = simulate_sgd_quadratic(k, eta, A, SIGMA, THETA0, 40000, rng)
    mean, var = sgd_moments(k, eta, A, SIGMA, THETA0)
    _moment_checks(th, float(mean), float(var))
    # k = 0 and k -> infinity
    assert sgd_moments(0, eta, A, SIGMA, THETA0) == (THETA0, 0.0)
    _, v_inf = sgd_moments(10**6, eta, A, SIGMA, THETA0)
    assert v_inf == pytest.approx(eta * A * SIGMA**2 / (2 - eta * A), rel=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_sme_moments_match_euler_maruyama(order):
    rng = np.random.default_rng(1 + order)
    eta, T, dt = 0.2, 1.0, 1e-3
    drift = sme_drift(lambda t: A * t, lambda t: A, eta, order)
    noise = math.sqrt(eta) * A * SIGMA
    x = euler_maruyama(drift, lambda t: noise + 0.0 * t, np.full(40000, THETA0), dt,
                       int(round(T / dt)), rng)
    mean, var = sme_moments(T, eta, A, SIGMA, THETA0, order)
    _moment_checks(x, float(mean), float(var), bias=5e-3)  # EM bias O(dt)


def test_sme_drift_vector_and_scalar():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    d2 = sme_drift(lambda t: H @ t, lambda t: H, 0.1, 2)
    th = np.array([1.0, -2.0])
    # -grad(f + eta/4 |grad f|^2) for f = theta^T H theta / 2
    assert np.allclose(d2(th), -(H @ th + 0.05 * H @ (H @ th)))
    assert np.allclose(sme_drift(lambda t: H @ t, lambda t: H, 0.1, 1)(th), -(H @ th))
    assert sme_drift(lambda t: A * t, lambda t: A, 0.1, 2)(2.0) == pytest.approx(
        -(A * 2.0) * (1 + 0.05 * A))


def _slope(eta, err):
    return np.polyfit(np.log(eta), np.log(np.abs(err)), 1)[0]


def test_weak_error_orders():
    w = weak_errors(1.0, np.array([40, 80, 160, 320, 640]), A, SIGMA, THETA0)
    assert _slope(w["eta"], w["mean_1"]) == pytest.approx(1.0, abs=0.03)
    assert _slope(w["eta"], w["second_moment_1"]) == pytest.approx(1.0, abs=0.03)
    assert _slope(w["eta"], w["mean_2"]) == pytest.approx(2.0, abs=0.03)
    assert _slope(w["eta"], w["second_moment_2"]) == pytest.approx(2.0, abs=0.03)
    # theta0 = 0: SME1 is second-order accurate in the second moment on this problem
    w0 = weak_errors(1.0, np.array([40, 80, 160, 320, 640]), A, SIGMA, 0.0)
    assert np.all(w0["mean_1"] == 0.0)
    assert _slope(w0["eta"], w0["second_moment_1"]) == pytest.approx(2.0, abs=0.03)


def test_symbolic_leading_terms(sym):
    subs = {"a": A, "sigma": SIGMA, "theta0": THETA0, "T": 1.0}
    n = 2000
    w = weak_errors(1.0, n, A, SIGMA, THETA0)
    for name in ("mean", "second_moment"):
        for order in (1, 2):
            power, coef = sym[("leading", name, order)]
            assert power == order
            c = float(coef.subs({sp.Symbol(k, positive=True): v for k, v in subs.items()})
                      .subs(sp.Symbol("theta0", real=True), THETA0))
            num = w[f"{name}_{order}"][0] / w["eta"][0] ** order
            assert num == pytest.approx(c, rel=5e-3)
    expected = sp.Symbol("T", positive=True) * sp.Symbol("a", positive=True) ** 2 \
        * sp.Symbol("theta0", real=True) * sp.exp(
            -sp.Symbol("T", positive=True) * sp.Symbol("a", positive=True)) / 2
    assert sp.simplify(sym[("leading", "mean", 1)][1] - expected) == 0


# ---------------------------------------------------------------- label-noise SDE
TS, ETA, DELTA, M2 = 1.0, 0.2, 1.0, 1.7


def test_label_noise_coefficients_from_jacobian():
    x = np.array([0.5, 1.0, 1.5, 2.0])
    m2 = float(np.mean(x**2))
    theta = 0.8
    g = label_noise_diffusion_matrix(quadratic_jacobian(theta, x), ETA, DELTA)
    # (eta delta) phi^T phi = s(theta)^2
    s = float(label_noise_diffusion(theta, ETA, DELTA, m2))
    assert (g @ g.T).item() == pytest.approx(s**2)

    def L(t):  # 1/(2n) sum (x t^2 - x ts^2)^2
        return 0.5 * np.mean((x * t**2 - x * TS**2) ** 2)

    h = 1e-6
    assert float(label_noise_drift(theta, TS, m2)) == pytest.approx(
        -(L(theta + h) - L(theta - h)) / (2 * h), rel=1e-7)


def test_stationary_density_normalised_and_closed_form():
    norm = integrate.quad(lambda t: float(label_noise_stationary_density(t, TS, ETA, DELTA)),
                          0, np.inf)[0]
    assert norm == pytest.approx(1.0, abs=1e-8)
    t = np.linspace(0.05, 2.5, 50)
    closed = t ** (TS**2 / (ETA * DELTA) - 2) * np.exp(-t * t / (2 * ETA * DELTA)) \
        / np.exp(label_noise_log_normaliser(TS, ETA, DELTA))
    assert np.allclose(label_noise_stationary_density(t, TS, ETA, DELTA), closed, rtol=1e-8)
    assert label_noise_stationary_density(np.array([-1.0, 0.0]), TS, ETA, DELTA).tolist() == [0, 0]
    m2 = integrate.quad(lambda u: u * u * float(label_noise_stationary_density(u, TS, ETA, DELTA)),
                        0, np.inf)[0]
    assert m2 == pytest.approx(label_noise_stationary_second_moment(TS, ETA, DELTA), rel=1e-7)
    cdf = integrate.quad(lambda u: float(label_noise_stationary_density(u, TS, ETA, DELTA)),
                         0, 0.9)[0]
    assert cdf == pytest.approx(float(label_noise_stationary_cdf(0.9, TS, ETA, DELTA)), abs=1e-8)


def test_zero_flux_and_numerical_fokker_planck():
    grid = np.linspace(0.02, 3.0, 20001)

    def b(t):
        return label_noise_drift(t, TS, M2)

    def D(t):
        return 0.5 * label_noise_diffusion(t, ETA, DELTA, M2) ** 2

    p = label_noise_stationary_density(grid, TS, ETA, DELTA)
    flux = b(grid) * p - np.gradient(D(grid) * p, grid)
    assert np.max(np.abs(flux[1:-1])) < 1e-6 * np.max(np.abs(b(grid) * p))
    # generic numerical normalisation on the truncated domain agrees with the closed form
    pn = stationary_density_1d(b, D, grid)
    assert np.max(np.abs(pn - p)) < 1e-4 * p.max()


def test_euler_maruyama_matches_stationary_law():
    rng = np.random.default_rng(7)
    n_paths, dt, T = 4000, 1e-3, 4.0
    x = euler_maruyama(lambda t: label_noise_drift(t, TS, M2),
                       lambda t: label_noise_diffusion(t, ETA, DELTA, M2),
                       np.full(n_paths, TS), dt, int(round(T / dt)), rng)
    assert np.all(x > 0)
    # KS test at level 1%: the (seeded) sample is not rejected
    ks = stats.kstest(x, lambda t: label_noise_stationary_cdf(t, TS, ETA, DELTA))
    assert ks.pvalue > 0.01
    # chi-square on 10 equiprobable bins at level 1%
    edges = np.sqrt(stats.gamma.ppf(np.linspace(0, 1, 11), a=0.5 * (TS**2 / (ETA * DELTA) - 1),
                                    scale=2 * ETA * DELTA))
    counts = np.histogram(x, bins=edges)[0]
    chi2 = stats.chisquare(counts)
    assert chi2.pvalue > 0.01
    se = np.std(x**2) / math.sqrt(n_paths)
    assert abs(np.mean(x**2) - label_noise_stationary_second_moment(TS, ETA, DELTA)) < 4 * se + 5e-3


def test_validation_errors():
    with pytest.raises(ValueError, match="eta"):
        sgd_moments(3, -0.1, A, SIGMA, THETA0)
    with pytest.raises(ValueError, match="eta \\* a"):
        sgd_moments(3, 2.0, 1.0, SIGMA, THETA0)
    with pytest.raises(ValueError, match="sigma"):
        sme_moments(1.0, 0.1, A, -1.0, THETA0)
    with pytest.raises(ValueError, match="order"):
        sme_moments(1.0, 0.1, A, SIGMA, THETA0, order=3)
    with pytest.raises(ValueError, match="k must"):
        sgd_moments(-1, 0.1, A, SIGMA, THETA0)
    with pytest.raises(ValueError, match="n_steps"):
        weak_errors(1.0, np.array([1.5]), A, SIGMA, THETA0)
    with pytest.raises(ValueError, match="T must"):
        weak_errors(0.0, 10, A, SIGMA, THETA0)
    with pytest.raises(ValueError, match="not normalisable"):
        label_noise_stationary_density(0.5, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="theta_star"):
        label_noise_drift(0.5, 0.0)
    with pytest.raises(ValueError, match="phi"):
        label_noise_diffusion_matrix(np.ones(3), 0.1, 1.0)
    with pytest.raises(ValueError, match="grid"):
        stationary_density_1d(lambda t: t, lambda t: 1 + 0 * t, np.array([0.0, 1.0]))
