"""The bottleneck model's kernels: Monte Carlo over the width, the ReLU wedge integral, the
average over the bottleneck weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from jamming.theory import bottleneck as B


def _bottleneck_monte_carlo(x, w, m, act, dact, rng, u_std=1.0, b_std=1.0, v_std=1.0):
    d = x.shape[1]
    h = x @ w / math.sqrt(d)
    u = rng.standard_normal(m)
    b = rng.standard_normal(m)
    z = u_std * np.outer(h, u) + b_std * b
    phi, dphi = act(z), dact(z)
    nngp = v_std**2 * phi @ phi.T / m
    readout = nngp + v_std**2 * (dphi * u_std * h[:, None]) @ (dphi * u_std * h[:, None]).T / m
    readout += v_std**2 * b_std**2 * dphi @ dphi.T / m
    g = dphi * u
    w_mean = v_std**2 * u_std**2 * (x @ x.T / d) * (g @ g.T / m)
    return nngp, readout, w_mean


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_bottleneck_given_w_against_monte_carlo(act):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 6))
    w = rng.standard_normal(6)
    funcs = {"relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
             "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2)}[act]
    mc = _bottleneck_monte_carlo(x, w, 400_000, *funcs, rng, u_std=1.2, b_std=0.7, v_std=0.9)
    ker = B.bottleneck_kernels(x, None, w, activation=act, u_std=1.2, b_std=0.7, v_std=0.9,
                               degree=60)
    for ours, estimate in zip((ker.nngp, ker.ntk_readout, ker.ntk_w_mean), mc, strict=True):
        assert_allclose(ours, estimate, rtol=0, atol=1e-2 * np.max(np.abs(estimate)))
    assert_allclose(ker.ntk, ker.ntk_readout + ker.ntk_w_mean)


def test_bottleneck_relu_wedge_against_quadrature():
    from scipy import integrate

    h1, h2, u_std, b_std = 0.8, -0.3, 1.3, 0.6

    def integrand(b, u):
        ind = (u_std * u * h1 + b_std * b > 0) and (u_std * u * h2 + b_std * b > 0)
        return u * u * ind * math.exp(-(u * u + b * b) / 2) / (2 * math.pi)

    ref = 0.0
    for lo, hi in ((-9, 0), (0, 9)):
        ref += integrate.dblquad(integrand, lo, hi, -9, 9, epsabs=1e-11)[0]
    assert float(B._relu_u2_step(np.array(h1), np.array(h2), u_std, b_std)) == \
        pytest.approx(ref, abs=1e-7)


def test_bottleneck_average_over_w():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 5))
    avg = B.bottleneck_kernels(x, activation="relu", degree=60)
    ws = rng.standard_normal((4000, 5))
    acc = [np.zeros((3, 3)) for _ in range(3)]
    for w in ws:
        ker = B.bottleneck_kernels(x, None, w, activation="relu")
        for a, val in zip(acc, (ker.nngp, ker.ntk_readout, ker.ntk_w_mean), strict=True):
            a += val / len(ws)
    for ours, estimate in zip((avg.nngp, avg.ntk_readout, avg.ntk_w_mean), acc, strict=True):
        assert_allclose(ours, estimate, rtol=0, atol=3e-2 * np.max(np.abs(estimate)))
        assert np.array_equal(ours, ours.T)
