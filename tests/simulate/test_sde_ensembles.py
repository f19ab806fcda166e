"""SME and label-noise ensembles (simulate.sde): numba against numpy, and against theory.sde."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from jamming.simulate import random_streams, sde
from jamming.theory.sde import (
    label_noise_stationary_cdf,
    label_noise_stationary_second_moment,
    sgd_moments,
    weak_errors,
)

COUPLED_FIELDS = ("sgd", "sme1_coarse", "sme1_fine", "sme2_coarse", "sme2_fine")
QUANTITIES = ("mean_1", "second_moment_1", "mean_2", "second_moment_2")


def _z_bonferroni(n_tests: int, alpha: float = 0.01) -> float:
    """Two-sided normal threshold at family-wise level ``alpha`` over ``n_tests`` checks."""
    return float(stats.norm.isf(alpha / (2 * n_tests)))


def _assert_label_noise_equal(a, b):
    for field in ("theta", "diverged", "diverged_at", "recorded", "record_steps"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


# ------------------------------------------------------------------ numba against numpy


def test_box_muller_is_accurate_and_numba_matches_numpy_bitwise():
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    u1 = np.concatenate([1.0 - rng.random(100_000), [1.0, 2.0**-53, 0.5, 2.0**-40]])
    u2 = np.concatenate([rng.random(100_000), [0.0, 0.125, 0.5, 0.875]])
    z0, z1 = random_streams.box_muller(u1, u2)
    r = np.sqrt(-2.0 * np.log(u1))
    np.testing.assert_allclose(z0, r * np.cos(2 * np.pi * u2), rtol=0, atol=1e-14)
    np.testing.assert_allclose(z1, r * np.sin(2 * np.pi * u2), rtol=0, atol=1e-14)
    pair = random_streams.numba_functions().normal_pair

    @numba.njit
    def pairs(keys, p):
        out = np.empty((2, keys.size))
        for j in range(keys.size):
            out[0, j], out[1, j] = pair(keys[j], p)
        return out

    keys = random_streams.keys_np(5, 2000)
    for p in (0, 1, 12345):
        expected = np.stack(random_streams.normal_pair_np(keys, p))
        np.testing.assert_array_equal(pairs(keys, p), expected)
    z = np.concatenate(random_streams.normal_pair_np(random_streams.keys_np(1, 100_000), 3))
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_coupled_paths_match_numpy_reference_bitwise():
    args = (0.1, 7, 1.3, 0.8, np.linspace(-1, 2, 1000), 1000, 9)
    a = sde.sme_coupled_paths(*args, substeps=3)
    b = sde.sme_coupled_paths_reference(*args, substeps=3)
    for field in COUPLED_FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.substeps == 3 and a.sgd.shape == (1000,)


@pytest.mark.parametrize("kwargs", [dict(bound=None), dict(bound=1.5)])
def test_label_noise_sde_matches_numpy_reference_bitwise(kwargs):
    args = (1.0, 0.4, 1.0, 1.7, np.linspace(0.2, 1.4, 1500), 2e-2, 301, 1500, 4)
    a = sde.label_noise_sde_1d(*args, record_every=25, record_start=1, **kwargs)
    b = sde.label_noise_sde_1d_reference(*args, record_every=25, record_start=1, **kwargs)
    _assert_label_noise_equal(a, b)
    if kwargs["bound"] is not None:
        assert 0 < a.n_diverged < 1500


def test_label_noise_sgd_matches_reference_and_is_the_sde_scheme_for_fixed_x():
    args = (1.0, 0.05, 2.0, 0.8, 1.2, 1.0, 301, 1000, 6)
    a = sde.label_noise_sgd_1d(*args, record_every=50)
    _assert_label_noise_equal(a, sde.label_noise_sgd_1d_reference(*args, record_every=50))
    # x fixed: the SGD step is the Euler-Maruyama step with dt = eta, m2 = x^2
    eta, delta, x = 0.05, 2.0, 1.1
    s = sde.label_noise_sgd_1d(1.0, eta, delta, x, x, 1.0, 301, 1000, 6)
    e = sde.label_noise_sde_1d(1.0, eta, delta, x * x, 1.0, eta, 301, 1000, 6)
    np.testing.assert_allclose(s.theta, e.theta, rtol=1e-12, atol=0)
    assert not np.allclose(a.theta, s.theta)  # random x changes the paths


def test_reproducible_across_thread_counts_ensemble_sizes_and_seeds():
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread")
    sde_args = (1.0, 0.2, 1.0, 1.0, 1.0, 1e-2, 200, 3001)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = sde.label_noise_sde_1d(*sde_args, 7)
        one_c = sde.sme_coupled_paths(0.1, 10, 1.0, 1.0, 1.0, 3001, 7)
        numba.set_num_threads(2)
        two = sde.label_noise_sde_1d(*sde_args, 7)
        two_c = sde.sme_coupled_paths(0.1, 10, 1.0, 1.0, 1.0, 3001, 7)
    finally:
        numba.set_num_threads(before)
    _assert_label_noise_equal(one, two)
    for field in COUPLED_FIELDS:
        np.testing.assert_array_equal(getattr(one_c, field), getattr(two_c, field))
    small = sde.label_noise_sde_1d(*sde_args[:-1], 10, 7)
    np.testing.assert_array_equal(small.theta, one.theta[:10])
    assert not np.array_equal(sde.label_noise_sde_1d(*sde_args, 8).theta, one.theta)
    small_c = sde.sme_coupled_paths(0.1, 10, 1.0, 1.0, 1.0, 10, 7)
    np.testing.assert_array_equal(small_c.sme2_fine, one_c.sme2_fine[:10])


def test_divergence_is_frozen_and_counted():
    theta0 = np.array([1.0, 1.0, 4.0, 1.0])
    # from theta = 4 the drift step 2 dt theta (1 - theta^2) overshoots below -bound
    r = sde.label_noise_sde_1d(1.0, 0.1, 0.0, 1.0, theta0, 0.1, 50, 4, 0, bound=5.0)
    np.testing.assert_array_equal(r.diverged, [False, False, True, False])
    assert r.n_diverged == 1 and r.diverged_at[2] == 1 and r.theta[2] == 4.0
    np.testing.assert_allclose(r.theta[[0, 1, 3]], 1.0)  # theta* is a fixed point (delta = 0)
    big = sde.label_noise_sgd_1d(1.0, 2.0, 0.5, 0.9, 1.0, 0.5, 200, 1000, 1)
    assert big.n_diverged == 1000 and big.theta.shape == (1000,)
    assert np.all(np.abs(big.theta) <= 1e3) and np.all(big.diverged_at >= 1)
    ref = sde.label_noise_sgd_1d_reference(1.0, 2.0, 0.5, 0.9, 1.0, 0.5, 200, 1000, 1)
    _assert_label_noise_equal(big, ref)


# ----------------------------------------------------------------------- input validation

SDE_ARGS = dict(theta_star=1.0, eta=0.1, delta=1.0, m2=1.0, theta0=1.0, dt=1e-2, n_steps=5,
                n_paths=4, seed=0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(theta_star=0.0), "theta_star"),
    (dict(eta=-1.0), "eta"),
    (dict(delta=-0.1), "delta"),
    (dict(m2=float("nan")), "m2"),
    (dict(dt=0.0), "dt"),
    (dict(n_steps=-1), "n_steps"),
    (dict(n_paths=0), "n_paths"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**64), "seed"),
    (dict(seed=1.0), "seed"),
    (dict(theta0=np.ones(3)), "theta0"),
    (dict(theta0=2e3), "theta0"),
    (dict(bound=0.0), "bound"),
    (dict(record_every=0), "record_every"),
    (dict(record_every=1, record_start=9), "record_start"),
])
def test_label_noise_validation_names_the_parameter(kwargs, name):
    args = dict(SDE_ARGS, **kwargs)
    for function in (sde.label_noise_sde_1d, sde.label_noise_sde_1d_reference):
        with pytest.raises((ValueError, TypeError), match=name):
            function(**args)
    with pytest.raises(ValueError, match="x_min"):
        sde.label_noise_sgd_1d(1.0, 0.1, 1.0, 2.0, 1.0, 1.0, 5, 4, 0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(eta=0.0), "eta"),
    (dict(eta=2.5), "eta \\* a"),
    (dict(a=-1.0), "a must"),
    (dict(sigma=-1.0), "sigma"),
    (dict(n_steps=-2), "n_steps"),
    (dict(n_paths=0), "n_paths"),
    (dict(seed=-1), "seed"),
    (dict(substeps=0), "substeps"),
    (dict(eta=1.9, substeps=1), "substeps"),
    (dict(theta0=[1.0, 2.0]), "theta0"),
])
def test_coupled_validation_names_the_parameter(kwargs, name):
    args = dict(dict(eta=0.1, n_steps=3, a=1.0, sigma=1.0, theta0=1.0, n_paths=5, seed=0),
                **kwargs)
    for function in (sde.sme_coupled_paths, sde.sme_coupled_paths_reference):
        with pytest.raises((ValueError, TypeError), match=name):
            function(**args)
    with pytest.raises(ValueError, match="n_steps"):
        sde.sme_weak_errors(1.0, np.array([2.5]), 1.0, 1.0, 1.0, 5, 0)
    with pytest.raises(ValueError, match="substeps"):
        sde.sme_weak_errors(1.0, np.array([2, 4]), 1.0, 1.0, 1.0, 5, 0, substeps=[1, 2, 3])


# ------------------------------------------------------------------ against theory.sde


def _em_moments(h: float, n: int, b: float, s2: float, theta0: float) -> np.ndarray:
    """Exact mean and second moment of n Euler-Maruyama steps h of dX = -bX dt + s dW."""
    rho = 1.0 - b * h
    mean = rho**n * theta0
    return np.array([mean, mean**2 + s2 * h * (1.0 - rho ** (2 * n)) / (1.0 - rho**2)])


def test_measured_weak_errors_match_closed_form():
    """T = 1, a = sigma = theta0 = 1, eta = 1/5 ... 1/40, 10^6 coupled paths.

    The coupling makes the standard errors tiny (0.03 %-2 % of the weak errors), so the
    O(dt^2) residual of the Richardson extrapolation is resolved: it is computed exactly
    (Euler-Maruyama moments of the linear SDE), (i) the measurement must equal SGD-exact +
    EM-exact within a Bonferroni z of its standard error (an unbiased check), and (ii) the
    closed-form weak errors of theory.sde within that z plus the exact residual, which is
    itself required to be below 2 % of the weak error. The unextrapolated fine level must
    be off by more than z standard errors: its O(dt) bias is what the extrapolation removes.
    """
    T, a, sigma, theta0 = 1.0, 1.0, 1.0, 1.0
    n_steps = np.array([5, 10, 20, 40])
    substeps = [16, 8, 8, 4]
    w = sde.sme_weak_errors(T, n_steps, a, sigma, theta0, 10**6, 2026, substeps=substeps)
    closed = weak_errors(T, n_steps, a, sigma, theta0)
    np.testing.assert_allclose(w["eta"], closed["eta"])
    z = _z_bonferroni(2 * len(QUANTITIES) * n_steps.size)
    fine_zs = []
    for i, (n, m) in enumerate(zip(n_steps, substeps, strict=True)):
        eta = T / n
        mean, var = sgd_moments(n, eta, a, sigma, theta0)
        sgd = np.array([mean, mean**2 + var])
        for order in (1, 2):
            b = a if order == 1 else a + 0.5 * eta * a * a
            s2 = eta * a * a * sigma**2
            expected = (2.0 * _em_moments(eta / (2 * m), 2 * m * n, b, s2, theta0)
                        - _em_moments(eta / m, m * n, b, s2, theta0) - sgd)
            for q, exp in zip(("mean", "second_moment"), expected, strict=True):
                key = f"{q}_{order}"
                got, se, ref = w[key][i], w[f"{key}_se"][i], closed[key][i]
                assert 0 < se < 0.02 * abs(ref), (key, eta)
                assert abs(got - exp) < z * se, (key, eta, (got - exp) / se)
                residual = exp - ref
                assert abs(residual) < 0.02 * abs(ref), (key, eta)
                assert abs(got - ref) < z * se + abs(residual), (key, eta, (got - ref) / se)
                fine_z = (w[f"{key}_fine"][i] - ref) / w[f"{key}_fine_se"][i]
                assert abs(fine_z) > z, (key, eta, fine_z)
                fine_zs.append(abs(fine_z))
    print("smallest |z| of the unextrapolated fine level:", min(fine_zs))


def test_label_noise_sde_reaches_the_stationary_law():
    """Stationary law of the label-noise SDE: KS and chi-square tests against theory.sde.

    10^5 paths from theta0 = theta* run to T = 5 (the excess of E theta^2 decays like
    e^{-1.2 t} from 0.2, so ~5e-4 is left, far below the SE 1.8e-3). dt = 1e-3 is chosen
    below resolution: Euler-Maruyama's stationary CDF bias, measured with 10^6 paths, is a
    sup-distance ~3.8e-3 at dt = 4e-3 and ~1.2e-3 at dt = 2e-3 (shrinking ~linearly in dt),
    so ~1e-3 or less here, against a KS resolution 1.36/sqrt(10^5) = 4.3e-3. The three checks
    are at family-wise level 1e-3 (Bonferroni).
    """
    ts, eta, delta, m2 = 1.0, 0.2, 1.0, 1.0
    n_paths = 10**5
    r = sde.label_noise_sde_1d(ts, eta, delta, m2, ts, 1e-3, 5000, n_paths, 3)
    x = r.theta
    assert r.n_diverged == 0 and np.all(x > 0)
    level = 1e-3 / 3
    assert stats.kstest(x, lambda t: label_noise_stationary_cdf(t, ts, eta, delta)).pvalue > level
    c = ts**2 / (eta * delta)
    edges = np.sqrt(stats.gamma.ppf(np.linspace(0, 1, 21), a=0.5 * (c - 1), scale=2 * eta * delta))
    assert stats.chisquare(np.histogram(x, bins=edges)[0]).pvalue > level
    se = np.std(x**2, ddof=1) / np.sqrt(n_paths)
    z = float(stats.norm.isf(level / 2))
    assert abs(np.mean(x**2) - label_noise_stationary_second_moment(ts, eta, delta)) < z * se
