"""The path solver against independent S1 solves, numpy linear algebra and closed forms.

Each prefix of a path is compared with ``solve_quadratic_hinge`` on that prefix alone (the
S1 solver, from w = 0), and its certificate is recomputed in numpy from the prefix's data.
The carried factors are checked against ``numpy.linalg`` on the matrices they stand for,
the line search against a brute-force minimisation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jamming.simulate import hinge_path
from jamming.simulate.hinge import solve_quadratic_hinge
from jamming.simulate.hinge import solve_quadratic_hinge_path as reexported
from jamming.simulate.hinge_path import (
    _GramFactor,
    _kernels,
    _pivots_ok,
    solve_quadratic_hinge_path,
)

pytestmark = pytest.mark.usefixtures("single_threaded")


def gaussian(seed, n_data, n_eff):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_data, n_eff)), rng.choice([-1.0, 1.0], n_data)


def assert_certified(solution, x, y):
    """The certificate, recomputed in numpy from the prefix's own rows."""
    margins = y * (x @ solution.w)
    gap = np.maximum(1.0 - margins, 0.0)
    assert solution.converged
    np.testing.assert_array_equal(solution.active, gap > 0)
    assert solution.n_delta == int((gap > 0).sum())
    if solution.sat:
        assert margins.min() >= 1.0 and solution.loss == 0.0 and solution.n_delta == 0
    else:
        gradient = np.abs(x.T @ (y * gap)).max()
        scale = np.sqrt((x * x).sum(0).max()) * np.linalg.norm(gap)
        assert gradient <= 1e-12 * scale
        np.testing.assert_allclose(solution.kkt_residual, gradient / scale, rtol=1e-6,
                                   atol=1e-17)
        np.testing.assert_allclose(solution.loss, 0.5 * gap @ gap, rtol=1e-14)


def assert_matches_independent_solves(x, y, sizes, path, unique=True):
    """Same SAT flag and loss as the S1 solver on each prefix; same N_Delta where the
    minimiser is unique (degenerate data have minimisers with points at Delta = 0 exactly,
    which rounding may count on either side)."""
    assert [len(s.delta) for s in path] == list(sizes)
    for size, solution in zip(sizes, path, strict=True):
        alone = solve_quadratic_hinge(x[:size], y[:size])
        assert alone.converged
        assert_certified(solution, x[:size], y[:size])
        assert solution.sat == alone.sat
        assert solution.n_delta == alone.n_delta or not unique
        if not solution.sat:
            np.testing.assert_allclose(solution.loss, alone.loss, rtol=1e-10)


@pytest.mark.parametrize("seed, n_data, n_eff, sizes", [
    (1, 60, 40, range(5, 61, 5)),          # SAT only (below N_eff and above)
    (2, 240, 30, range(100, 241, 10)),     # UNSAT only
    (3, 200, 40, range(10, 201, 5)),       # across the transition at 80
    (4, 150, 25, [1, 2, 3, 49, 50, 51, 52, 53, 149, 150]),  # uneven steps
])
def test_path_matches_independent_solves(seed, n_data, n_eff, sizes):
    x, y = gaussian(seed, n_data, n_eff)
    sizes = list(sizes)
    path = solve_quadratic_hinge_path(x, y, sizes)
    assert_matches_independent_solves(x, y, sizes, path)
    for size, solution in zip(sizes, path, strict=True):
        if not solution.sat:  # the UNSAT minimiser is unique
            assert solution.n_delta >= n_eff + 1
            np.testing.assert_allclose(solution.w, solve_quadratic_hinge(x[:size], y[:size]).w,
                                       rtol=1e-9, atol=1e-11)


