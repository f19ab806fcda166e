"""The exact quadratic-hinge solver against L-BFGS-B, LP separability, closed forms and numpy.

Each check is independent of the solver's own linear algebra: scipy's L-BFGS-B on the same
objective, the HiGHS separability LP, ``numpy.linalg.lstsq`` on the reported active set, and
the gradient recomputed in numpy.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from jamming.simulate.hinge import (
    HingeSolution,
    solve_quadratic_hinge,
    solve_quadratic_hinge_path,
)
from jamming.simulate.separability import is_linearly_separable

pytestmark = pytest.mark.usefixtures("single_threaded")


def loss_and_gradient(w, x, y, ridge):
    gap = np.maximum(1.0 - y * (x @ w), 0.0)
    return 0.5 * gap @ gap + 0.5 * ridge * w @ w, -x.T @ (y * gap) + ridge * w


def lbfgs(x, y, ridge):
    """Reference minimiser: L-BFGS-B from w = 0 with a tiny gradient tolerance."""
    result = minimize(loss_and_gradient, np.zeros(x.shape[1]), args=(x, y, ridge), jac=True,
                      method="L-BFGS-B",
                      options={"gtol": 1e-13, "ftol": 0.0, "maxiter": 50_000, "maxcor": 30})
    return result.x, result.fun


def instances(seed, batch, n_data, n_eff):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, n_data, n_eff)), rng.choice([-1.0, 1.0], (batch, n_data))


def kkt_gradient(solution, x, y, ridge):
    """|grad L|_inf and the sizes of the summed terms, recomputed in numpy."""
    gap = np.maximum(1.0 - y * (x @ solution.w), 0.0)
    gradient = x.T @ (y * gap) - ridge * solution.w
    terms = np.abs(x).T @ gap + ridge * np.abs(solution.w)
    return np.abs(gradient).max(), terms.max()


def assert_exact_solution(solution, x, y, ridge):
    """UNSAT or ridge > 0: w solves the linear system of its active set, which reproduces."""
    active = solution.active
    z = y[active, None] * x[active]
    if ridge > 0:
        w = np.linalg.solve(z.T @ z + ridge * np.eye(x.shape[1]), z.sum(0))
    else:
        w = np.linalg.lstsq(z, np.ones(len(z)), rcond=None)[0]
    np.testing.assert_allclose(solution.w, w, rtol=1e-9, atol=1e-9 * np.abs(w).max())
    np.testing.assert_array_equal(1.0 - y * (x @ w) > 0, active)
    size, terms = kkt_gradient(solution, x, y, ridge)
    assert size <= 1e-12 * terms


@pytest.mark.parametrize("ridge", [0.0, 0.3])
@pytest.mark.parametrize("alpha", [0.5, 1.5, 2.2, 3.0, 4.0])
def test_agrees_with_lbfgs(alpha, ridge):
    n_eff = 12
    x, y = instances(int(10 * alpha), 6, round(alpha * n_eff), n_eff)
    solution = solve_quadratic_hinge(x, y, ridge)
    assert solution.converged.all()
    for b in range(len(x)):
        w_ref, loss_ref = lbfgs(x[b], y[b], ridge)
        loss, _ = loss_and_gradient(solution.w[b], x[b], y[b], ridge)
        assert solution.loss[b] == pytest.approx(loss, rel=1e-12, abs=1e-300)
        if solution.sat[b]:
            assert solution.loss[b] == 0.0 and loss_ref < 1e-8
            continue
        assert solution.loss[b] <= loss_ref * (1 + 1e-12)          # ours is the minimum
        assert solution.loss[b] == pytest.approx(loss_ref, rel=1e-8)
        # the minimiser is unique here (UNSAT with ridge 0, or ridge > 0)
        np.testing.assert_allclose(solution.w[b], w_ref, rtol=0,
                                   atol=1e-5 * np.abs(w_ref).max())
        assert_exact_solution(HingeSolution(**{
            f.name: getattr(solution, f.name)[b] for f in dataclasses.fields(solution)}),
            x[b], y[b], ridge)


@pytest.mark.parametrize("n_eff", [5, 10, 20])
def test_sat_iff_lp_separable_with_certificates(n_eff):
    """Gaussian features, random labels, alpha in [0.5, 4]: SAT iff the LP says separable."""
    rng = np.random.default_rng(100 + n_eff)
    outcomes = []
    for alpha in np.linspace(0.5, 4.0, 8):
        n_data = round(alpha * n_eff)
        x = rng.standard_normal((10, n_data, n_eff))
        y = rng.choice([-1.0, 1.0], (10, n_data))
        solution = solve_quadratic_hinge(x, y)
        assert solution.converged.all()
        for b in range(len(x)):
            separable = is_linearly_separable(x[b], y[b])
            assert bool(solution.sat[b]) == separable, (n_data, n_eff, b)
            margins = y[b] * (x[b] @ solution.w[b])           # recomputed in numpy
            if separable:
                assert solution.loss[b] == 0.0 and solution.n_delta[b] == 0
                assert margins.min() >= 1.0 and solution.margin[b] >= 1.0
                assert solution.kkt_residual[b] == 0.0
            else:
                assert solution.loss[b] > 0.0
                assert solution.n_delta[b] >= n_eff + 1       # isostatic bound
                assert solution.kkt_residual[b] < 1e-13
                assert_exact_solution(solution_at(solution, b), x[b], y[b], 0.0)
            outcomes.append(separable)
    assert 0.2 < np.mean(outcomes) < 0.8


def solution_at(solution, b):
    return HingeSolution(**{f.name: getattr(solution, f.name)[b]
                            for f in dataclasses.fields(solution)})


def test_line_search_finds_the_exact_minimiser():
    """phi(t) = 1/2 sum (delta - t a)_+^2 + rho/2 |w + t s|^2: phi'(t*) = 0, t* >= 0."""
    from jamming.simulate.hinge import _line_search

    rng = np.random.default_rng(13)
    delta = rng.normal(size=(40, 25))
    slope = rng.normal(size=(40, 25))
    ridge = 0.3
    w_dot_s, s_dot_s = rng.normal(size=40), rng.uniform(0.5, 2.0, size=40)
    derivative0 = (-slope * np.maximum(delta, 0)).sum(-1) + ridge * w_dot_s
    slope[derivative0 > 0] *= -1                               # make most of them descend
    w_dot_s[derivative0 > 0] *= -1
    t = _line_search(*(torch.tensor(a) for a in (delta, slope, w_dot_s, s_dot_s)), ridge).numpy()
    derivative0 = (-slope * np.maximum(delta, 0)).sum(-1) + ridge * w_dot_s
    descent = derivative0 < 0
    assert descent.sum() >= 30
    assert np.isnan(t[~descent]).all() and (t[descent] > 0).all()
    tt = t[descent, None]
    derivative = ((-slope * np.maximum(delta - tt * slope, 0)).sum(-1)
                  + ridge * (w_dot_s + tt[:, 0] * s_dot_s))[descent]
    scale = (np.abs(slope) * (np.abs(delta) + np.abs(tt * slope))).sum(-1)[descent]
    assert (np.abs(derivative) <= 1e-13 * scale).all()


