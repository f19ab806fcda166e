"""Cover's separability probability against exact arithmetic, mpmath and its symmetries;
Gardner's capacity and the UNSAT branch of the quadratic hinge against mpmath, limits and
sympy series."""

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
    ReplicaSymmetryWarning,
    cover_curve,
    cover_probability,
    cover_probability_expr,
    cover_probability_normal,
    cover_scaling_function,
    gardner_capacity,
    hard_margin_sat,
    log_cover_probability,
    quadratic_hinge_unsat,
    quadratic_hinge_unsat_expansion,
    support_vector_fraction,
    unsat_branch_series,
    unsat_load,
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


def mp_gardner(kappa):
    with mpmath.workdps(40):
        integrand = lambda t: mpmath.npdf(t) * (t + kappa) ** 2  # noqa: E731
        return float(1 / mpmath.quad(integrand, [-kappa, 0, mpmath.inf]))


@pytest.mark.parametrize("kappa", [0.0, 0.1, 0.5, 1.0, 2.0, 5.0])
def test_gardner_capacity_against_quadrature(kappa):
    assert_allclose(gardner_capacity(kappa), mp_gardner(kappa), rtol=1e-13)


def test_gardner_capacity_limits():
    assert gardner_capacity(0.0) == pytest.approx(2.0, rel=1e-15)  # Cover
    assert gardner_capacity(30.0) * (1 + 30.0**2) == pytest.approx(1.0, rel=1e-12)


def test_gardner_capacity_flags_broken_replica_symmetry():
    with pytest.warns(ReplicaSymmetryWarning, match="upper bound"):
        value = gardner_capacity(-0.5)
    assert_allclose(value, mp_gardner(-0.5), rtol=1e-13)
    with pytest.raises(ValueError, match="kappa must be a finite number"):
        gardner_capacity(float("inf"))


def mp_unsat(alpha, digits=40):
    """The parametric solution at 40 digits (mpmath root finding), as floats."""
    with mpmath.workdps(digits):
        def i2(s):
            return (1 + s**2) * mpmath.ncdf(s) + s * mpmath.npdf(s)

        s = mpmath.findroot(lambda t: i2(t) / mpmath.ncdf(t) ** 2 - alpha,
                            mpmath.sqrt(max(alpha - 1.9, 1e-6)), tol=mpmath.mpf(10) ** -35)
        cdf = mpmath.ncdf(s)
        return {"s": float(s), "n_delta_over_n_eff": float(i2(s) / cdf),
                "loss_over_n_eff": float((s + mpmath.npdf(s) / cdf) ** 2 / 2),
                "w_norm_sq": float(1 / s**2), "n_delta_over_n_data": float(cdf)}


@pytest.mark.parametrize("alpha", [2 + 1e-6, 2.001, 2.05, 2.5, 3.0, 5.0, 20.0, 100.0])
def test_unsat_branch_against_mpmath(alpha):
    ours = quadratic_hinge_unsat(alpha)
    reference = mp_unsat(mpmath.mpf(alpha))
    for name, value in reference.items():
        assert_allclose(getattr(ours, name), value, rtol=1e-10, err_msg=name)
    assert_allclose(unsat_load(ours.s), alpha, rtol=1e-13)


def test_unsat_branch_identities_and_limits():
    previous = None
    for alpha in (2.01, 2.2, 3.0, 4.0, 8.0, 16.0):
        point = quadratic_hinge_unsat(alpha)
        assert_allclose(point.n_delta_over_n_data * alpha, point.n_delta_over_n_eff, rtol=1e-14)
        assert point.n_delta_over_n_eff > 1.0  # isostatic bound N_delta >= N_eff (+1)
        if previous is not None:  # everything grows with the load, the norm shrinks
            assert point.loss_over_n_eff > previous.loss_over_n_eff
            assert point.n_delta_over_n_eff > previous.n_delta_over_n_eff
            assert point.w_norm_sq < previous.w_norm_sq
        previous = point
    # alpha -> infinity: every point unsatisfied, least squares: loss = (N_data - N_eff)/2
    far = quadratic_hinge_unsat(400.0)
    assert_allclose(far.loss_over_n_eff, (400.0 - 1.0) / 2, rtol=1e-6)
    assert_allclose(far.n_delta_over_n_data, 1.0, rtol=1e-12)


def test_jump_at_the_transition():
    near = quadratic_hinge_unsat(2 + 1e-12)
    assert_allclose(near.loss_over_n_eff, 1 / math.pi, rtol=1e-5)
    assert_allclose(near.n_delta_over_n_eff, 1.0, rtol=1e-5)


@pytest.mark.parametrize("bad", [2.0, 1.5, float("nan"), float("inf")])
def test_unsat_branch_rejects_loads_outside_the_unsat_phase(bad):
    with pytest.raises(ValueError, match="alpha must be a finite number > 2"):
        quadratic_hinge_unsat(bad)


@pytest.fixture(scope="module")
def series():
    return unsat_branch_series(3)