def test_the_sat_side_costs_one_solve():
    """Largest prefix first: below the largest SAT prefix, its w is kept (0 Newton steps)."""
    x, y = gaussian(3, 200, 40)
    sizes = list(range(10, 201, 5))
    path = solve_quadratic_hinge_path(x, y, sizes)
    sat = [s for s in path if s.sat]
    assert len(sat) >= 10 and sat[-1].iterations >= 1
    assert all(s.iterations == 0 for s in sat[:-1])
    for solution in sat[:-1]:
        np.testing.assert_array_equal(solution.w, sat[-1].w)


def test_rank_deficient_features_match_the_reduced_problem():
    """Features of rank 6 in 15 dimensions (H_I always singular): every prefix is finished
    by the S1 solver's pseudo-inverse and matches the problem in 6 dimensions."""
    x, y = gaussian(8, 40, 6)
    basis = np.linalg.qr(np.random.default_rng(9).standard_normal((15, 6)))[0]
    sizes = [10, 20, 30, 40]
    embedded = solve_quadratic_hinge_path(x @ basis.T, y, sizes)
    reduced = solve_quadratic_hinge_path(x, y, sizes)
    assert not reduced[-1].sat
    for a, b in zip(embedded, reduced, strict=True):
        assert a.converged and a.sat == b.sat and a.n_delta == b.n_delta
        if not a.sat:
            np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)
            np.testing.assert_allclose(a.w, b.w @ basis.T, rtol=0, atol=1e-9)
    assert_matches_independent_solves(x @ basis.T, y, sizes, embedded)


@pytest.mark.parametrize("case", ["zero rows", "repeated points", "contradicting duplicates"])
def test_degenerate_data(case):
    x, y = gaussian(14, 90, 25)
    if case == "zero rows":
        x[[3, 40, 70]] = 0.0            # Delta = 1 whatever w: loss >= 1/2 each, never SAT
    elif case == "repeated points":
        x[30:45], y[30:45] = x[0:15], y[0:15]
    else:
        x[30:45], y[30:45] = x[0:15], -y[0:15]
    sizes = list(range(5, 91, 5))
    path = solve_quadratic_hinge_path(x, y, sizes)
    assert_matches_independent_solves(x, y, sizes, path, unique=case == "repeated points")
    if case == "zero rows":
        for solution, size in zip(path, sizes, strict=True):
            zero_rows = int((~x[:size].any(1)).sum())
            assert solution.sat == (zero_rows == 0 and solution.sat)
            assert solution.loss >= 0.5 * zero_rows


def test_torch_inputs_and_the_reexport():
    x, y = gaussian(5, 80, 20)
    sizes = [20, 50, 80]
    reference = solve_quadratic_hinge_path(x, y, sizes)
    assert reexported is solve_quadratic_hinge_path
    threads = torch.get_num_threads()
    solutions = reexported(torch.tensor(x), torch.tensor(y, dtype=torch.float32), sizes,
                           device="cpu", cpu_threads=None)
    assert torch.get_num_threads() == threads
    for a, b in zip(solutions, reference, strict=True):
        assert a.n_delta == b.n_delta and isinstance(a.w, np.ndarray)
        np.testing.assert_allclose(a.loss, b.loss, rtol=1e-12)


def test_max_iter_reports_unconverged_prefixes():
    x, y = gaussian(6, 120, 30)
    sizes = [70, 90, 120]
    path = solve_quadratic_hinge_path(x, y, sizes, max_iter=1)
    assert not path[-1].converged and path[-1].iterations == 1
    full = solve_quadratic_hinge_path(x, y, sizes)
    assert all(s.converged for s in full)
    assert all(cut.loss >= s.loss for cut, s in zip(path, full, strict=True))


