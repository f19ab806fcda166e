"""The activation registry and the Gaussian moments: closed forms against mpmath at high
precision, the Gauss–Hermite rule against mpmath and exact polynomial moments, and the values
the three former implementations (kernels, teacher, spectrum) gave."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose

from jamming.simulate import activations as simulated
from jamming.simulate import features
from jamming.theory import activations as A
from jamming.theory.kernels import dual_activation


def mp_expectation(f, q):
    """E f(z), z ~ N(0, q), by mpmath at 30 digits (split at the kink z = 0)."""
    with mpmath.workdps(30):
        s = mpmath.sqrt(q)
        return mpmath.quad(lambda t: f(s * t) * mpmath.npdf(t), [-mpmath.inf, 0, mpmath.inf])


MP_FUNCTIONS = {
    "relu": lambda z: max(z, 0),
    "abs": abs,
    "sign": mpmath.sign,
    "identity": lambda z: z,
    "erf": mpmath.erf,
    "tanh": mpmath.tanh,
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "softplus": lambda z: mpmath.log1p(mpmath.exp(z)),
    "silu": lambda z: z / (1 + mpmath.exp(-z)),
    "gelu": lambda z: z * mpmath.ncdf(z),
}


def mp_moments(name, q):
    f = MP_FUNCTIONS[name]
    mean = mp_expectation(f, q)
    second = mp_expectation(lambda z: f(z) ** 2, q)
    cross = mp_expectation(lambda z: z * f(z), q)
    return [float(mean), float(second), float(cross), float(second - mean**2 - cross**2 / q)]


def as_list(m):
    return [m.mean, m.second_moment, m.cross_moment, m.nonlinear_variance]


# ---- registry ------------------------------------------------------------------------------


def test_simulation_names_are_registry_names():
    assert set(simulated.ACTIVATIONS) <= set(A.REGISTRY)
    assert set(features.FEATURE_ACTIVATIONS) <= set(simulated.ACTIVATIONS)
    assert A.subset("relu", "identity") == ("relu", "identity")
    with pytest.raises(KeyError, match="linear"):
        A.subset("relu", "linear")


@pytest.mark.parametrize("name", [n for n in A.ACTIVATIONS if A.REGISTRY[n].differentiable])
def test_derivatives_against_finite_differences(name):
    phi, dphi = A.resolve_activation(name).functions()
    x = np.array([-2.3, -0.7, 0.4, 1.9])  # away from the kinks
    h = 1e-6
    assert_allclose(dphi(x), (phi(x + h) - phi(x - h)) / (2 * h), rtol=1e-7, atol=1e-8)


def test_families_and_parameters():
    assert A.resolve_activation("abs").coefficients == (-1.0, 1.0)
    assert A.resolve_activation("leaky_relu", {"alpha": 0.2}).coefficients == (0.2, 1.0)
    cos = A.resolve_activation("cos", {"c": 0.3})
    assert cos.family == "sin" and cos.coefficients == (1.0, 1.0, 0.3 + math.pi / 2)
    phi, dphi = cos.functions()
    assert_allclose(phi(np.array([0.5])), np.cos(0.5 + 0.3), rtol=1e-15)
    assert A.resolve_activation("sign").functions()[1] is None
    pair = A.resolve_activation((np.tanh, np.cosh))
    assert pair.name == "custom" and pair.functions() == (np.tanh, np.cosh)


@pytest.mark.parametrize("activation, params, error, match", [
    ("swish", None, ValueError, "activation must be one of"),
    ("erf", {"alpha": 1.0}, ValueError, "params"),
    ("erf", {"a": math.inf}, ValueError, "finite"),
    ((np.tanh,), None, TypeError, "two callables"),
    ((np.tanh, np.cosh), {"a": 1.0}, ValueError, "params must be empty"),
])
def test_resolve_validation(activation, params, error, match):
    with pytest.raises(error, match=match):
        A.resolve_activation(activation, params)
    with pytest.raises(ValueError, match="activation must be one of"):
        A.resolve_activation("sign", names=("relu", "tanh"))


# ---- Gaussian moments ----------------------------------------------------------------------


@pytest.mark.parametrize("name", A.CLOSED_FORM_MOMENTS)
@pytest.mark.parametrize("q", [0.3, 1.0, 2.5])
def test_closed_forms_against_mpmath(name, q):
    moments = A.gaussian_moments(name, q)
    assert moments.variance == q
    assert_allclose(as_list(moments), mp_moments(name, q), rtol=1e-14, atol=1e-15)
    assert moments.derivative_mean == pytest.approx(moments.cross_moment / q, rel=1e-15)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "silu", "gelu", "erf"])
@pytest.mark.parametrize("q", [0.5, 1.0])
def test_gauss_hermite_against_mpmath(name, q):
    moments = A.gaussian_moments(name, q, params={"a": 1.0} if name == "erf" else None)
    assert_allclose(as_list(moments), mp_moments(name, q), rtol=1e-13, atol=1e-15)
    # Stein's lemma: E z phi = q E phi'
    assert moments.derivative_mean * q == pytest.approx(moments.cross_moment, rel=1e-13)


def test_adaptive_handles_a_kink():
    relu = A.resolve_activation("relu").functions()[0]
    exact = as_list(A.gaussian_moments("relu", 1.7))
    adaptive = A.gaussian_moments(relu, 1.7, method="adaptive")
    assert_allclose(as_list(adaptive), exact, rtol=1e-11)
    assert adaptive.derivative_mean is None
    hermite = A.gaussian_moments(relu, 1.7)  # a kink: O(1/n)
    assert_allclose(as_list(hermite)[:3], exact[:3], rtol=1e-2)


def test_rule_is_exact_for_polynomials():
    q = np.array([0.5, 1.0, 3.0])
    assert_allclose(A.gaussian_expectation(lambda z: z**4, q, 3), 3 * q**2, rtol=1e-14)
    assert_allclose(A.gaussian_expectation(lambda z: z**6 - z, q, 4), 15 * q**3, rtol=1e-14)
    assert A.gaussian_expectation(lambda z: z * z, 0.0, 5) == 0.0


def test_previous_values():
    """The values of teacher's and spectrum's former Hermite rules (probabilists' nodes, 201
    and 120 points) and of teacher's closed forms, to their rounding."""
    tanh = A.gaussian_moments("tanh")
    assert_allclose([tanh.cross_moment, math.sqrt(tanh.nonlinear_variance)],
                    [0.6057055096021589, 0.16557574108374176], rtol=1e-15)
    assert abs(tanh.mean) < 1e-15
    pair = A.gaussian_moments((np.tanh, lambda z: 1 / np.cosh(z) ** 2), n_nodes=120)
    assert_allclose([pair.second_moment, pair.derivative_mean**2],
                    [0.39429449039820147, 0.36687916436197465], rtol=1e-14)
    relu = A.gaussian_moments("relu")
    assert (relu.mean, relu.cross_moment) == (1 / math.sqrt(2 * math.pi), 0.5)
    assert math.sqrt(relu.nonlinear_variance) == math.sqrt(0.25 - 0.5 / math.pi)


@pytest.mark.parametrize("name", ["tanh", "gelu", "softplus"])
def test_second_moment_is_the_dual_activation_on_the_diagonal(name):
    q = np.array([0.3, 1.0, 2.2])
    phi = A.resolve_activation(name).functions()[0]
    ours = A.gaussian_expectation(lambda z: phi(z) ** 2, q, 100)
    k, _ = dual_activation(q, q, q, name, method="quadrature", derivative=False)
    assert_allclose(ours, k, rtol=1e-14)


def test_moments_validation():
    with pytest.raises(ValueError, match="variance"):
        A.gaussian_moments("relu", 0.0)
    with pytest.raises(ValueError, match="method"):
        A.gaussian_moments("tanh", method="exact")
    with pytest.raises(ValueError, match="n_nodes"):
        A.gaussian_moments("tanh", n_nodes=1)
    with pytest.raises(ValueError, match="non-finite"), np.errstate(all="ignore"):
        A.gaussian_moments(lambda z: np.log(z))