def test_series_coefficients_match_the_closed_forms(series):
    n_delta, loss = series["n_delta_over_n_eff"], series["loss_over_n_eff"]
    assert float(n_delta[0]) == 1.0
    assert_allclose(float(n_delta[1]), 1 / math.sqrt(math.pi - 2), rtol=1e-15)
    assert_allclose(float(loss[0]), 1 / math.pi, rtol=1e-15)
    assert_allclose(float(loss[1]), math.sqrt(math.pi - 2) / math.pi, rtol=1e-15)
    assert_allclose(float(series["s"][1]), math.sqrt(math.pi / (2 * (math.pi - 2))), rtol=1e-15)


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-4])
def test_series_converges_to_the_exact_branch(eps, series):
    exact = quadratic_hinge_unsat(2 + eps)
    for name in ("n_delta_over_n_eff", "loss_over_n_eff", "s"):
        value = sum(float(a) * eps ** (k / 2) for k, a in enumerate(series[name]))
        assert abs(value - getattr(exact, name)) < 2 * eps**2, name  # next term O(eps^2)


def test_leading_expansion():
    for eps in (1e-3, 1e-5):
        exact, lead = quadratic_hinge_unsat(2 + eps), quadratic_hinge_unsat_expansion(2 + eps)
        for name in ("n_delta_over_n_eff", "loss_over_n_eff", "w_norm_sq", "s"):
            assert_allclose(getattr(lead, name), getattr(exact, name), rtol=3 * math.sqrt(eps))


# --------------------------------------------------------------------------------------
# SAT phase: optimal stability and support vectors
# --------------------------------------------------------------------------------------


def _optimal_stability_mpmath(alpha):
    """kappa with alpha * I_2(kappa) = 1, at 40 digits."""
    with mpmath.workdps(40):
        def second_moment(k):
            return (1 + k * k) * mpmath.ncdf(k) + k * mpmath.npdf(k)

        guess = 1 / mpmath.sqrt(alpha) if alpha < 0.5 else mpmath.mpf(2 - alpha) / 2
        return mpmath.findroot(lambda k: mpmath.mpf(alpha) * second_moment(k) - 1, guess)


@pytest.mark.parametrize("alpha", [1e-4, 0.01, 0.3, 1.0, 1.5, 1.9, 1.999, 2 - 1e-9])
def test_optimal_stability_against_mpmath(alpha):
    kappa = _optimal_stability_mpmath(alpha)
    sat = hard_margin_sat(alpha)
    assert_allclose(sat.kappa, float(kappa), rtol=1e-13)
    with mpmath.workdps(40):
        assert_allclose(sat.n_sv_over_n_eff, float(alpha * mpmath.ncdf(kappa)), rtol=1e-13)
    assert_allclose(sat.w_norm_sq * sat.kappa**2, 1.0, rtol=1e-15)
    # the inverse of Gardner's capacity
    assert_allclose(gardner_capacity(sat.kappa), alpha, rtol=1e-12)


def test_support_vectors_at_the_ends_of_the_sat_phase():
    # alpha -> 0: every point is a support vector, kappa ~ 1/sqrt(alpha)
    small = hard_margin_sat(1e-8)
    assert_allclose(small.n_sv_over_n_data, 1.0, rtol=1e-12)
    assert_allclose(small.kappa * 1e-4, 1.0, rtol=1e-7)
    # alpha -> 2-: n_SV/N_eff -> 1 = N_Delta/N_eff of the UNSAT branch at alpha -> 2+
    eps = 1e-6
    below, above = support_vector_fraction(2 - eps), quadratic_hinge_unsat(2 + eps)
    assert abs(below - 1) < 1e-3 and abs(above.n_delta_over_n_eff - 1) < 1e-2
    values = support_vector_fraction(np.linspace(0.05, 1.95, 39))
    assert values.shape == (39,) and np.all(np.diff(values) > 0)


@pytest.mark.parametrize("bad", [0.0, -1.0, 2.0, 2.5, math.nan, math.inf])
def test_hard_margin_rejects_loads_outside_the_sat_phase(bad):
    with pytest.raises(ValueError, match="alpha must be a finite number in"):
        support_vector_fraction(bad)


def test_support_vector_fraction_by_monte_carlo():
    """Hard-margin SVMs (exact least-distance solver) on Gaussian features, random labels.

    16 instances per load at N_eff = 200; the mean n_SV/N_eff against alpha Phi(kappa) within
    4 standard errors (a false alarm of about 2e-4 over the three loads). The finite-size
    bias, measured over N_eff = 50-400 before this test was written, is below 0.005, under
    one standard error here.
    """
    from jamming.simulate.generalization import hard_margin_weights

    rng = np.random.default_rng(20261202)
    n_eff = 200
    for alpha in (0.5, 1.0, 1.5):
        counts = []
        for _ in range(16):
            n_data = round(alpha * n_eff)
            x = rng.standard_normal((n_data, n_eff))
            y = rng.choice([-1.0, 1.0], n_data)
            margins = y * (x @ hard_margin_weights(x, y))
            counts.append(np.count_nonzero(margins < 1 + 1e-8) / n_eff)
        error = np.std(counts, ddof=1) / math.sqrt(len(counts))
        assert abs(np.mean(counts) - support_vector_fraction(alpha)) < 4 * error, alpha
