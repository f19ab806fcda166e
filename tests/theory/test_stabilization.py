import math

import numpy as np
import pytest
import sympy as sp

from theory.stabilization import (
    GAMMA_TWO_CYCLE_STABLE_MAX,
    bifurcation_diagram,
    critical_gamma,
    epsilon0,
    h_map,
    loss_bounds,
    map_maximum,
    step_size_interval,
    symbolic_normalisation,
    two_cycle,
    two_cycle_multiplier,
    two_cycle_stability_range,
    verify_stabilization,
)


@pytest.fixture(scope="module")
def sym():
    return symbolic_normalisation()


def test_normalisation_and_factorisation(sym):
    assert sp.simplify(sym["normalised_step_residual"]) == 0
    g, z = sym["symbols"]
    h = z + g * z * (1 - z**2)
    expected = g * z * (z**2 - 1) * (g * z**2 - g - 2) * sym["cycle_factor"]
    assert sp.expand(h.subs(z, h) - z - expected) == 0
    assert sp.simplify(sym["multiplier"] - (9 - 2 * (1 + g) ** 2)) == 0


@pytest.mark.parametrize("gamma", [1.001, 1.1, 1.2, 1.236, 1.5, 1.9])
def test_two_cycle_matches_sympy_and_map(sym, gamma):
    g, _ = sym["symbols"]
    zlo, zhi = two_cycle(gamma)
    assert zlo < 1 < zhi
    slo, shi = (float(r.subs(g, gamma)) for r in sym["cycle_roots"])
    assert zlo == pytest.approx(slo, rel=1e-13) and zhi == pytest.approx(shi, rel=1e-13)
    assert float(h_map(zlo, gamma)) == pytest.approx(zhi, rel=1e-13)
    assert float(h_map(zhi, gamma)) == pytest.approx(zlo, rel=1e-13)
    assert two_cycle_multiplier(gamma) == pytest.approx(
        (1 + gamma - 3 * gamma * zlo**2) * (1 + gamma - 3 * gamma * zhi**2), abs=1e-12)


@pytest.mark.parametrize("gamma", [1.05, 1.15, 1.22])
def test_two_cycle_is_attractor_of_iteration(gamma):
    orbit = bifurcation_diagram([gamma], z0=0.5, n_transient=5000, n_keep=4)[0]
    zlo, zhi = two_cycle(gamma)
    assert np.allclose(np.sort(orbit), [zlo, zlo, zhi, zhi], atol=1e-9)


def test_stability_range_against_numerics():
    lo, hi = two_cycle_stability_range()
    assert lo == 1.0 and hi == pytest.approx(math.sqrt(5) - 1) == GAMMA_TWO_CYCLE_STABLE_MAX
    assert two_cycle_multiplier(hi) == pytest.approx(-1.0)
    # just below: period 2 attracts; just above: the orbit has period 4, not 2
    below = bifurcation_diagram([hi - 0.01], n_transient=20000, n_keep=8)[0]
    assert np.allclose(below[::2], below[0], atol=1e-8)
    above = bifurcation_diagram([hi + 0.01], n_transient=20000, n_keep=8)[0]
    assert not np.allclose(above[::2], above[0], atol=1e-4)
    assert np.allclose(above[::4], above[0], atol=1e-8)


def test_bifurcation_shape_and_fixed_point():
    d = bifurcation_diagram(np.array([0.5, 0.9, 1.1]), n_transient=3000, n_keep=16)
    assert d.shape == (3, 16)
    assert np.allclose(d[:2], 1.0, atol=1e-10)
    assert np.ptp(d[2]) > 0.1


def test_seed_constants():
    zm, m = map_maximum(1.25)
    assert zm == pytest.approx(math.sqrt(0.6)) and m == pytest.approx(1.162, abs=2e-4)
    assert float(h_map(1.162, 1.25)) == pytest.approx(0.65, abs=5e-3)
    gc = critical_gamma()
    assert 1.25 < gc < 1.2504
    assert map_maximum(gc)[1] == pytest.approx(1.162, rel=1e-12)
    # brute-force check of the bouncing at random gammas in the range
    rng = np.random.default_rng(0)
    z = rng.uniform(0.01, 0.99, 200)
    eps = epsilon0(1.05)
    for _ in range(200):
        z = h_map(z, rng.uniform(1.05, 1.25, z.size))
    side = z < 1 - eps
    for _ in range(50):
        assert np.all((z > 0.65) & (z < 1.162) & (np.abs(z - 1) > eps))
        z_next = h_map(z, rng.uniform(1.05, 1.25, z.size))
        assert np.all((z_next < 1) != side)
        z, side = z_next, ~side


