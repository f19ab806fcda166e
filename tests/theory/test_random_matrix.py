"""Tests of jamming.theory.random_matrix: the Marchenko–Pastur law and the Pennington–Worah
spectrum of nonlinear random-feature Gram matrices."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.theory import random_matrix as R

# ---- Marchenko–Pastur ------------------------------------------------------------------------


@pytest.mark.parametrize("phi", [0.25, 1.0, 2.5])
def test_marchenko_pastur_density_mass_and_edges(phi):
    low, high = R.marchenko_pastur_edges(phi)
    theta, weights = np.polynomial.legendre.leggauss(400)
    angle = (theta + 1) * np.pi / 2
    x = low + (high - low) * (1 - np.cos(angle)) / 2
    jacobian = weights * np.pi / 2 * (high - low) * np.sin(angle) / 2
    mass = np.sum(jacobian * R.marchenko_pastur_density(x, phi))
    tolerance = 1e-10 if phi != 1.0 else 2e-3  # x^-1/2 hard edge at phi = 1
    assert mass + R.marchenko_pastur_atom(phi) == pytest.approx(1.0, abs=tolerance)
    assert R.marchenko_pastur_density([low - 1e-9, high + 1e-9], phi).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="phi"):
        R.marchenko_pastur_density(1.0, -1.0)


# ---- Pennington–Worah -----------------------------------------------------------------------


def _support_moments(phi, psi, eta, zeta, powers=(0, 1, 2, 3), nodes=300):
    edges = R.pennington_worah_edges(phi, psi, eta, zeta)
    theta, weights = np.polynomial.legendre.leggauss(nodes)
    angle = (theta + 1) * np.pi / 2
    totals = np.zeros(len(powers))
    for low, high in zip(edges[::2], edges[1::2], strict=True):
        x = low + (high - low) * (1 - np.cos(angle)) / 2
        jacobian = weights * np.pi / 2 * (high - low) * np.sin(angle) / 2
        rho = R.pennington_worah_density(x, phi, psi, eta, zeta)
        totals += [np.sum(jacobian * rho * x**p) for p in powers]
    return edges, totals


def test_pennington_worah_zeta_zero_is_marchenko_pastur():
    phi, psi, eta = 0.5, 0.8, 2.0
    x = np.linspace(0.05, 7.0, 40)
    mp = R.marchenko_pastur_density(x / eta, phi / psi) / eta
    assert np.allclose(R.pennington_worah_density(x, phi, psi, eta, 0.0), mp, atol=1e-12)
    low, high = R.marchenko_pastur_edges(phi / psi)
    assert np.allclose(R.pennington_worah_edges(phi, psi, eta, 0.0), [eta * low, eta * high],
                       rtol=1e-12)


@pytest.mark.parametrize("params", [(0.5, 0.8, 1.0, 0.4), (2.0, 0.8, 1.0, 0.3),
                                    (0.5, 0.8, 1.0, 1.0), (1.5, 2.0, 0.7, 0.7)])
def test_pennington_worah_mass_and_first_moment(params):
    edges, (mass, first, _, _) = _support_moments(*params)
    assert len(edges) == 2
    assert mass + R.pennington_worah_atom(*params) == pytest.approx(1.0, abs=1e-9)
    assert first == pytest.approx(params[2], rel=1e-9)  # E tr M / n1 = eta


def test_pennington_worah_roots_solve_the_quartic():
    phi, psi, eta, zeta = 0.7, 1.3, 1.0, 0.45
    z = np.array([0.3 + 0.01j, 1.7 + 0.0j, 5.0 + 2.0j])
    g = R.pennington_worah_stieltjes(z, phi, psi, eta, zeta)
    assert np.all(g.imag <= 0)
    p = (z * g - (1 - psi)) / psi
    t = 1 / (z * psi)
    p_phi, p_psi = 1 + (p - 1) * phi, 1 + (p - 1) * psi
    rhs = (1 + (eta - zeta) * t * p_phi * p_psi
           + p_phi * p_psi * t * zeta / (1 - p_phi * p_psi * t * zeta))
    assert np.allclose(p, rhs, rtol=1e-10)
    far = 1e4 + 1e4j
    assert R.pennington_worah_stieltjes(far, phi, psi, eta, zeta) * far == pytest.approx(1, 1e-3)


def test_pennington_worah_monte_carlo_tanh():
    """M = Y Y^T / m with Y = tanh(W X / sqrt(n0)): moments 2 and 3 of the spectrum."""
    mean, eta, zeta = R.gaussian_activation_constants(np.tanh, lambda x: 1 / np.cosh(x) ** 2)
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
    phi_star, spread = R.pennington_worah_interpolation_threshold(0.8, 1.0, 0.4)
    assert phi_star == pytest.approx(0.8, abs=1e-5)
    assert spread < 1e-5
    below, above = (R.pennington_worah_edges(phi, 0.8, 1.0, 0.4)[0] for phi in (0.7, 0.9))
    assert below > 1e-3 and above > 1e-3
    with pytest.raises(ValueError, match="zeta must be < eta"):
        R.pennington_worah_interpolation_threshold(0.8, 1.0, 1.0)
    with pytest.raises(ValueError, match="zeta must be a finite number"):
        R.pennington_worah_density(1.0, 0.5, 0.8, 1.0, 1.5)
