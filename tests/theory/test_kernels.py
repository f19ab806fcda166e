"""Infinite-width NNGP/NTK kernels: neural-tangents reference values, quadrature, symbolic form.

``tests/theory/data/nt_reference.json`` was written by ``benchmarks/nt_reference.py`` with
neural-tangents 0.6.5 (jax 0.4.30, float64): 144 cases of ``stax.serial(*[Dense, act] * depth,
Dense)`` for 12 activation settings, depths 1-3, three (W_std, b_std) pairs including
b_std = 0, on 5 inputs in d = 7 (``x2 = None``) and, at depth 2, against 3 other inputs.
The closed forms agree with it to ~5e-16 (tolerance 1e-12). For tanh, stax's
``ElementwiseNumerical`` is a Gauss-Hermite rule of a given degree: at the same degree our
rule is the same one (1e-12 with x2 given; with ``x2 = None`` we compute the upper triangle
and mirror it, stax evaluates the transposed rule below the diagonal: agreement to the
quadrature error). The accuracy of the quadrature itself is tested against mpmath.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import ndtr

from jamming.theory import kernels as K

DATA = Path(__file__).parent / "data" / "nt_reference.json"
REFERENCE = json.loads(DATA.read_text())
X1 = np.array(REFERENCE["x1"])
X2 = np.array(REFERENCE["x2"])


def _case_id(case):
    return (f"{case['activation']}{case['params'] or ''}@{case['degree']}-L{case['depth']}"
            f"-W{case['W_std']:.3g}-b{case['b_std']}-{'x2' if case['x2'] else 'sym'}")


def _ours(case, **extra):
    kwargs = {"params": case["params"], **extra}
    if case["degree"] is not None:
        kwargs["degree"] = case["degree"]
    return K.nngp_ntk(X1, X2 if case["x2"] else None, case["depth"], case["activation"],
                      case["W_std"], case["b_std"], **kwargs)


def _scaled_error(ours, ref):
    ref = np.asarray(ref)
    return np.max(np.abs(ours - ref)) / np.max(np.abs(ref))


def test_reference_file_records_versions():
    assert REFERENCE["versions"]["neural_tangents"] == "0.6.5"
    assert len(REFERENCE["cases"]) == 144
    assert {c["b_std"] for c in REFERENCE["cases"]} >= {0.0}


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=_case_id)
def test_matches_neural_tangents(case):
    nngp, ntk = _ours(case)
    if case["degree"] is None or case["x2"]:
        tol = 1e-12  # closed forms; the same Gauss-Hermite rule as stax
    else:
        tol = 1e-4 if case["degree"] < 100 else 1e-8  # lower triangle: transposed rule
    assert _scaled_error(nngp, case["nngp"]) < tol
    assert _scaled_error(ntk, case["ntk"]) < tol
    if case["degree"] is not None and not case["x2"]:
        upper = np.triu_indices(len(X1))
        assert_allclose(nngp[upper], np.asarray(case["nngp"])[upper], rtol=0,
                        atol=1e-12 * np.max(np.abs(case["nngp"])))


def test_public_entry_points_positional():
    case = next(c for c in REFERENCE["cases"] if c["activation"] == "relu" and c["depth"] == 3
                and c["b_std"] > 0)
    nngp = K.nngp(X1, None, 3, "relu", case["W_std"], case["b_std"])
    ntk = K.ntk(X1, None, 3, "relu", case["W_std"], case["b_std"])
    assert nngp.dtype == np.float64 and nngp.shape == (5, 5)
    assert _scaled_error(nngp, case["nngp"]) < 1e-12
    assert _scaled_error(ntk, case["ntk"]) < 1e-12
    erf = K.nngp(X1, X2, 2, "erf", 1.5, 0.1)
    assert erf.shape == (5, 3)


def test_depth_zero_is_linear():
    nngp, ntk = K.nngp_ntk(X1, X2, 0, "relu", 1.3, 0.2)
    expected = 1.3**2 * X1 @ X2.T / 7 + 0.2**2
    assert_allclose(nngp, expected, rtol=1e-14)
    assert_allclose(ntk, expected, rtol=1e-14)


def test_per_layer_stds_match_constant():
    a = K.ntk(X1, X2, 2, "erf", 1.2, 0.3)
    b = K.ntk(X1, X2, 2, "erf", [1.2] * 3, (0.3, 0.3, 0.3))
    assert_allclose(a, b, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# independent checks of the dual activations (adaptive integration, mpmath)


def _dblquad_expectation(f, g, q1, q2, c):
    """The same expectation by scipy's adaptive 2-D Gauss-Kronrod (float64, |error| < 1e-14)."""
    from scipy import integrate

    s = math.sqrt(q2 - c * c / q1)

    def integrand(b, a):
        return (f(math.sqrt(q1) * a) * g(c / math.sqrt(q1) * a + s * b)
                * math.exp(-(a * a + b * b) / 2) / (2 * math.pi))

    return integrate.dblquad(integrand, -12, 12, -12, 12, epsabs=1e-14, epsrel=1e-14)[0]