def test_reported_fields_are_consistent():
    x, y = instances(3, 5, 40, 15)
    solution = solve_quadratic_hinge(x, y, 0.05)
    margins = y * np.einsum("bmn,bn->bm", x, solution.w)
    np.testing.assert_allclose(solution.delta, 1.0 - margins, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(solution.active, solution.delta > 0)
    np.testing.assert_array_equal(solution.n_delta, solution.active.sum(-1))
    np.testing.assert_allclose(solution.margin, margins.min(-1), rtol=0, atol=1e-12)
    loss = 0.5 * (np.maximum(solution.delta, 0) ** 2).sum(-1) + 0.025 * (solution.w ** 2).sum(-1)
    np.testing.assert_allclose(solution.loss, loss, rtol=1e-13)
    assert solution.w.dtype == np.float64 and solution.active.dtype == bool
    assert solution.iterations.dtype.kind == "i" and (solution.iterations >= 1).all()


def test_kkt_certificate_is_recomputable_and_can_fail():
    x, y = instances(4, 8, 70, 20)                           # alpha = 3.5: UNSAT
    solution = solve_quadratic_hinge(x, y)
    assert not solution.sat.any()
    for b in range(len(x)):
        size, terms = kkt_gradient(solution_at(solution, b), x[b], y[b], 0.0)
        assert size <= 1e-13 * terms
        assert solution.kkt_residual[b] < 1e-13
        # the same check on a slightly wrong w fails: it certifies something
        moved = dataclasses.replace(solution_at(solution, b), w=solution.w[b] * (1 + 1e-6))
        size, terms = kkt_gradient(moved, x[b], y[b], 0.0)
        assert size > 1e-9 * terms


def test_batched_equals_unbatched():
    x, y = instances(5, 6, 30, 12)                           # alpha = 2.5: SAT and UNSAT
    batched = solve_quadratic_hinge(x, y)
    assert batched.sat.any() and not batched.sat.all()
    for b in range(len(x)):
        single = solve_quadratic_hinge(x[b], y[b])
        assert isinstance(single.loss, float) and isinstance(single.n_delta, int)
        assert isinstance(single.sat, bool) and isinstance(single.converged, bool)
        assert single.w.shape == (12,) and single.active.shape == (30,)
        assert single.sat == batched.sat[b] and single.n_delta == batched.n_delta[b]
        assert single.loss == pytest.approx(batched.loss[b], rel=1e-12, abs=0.0)
        if not single.sat:  # unique minimiser
            np.testing.assert_allclose(single.w, batched.w[b], rtol=0,
                                       atol=1e-12 * np.abs(single.w).max())


def test_large_ridge_gives_ridge_regression():
    """If every point stays active the minimiser is w = (X^T X + rho)^{-1} X^T y."""
    x, y = instances(6, 3, 40, 10)
    ridge = 1e3
    solution = solve_quadratic_hinge(x, y, ridge)
    for b in range(len(x)):
        w = np.linalg.solve(x[b].T @ x[b] + ridge * np.eye(10), x[b].T @ y[b])
        assert (y[b] * (x[b] @ w) < 1).all()                  # all active: the closed form holds
        np.testing.assert_allclose(solution.w[b], w, rtol=1e-12, atol=0)
        assert solution.n_delta[b] == 40 and solution.iterations[b] == 1
        assert not solution.sat[b]


def test_ridge_on_separable_data_is_never_sat():
    x, y = instances(7, 4, 10, 20)                           # N_data < N_eff: separable
    solution = solve_quadratic_hinge(x, y, 0.01)
    assert not solution.sat.any() and (solution.n_delta >= 1).all()
    for b in range(len(x)):
        _, loss_ref = lbfgs(x[b], y[b], 0.01)
        assert solution.loss[b] == pytest.approx(loss_ref, rel=1e-8)
        assert_exact_solution(solution_at(solution, b), x[b], y[b], 0.01)


def test_textbook_cases():
    # z = +-1 in one dimension: minimum at w = 0, loss 1, both points active
    solution = solve_quadratic_hinge(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]))
    assert solution.w[0] == 0.0 and solution.loss == 1.0 and solution.n_delta == 2
    assert not solution.sat and solution.converged
    # two points on one side: separable, loss exactly 0
    solution = solve_quadratic_hinge(np.array([[2.0], [0.5]]), np.array([1.0, 1.0]))
    assert solution.sat and solution.loss == 0.0 and solution.w[0] * 0.5 >= 1.0
    # the same point with both labels, in 2-D: rank-deficient H; loss 1 for any w_2, and the
    # minimum-norm steps never move w_2
    solution = solve_quadratic_hinge(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
    assert solution.loss == 1.0 and solution.n_delta == 2 and solution.converged
    np.testing.assert_array_equal(solution.w, [0.0, 0.0])


def test_rank_deficient_features_match_the_reduced_problem():
    """Features of rank 6 embedded in 15 dimensions: same loss and N_Delta as in 6."""
    x, y = instances(8, 4, 24, 6)                            # alpha = 4 in 6 dimensions
    basis = np.linalg.qr(np.random.default_rng(9).standard_normal((15, 6)))[0]  # 15 x 6
    embedded = solve_quadratic_hinge(x @ basis.T, y)
    reduced = solve_quadratic_hinge(x, y)
    assert embedded.converged.all() and not reduced.sat.any()
    np.testing.assert_allclose(embedded.loss, reduced.loss, rtol=1e-10)
    np.testing.assert_array_equal(embedded.n_delta, reduced.n_delta)
    np.testing.assert_allclose(embedded.w, reduced.w @ basis.T, rtol=0, atol=1e-9)


def test_degenerate_data_zero_rows_and_contradicting_duplicates():
    """Zero features (Delta = 1 for every w) and a point repeated with the opposite label:
    the minimisers are not unique and points sit at Delta = 0 exactly; still exact."""
    x, y = instances(14, 3, 60, 25)
    x[:, :4] = 0.0
    x[:, 10:16] = x[:, 20:26]
    y[:, 10:16] = -y[:, 20:26]
    solution = solve_quadratic_hinge(x, y)
    assert solution.converged.all() and not solution.sat.any()
    for b in range(len(x)):
        _, loss_ref = lbfgs(x[b], y[b], 0.0)
        assert loss_ref * (1 - 1e-8) <= solution.loss[b] <= loss_ref * (1 + 1e-12)
        assert solution.loss[b] >= 0.5 * 4 + 6 * 1.0 - 1e-12  # 1/2 per zero row, 1 per pair
        size, terms = kkt_gradient(solution_at(solution, b), x[b], y[b], 0.0)
        assert size <= 1e-12 * terms


def test_torch_inputs_and_thread_setting():
    x, y = instances(10, 3, 25, 10)
    threads = torch.get_num_threads()
    reference = solve_quadratic_hinge(x, y)
    solution = solve_quadratic_hinge(torch.tensor(x), torch.tensor(y, dtype=torch.float32),
                                     device="cpu", cpu_threads=None)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(solution.n_delta, reference.n_delta)
    np.testing.assert_allclose(solution.loss, reference.loss, rtol=1e-12)
    assert isinstance(solution.w, np.ndarray)


def test_max_iter_reports_unconverged_problems():
    x, y = instances(11, 4, 60, 20)
    full = solve_quadratic_hinge(x, y)
    assert (full.iterations > 1).all()
    cut = solve_quadratic_hinge(x, y, max_iter=1)
    assert not cut.converged.any() and (cut.iterations == 1).all()
    assert (cut.loss >= full.loss).all()


@pytest.mark.parametrize("features, labels, kwargs, error, message", [
    (np.ones((3, 2)), np.ones(4), {}, ValueError, r"labels must have shape \(3,\)"),
    (np.ones(3), np.ones(3), {}, ValueError, "features must have shape"),
    (np.ones((2, 3, 4, 5)), np.ones((2, 3, 4)), {}, ValueError, "features must have shape"),
    (np.ones((0, 2)), np.ones(0), {}, ValueError, "n_data and n_eff must be >= 1"),
    (np.ones((3, 2)), np.array([1.0, 0.0, 1.0]), {}, ValueError, r"labels must be -1 or \+1"),
    (np.full((3, 2), np.nan), np.ones(3), {}, ValueError, "features must be finite"),
    (np.ones((3, 2)), np.ones(3), {"ridge": -1.0}, ValueError, "ridge must be finite and >= 0"),
    (np.ones((3, 2)), np.ones(3), {"ridge": np.inf}, ValueError, "ridge must be finite"),
    (np.ones((3, 2)), np.ones(3), {"ridge": "1"}, TypeError, "ridge must be a real number"),
    (np.ones((3, 2)), np.ones(3), {"ridge": True}, TypeError, "ridge must be a real number"),
    (np.ones((3, 2)), np.ones(3), {"max_iter": 0}, ValueError, "max_iter must be >= 1; got 0"),
    (np.ones((3, 2)), np.ones(3), {"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
    (np.ones((3, 2)), np.ones(3), {"cpu_threads": 0}, ValueError, "cpu_threads must be"),
    (np.array([["a", "b"]]), np.ones(1), {}, TypeError, "features must be a real numeric"),
    (np.ones((3, 2)) * 1j, np.ones(3), {}, TypeError, "features must be real"),
    (np.ones((3, 2)), np.ones(3), {"device": 3}, TypeError, "device must be None"),
])
def test_rejects_bad_inputs(features, labels, kwargs, error, message):
    with pytest.raises(error, match=message):
        solve_quadratic_hinge(features, labels, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ValueError, match="torch sees no CUDA device"):
        solve_quadratic_hinge(np.ones((3, 2)), np.ones(3), device="cuda")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    x, y = instances(12, 16, 110, 50)                        # alpha = 2.2
    for ridge in (0.0, 0.1):
        cpu = solve_quadratic_hinge(x, y, ridge)
        gpu = solve_quadratic_hinge(torch.tensor(x, device="cuda"), y, ridge)
        assert gpu.converged.all()
        np.testing.assert_array_equal(gpu.sat, cpu.sat)
        np.testing.assert_array_equal(gpu.n_delta, cpu.n_delta)
        np.testing.assert_allclose(gpu.loss, cpu.loss, rtol=1e-10)
        unsat = ~cpu.sat
        np.testing.assert_allclose(gpu.w[unsat], cpu.w[unsat], rtol=0, atol=1e-9)
        assert (gpu.kkt_residual[unsat] < 1e-12).all()
        assert (gpu.margin[cpu.sat] >= 1.0).all() and (gpu.loss[cpu.sat] == 0.0).all()


@pytest.mark.parametrize("setting, value", [
    ("HOST_KERNELS", False),          # the batched torch kernels (the CUDA path) on the CPU
    ("MIXED_PIVOT_RATIO", np.inf),    # every float32 factor refused: float64 Cholesky
    ("MAX_REFINEMENT", 0),            # mixed-precision refinement cut short: float64 fallback
])
@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_linear_algebra_branches_agree(monkeypatch, setting, value, ridge):
    """Each branch of the Newton solve gives the same exact minimiser as the default path."""
    import jamming.simulate.hinge as hinge

    x, y = instances(15, 6, 66, 30)                          # alpha = 2.2: mostly UNSAT
    reference = solve_quadratic_hinge(x, y, ridge)
    monkeypatch.setattr(hinge, setting, value)
    solution = solve_quadratic_hinge(x, y, ridge)
    assert solution.converged.all()
    np.testing.assert_array_equal(solution.sat, reference.sat)
    np.testing.assert_array_equal(solution.n_delta, reference.n_delta)
    np.testing.assert_allclose(solution.loss, reference.loss, rtol=1e-12)
    for b in range(len(x)):
        if solution.sat[b]:
            assert solution.margin[b] >= 1.0 and solution.loss[b] == 0.0
            continue
        np.testing.assert_allclose(solution.w[b], reference.w[b], rtol=0,
                                   atol=1e-10 * np.abs(reference.w[b]).max())
        _, loss_ref = lbfgs(x[b], y[b], ridge)
        assert solution.loss[b] == pytest.approx(loss_ref, rel=1e-8)
        assert solution.kkt_residual[b] < 1e-13
        assert_exact_solution(solution_at(solution, b), x[b], y[b], ridge)


def test_host_gram_updates_match_the_recomputed_gram():
    """In-place ssyrk updates of the host float32 Gram (upper triangle) and its norm."""
    import jamming.simulate.hinge as hinge

    x, _ = instances(16, 3, 40, 12)
    phi = torch.tensor(x)
    rng = np.random.default_rng(1)
    before = torch.tensor(rng.random((3, 40)) < 0.7)
    after = torch.tensor(rng.random((3, 40)) < 0.6)
    for host in (True, False):
        features = hinge._Features(phi, host)
        gram = features.gram(before, 0.1, torch.float32)
        sign = after.to(torch.float32) - before.to(torch.float32)
        features.update_gram(gram, before ^ after, sign)
        fresh = features.gram(after, 0.1, torch.float64)
        upper = np.triu(np.ones((12, 12), dtype=bool))
        np.testing.assert_allclose(gram.numpy()[:, upper], fresh.numpy()[:, upper],
                                   rtol=0, atol=1e-4 * float(fresh.abs().max()))
        np.testing.assert_allclose(hinge._gram_norm(gram, host).numpy(),
                                   fresh.abs().sum(-1).amax(-1).numpy(), rtol=1e-5)


def _teacher_instance(psi, input_dim, instance, n_data):
    """The first ``n_data`` points of one ``teacher-test-cusp`` instance of its version 1
    (root seed 8_128, where the regression was found)."""
    from jamming.simulate.features import random_feature_map
    from jamming.sweeps.features import teacher_grid_centre
    from jamming.sweeps.spec import derive_seed

    rng = np.random.default_rng(derive_seed(8_128, input_dim, round(100 * psi), instance))
    n_features = round(psi * input_dim)
    weights = rng.standard_normal((n_features, input_dim))
    teacher = rng.standard_normal(input_dim)
    n_points = round(round(2.5 * teacher_grid_centre(psi), 4) * n_features)
    inputs = rng.standard_normal((n_points, input_dim))[:n_data]
    return random_feature_map(inputs, weights), np.sign(inputs @ teacher)


@pytest.mark.parametrize("instance, n_star", [(22, 1118), (35, 1182), (12, 1217)])
def test_barely_separable_data_are_certified_or_not_converged(instance, n_star):
    """Regression: data separable with kappa_max ~ 1e-6 (LP-certified; the last separable
    size of teacher-test-cusp instances) once came out 'converged' and UNSAT with a loss of
    1e-21 or 93 and a KKT residual of 0.1 or 4e-8. Converged must mean certified."""
    features, labels = _teacher_instance(2.0, 160, instance, n_star)
    assert is_linearly_separable(features, labels)
    solution = solve_quadratic_hinge(features, labels)
    assert solution.sat or not solution.converged
    if instance != 12:  # instance 12 (|w| ~ 2e6) is beyond the solver: not converged
        assert solution.sat and solution.margin >= 1.0 and solution.loss == 0.0
    features, labels = _teacher_instance(2.0, 160, instance, n_star + 1)
    solution = solve_quadratic_hinge(features, labels)
    assert solution.converged and not solution.sat
    assert solution.kkt_residual < 1e-12 and solution.n_delta >= 320 + 1


def test_unsat_prefix_next_to_a_nearly_dependent_active_set_converges():
    """Regression: teacher-test-cusp d = 80, psi = 1 (v3 paper instance 65), its N* + 1 = 193
    prefix. A cold start meets an 80-point active set with sigma_min/sigma_max(Phi_I) =
    3.5e-8; the eigh pseudo-inverse of Phi_I^T Phi_I (condition 8e14) dropped the direction
    carrying the gradient and stopped at a non-stationary point (KKT 3e-8, N_Delta 80)."""
    from jamming.simulate.features import random_feature_map

    rng = np.random.default_rng(3781646003561731356)
    weights, teacher = rng.standard_normal((80, 80)), rng.standard_normal(80)
    inputs = rng.standard_normal((567, 80))
    features = random_feature_map(inputs, weights)[:193]
    labels = np.sign(inputs @ teacher)[:193]
    solution = solve_quadratic_hinge(features, labels)
    assert solution.converged and not solution.sat and solution.kkt_residual < 1e-13
    assert solution.n_delta == 81
    np.testing.assert_allclose(solution.loss, 25.2751007133, rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(solution.w), 203.701100540, rtol=1e-8)


# --------------------------------------------------------------------------------------
# warm starts and the path of nested prefixes
# --------------------------------------------------------------------------------------


def test_a_warm_start_reaches_the_same_unsat_minimiser():
    rng = np.random.default_rng(31)
    x, y = rng.standard_normal((120, 30)), rng.choice([-1.0, 1.0], 120)
    cold = solve_quadratic_hinge(x, y)
    for start in (rng.standard_normal(30), 10 * rng.standard_normal(30), np.zeros(30)):
        warm = solve_quadratic_hinge(x, y, initial_w=start)
        assert warm.converged and not warm.sat and warm.n_delta == cold.n_delta
        np.testing.assert_allclose(warm.w, cold.w, rtol=1e-10, atol=1e-12)
        assert warm.kkt_residual < 1e-12


@pytest.mark.parametrize("start, message", [
    (np.zeros(29), r"initial_w must have shape \(30,\)"),
    (np.full(30, np.nan), "initial_w must be finite"),
])
def test_initial_w_is_validated(start, message):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=message):
        solve_quadratic_hinge(rng.standard_normal((40, 30)), rng.choice([-1.0, 1.0], 40),
                              initial_w=start)


def test_path_agrees_with_independent_solves_prefix_by_prefix():
    """SAT and UNSAT prefixes across the transition (N_eff = 40, P = 10 ... 200)."""
    rng = np.random.default_rng(2026)
    x, y = rng.standard_normal((200, 40)), rng.choice([-1.0, 1.0], 200)
    sizes = list(range(10, 201, 5))
    path = solve_quadratic_hinge_path(x, y, sizes)
    assert len(path) == len(sizes)
    assert any(s.sat for s in path) and not all(s.sat for s in path)
    for size, solution in zip(sizes, path, strict=True):
        alone = solve_quadratic_hinge(x[:size], y[:size])
        assert solution.delta.shape == (size,) and solution.converged
        assert solution.sat == alone.sat and solution.n_delta == alone.n_delta
        if solution.sat:  # any separating w of margin >= 1 is a minimiser
            assert solution.loss == 0.0 and solution.margin >= 1.0
        else:  # the UNSAT minimiser is unique
            assert solution.n_delta >= 41  # N_Delta >= N_eff + 1
            np.testing.assert_allclose(solution.loss, alone.loss, rtol=1e-11)
            np.testing.assert_allclose(solution.w, alone.w, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("sizes, error", [
    ([], ValueError), ([5, 5], ValueError), ([0, 3], ValueError), ([3, 41], ValueError),
    ([10, 8], ValueError), ([2.5], TypeError),
])
def test_path_sizes_are_validated(sizes, error):
    rng = np.random.default_rng(1)
    with pytest.raises(error, match="sizes must"):
        solve_quadratic_hinge_path(rng.standard_normal((40, 5)), rng.choice([-1.0, 1.0], 40),
                                   sizes)
