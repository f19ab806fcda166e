"""Diagonal linear networks: gradients, backends, seeds, implicit bias, divergence, sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from jamming.simulate import diagonal
from jamming.simulate.diagonal import (
    diagonal_metrics,
    sparse_regression_data,
    step_schedule,
    train_diagonal,
)
from jamming.theory.implicit_bias import (
    min_l1_interpolator,
    min_l2_interpolator,
    q_alpha_interpolator,
)

pytestmark = pytest.mark.usefixtures("single_threaded")


@pytest.fixture(scope="module")
def small():
    return sparse_regression_data(20, 50, 3, 7, n_test=30)


def _torch_steps(X, y, alpha, etas, batches=None, noise=None):
    """Plain autograd GD/SGD on L_B = (1/2|B|) ||X_B (u*u - v*v) - y_B||^2."""
    import torch

    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    u = torch.full((X.shape[1],), alpha, dtype=torch.float64, requires_grad=True)
    v = torch.full((X.shape[1],), alpha, dtype=torch.float64, requires_grad=True)
    for s, eta in enumerate(etas):
        rows = slice(None) if batches is None else torch.as_tensor(batches[s])
        target = yt[rows] + (0.0 if noise is None else torch.as_tensor(noise[s]))
        res = Xt[rows] @ (u * u - v * v) - target
        loss = 0.5 * (res @ res) / res.shape[0]
        gu, gv = torch.autograd.grad(loss, (u, v))
        with torch.no_grad():
            u -= eta * gu
            v -= eta * gv
    return u.detach().numpy(), v.detach().numpy()


def test_gd_steps_match_torch_autograd(small):
    X, y = small["X"], small["y"]
    etas = np.array([0.05, 0.02, 0.04, 0.01, 0.03])
    run = train_diagonal(X, y, 0.3, etas, etas.size)
    u, v = _torch_steps(X, y, 0.3, etas)
    np.testing.assert_allclose(run.u, u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.v, v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.beta, u * u - v * v, rtol=1e-11, atol=1e-14)


def test_sgd_with_label_noise_matches_torch_and_documented_random_stream(small):
    X, y = small["X"], small["y"]
    n_steps, batch, sigma, seed = 6, 4, 0.7, 11
    rng = np.random.default_rng(seed)  # documented order: indices, then noise, per block
    batches = rng.integers(0, X.shape[0], size=(n_steps, batch), dtype=np.int64)
    noise = sigma * rng.standard_normal((n_steps, batch))
    run = train_diagonal(X, y, 0.4, 0.03, n_steps, batch_size=batch, label_noise_std=sigma,
                         seed=seed)
    u, v = _torch_steps(X, y, 0.4, [0.03] * n_steps, batches, noise)
    np.testing.assert_allclose(run.u, u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.v, v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [
    {},
    {"batch_size": 1},
    {"batch_size": 5, "label_noise_std": 0.5},
    {"label_noise_std": 2.0, "average_from": 300},
])
def test_numba_matches_numpy_reference(small, kwargs):
    X, y = small["X"], small["y"]
    sched = step_schedule(0.05, 5000, decay_at=0.3, eta_after=0.01)
    common = dict(seed=3, record_every=700, beta_star=small["beta_star"], X_test=small["X_test"],
                  **kwargs)
    a = train_diagonal(X, y, 0.2, sched, 5000, backend="numba", **common)
    b = train_diagonal(X, y, 0.2, sched, 5000, backend="numpy", **common)
    np.testing.assert_allclose(a.u, b.u, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(a.v, b.v, rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(a.steps, b.steps)
    for key in a.records:
        np.testing.assert_allclose(a.records[key], b.records[key], rtol=1e-7, atol=1e-12,
                                   err_msg=key)
    if a.beta_avg is not None:
        np.testing.assert_allclose(a.beta_avg, b.beta_avg, rtol=1e-9, atol=1e-13)


def test_reproducible_by_seed_and_independent_of_recording(small):
    X, y = small["X"], small["y"]
    kw = dict(batch_size=2, label_noise_std=0.3)
    n_steps = 2 * diagonal._BLOCK + 123  # crosses blocks of pre-drawn random numbers
    a = train_diagonal(X, y, 0.2, 0.02, n_steps, seed=5, record_every=1000, **kw)
    b = train_diagonal(X, y, 0.2, 0.02, n_steps, seed=5, record_every=77, **kw)
    c = train_diagonal(X, y, 0.2, 0.02, n_steps, seed=6, **kw)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.v, b.v)
    assert not np.array_equal(a.u, c.u)
    np.testing.assert_array_equal(b.steps[[0, -1]], [0, n_steps])
    assert b.records["train_loss"].shape == b.steps.shape


def test_gd_limits_match_q_alpha_l1_and_l2_interpolators(small):
    X, y = small["X"], small["y"]
    l1, l2 = min_l1_interpolator(X, y), min_l2_interpolator(X, y)
    betas = {}
    for alpha, factor, steps in ((1e-8, 0.9, 2_500_000), (0.3, 0.5, 100_000),
                                 (30.0, 0.5, 100_000)):
        eta = diagonal.gd_step_size(X, alpha, 2.0, factor)
        run = train_diagonal(X, y, alpha, eta, steps, record_every=1000, stop_loss=1e-16)
        # incremental learning from alpha = 1e-8 ends slowly: loss ~1e-9 after 2.5e6 steps
        assert run.final["train_loss"] < 1e-7 and not run.diverged
        q = q_alpha_interpolator(X, y, alpha)
        # GD's limit differs from the flow's by O(eta): a few 1e-3 relative here
        assert np.linalg.norm(run.beta - q) < 1e-2 * np.linalg.norm(q)
        betas[alpha] = run.beta
    # Q_alpha -> l1 only logarithmically: 0.36 apart (relative) at alpha = 1e-3, 0.015 at 1e-8
    assert np.linalg.norm(betas[1e-8] - l1) < 0.05 * np.linalg.norm(l1)
    assert np.linalg.norm(betas[1e-8] - l1) < 0.05 * np.linalg.norm(betas[1e-8] - l2)
    assert np.linalg.norm(betas[30.0] - l2) < 1e-5 * np.linalg.norm(l2)


def test_divergence_is_detected_reported_and_frozen(small):
    X, y = small["X"], small["y"]
    run = train_diagonal(X, y, 1.0, 5.0, 1000, record_every=10, beta_star=small["beta_star"])
    assert run.diverged and 1 <= run.diverged_at <= 1000
    assert run.steps_done == run.diverged_at - 1
    assert np.all(np.isfinite(run.u)) and np.all(np.abs(run.u) <= 1e3)
    assert run.steps.size == run.steps_done // 10 + 1
    assert np.isfinite(run.final["train_loss"])
    fine = train_diagonal(X, y, 1.0, 1e-3, 100)
    assert not fine.diverged and fine.diverged_at == -1 and fine.steps_done == 100


def test_metrics_rank_features_support_and_errors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 30))
    u = np.zeros(30)
    v = np.zeros(30)
    u[:4], v[4:6] = 1.0, 2.0  # 6 active coordinates
    v[6] = 1e-8  # negligible
    beta_star = np.zeros(30)
    beta_star[[0, 1, 10]] = [1.0, 1.0, -1.0]
    m = diagonal_metrics(X, X @ beta_star, u, v, beta_star=beta_star, X_test=X)
    assert m["jacobian_rank"] == 6
    assert m["feature_sparsity"] == pytest.approx(6 / 30)
    beta = u * u - v * v
    assert m["false_positives"] == 4 and m["false_negatives"] == 1
    assert m["test_error"] == pytest.approx(0.5 * np.sum((beta - beta_star) ** 2))
    assert m["test_error_sample"] == pytest.approx(m["train_loss"])
    dense = diagonal_metrics(X, X @ beta_star, np.ones(30), np.ones(30))
    assert dense["jacobian_rank"] == 10 and dense["feature_sparsity"] == 1.0


def test_label_noise_average_is_close_to_weighted_lasso(small):
    from sklearn.linear_model import Lasso

    X, y = small["X"], small["y"]
    n, eta, lam = X.shape[0], 0.02, 0.05
    sigma = np.sqrt(lam * n / eta)
    n_steps = int(1000 / eta)
    run = train_diagonal(X, y, 0.1, eta, n_steps, label_noise_std=sigma, seed=1,
                         average_from=n_steps // 2)
    w = np.sum(X * X, axis=0) / n  # lambda_j = lam * ||X_j||^2 / n
    coef = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X / w, y).coef_
    lasso = coef / w
    assert np.linalg.norm(run.beta_avg - lasso) < 0.1 * np.linalg.norm(lasso)


def test_input_validation(small):
    X, y = small["X"], small["y"]
    cases = [
        (dict(alpha=0.0), "alpha"), (dict(alpha=np.nan), "alpha"),
        (dict(schedule=-0.1), "schedule"), (dict(schedule=np.ones(3)), "schedule"),
        (dict(batch_size=0), "batch_size"), (dict(batch_size=21), "batch_size"),
        (dict(label_noise_std=-1.0), "label_noise_std"), (dict(record_every=0), "record_every"),
        (dict(average_from=11), "average_from"), (dict(backend="jax"), "backend"),
        (dict(X=X[0]), "X"), (dict(y=y[:-1]), "y"), (dict(beta_star=np.ones(3)), "beta_star"),
        (dict(X_test=np.ones((2, 3)), beta_star=np.zeros(50)), "X_test"),
        (dict(X_test=np.ones((2, 50))), "X_test"), (dict(bound=0.0), "bound"),
    ]
    for kwargs, name in cases:
        args = dict(X=X, y=y, alpha=0.1, schedule=0.01, n_steps=10)
        args.update(kwargs)
        with pytest.raises(ValueError, match=name):
            train_diagonal(args.pop("X"), args.pop("y"), args.pop("alpha"),
                           args.pop("schedule"), args.pop("n_steps"), **args)
    with pytest.raises(TypeError, match="n_steps"):
        train_diagonal(X, y, 0.1, 0.01, 1.5)
    with pytest.raises(ValueError, match="r must be in"):
        sparse_regression_data(5, 4, 5, 0)
    with pytest.raises(ValueError, match="decay_at"):
        step_schedule(0.1, 10, decay_at=1.5)
    np.testing.assert_array_equal(step_schedule(1.0, 10, decay_at=0.3), [1.0] * 3 + [0.1] * 7)
