"""Tests of jamming.theory.spectrum: Marchenko–Pastur, Funk–Hecke Mercer eigenvalues, decay
laws and the Pennington–Worah spectrum of nonlinear random-feature Gram matrices."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.special import eval_chebyt, eval_legendre

from jamming.theory import spectrum as S


def _to_mpf(rational):
    return mpmath.mpf(int(rational.p)) / int(rational.q)


# ---- Marchenko–Pastur ------------------------------------------------------------------------


@pytest.mark.parametrize("phi", [0.25, 1.0, 2.5])
def test_marchenko_pastur_density_mass_and_edges(phi):
    low, high = S.marchenko_pastur_edges(phi)
    theta, weights = np.polynomial.legendre.leggauss(400)
    angle = (theta + 1) * np.pi / 2
    x = low + (high - low) * (1 - np.cos(angle)) / 2
    jacobian = weights * np.pi / 2 * (high - low) * np.sin(angle) / 2
    mass = np.sum(jacobian * S.marchenko_pastur_density(x, phi))
    tolerance = 1e-10 if phi != 1.0 else 2e-3  # x^-1/2 hard edge at phi = 1
    assert mass + S.marchenko_pastur_atom(phi) == pytest.approx(1.0, abs=tolerance)
    assert S.marchenko_pastur_density([low - 1e-9, high + 1e-9], phi).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="phi"):
        S.marchenko_pastur_density(1.0, -1.0)


# ---- Funk–Hecke conventions ------------------------------------------------------------------


def test_multiplicity_known_values():
    assert [S.multiplicity(2, k) for k in range(5)] == [1, 2, 2, 2, 2]
    assert [S.multiplicity(3, k) for k in range(5)] == [1, 3, 5, 7, 9]
    assert [S.multiplicity(4, k) for k in range(5)] == [(k + 1) ** 2 for k in range(5)]
    for d in (2, 3, 5, 10):
        for k in range(8):  # harmonic polynomials of degree <= k on S^{d-1}
            total = sum(S.multiplicity(d, j) for j in range(k + 1))
            assert total == math.comb(k + d - 1, d - 1) + math.comb(k + d - 2, d - 1)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        S.multiplicity(1, 3)
    with pytest.raises(TypeError, match="k must be an integer"):
        S.multiplicity(3, 1.5)


def test_sphere_legendre_matches_scipy():
    t = np.linspace(-1, 1, 11)
    for k in range(8):
        assert np.allclose(S.sphere_legendre(k, 3, t), eval_legendre(k, t), atol=1e-13)
        assert np.allclose(S.sphere_legendre(k, 2, t), eval_chebyt(k, t), atol=1e-13)
        assert S.sphere_legendre(k, 7, 1.0) == pytest.approx(1.0)


def test_mercer_expansion_reconstructs_kernel():
    """kappa(t) = sum_k mu_k N(d, k) P_k(t): checks the normalisation of mu_k, N and P_k."""
    with mpmath.workdps(40):
        for d in (2, 3, 6):
            mu = S.mercer_eigenvalues(mpmath.exp, d, 40, dps=30)
            for t in (mpmath.mpf("0.3"), mpmath.mpf(-1), mpmath.mpf(1)):
                series = sum(m * S.multiplicity(d, k) * S.sphere_legendre(k, d, t)
                             for k, m in enumerate(mu))
                assert abs(series - mpmath.exp(t)) < mpmath.mpf(10) ** -28


def test_relu_ntk_matches_exact_rationals_on_s2_to_30_digits():
    exact = S.relu_kernel_eigenvalues_exact("relu_ntk", 3, 24)
    assert exact[:5] == [S.sympy.Rational(1, 2), S.sympy.Rational(1, 3),
                         S.sympy.Rational(5, 64), 0, S.sympy.Rational(1, 192)]
    mu = S.mercer_eigenvalues(S.relu_ntk_kernel, 3, 24, dps=30)
    with mpmath.workdps(50):
        for k, (value, reference) in enumerate(zip(mu, exact, strict=True)):
            if reference == 0:
                assert value == 0, k          # odd k >= 3 vanish exactly
            else:
                assert abs(value / _to_mpf(reference) - 1) < mpmath.mpf(10) ** -30, k


@pytest.mark.parametrize("name", ["arccos0", "arccos1", "relu_ntk"])
def test_arc_cosine_kernels_match_exact_rationals_on_s4(name):
    exact = S.relu_kernel_eigenvalues_exact(name, 5, 10)
    mu = S.mercer_eigenvalues(S.relu_kernel(name), 5, 10, dps=30)
    with mpmath.workdps(50):
        for value, reference in zip(mu, exact, strict=True):
            if reference == 0:
                assert value == 0
            else:
                assert abs(value / _to_mpf(reference) - 1) < mpmath.mpf(10) ** -30
    zero_parity = 0 if name == "arccos0" else 1
    assert all(exact[k] == 0 for k in range(2, 11) if k % 2 == zero_parity)


def test_power_kernel_with_non_analytic_endpoint():
    """(1 - t)^(1/3) is singular in theta too: exercises the tanh-sinh end-point handling."""
    with mpmath.workdps(40):
        nu = mpmath.mpf(1) / 3
        mu = S.mercer_eigenvalues(lambda t: (1 - t) ** nu, 4, 20, dps=30)
        for k, value in enumerate(mu):
            reference = S.power_kernel_eigenvalue(nu, 4, k, dps=35)
            assert abs(value / reference - 1) < mpmath.mpf(10) ** -30


def test_mercer_input_validation():
    with pytest.raises(TypeError, match="kappa must be a callable"):
        S.mercer_eigenvalues(1.0, 3, 4)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        S.mercer_eigenvalues(mpmath.exp, 1, 4)
    with pytest.raises(ValueError, match="k_max must be an integer >= 0"):
        S.mercer_eigenvalues(mpmath.exp, 3, -1)
    with pytest.raises(ValueError, match="d must be an odd integer"):
        S.relu_kernel_eigenvalues_exact("relu_ntk", 4, 3)
    with pytest.raises(ValueError, match="kernel must be one of"):
        S.relu_kernel("gelu")


# ---- decay laws ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "d"), [("relu_ntk", 3), ("arccos0", 3), ("arccos1", 4),
                                         ("relu_ntk", 6)])
def test_decay_law_against_numerics(name, d):
    law = S.predicted_decay(name, d)
    assert law.exponent == {"arccos1": d + 2}.get(name, d)
    assert law.other_constant == 0.0
    mu = S.mercer_eigenvalues(S.relu_kernel(name), d, 160, dps=15)
    fit = S.fit_decay_exponent(mu, 60)
    assert fit.exponent == pytest.approx(law.exponent, rel=0.03)
    assert 0 < fit.exponent_stderr < 0.01
    assert fit.local_exponents[-1] == pytest.approx(law.exponent, rel=0.004 * d)
    k = 159 if law.parity == "odd" else 160
    assert float(mu[k]) / law(k) == pytest.approx(1.0, rel=0.02 * d)
    assert set(fit.degrees % 2) == {1 if law.parity == "odd" else 0}


def test_decay_constants_closed_forms():
    for d in (2, 3, 5, 10):
        ntk = S.predicted_decay("relu_ntk", d)
        assert ntk.constant == pytest.approx(2 ** (d - 1) * math.gamma(d / 2) ** 2 / math.pi**2)
        assert ntk.parity == "even"
        arccos1 = S.predicted_decay("arccos1", d)
        assert arccos1.constant == pytest.approx(
            2**d * math.gamma(d / 2) * math.gamma(d / 2 + 1) / math.pi**2)
        assert S.predicted_decay("arccos0", d).parity == "odd"


def test_endpoint_law_is_the_limit_of_the_exact_power_eigenvalue():
    law = S.endpoint_decay_law(5, 0.5, 1.0, 0.0)
    k = 4000
    assert float(S.power_kernel_eigenvalue(0.5, 5, k)) / law(k) == pytest.approx(1.0, rel=5e-3)
    with pytest.raises(ValueError, match="nu must be a non-integer"):
        S.endpoint_decay_law(5, 1.0, 1.0, 0.0)


# ---- Pennington–Worah -----------------------------------------------------------------------


def _support_moments(phi, psi, eta, zeta, powers=(0, 1, 2, 3), nodes=300):
    edges = S.pennington_worah_edges(phi, psi, eta, zeta)
    theta, weights = np.polynomial.legendre.leggauss(nodes)
    angle = (theta + 1) * np.pi / 2
    totals = np.zeros(len(powers))
    for low, high in zip(edges[::2], edges[1::2], strict=True):
        x = low + (high - low) * (1 - np.cos(angle)) / 2
        jacobian = weights * np.pi / 2 * (high - low) * np.sin(angle) / 2
        rho = S.pennington_worah_density(x, phi, psi, eta, zeta)
        totals += [np.sum(jacobian * rho * x**p) for p in powers]
    return edges, totals


def test_pennington_worah_zeta_zero_is_marchenko_pastur():
    phi, psi, eta = 0.5, 0.8, 2.0
    x = np.linspace(0.05, 7.0, 40)
    mp = S.marchenko_pastur_density(x / eta, phi / psi) / eta
    assert np.allclose(S.pennington_worah_density(x, phi, psi, eta, 0.0), mp, atol=1e-12)
    low, high = S.marchenko_pastur_edges(phi / psi)
    assert np.allclose(S.pennington_worah_edges(phi, psi, eta, 0.0), [eta * low, eta * high],
                       rtol=1e-12)


@pytest.mark.parametrize("params", [(0.5, 0.8, 1.0, 0.4), (2.0, 0.8, 1.0, 0.3),
                                    (0.5, 0.8, 1.0, 1.0), (1.5, 2.0, 0.7, 0.7)])
def test_pennington_worah_mass_and_first_moment(params):
    edges, (mass, first, _, _) = _support_moments(*params)
    assert len(edges) == 2
    assert mass + S.pennington_worah_atom(*params) == pytest.approx(1.0, abs=1e-9)
    assert first == pytest.approx(params[2], rel=1e-9)  # E tr M / n1 = eta


def test_pennington_worah_roots_solve_the_quartic():
    phi, psi, eta, zeta = 0.7, 1.3, 1.0, 0.45
    z = np.array([0.3 + 0.01j, 1.7 + 0.0j, 5.0 + 2.0j])
    g = S.pennington_worah_stieltjes(z, phi, psi, eta, zeta)
    assert np.all(g.imag <= 0)
    p = (z * g - (1 - psi)) / psi
    t = 1 / (z * psi)
    p_phi, p_psi = 1 + (p - 1) * phi, 1 + (p - 1) * psi
    rhs = (1 + (eta - zeta) * t * p_phi * p_psi
           + p_phi * p_psi * t * zeta / (1 - p_phi * p_psi * t * zeta))
    assert np.allclose(p, rhs, rtol=1e-10)
    far = 1e4 + 1e4j
    assert S.pennington_worah_stieltjes(far, phi, psi, eta, zeta) * far == pytest.approx(1, 1e-3)


def test_pennington_worah_monte_carlo_tanh():
    """M = Y Y^T / m with Y = tanh(W X / sqrt(n0)): moments 2 and 3 of the spectrum."""
    mean, eta, zeta = S.gaussian_activation_constants(np.tanh, lambda x: 1 / np.cosh(x) ** 2)
    assert abs(mean) < 1e-14 and 0 < zeta < eta
    n0, n1, m = 200, 250, 400
    phi, psi = n0 / m, n0 / n1
    rng = np.random.default_rng(20170)
    samples = []
    for _ in range(4):
        x = rng.standard_normal((n0, m))
        w = rng.standard_normal((n1, n0))
        y = np.tanh(w @ x / np.sqrt(n0))
        eigenvalues = np.linalg.eigvalsh(y @ y.T / m)
        samples.append([np.mean(eigenvalues**2), np.mean(eigenvalues**3)])
    samples = np.array(samples)
    _, (_, _, second, third) = _support_moments(phi, psi, eta, zeta)
    stderr = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    # 4 standard errors plus an O(1/n) finite-size allowance of 1%
    assert abs(samples[:, 0].mean() - second) < 4 * stderr[0] + 0.01 * second
    assert abs(samples[:, 1].mean() - third) < 4 * stderr[1] + 0.01 * third
    # zeta = 0 (Marchenko–Pastur) would give eta^2 (1 + phi/psi), far off
    assert abs(eta**2 * (1 + phi / psi) - second) > 0.1 * second


def test_pennington_worah_threshold_at_n1_equal_m():
    phi_star, spread = S.pennington_worah_interpolation_threshold(0.8, 1.0, 0.4)
    assert phi_star == pytest.approx(0.8, abs=1e-5)
    assert spread < 1e-5
    below, above = (S.pennington_worah_edges(phi, 0.8, 1.0, 0.4)[0] for phi in (0.7, 0.9))
    assert below > 1e-3 and above > 1e-3
    with pytest.raises(ValueError, match="zeta must be < eta"):
        S.pennington_worah_interpolation_threshold(0.8, 1.0, 1.0)
    with pytest.raises(ValueError, match="zeta must be a finite number"):
        S.pennington_worah_density(1.0, 0.5, 0.8, 1.0, 1.5)