def test_verify_holds_on_stated_interval():
    cert = verify_stabilization(1.01, 1.25)
    assert cert.holds and cert.failing_box is None
    assert cert.n_boxes == sum(len(v) for v in cert.boxes.values())
    assert len(cert.boxes) == 7
    # the certified boxes tile each rectangle: the measure equals its area
    zr = {"P1": (0, 1.162), "P2": (0, 1.162), "P3": (1, 1.162), "P4": (1, 1.162),
          "P5": (0.65, 1 - cert.eps), "P6": (1 + cert.eps, 1.162),
          "P7": (1 - cert.eps, 1 + cert.eps)}
    for name, area in cert.measure.items():
        lo, hi = zr[name[:2]]
        assert cert.rectangles[name] == pytest.approx((lo, hi), abs=1e-15)
        assert area == pytest.approx((1.25 - 1.01) * (hi - lo), rel=1e-12)
    assert verify_stabilization(1.0001, critical_gamma() - 1e-6).holds


@pytest.mark.parametrize("gmax", [1.3, 1.2505, critical_gamma() + 1e-5])
def test_verify_fails_beyond(gmax):
    cert = verify_stabilization(1.01, gmax)
    assert not cert.holds
    assert cert.reason == "counterexample"
    assert cert.failing_property.startswith("P2")
    g, z = cert.counterexample
    assert g > critical_gamma() and float(h_map(z, g)) >= 1.162


def test_verify_fails_below_one_and_with_tighter_a():
    cert = verify_stabilization(0.99, 1.2, eps=0.01)
    assert not cert.holds and cert.failing_property.startswith("P5")
    cert = verify_stabilization(1.01, 1.25, a=0.66)
    assert not cert.holds and cert.failing_property.startswith("P4")


def test_loss_bounds_and_step_sizes():
    lo, hi = loss_bounds(0.02)
    assert lo == pytest.approx((0.04 - 0.0004) ** 2) and hi == pytest.approx((1 - 0.65**2) ** 2)
    eta_lo, eta_hi = step_size_interval(2.0, 1.0, 1.1)
    assert eta_lo == pytest.approx(0.25) and eta_hi == pytest.approx(1.25 / (4 * 1.21))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: two_cycle(1.0), "gamma must be a finite number > 1"),
        (lambda: two_cycle(float("nan")), "gamma"),
        (lambda: two_cycle_multiplier(0.5), "gamma"),
        (lambda: verify_stabilization(1.0, 1.2), "gamma_min must be > 1"),
        (lambda: verify_stabilization(1.2, 1.1), "gamma_max must be >= gamma_min"),
        (lambda: verify_stabilization(1.1, 1.2, eps=-0.1), "eps"),
        (lambda: verify_stabilization(1.1, 1.2, a=0.999), "a must be in"),
        (lambda: verify_stabilization(1.1, 1.2, b=1.0), "b must be > 1 \\+ eps"),
        (lambda: step_size_interval(1.0, 1.0, 1.2), "empty step-size interval"),
        (lambda: step_size_interval(1.0, 1.0, 0.5), "x_max must be >= x_min"),
        (lambda: critical_gamma(b=1.05), "b must exceed M\\(1\\)"),
        (lambda: epsilon0(1.0), "gamma_min"),
        (lambda: loss_bounds(0.5), "eps must be in"),
        (lambda: bifurcation_diagram([-1.0]), "gammas"),
    ],
)
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_count_validation():
    with pytest.raises(TypeError, match="n_keep"):
        bifurcation_diagram([1.1], n_keep=2.5)
    with pytest.raises(ValueError, match="max_boxes"):
        verify_stabilization(1.1, 1.2, max_boxes=0)