@pytest.mark.parametrize("settings", [
    {"WOODBURY_LIMIT": 0, "KERNEL_UPDATE_LIMIT": 0},   # refactorise at every step
    {"WOODBURY_PIVOT": 1.0},                           # every Woodbury correction refused
    {"WOODBURY_LIMIT": 10_000, "KERNEL_UPDATE_LIMIT": 10_000},  # never refactorise by count
    {"MAX_REFINEMENT": 0},                             # refinement falls back at once
])
def test_factor_policies_give_the_same_path(monkeypatch, settings):
    x, y = gaussian(3, 200, 40)
    sizes = list(range(10, 201, 10))
    reference = solve_quadratic_hinge_path(x, y, sizes)
    for name, value in settings.items():
        monkeypatch.setattr(hinge_path, name, value)
    path = solve_quadratic_hinge_path(x, y, sizes)
    for a, b in zip(path, reference, strict=True):
        assert a.converged and a.sat == b.sat and a.n_delta == b.n_delta
        if not a.sat:
            np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)


# --------------------------------------------------------------------------------------
# the carried factors and the kernels


def test_gram_factor_corrections_solve_the_active_system():
    """Woodbury-corrected solves against numpy.linalg.solve on H_A, over a sequence of sets."""
    x, _ = gaussian(21, 120, 20)
    rng = np.random.default_rng(22)
    factor = _GramFactor(x)
    members = rng.random(120) < 0.6
    assert factor.move(members)
    base = factor.base.copy()
    for _ in range(6):
        flip = rng.choice(120, 5, replace=False)
        members = members.copy()
        members[flip] = ~members[flip]
        assert factor.move(members)
        gradient = rng.standard_normal(20)
        expected = np.linalg.solve(x[members].T @ x[members], gradient)
        np.testing.assert_allclose(factor.step(gradient, None, 120), expected, rtol=1e-10)
    np.testing.assert_array_equal(factor.base, base)  # corrected, never refactorised


def test_gram_factor_refuses_a_singular_downdate_and_refactorises():
    """Removing one of exactly n_eff rows makes H_A singular: the capacitance matrix is
    refused, the factor recomputed from Phi, and the set reported singular; a later
    non-singular set is factorised afresh."""
    x, _ = gaussian(23, 30, 10)
    factor = _GramFactor(x)
    members = np.zeros(30, dtype=bool)
    members[:10] = True
    assert factor.move(members)
    fewer = members.copy()
    fewer[4] = False
    assert not factor.move(fewer)                    # rank 9 < 10
    assert factor.factor is None
    more = fewer.copy()
    more[10:20] = True
    assert factor.move(more)
    np.testing.assert_array_equal(factor.base, more)
    gradient = np.arange(10.0)
    np.testing.assert_allclose(factor.step(gradient, None, 30),
                               np.linalg.solve(x[more].T @ x[more], gradient), rtol=1e-10)


def test_kernel_factor_appends_and_deletes_match_numpy():
    solve, append, delete, _ = _kernels()
    rng = np.random.default_rng(31)
    z = rng.standard_normal((12, 20))
    kernel = z @ z.T
    r = np.zeros((20, 20))
    r[:8, :8] = np.linalg.cholesky(kernel[:8, :8]).T
    for k in range(8, 12):                           # grow to 12 rows
        assert append(r, k, kernel[k, :k].copy(), kernel[k, k])
    np.testing.assert_allclose(r[:12, :12].T @ r[:12, :12], kernel, atol=1e-12)
    for position, k in ((0, 12), (5, 11), (9, 10)):  # first, middle, last row
        keep = np.delete(np.arange(k), position)
        delete(r, k, position)
        kernel = kernel[np.ix_(keep, keep)]
        np.testing.assert_allclose(r[:k - 1, :k - 1].T @ r[:k - 1, :k - 1], kernel,
                                   atol=1e-12)
        assert not r[k - 1:, :].any() and not r[:, k - 1:].any()
        assert (np.tril(r[:k - 1, :k - 1], -1) == 0).all()
    b = rng.standard_normal(9)
    np.testing.assert_allclose(solve(r, 9, b), np.linalg.solve(kernel, b), rtol=1e-10)
    # a row that combines the others: refused by append or by the pivot test
    rows = np.delete(z, [0, 6, 11], axis=0)           # the 9 rows left, in order
    np.testing.assert_allclose(rows @ rows.T, kernel, atol=1e-12)
    combination = rows[1] + rows[2]
    grown = append(r, 9, rows @ combination, combination @ combination)
    assert not (grown and _pivots_ok(r[:10, :10], float((rows * rows).sum(1).max())))


