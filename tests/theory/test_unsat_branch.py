"""Gardner capacity and the UNSAT branch of the quadratic hinge: mpmath, limits, sympy series."""

from __future__ import annotations

import math

import mpmath
import pytest
from numpy.testing import assert_allclose

from jamming.theory.capacity import (
    ReplicaSymmetryWarning,
    gardner_capacity,
    quadratic_hinge_unsat,
    quadratic_hinge_unsat_expansion,
    unsat_branch_series,
    unsat_load,
)


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
