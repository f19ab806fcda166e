"""torch ensembles (simulate.torch_ensembles) against the numba ones: bitwise on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jamming.simulate import maps, random_streams, sde
from jamming.simulate import torch_ensembles as te

SGD_FIELDS = ("theta", "crossings", "loss_final", "loss_mean", "loss_min", "loss_max",
              "diverged", "diverged_at", "recorded", "record_steps")
LABEL_FIELDS = ("theta", "diverged", "diverged_at", "recorded", "record_steps")
COUPLED_FIELDS = ("sgd", "sme1_coarse", "sme1_fine", "sme2_coarse", "sme2_fine", "substeps")


def _assert_equal(a, b, fields):
    for field in fields:
        ours, theirs = getattr(a, field), getattr(b, field)
        if isinstance(theirs, np.ndarray):
            assert ours.dtype == theirs.dtype, field
        np.testing.assert_array_equal(ours, theirs, err_msg=field, strict=True)


def _assert_close(a, b, fields, rtol=1e-12, atol=0.0):
    for field in fields:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=rtol, atol=atol,
                                   err_msg=field)


# --------------------------------------------------------------------------- streams


@pytest.mark.parametrize("seed", [0, 12345, 2**63 + 7, 2**64 - 1])
def test_streams_match_numpy_bitwise(seed):
    keys_np = random_streams.keys_np(seed, 300)
    keys = te._keys(seed, 300, "cpu")
    np.testing.assert_array_equal(keys.numpy().view(np.uint64), keys_np)
    for counter in (1, 2, 1001, sde.X_COUNTER + 5, 2**64 - 1):
        np.testing.assert_array_equal(te._uniform(keys, counter).numpy(),
                                      random_streams.uniform_np(keys_np, counter))
    for pair in (0, 17):
        for ours, theirs in zip(te._normal_pair(keys, pair),
                                random_streams.normal_pair_np(keys_np, pair), strict=True):
            np.testing.assert_array_equal(ours.numpy(), theirs)


def test_box_muller_matches_numpy_bitwise_on_many_uniforms():
    # large enough for torch's vectorised float64 sqrt, which is not correctly rounded
    rng = np.random.default_rng(5)
    u1 = np.concatenate([1.0 - rng.random(20000), [1.0, 2.0**-53, 2.0**-40, 0.5]])
    u2 = np.concatenate([rng.random(20000), [0.0, 0.25, 0.5, 1.0 - 2.0**-53]])
    ours = te._box_muller()(torch.from_numpy(u1), torch.from_numpy(u2))
    for z, reference in zip(ours, random_streams.box_muller(u1, u2), strict=True):
        assert z.dtype == torch.float64
        np.testing.assert_array_equal(z.numpy(), reference)


# ----------------------------------------------------------------------- bitwise on CPU


def test_iterate_map_bitwise_with_escapes_and_recording():
    gamma = np.random.default_rng(0).uniform(0.2, 3.2, 150)     # many orbits escape to inf/nan
    kwargs = dict(record_every=7, record_start=3)
    ours = te.iterate_map(gamma, 0.5, 60, device="cpu", **kwargs)
    numba = maps.iterate_map(gamma, 0.5, 60, **kwargs)
    assert not np.all(np.isfinite(numba.final)) and np.any(np.isfinite(numba.final))
    _assert_equal(ours, numba, ("final", "recorded", "record_steps"))
    plain = te.iterate_map(gamma, np.full(150, 0.3), 5, device="cpu")
    assert plain.recorded is None and plain.record_steps is None
    np.testing.assert_array_equal(plain.final, maps.iterate_map(gamma, 0.3, 5).final)


@pytest.mark.parametrize("eta, kwargs", [
    (1.9, dict(record_every=10, burn_in=20)),                 # many diverge
    (1.2, dict(record_every=25, record_start=0)),             # bouncing: crossings
    (0.3, dict(burn_in=0, bound=1.05)),                       # bound hit from theta0 = 1.04
])
def test_sgd_1d_bitwise(eta, kwargs):
    theta0 = np.linspace(0.2, 1.04, 200)
    args = (1.0, eta, 0.5, 1.2, theta0, 120, 9, 200)
    ours = te.sgd_1d(*args, device="cpu", **kwargs)
    numba = maps.sgd_1d(*args, **kwargs)
    _assert_equal(ours, numba, SGD_FIELDS)
    assert ours.n_diverged == numba.n_diverged


def test_sgd_1d_divergence_is_frozen_and_counted():
    res = te.sgd_1d(1.0, 1.9, 0.5, 1.2, 0.5, 80, 1, 128, record_every=1, device="cpu")
    assert 0 < res.n_diverged < 128
    for i in np.flatnonzero(res.diverged):
        t = res.diverged_at[i]
        assert np.all(res.recorded[i, t:] == res.recorded[i, t - 1]) and np.isnan(res.loss_mean[i])
    assert np.all(res.diverged_at[~res.diverged] == -1)


def test_label_noise_sde_and_sgd_bitwise():
    theta0 = np.linspace(0.5, 1.5, 130)
    sde_args = (1.0, 0.2, 1.0, 1.0, theta0, 1e-2, 301, 130, 3)
    kwargs = dict(bound=2.0, record_every=20, record_start=1)
    numba = sde.label_noise_sde_1d(*sde_args, **kwargs)
    assert 0 < numba.n_diverged < 130
    _assert_equal(te.label_noise_sde_1d(*sde_args, device="cpu", **kwargs), numba, LABEL_FIELDS)
    for x_min, x_max in ((0.5, 1.5), (0.9, 0.9)):
        sgd_args = (1.0, 0.2, 1.0, x_min, x_max, theta0, 300, 130, 4)
        _assert_equal(te.label_noise_sgd_1d(*sgd_args, device="cpu", **kwargs),
                      sde.label_noise_sgd_1d(*sgd_args, **kwargs), LABEL_FIELDS)


@pytest.mark.parametrize("substeps", [1, 3])
def test_sme_coupled_paths_bitwise(substeps):
    args = (0.05, 12, 1.5, 0.7, np.linspace(-1.0, 1.0, 100), 100, 11)
    _assert_equal(te.sme_coupled_paths(*args, substeps=substeps, device="cpu"),
                  sde.sme_coupled_paths(*args, substeps=substeps), COUPLED_FIELDS)


# -------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name, args, kwargs", [
    ("iterate_map", (np.ones((2, 2)), 0.5, 3), {}),
    ("iterate_map", (np.ones(3), 0.5, 3), dict(record_every=2, record_start=9)),
    ("sgd_1d", (1.0, -1.0, 0.5, 1.0, 0.5, 3, 0, 4), {}),
    ("sgd_1d", (1.0, 1.0, 0.5, 1.0, 0.5, 3, 0, 4), dict(distribution="normal")),
    ("label_noise_sde_1d", (1.0, 0.2, 1.0, 0.0, 1.0, 1e-2, 3, 4, 0), {}),
    ("label_noise_sgd_1d", (1.0, 0.2, 1.0, 1.5, 0.5, 1.0, 3, 4, 0), {}),
    ("sme_coupled_paths", (1.0, 3, 2.5, 1.0, 1.0, 4, 0), {}),
])
def test_validation_messages_are_those_of_numba(name, args, kwargs):
    twin = getattr(maps, name, None) or getattr(sde, name)
    with pytest.raises(ValueError) as expected:
        twin(*args, **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(te, name)(*args, device="cpu", **kwargs)
    assert str(ours.value) == str(expected.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ValueError, match="device 'cuda'"):
        te.iterate_map(np.ones(3), 0.5, 3, device="cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        te.sgd_1d(1.0, 1.0, 0.5, 1.0, 0.5, 3, 0, 4, device="tpu")


def test_auto_device_runs_without_cuda_or_on_it():
    res = te.label_noise_sde_1d(1.0, 0.2, 1.0, 1.0, 1.0, 1e-2, 5, 7, 0, device="auto")
    np.testing.assert_allclose(res.theta, sde.label_noise_sde_1d(1.0, 0.2, 1.0, 1.0, 1.0, 1e-2,
                                                                 5, 7, 0).theta, rtol=1e-12)


# --------------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_matches_numba():
    # non-chaotic regimes, so that last-bit differences (FMA contraction) are not amplified
    gamma = np.random.default_rng(2).uniform(0.1, 0.9, 1000)
    _assert_close(te.iterate_map(gamma, 0.5, 200, record_every=50, device="cuda"),
                  maps.iterate_map(gamma, 0.5, 200, record_every=50), ("final", "recorded"))
    args = (1.0, 0.5, 0.5, 1.0, np.linspace(0.2, 1.8, 1000), 200, 3, 1000)
    ours, numba = te.sgd_1d(*args, device="cuda"), maps.sgd_1d(*args)
    _assert_close(ours, numba, ("theta",))
    _assert_close(ours, numba, ("loss_final", "loss_mean", "loss_min", "loss_max"), atol=1e-14)
    _assert_equal(ours, numba, ("crossings", "diverged_at"))
    sde_args = (1.0, 0.2, 1.0, 1.0, 1.0, 1e-3, 200, 1000, 5)
    ours, numba = te.label_noise_sde_1d(*sde_args, device="cuda"), sde.label_noise_sde_1d(*sde_args)
    _assert_close(ours, numba, ("theta",))
    _assert_equal(ours, numba, ("diverged_at",))
    sgd_args = (1.0, 0.05, 1.0, 0.5, 1.5, 1.0, 200, 1000, 6)
    _assert_close(te.label_noise_sgd_1d(*sgd_args, device="cuda"),
                  sde.label_noise_sgd_1d(*sgd_args), ("theta",))
    coupled = (0.05, 20, 1.0, 1.0, 1.0, 1000, 7)
    _assert_close(te.sme_coupled_paths(*coupled, device="cuda"), sde.sme_coupled_paths(*coupled),
                  COUPLED_FIELDS[:5], atol=1e-13)