@pytest.mark.parametrize("seed", range(5))
def test_line_search_finds_the_exact_minimiser(seed):
    _, _, _, line_search = _kernels()
    rng = np.random.default_rng(seed)
    delta, slope = rng.standard_normal(30), rng.standard_normal(30)
    t = line_search(delta, slope)

    def phi(u):
        return 0.5 * (np.maximum(delta[:, None] - np.atleast_1d(u) * slope[:, None], 0) ** 2
                      ).sum(0)

    if not (-(np.maximum(delta, 0) * slope).sum() < 0):
        assert np.isnan(t)
        return
    grid = np.linspace(0, 4 * t + 1, 200_001)
    assert phi(t)[0] <= phi(grid).min() + 1e-12
    derivative = -(np.maximum(delta - t * slope, 0) * slope).sum()
    assert abs(derivative) <= 1e-10 * np.abs(slope).sum() * (np.abs(delta).max() + 1)


def test_line_search_without_descent_is_nan():
    _, _, _, line_search = _kernels()
    assert np.isnan(line_search(np.array([1.0, -1.0]), np.array([-1.0, 0.5])))


# --------------------------------------------------------------------------------------
# inputs and devices


@pytest.mark.parametrize("features, labels, sizes, error, message", [
    (np.ones((4, 2)), np.ones(4), [], ValueError, "sizes must hold at least one"),
    (np.ones((4, 2)), np.ones(4), [2, 2], ValueError, "sizes must increase strictly"),
    (np.ones((4, 2)), np.ones(4), [3, 1], ValueError, "sizes must increase strictly"),
    (np.ones((4, 2)), np.ones(4), [0, 2], ValueError, r"within \[1, 4\]"),
    (np.ones((4, 2)), np.ones(4), [2, 5], ValueError, r"within \[1, 4\]"),
    (np.ones((4, 2)), np.ones(4), [2.0], TypeError, "sizes must be integers"),
    (np.ones((4, 2)), np.ones(4), [True], TypeError, "sizes must be integers"),
    (np.ones((2, 4, 2)), np.ones((2, 4)), [2], ValueError, r"shape \(n_data, n_eff\)"),
    (np.ones((4, 2)), np.ones(3), [2], ValueError, r"labels must have shape \(4,\)"),
    (np.ones((4, 2)), np.zeros(4), [2], ValueError, r"labels must be -1 or \+1"),
    (np.full((4, 2), np.inf), np.ones(4), [2], ValueError, "features must be finite"),
])
def test_rejects_bad_inputs(features, labels, sizes, error, message):
    with pytest.raises(error, match=message):
        solve_quadratic_hinge_path(features, labels, sizes)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"cpu_threads": 0}, ValueError, "cpu_threads must be"),
    ({"device": 3}, TypeError, "device must be None"),
])
def test_rejects_bad_options(kwargs, error, message):
    x, y = gaussian(0, 10, 3)
    with pytest.raises(error, match=message):
        solve_quadratic_hinge_path(x, y, [5, 10], **kwargs)


@pytest.mark.gpu
def test_cuda_path_matches_the_host_path():
    x, y = gaussian(3, 200, 40)
    sizes = list(range(10, 201, 10))
    host = solve_quadratic_hinge_path(x, y, sizes)
    cuda = solve_quadratic_hinge_path(x, y, sizes, device="cuda")
    for a, b in zip(cuda, host, strict=True):
        assert a.converged and a.sat == b.sat and a.n_delta == b.n_delta
        if not a.sat:
            np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)
