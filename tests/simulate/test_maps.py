"""Ensembles of the normalised map and of 1-D SGD: numba against the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate import maps

SGD_FIELDS = ("theta", "crossings", "loss_final", "loss_mean", "loss_min", "loss_max",
              "diverged", "diverged_at", "recorded")


def _assert_sgd_equal(a, b):
    for field in SGD_FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    np.testing.assert_array_equal(a.record_steps, b.record_steps)


def test_iterate_map_matches_numpy_reference_bitwise():
    rng = np.random.default_rng(0)
    gamma = rng.uniform(0.2, 1.4, 3000)
    z0 = rng.uniform(0.05, 1.2, 3000)
    a = maps.iterate_map(gamma, z0, 300, record_every=7, record_start=3)
    b = maps.iterate_map_reference(gamma, z0, 300, record_every=7, record_start=3)
    np.testing.assert_array_equal(a.final, b.final)
    np.testing.assert_array_equal(a.recorded, b.recorded)
    np.testing.assert_array_equal(a.record_steps, np.arange(3, 301, 7))
    assert a.recorded.shape == (3000, len(a.record_steps))
    np.testing.assert_array_equal(a.recorded[:, 0], maps.iterate_map(gamma, z0, 3).final)
    assert maps.iterate_map(gamma, z0, 5).recorded is None


@pytest.mark.parametrize("eta, bound", [(1.2, None), (1.6, 5.0), (0.3, None)])
def test_sgd_matches_numpy_reference_bitwise(eta, bound):
    kwargs = dict(burn_in=40, bound=bound, record_every=25)
    theta0 = np.linspace(0.1, 0.95, 1500)
    a = maps.sgd_1d(1.3, eta / 1.3**2, 0.9, 1.0, theta0, 400, 11, 1500, **kwargs)
    b = maps.sgd_1d_reference(1.3, eta / 1.3**2, 0.9, 1.0, theta0, 400, 11, 1500, **kwargs)
    _assert_sgd_equal(a, b)


def test_sgd_reproducible_across_thread_counts_and_ensemble_sizes():
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread")
    args = (1.0, 1.2, 0.95, 1.0, 0.4, 300, 2024, 4001)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = maps.sgd_1d(*args, burn_in=10)
        numba.set_num_threads(2)
        two = maps.sgd_1d(*args, burn_in=10)
    finally:
        numba.set_num_threads(before)
    _assert_sgd_equal(one, two)
    # trajectory i does not depend on the ensemble size
    small = maps.sgd_1d(*args[:-1], 10, burn_in=10)
    np.testing.assert_array_equal(small.theta, one.theta[:10])
    # and the seed matters
    other = maps.sgd_1d(*args[:-2], 2025, 4001, burn_in=10)
    assert not np.array_equal(other.theta, one.theta)


def test_uniforms_look_uniform():
    u = maps.uniforms(3, 200_000, 17)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 3e-3
    assert abs(u.var() - 1 / 12) < 2e-3
    hist = np.histogram(u, bins=20, range=(0, 1))[0]
    assert np.all(np.abs(hist / 10_000 - 1) < 0.05)
    assert abs(np.corrcoef(u, maps.uniforms(3, 200_000, 18))[0, 1]) < 0.01


def test_fixed_point_attracts_below_one():
    gamma = np.linspace(0.05, 0.95, 19)
    z0 = np.full(19, 0.3)
    final = maps.iterate_map(gamma, z0, 3000).final
    np.testing.assert_allclose(final, 1.0, atol=1e-12)


def test_two_cycle_between_one_and_sqrt5_minus_one():
    gamma = np.linspace(1.02, 1.22, 11)
    z_minus = np.sqrt((gamma + 1 - np.sqrt((gamma - 1) * (gamma + 3))) / (2 * gamma))
    z_plus = np.sqrt((gamma + 1 + np.sqrt((gamma - 1) * (gamma + 3))) / (2 * gamma))
    result = maps.iterate_map(gamma, np.full(11, 0.5), 20_000, record_every=1,
                              record_start=19_998)
    last = result.recorded  # steps 19998, 19999, 20000
    low = np.minimum(last[:, 1], last[:, 2])
    high = np.maximum(last[:, 1], last[:, 2])
    np.testing.assert_allclose(low, z_minus, atol=1e-9)
    np.testing.assert_allclose(high, z_plus, atol=1e-9)
    np.testing.assert_allclose(last[:, 0], last[:, 2], atol=1e-9)  # period two
    assert np.all(low < 1) and np.all(high > 1)


def test_sgd_bounces_in_the_loss_stabilisation_regime():
    # eta in ((theta* x_min)^-2, 1.25 (theta* x_max)^-2) with theta* = 1, x in [0.95, 1]
    r = maps.sgd_1d(1.0, 1.2, 0.95, 1.0, 0.5, 2000, 5, 2000, burn_in=200)
    assert r.n_diverged == 0
    np.testing.assert_array_equal(r.crossings, 1800)  # crosses theta* at every step
    assert np.all(r.loss_min > 0) and np.all(r.loss_max < 0.17)
    assert np.all((r.theta > 0.65) & (r.theta < 1.162))
    # small steps converge: no bouncing, loss -> 0
    s = maps.sgd_1d(1.0, 0.5, 0.95, 1.0, 0.5, 2000, 5, 100, burn_in=200)
    np.testing.assert_array_equal(s.crossings, 0)
    assert np.all(s.loss_final < 1e-20)


def test_divergence_is_frozen_and_counted():
    theta0 = np.array([0.5, 0.5, 20.0, 0.5])
    r = maps.sgd_1d(1.0, 0.3, 0.9, 1.0, theta0, 100, 1, 4, bound=100.0)
    np.testing.assert_array_equal(r.diverged, [False, False, True, False])
    assert r.n_diverged == 1 and r.diverged_at[2] == 1 and r.theta[2] == 20.0
    assert np.isnan(r.loss_mean[2]) and np.all(np.isfinite(r.loss_mean[[0, 1, 3]]))
    big = maps.sgd_1d(1.0, 3.0, 0.9, 1.0, 0.5, 200, 1, 1000)
    assert big.n_diverged == 1000 and big.theta.shape == (1000,)
    assert np.all(np.abs(big.theta) <= 1e3) and np.all(big.diverged_at >= 1)


@pytest.mark.parametrize("kwargs, name", [
    (dict(theta_star=-1.0), "theta_star"),
    (dict(eta=0.0), "eta"),
    (dict(x_min=2.0), "x_min"),
    (dict(n_steps=-1), "n_steps"),
    (dict(n_traj=0), "n_traj"),
    (dict(seed=-3), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(distribution="gaussian"), "distribution"),
    (dict(theta0=np.ones(3)), "theta0"),
    (dict(bound=-1.0), "bound"),
    (dict(record_every=0), "record_every"),
    (dict(eta=float("nan")), "eta"),
])
def test_sgd_validation_names_the_parameter(kwargs, name):
    args = dict(theta_star=1.0, eta=1.0, x_min=0.9, x_max=1.0, theta0=0.5, n_steps=10,
                seed=0, n_traj=5)
    args.update(kwargs)
    for function in (maps.sgd_1d, maps.sgd_1d_reference):
        with pytest.raises((ValueError, TypeError), match=name):
            function(**args)


def test_map_validation_names_the_parameter():
    with pytest.raises(ValueError, match="z0"):
        maps.iterate_map(np.ones(3), np.ones(4), 5)
    with pytest.raises(ValueError, match="gamma"):
        maps.iterate_map(np.ones((3, 2)), np.ones(3), 5)
    with pytest.raises(ValueError, match="record_start"):
        maps.iterate_map(np.ones(3), np.ones(3), 5, record_every=1, record_start=6)