def _sigmoid(x):
    return 0.5 * (1.0 + math.tanh(x / 2))


SMOOTH = {
    "tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    "softplus": (lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))), _sigmoid),
    "gelu": (lambda x: x * ndtr(x), lambda x: ndtr(x) + x * math.exp(-x * x / 2)
             / math.sqrt(2 * math.pi)),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "silu": (lambda x: x * _sigmoid(x),
             lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_quadrature_accuracy_against_adaptive_integration(name):
    """The accuracy stated in the module docstring at q <= 1 and the default degree."""
    f, df = SMOOTH[name]
    for q1, q2, c in [(1.0, 0.8, 0.5), (0.5, 1.0, -0.6)]:
        k, kdot = K.dual_activation(q1, q2, c, name, method="quadrature")
        assert abs(float(k) - _dblquad_expectation(f, f, q1, q2, c)) < 1e-12
        assert abs(float(kdot) - _dblquad_expectation(df, df, q1, q2, c)) < 1e-11


@pytest.mark.slow
def test_tanh_quadrature_against_mpmath():
    mp.mp.dps = 20
    q1, q2, c = 1.0, 0.8, 0.5
    s = mp.sqrt(q2 - c * c / q1)

    def integrand(a, b):
        return mp.tanh(a) * mp.tanh(c * a + s * b) * mp.exp(-(a * a + b * b) / 2) / (2 * mp.pi)

    cuts = [-mp.inf, -2, 0, 2, mp.inf]
    ref = float(mp.quad(integrand, cuts, cuts))
    k, _ = K.dual_activation(q1, q2, c, "tanh", derivative=False)
    assert abs(float(k) - ref) < 1e-12
    assert abs(_dblquad_expectation(math.tanh, math.tanh, q1, q2, c) - ref) < 1e-13


@pytest.mark.parametrize("name", ["softplus", "gelu", "sigmoid", "silu"])
def test_quadrature_against_high_degree_rule(name):
    """Degree 100 against degree 400 (mpmath confirms these to 1e-12 in the slow test)."""
    q1 = np.array([[0.3], [1.0], [3.0]])
    q2 = np.array([[0.5, 1.0, 4.0]])
    c = np.array([[0.1, -0.4, 0.9], [0.3, 0.6, -1.2], [0.2, -1.5, 3.0]])
    k, kdot = K.dual_activation(q1, q2, c, name)
    k_ref, kdot_ref = K.dual_activation(q1, q2, c, name, degree=400)
    assert_allclose(k, k_ref, rtol=0, atol=1e-12)
    assert_allclose(kdot, kdot_ref, rtol=0, atol=1e-12)


def test_quadrature_convergence_tanh_larger_variance():
    ref = _dblquad_expectation(math.tanh, math.tanh, 4.0, 3.2, 2.0)
    errors = [abs(float(K.dual_activation(4.0, 3.2, 2.0, "tanh", degree=deg,
                                          derivative=False)[0]) - ref)
              for deg in (32, 100, 200)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] < 1e-6 and errors[2] < 1e-9


def _piecewise_linear_expectations(pos, neg, q1, q2, c):
    r"""E f(u)f(v) and E f'(u)f'(v) for f(x) = pos*relu(x) - neg*relu(-x), by 1-D mpmath.

    Independent of the arc-cosine formulas: given u = sqrt(q1) a, v = mu + s b with
    mu = c a / sqrt(q1), and E relu(mu + s b) = mu Phi(mu/s) + s phi(mu/s) in closed form; the
    remaining integral over a is split at the kink a = 0.
    """
    mp.mp.dps = 30
    q1, q2, c = mp.mpf(q1), mp.mpf(q2), mp.mpf(c)
    s = mp.sqrt(q2 - c * c / q1)

    def mean_relu(mu):
        return mu * mp.ncdf(mu / s) + s * mp.npdf(mu / s)

    def f(x):
        return pos * max(x, 0) - neg * max(-x, 0)

    def df(x):
        return pos if x > 0 else neg

    def k_integrand(a):
        mu = c * a / mp.sqrt(q1)
        return f(mp.sqrt(q1) * a) * (pos * mean_relu(mu) - neg * mean_relu(-mu)) * mp.npdf(a)

    def dot_integrand(a):
        mu = c * a / mp.sqrt(q1)
        return df(a) * (pos * mp.ncdf(mu / s) + neg * mp.ncdf(-mu / s)) * mp.npdf(a)

    cuts = [-mp.inf, 0, mp.inf]
    return float(mp.quad(k_integrand, cuts)), float(mp.quad(dot_integrand, cuts))


@pytest.mark.parametrize("name, params, pos, neg", [
    ("relu", {}, 1.0, 0.0), ("leaky_relu", {"alpha": 0.2}, 1.0, 0.2), ("abs", {}, 1.0, -1.0),
    ("abrelu", {"a": -0.3, "b": 0.8}, 0.8, -0.3), ("identity", {}, 1.0, 1.0)])
@pytest.mark.parametrize("q1, q2, c", [(1.0, 2.0, 0.3), (0.7, 1.1, -0.8), (2.0, 0.5, 0.9)])
def test_arc_cosine_closed_forms_against_mpmath(name, params, pos, neg, q1, q2, c):
    k_ref, dot_ref = _piecewise_linear_expectations(pos, neg, q1, q2, c)
    k, kdot = K.dual_activation(q1, q2, c, name, params=params)
    assert float(k) == pytest.approx(k_ref, rel=1e-13, abs=1e-15)
    assert float(kdot) == pytest.approx(dot_ref, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("name, params", [
    ("erf", {}), ("erf", {"a": 0.7, "b": 1.3, "c": 0.2}), ("sigmoid_like", {}), ("gelu", {}),
    ("sin", {"a": 1.1, "b": 0.8, "c": 0.3}), ("cos", {})])
def test_closed_forms_against_quadrature(name, params):
    rng = np.random.default_rng(3)
    q1 = rng.uniform(0.2, 1.5, (6, 1))
    q2 = rng.uniform(0.2, 1.5, (1, 5))
    c = rng.uniform(-0.95, 0.95, (6, 5)) * np.sqrt(q1 * q2)
    k, kdot = K.dual_activation(q1, q2, c, name, params=params)
    kq, kdotq = K.dual_activation(q1, q2, c, name, params=params, method="quadrature",
                                  degree=120)
    assert_allclose(kq, k, rtol=0, atol=1e-10)
    assert_allclose(kdotq, kdot, rtol=0, atol=1e-10)


def test_network_closed_form_against_quadrature():
    a = K.nngp_ntk(X1, None, 3, "gelu", 1.2, 0.1)
    b = K.nngp_ntk(X1, None, 3, "gelu", 1.2, 0.1, method="quadrature")
    assert_allclose(b[0], a[0], rtol=1e-10)
    assert_allclose(b[1], a[1], rtol=1e-10)


def test_callable_activation_equals_named():
    named = K.nngp_ntk(X1, X2, 2, "tanh", 1.3, 0.2)
    pair = K.nngp_ntk(X1, X2, 2, (np.tanh, lambda x: 1 - np.tanh(x) ** 2), 1.3, 0.2)
    assert_allclose(pair[0], named[0], rtol=0, atol=1e-15)
    assert_allclose(pair[1], named[1], rtol=0, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# structure: symmetry, positive semi-definiteness, blocking


# derandomize: the same 25 examples on every run. A random search also finds the limitation
# that test_tanh_quadrature_is_not_psd_for_collinear_inputs_at_large_variance pins down.
@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(2, 12), d=st.integers(1, 6), depth=st.integers(0, 3),
       act=st.sampled_from(["relu", "erf", "abs", "gelu", "tanh", "leaky_relu"]),
       w_std=st.floats(0.3, 2.5), b_std=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_symmetric_positive_semidefinite(n, d, depth, act, w_std, b_std, seed):
    x = np.random.default_rng(seed).standard_normal((n, d))
    params = {"alpha": 0.1} if act == "leaky_relu" else None
    for kernel in K.nngp_ntk(x, None, depth, act, w_std, b_std, params=params, degree=40):
        assert np.array_equal(kernel, kernel.T)
        eigenvalues = np.linalg.eigvalsh(kernel)
        # tanh is a quadrature (degree 40): PSD up to its error, up to ~1e-4 at q ~ 50 here.
        # Closed forms: for collinear inputs (d = 1) sqrt(q1 q2 - c^2) of a rounding-level
        # difference is ~sqrt(eps) q ~ 1e-8 q (stax has the same), hence 1e-8.
        tol = 1e-4 if act == "tanh" else 1e-8
        assert eigenvalues.min() >= -tol * max(eigenvalues.max(), 1e-300)


@pytest.mark.xfail(strict=True, reason="known limitation: Gauss-Hermite kernels of tanh lose "
                   "positive semi-definiteness for collinear inputs (d = 1) at large variance")
def test_tanh_quadrature_is_not_psd_for_collinear_inputs_at_large_variance():
    """Found by the random search above: 11 points on a line, depth 1, w_std = 2, b_std = 1.
    At degree 40 the smallest eigenvalue of the NTK is -0.021 against a largest of 34.7
    (-6e-4 relative); raising the degree to 200 fixes this case but not all (12 points on a
    line, w_std = 2.5, depth 1 to 3, over 200 seeds: down to -1.3e-2 relative), so it is
    the quadrature near c^2 = q1 q2, not the degree alone."""
    x = np.random.default_rng(0).standard_normal((11, 1))
    for kernel in K.nngp_ntk(x, None, 1, "tanh", 2.0, 1.0, degree=40):
        eigenvalues = np.linalg.eigvalsh(kernel)
        assert eigenvalues.min() >= -1e-4 * eigenvalues.max()


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_blocks_do_not_change_values(act):
    x = np.random.default_rng(5).standard_normal((23, 4))
    y = np.random.default_rng(6).standard_normal((11, 4))
    for x2 in (None, y):
        ref = K.nngp_ntk(x, x2, 2, act, 1.4, 0.2, degree=30)
        for block in (1, 17, 100):
            out = K.nngp_ntk(x, x2, 2, act, 1.4, 0.2, degree=30, block_elements=block)
            assert_allclose(out[0], ref[0], rtol=1e-14, atol=1e-15)
            assert_allclose(out[1], ref[1], rtol=1e-14, atol=1e-15)


def test_x2_equal_x1_matches_none():
    a = K.nngp_ntk(X1, None, 2, "relu", 1.5, 0.1)
    b = K.nngp_ntk(X1, X1, 2, "relu", 1.5, 0.1)
    assert_allclose(a[0], b[0], rtol=1e-12)
    assert_allclose(a[1], b[1], rtol=1e-12)


def test_zero_input_without_bias_is_finite():
    x = np.vstack([np.zeros(3), np.ones(3)])
    for act in ("relu", "erf", "tanh"):
        nngp, ntk = K.nngp_ntk(x, None, 2, act, 1.0, 0.0)
        assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk))
        assert nngp[0, 0] == 0.0


# ---------------------------------------------------------------------------------------------
# torch backend (CPU here; the same code runs with device="cuda")


@pytest.mark.parametrize("act", ["relu", "erf", "gelu", "tanh"])
def test_torch_backend_matches_numpy(act):
    pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal((17, 5))
    y = np.random.default_rng(9).standard_normal((6, 5))
    for x2 in (None, y):
        ref = K.nngp_ntk(x, x2, 3, act, 1.3, 0.2, degree=40)
        out = K.nngp_ntk(x, x2, 3, act, 1.3, 0.2, degree=40, backend="torch",
                         block_elements=50)
        assert_allclose(out[0], ref[0], rtol=1e-13, atol=1e-15)
        assert_allclose(out[1], ref[1], rtol=1e-13, atol=1e-15)


def test_torch_as_tensor():
    torch = pytest.importorskip("torch")
    out = K.ntk(X1, None, 2, "relu", 1.5, 0.1, backend="torch", as_tensor=True)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64


# ---------------------------------------------------------------------------------------------
# symbolic form


@pytest.mark.parametrize("act, numeric", [("relu", "relu"), ("abs", "abs"), ("erf", "erf"),
                                          ("sin", "sin")])
def test_symbolic_layer_evaluates_to_numeric(act, numeric):
    import sympy as sp

    layer = K.symbolic_layer(act)
    sym = layer["symbols"]
    args = (sym["q1"], sym["q2"], sym["c"])
    k_fn = sp.lambdify(args, layer["nngp"], "mpmath")
    dot_fn = sp.lambdify(args, layer["dot"], "mpmath")
    for q1, q2, c in [(1.0, 2.0, 0.3), (0.7, 1.1, -0.8)]:
        k, kdot = K.dual_activation(q1, q2, c, numeric)
        assert float(k_fn(q1, q2, c)) == pytest.approx(float(k), rel=1e-13)
        assert float(dot_fn(q1, q2, c)) == pytest.approx(float(kdot), rel=1e-13)
    dense = layer["dense_ntk"].subs({sym["K"]: 2, sym["Theta"]: 3, sym["sigma_w"]: 1.5,
                                     sym["sigma_b"]: 0.5})
    assert float(dense) == pytest.approx(1.5**2 * 2 + 0.25 + 1.5**2 * 3)


def test_latex_recursion_strings():
    tex = K.latex_recursion("relu")
    assert set(tex) == {"dense_nngp", "dense_ntk", "nngp", "dot"}
    assert r"\operatorname{acos}" in tex["nngp"] or r"\arccos" in tex["nngp"]
    assert r"\sigma_{w}^{2}" in tex["dense_ntk"]
    assert r"\operatorname{asin}" in K.latex_recursion("erf")["nngp"] or \
        r"\arcsin" in K.latex_recursion("erf")["nngp"]


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("kwargs, error, match", [
    ({"depth": -1}, ValueError, "depth"),
    ({"depth": 1.5}, TypeError, "depth"),
    ({"activation": "swish"}, ValueError, "activation"),
    ({"activation": "erf", "params": {"alpha": 1.0}}, ValueError, "params"),
    ({"W_std": -1.0}, ValueError, "W_std"),
    ({"b_std": [0.1, 0.2]}, ValueError, "b_std"),
    ({"method": "exact"}, ValueError, "method"),
    ({"backend": "jax"}, ValueError, "backend"),
    ({"degree": 0}, ValueError, "degree"),
])
def test_validation(kwargs, error, match):
    args = {"depth": 2, "activation": "relu", **kwargs}
    with pytest.raises(error, match=match):
        K.nngp_ntk(X1, None, **args)


def test_input_shapes_validated():
    with pytest.raises(ValueError, match="x1"):
        K.nngp(np.ones(3))
    with pytest.raises(ValueError, match="x2"):
        K.nngp(X1, np.ones((2, 3)))
