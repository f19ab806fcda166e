"""Tests of jamming.theory.mercer: Funk–Hecke Mercer eigenvalues on the sphere and their
decay laws."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.special import eval_chebyt, eval_legendre

from jamming.theory import mercer as M


def _to_mpf(rational):
    return mpmath.mpf(int(rational.p)) / int(rational.q)


# ---- Funk–Hecke conventions ------------------------------------------------------------------


def test_multiplicity_known_values():
    assert [M.multiplicity(2, k) for k in range(5)] == [1, 2, 2, 2, 2]
    assert [M.multiplicity(3, k) for k in range(5)] == [1, 3, 5, 7, 9]
    assert [M.multiplicity(4, k) for k in range(5)] == [(k + 1) ** 2 for k in range(5)]
    for d in (2, 3, 5, 10):
        for k in range(8):  # harmonic polynomials of degree <= k on S^{d-1}
            total = sum(M.multiplicity(d, j) for j in range(k + 1))
            assert total == math.comb(k + d - 1, d - 1) + math.comb(k + d - 2, d - 1)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        M.multiplicity(1, 3)
    with pytest.raises(TypeError, match="k must be an integer"):
        M.multiplicity(3, 1.5)


def test_sphere_legendre_matches_scipy():
    t = np.linspace(-1, 1, 11)
    for k in range(8):
        assert np.allclose(M.sphere_legendre(k, 3, t), eval_legendre(k, t), atol=1e-13)
        assert np.allclose(M.sphere_legendre(k, 2, t), eval_chebyt(k, t), atol=1e-13)
        assert M.sphere_legendre(k, 7, 1.0) == pytest.approx(1.0)


def test_mercer_expansion_reconstructs_kernel():
    """kappa(t) = sum_k mu_k N(d, k) P_k(t): checks the normalisation of mu_k, N and P_k."""
    with mpmath.workdps(40):
        for d in (2, 3, 6):
            mu = M.mercer_eigenvalues(mpmath.exp, d, 40, dps=30, as_mpf=True)
            for t in (mpmath.mpf("0.3"), mpmath.mpf(-1), mpmath.mpf(1)):
                series = sum(m * M.multiplicity(d, k) * M.sphere_legendre(k, d, t)
                             for k, m in enumerate(mu))
                assert abs(series - mpmath.exp(t)) < mpmath.mpf(10) ** -28


def test_relu_ntk_matches_exact_rationals_on_s2_to_30_digits():
    exact = M.relu_kernel_eigenvalues_exact("relu_ntk", 3, 24)
    assert exact[:5] == [M.sympy.Rational(1, 2), M.sympy.Rational(1, 3),
                         M.sympy.Rational(5, 64), 0, M.sympy.Rational(1, 192)]
    mu = M.mercer_eigenvalues(M.relu_ntk_kernel, 3, 24, dps=30, as_mpf=True)
    with mpmath.workdps(50):
        for k, (value, reference) in enumerate(zip(mu, exact, strict=True)):
            if reference == 0:
                assert value == 0, k          # odd k >= 3 vanish exactly
            else:
                assert abs(value / _to_mpf(reference) - 1) < mpmath.mpf(10) ** -30, k


@pytest.mark.parametrize("name", ["arccos0", "arccos1", "relu_ntk"])
def test_arc_cosine_kernels_match_exact_rationals_on_s4(name):
    exact = M.relu_kernel_eigenvalues_exact(name, 5, 10)
    mu = M.mercer_eigenvalues(M.relu_kernel(name), 5, 10, dps=30, as_mpf=True)
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
        mu = M.mercer_eigenvalues(lambda t: (1 - t) ** nu, 4, 20, dps=30, as_mpf=True)
        for k, value in enumerate(mu):
            reference = M.power_kernel_eigenvalue(nu, 4, k, dps=35)
            assert abs(value / reference - 1) < mpmath.mpf(10) ** -30


def test_mercer_input_validation():
    with pytest.raises(TypeError, match="kappa must be a callable"):
        M.mercer_eigenvalues(1.0, 3, 4)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        M.mercer_eigenvalues(mpmath.exp, 1, 4)
    with pytest.raises(ValueError, match="k_max must be an integer >= 0"):
        M.mercer_eigenvalues(mpmath.exp, 3, -1)
    with pytest.raises(ValueError, match="d must be an odd integer"):
        M.relu_kernel_eigenvalues_exact("relu_ntk", 4, 3)
    with pytest.raises(ValueError, match="kernel must be one of"):
        M.relu_kernel("gelu")


# ---- decay laws ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "d"), [("relu_ntk", 3), ("arccos0", 3), ("arccos1", 4),
                                         ("relu_ntk", 6)])
def test_decay_law_against_numerics(name, d):
    law = M.predicted_decay(name, d)
    assert law.exponent == {"arccos1": d + 2}.get(name, d)
    assert law.other_constant == 0.0
    mu = M.mercer_eigenvalues(M.relu_kernel(name), d, 160, dps=15)
    fit = M.fit_decay_exponent(mu, 60)
    assert fit.exponent == pytest.approx(law.exponent, rel=0.03)
    assert 0 < fit.exponent_stderr < 0.01
    assert fit.local_exponents[-1] == pytest.approx(law.exponent, rel=0.004 * d)
    k = 159 if law.parity == "odd" else 160
    assert float(mu[k]) / law(k) == pytest.approx(1.0, rel=0.02 * d)
    assert set(fit.degrees % 2) == {1 if law.parity == "odd" else 0}


def test_decay_constants_closed_forms():
    for d in (2, 3, 5, 10):
        ntk = M.predicted_decay("relu_ntk", d)
        assert ntk.constant == pytest.approx(2 ** (d - 1) * math.gamma(d / 2) ** 2 / math.pi**2)
        assert ntk.parity == "even"
        arccos1 = M.predicted_decay("arccos1", d)
        assert arccos1.constant == pytest.approx(
            2**d * math.gamma(d / 2) * math.gamma(d / 2 + 1) / math.pi**2)
        assert M.predicted_decay("arccos0", d).parity == "odd"


def test_endpoint_law_is_the_limit_of_the_exact_power_eigenvalue():
    law = M.endpoint_decay_law(5, 0.5, 1.0, 0.0)
    k = 4000
    assert float(M.power_kernel_eigenvalue(0.5, 5, k)) / law(k) == pytest.approx(1.0, rel=5e-3)
    with pytest.raises(ValueError, match="nu must be a non-integer"):
        M.endpoint_decay_law(5, 1.0, 1.0, 0.0)


def test_mercer_eigenvalues_are_float64_unless_mpf_is_asked_for():
    mu = M.mercer_eigenvalues(M.relu_ntk_kernel, 3, 4)
    assert isinstance(mu, np.ndarray) and mu.dtype == np.float64 and mu.shape == (5,)
    exact = M.mercer_eigenvalues(M.relu_ntk_kernel, 3, 4, as_mpf=True)
    assert isinstance(exact, list) and all(isinstance(m, mpmath.mpf) for m in exact)
    assert mu.tolist() == [float(m) for m in exact] and mu[3] == 0.0
    with pytest.raises(TypeError, match="as_mpf must be a bool"):
        M.mercer_eigenvalues(M.relu_ntk_kernel, 3, 4, as_mpf=1)
