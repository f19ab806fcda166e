"""Cover's separability probability against exact arithmetic, mpmath and its symmetries."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from jamming.theory.capacity import (
    EXACT_LIMIT,
    cover_curve,
    cover_probability,
    cover_probability_expr,
    cover_probability_normal,
    cover_scaling_function,
    log_cover_probability,
)


def brute_force(n_data: int, n_eff: int) -> Fraction:
    """Cover's count as a rational, from math.comb (independent of the implementation)."""
    count = 2 * sum(math.comb(n_data - 1, k) for k in range(n_eff))
    return Fraction(count, 2**n_data)


def dichotomy_count(n_data: int, n_eff: int) -> int:
    """Cover's C(P, N) from his recursion C(P+1, N) = C(P, N) + C(P, N-1), C(1, N) = 2."""
    table = {(1, n): 2 for n in range(1, n_eff + 1)}
    for p in range(1, n_data):
        table[(p + 1, 1)] = 2
        for n in range(2, n_eff + 1):
            table[(p + 1, n)] = table[(p, n)] + table[(p, n - 1)]
    return table[(n_data, n_eff)]


@pytest.mark.parametrize("n_eff", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("n_data", [1, 2, 3, 4, 7, 10, 16, 25, 40])
def test_matches_exact_rationals(n_data, n_eff):
    exact = brute_force(n_data, n_eff)
    assert exact == Fraction(dichotomy_count(n_data, n_eff), 2**n_data)
    assert cover_probability(n_data, n_eff) == float(exact)  # correctly rounded
    if exact > 0:
        assert_allclose(log_cover_probability(n_data, n_eff), math.log(exact), rtol=1e-15,
                        atol=1e-15)


@pytest.mark.parametrize("n_eff", [1, 2, 7, 100, 1000])
def test_certain_below_capacity(n_eff):
    for n_data in (1, n_eff // 2 + 1, n_eff):
        assert cover_probability(n_data, n_eff) == 1.0
        assert log_cover_probability(n_data, n_eff) == 0.0


@pytest.mark.parametrize("n", [1, 2, 5, 10, 100, 1000, 10_000])
def test_one_half_at_twice_capacity(n):
    assert cover_probability(2 * n, n) == 0.5


@pytest.mark.parametrize("n", [1, 2, 5, 10, 100, 1000])
def test_one_point_beyond_capacity(n):
    assert cover_probability(n + 1, n) == float(1 - Fraction(1, 2**n))
    assert_allclose(log_cover_probability(n + 1, n), math.log1p(-(2.0**-n)), rtol=1e-14)


@given(st.integers(1, 300), st.integers(1, 300))
def test_complement_symmetry(n_data, n_eff):
    """p(N, d) + p(N, N - d) = 1 for 0 < d < N (binomial symmetry)."""
    if n_eff >= n_data:
        return
    total = cover_probability(n_data, n_eff) + cover_probability(n_data, n_data - n_eff)
    assert_allclose(total, 1.0, rtol=0, atol=2e-16)


@given(st.integers(1, 200), st.integers(2, 200))
def test_cover_recursion_and_monotonicity(n_data, n_eff):
    """p(P+1, N) = (p(P, N) + p(P, N-1)) / 2; decreasing in P, increasing in N."""
    here = cover_probability(n_data, n_eff)
    lower = cover_probability(n_data, n_eff - 1)
    assert_allclose(cover_probability(n_data + 1, n_eff), (here + lower) / 2, rtol=4e-16,
                    atol=1e-300)
    assert cover_probability(n_data + 1, n_eff) <= here
    assert lower <= here


def mpmath_log_probability(n_data: int, n_eff: int, digits: int = 40) -> float:
    """log p from a 40-digit mpmath sum of binomials (independent reference)."""
    with mpmath.workdps(digits):
        m = n_data - 1
        term, total = mpmath.mpf(1), mpmath.mpf(0)
        for k in range(n_eff):
            total += term
            term = term * (m - k) / (k + 1)
        return float(mpmath.log(total) - m * mpmath.log(2))


@pytest.mark.parametrize("n_data, n_eff", [
    (EXACT_LIMIT + 1, EXACT_LIMIT // 2), (30_000, 10_000), (50_000, 25_000), (60_000, 20_000),
])
def test_log_space_against_mpmath(n_data, n_eff):
    reference = mpmath_log_probability(n_data, n_eff)
    assert_allclose(log_cover_probability(n_data, n_eff), reference, rtol=1e-12, atol=1e-10)


def test_exact_path_against_mpmath_deep_tail():
    """Below 1e-300 the exact path returns log(total) - m log 2, still accurate."""
    reference = mpmath_log_probability(15_000, 1_000)
    assert reference < -700
    assert_allclose(log_cover_probability(15_000, 1_000), reference, rtol=1e-14)
    assert cover_probability(15_000, 1_000) == 0.0


def test_no_overflow_at_one_hundred_thousand():
    n_eff = 100_000
    assert_allclose(cover_probability(2 * n_eff, n_eff), 0.5, rtol=1e-9)
    assert cover_probability(n_eff + 1, n_eff) == 1.0
    assert cover_probability(3 * n_eff, n_eff) == 0.0
    log_p = log_cover_probability(3 * n_eff, n_eff)
    assert np.isfinite(log_p) and log_p < -1e4
    assert_allclose(log_p, mpmath_log_probability(3 * n_eff, n_eff), rtol=1e-12)


def test_normal_limit_and_scaling_function():
    """The CLT form is within O(1/N_eff) of the exact law and tends to Phi(-x/sqrt 2)."""
    for n_eff in (100, 1000, 10_000):
        n_data = np.arange(int(1.5 * n_eff), int(2.5 * n_eff), max(1, n_eff // 50))
        exact = cover_curve(n_data, n_eff)
        assert np.max(np.abs(cover_probability_normal(n_data, n_eff) - exact)) < 0.5 / n_eff
    x = np.linspace(-3, 3, 13)
    n_eff = 40_000
    n_data = np.round((2 + x / np.sqrt(n_eff)) * n_eff).astype(int)
    x_actual = (n_data / n_eff - 2) * np.sqrt(n_eff)
    assert_allclose(cover_curve(n_data, n_eff), cover_scaling_function(x_actual), atol=2e-3)


def test_sympy_expression_is_the_same_formula():
    expr, (n_data, n_eff, _) = cover_probability_expr()
    for p, n in [(7, 3), (12, 6), (30, 11)]:
        value = expr.subs({n_data: p, n_eff: n}).doit()
        assert Fraction(int(value.p), int(value.q)) == brute_force(p, n)


@pytest.mark.parametrize("bad", [0, -3])
def test_rejects_non_positive_sizes(bad):
    with pytest.raises(ValueError, match="n_data must be an integer >= 1"):
        cover_probability(bad, 3)
    with pytest.raises(ValueError, match="n_eff must be an integer >= 1"):
        cover_probability(3, bad)


def test_rejects_non_integers():
    with pytest.raises(TypeError, match="n_eff must be an integer"):
        cover_probability(10, 2.5)
    with pytest.raises(TypeError, match="n_data must be an integer"):
        log_cover_probability(True, 3)
