"""Dichotomy counts of configurations not in general position, against brute force.

The brute force decides each of the 2^N sign vectors by a linear programme over the reals
(scipy's linprog: is there a w with y_n w.v_n >= 1 for every n?), or sums Whitney's
(-1)^(|S| - rank S) over the 2^N subsets with numpy's matrix_rank. Small integer matrices
have minors far below the prime, so their matroid over F_p is the real one.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from jamming.theory import dichotomies
from jamming.theory.capacity import cover_probability
from jamming.theory.dichotomies import (
    count_regions,
    pattern_dichotomies,
    pattern_separability_bound,
)


def lp_count(vectors) -> int:
    """Sign vectors y with some w such that y_n w.v_n >= 1 for all n (y and -y together)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n, dim = vectors.shape
    count = 0
    for signs in itertools.product((1.0, -1.0), repeat=n - 1):
        y = np.array((1.0, *signs))
        result = linprog(np.zeros(dim), A_ub=-y[:, None] * vectors, b_ub=-np.ones(n),
                         bounds=[(None, None)] * dim, method="highs")
        assert result.status in (0, 2), result.message
        count += 2 * (result.status == 0)
    return count


def whitney_count(vectors) -> int:
    """sum over subsets S of (-1)^(|S| - rank S)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return sum((-1) ** (size - (np.linalg.matrix_rank(vectors[list(subset)]) if size else 0))
               for size in range(len(vectors) + 1)
               for subset in itertools.combinations(range(len(vectors)), size))


def cover_count(n_data: int, rank: int) -> int:
    return 2 * sum(math.comb(n_data - 1, i) for i in range(rank))


def in_general_position(vectors) -> bool:
    vectors = np.asarray(vectors, dtype=np.float64)
    rank = np.linalg.matrix_rank(vectors)
    return bool(rank) and all(np.linalg.matrix_rank(vectors[list(subset)]) == rank
                              for subset in itertools.combinations(range(len(vectors)), rank))


def degenerate_configuration(rng) -> np.ndarray:
    """N <= 9 small integer vectors in a random subspace, with repeated, proportional and
    (sometimes) zero rows."""
    while True:
        dim = int(rng.integers(1, 6))
        span = rng.integers(-3, 4, size=(int(rng.integers(1, dim + 1)), dim))
        vectors = rng.integers(-2, 3, size=(int(rng.integers(1, 8)), len(span))) @ span
        vectors = vectors[vectors.any(axis=1)] if rng.random() < 0.9 else vectors
        copies = rng.integers(0, len(vectors), size=int(rng.integers(0, 3))) if len(vectors) \
            else np.zeros(0, dtype=int)
        vectors = np.vstack([vectors, rng.choice([-2, -1, 1, 3])[None] * vectors[copies]])
        if 1 <= len(vectors) <= 9 and not in_general_position(vectors):
            return rng.permutation(vectors).astype(np.int64)


def test_count_regions_against_linear_programmes_and_whitney_on_degenerate_configurations():
    rng = np.random.default_rng(2024)
    configurations = [degenerate_configuration(rng) for _ in range(100)]
    for vectors in configurations:
        expected = lp_count(vectors)
        assert count_regions(vectors) == expected == whitney_count(vectors), vectors.tolist()
    # the family has loops, parallel pairs, and rows spanning less than the ambient space
    assert sum(not v.any(axis=1).all() for v in configurations) >= 5
    assert sum(len(np.unique(v, axis=0)) < len(v) for v in configurations) >= 30
    assert sum(np.linalg.matrix_rank(v) < v.shape[1] for v in configurations) >= 40
    assert sum(count_regions(v) > 0 for v in configurations) >= 80


@pytest.mark.parametrize(("n_data", "rank"), [(1, 1), (5, 2), (5, 5), (4, 7), (9, 4), (12, 3),
                                              (14, 7), (16, 8), (20, 2), (20, 6), (20, 17),
                                              (20, 19)])
def test_general_position_gives_covers_count(n_data, rank):
    vectors = np.random.default_rng(100 * n_data + rank).integers(-10**6, 10**6,
                                                                  size=(n_data, rank))
    regions = count_regions(vectors)
    assert regions == cover_count(n_data, rank) == cover_probability(n_data, rank) * 2**n_data


def test_known_arrangements():
    assert count_regions([[1, 0], [0, 1], [1, 1]]) == 6
    assert count_regions([[1, 0], [-2, 0], [0, 1]]) == 4  # one hyperplane twice
    assert count_regions([[1, 0], [0, 0]]) == 0  # a zero vector
    assert count_regions(np.zeros((0, 3), dtype=int)) == 1
    assert count_regions([[1, 0, 0], [0, 1, 1], [0, 1, -1], [0, 2, 1]]) == 2 * 6  # coloop, 3 lines
    # the braid arrangement x_i = x_j of R^n has n! regions (Weyl chambers)
    for n in (3, 4, 5, 6):
        roots = [np.eye(n, dtype=int)[i] - np.eye(n, dtype=int)[j]
                 for i, j in itertools.combinations(range(n), 2)]
        assert count_regions(roots) == math.factorial(n)


def acyclic_orientations(n_vertices: int, edges) -> int:
    count = 0
    for directions in itertools.product((False, True), repeat=len(edges)):
        arcs = [(b, a) if flip else (a, b) for (a, b), flip in zip(edges, directions, strict=True)]
        remaining = set(range(n_vertices))
        while remaining:
            sources = {v for v in remaining if not any(b == v and a in remaining
                                                      for a, b in arcs)}
            if not sources:
                break
            remaining -= sources
        count += not remaining
    return count


@pytest.mark.parametrize("seed", range(3))
def test_graphic_arrangements_count_acyclic_orientations(seed):
    """The arrangement x_a = x_b over the edges of a graph has one region per acyclic
    orientation (Greene, Zaslavsky): many dependencies at N beyond the LP brute force."""
    rng = np.random.default_rng(seed)
    pairs = list(itertools.combinations(range(7), 2))
    edges = [pairs[i] for i in sorted(rng.choice(len(pairs), size=12, replace=False))]
    vectors = np.zeros((len(edges), 7), dtype=int)
    for row, (a, b) in enumerate(edges):
        vectors[row, a], vectors[row, b] = 1, -1
    assert count_regions(vectors) == acyclic_orientations(7, edges)


def test_the_matroid_is_read_over_the_prime_field():
    vectors = [[1, 0], [0, 1], [1, 2]]
    assert count_regions(vectors) == count_regions(vectors, prime=3) == 6
    assert count_regions(vectors, prime=2) == 4  # (1, 2) = (1, 0) mod 2


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"matrix": np.ones((2, 2))}, ValueError, "matrix must be a 2-d integer array"),
    ({"matrix": [1, 2]}, ValueError, "matrix must be a 2-d integer array"),
    ({"matrix": [[1]], "prime": 4}, ValueError, "prime must be a prime number >= 2 and < 2"),
    ({"matrix": [[1]], "prime": 2**64 + 13}, ValueError, "prime must be a prime number"),
    ({"matrix": [[1]], "prime": 1}, ValueError, "prime must be an integer >= 2"),
    ({"matrix": [[1]], "prime": 7.0}, TypeError, "prime must be an integer >= 2"),
])
def test_count_regions_refuses_invalid_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        count_regions(**kwargs)


def random_pattern_set(rng, max_points: int):
    """(d, bias, patterns with one row per point) drawn from a few distinct patterns."""
    d, h, bias = int(rng.integers(1, 4)), int(rng.integers(1, 5)), bool(rng.random() < 0.5)
    pool = rng.random((int(rng.integers(1, 5)), h)) < 0.6
    if rng.random() < 0.8:
        pool[~pool.any(axis=1), rng.integers(0, h)] = True
    patterns = pool[rng.integers(0, len(pool), size=int(rng.integers(1, max_points + 1)))]
    return d, bias, patterns


def kronecker_rows(patterns, points) -> np.ndarray:
    """The rows 1_A(n) (x) points_n."""
    return (patterns[:, :, None] * points[:, None, :]).reshape(len(patterns), -1)


@pytest.mark.parametrize("seed", range(40))
def test_pattern_dichotomies_against_linear_programmes(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    d, bias, patterns = random_pattern_set(rng, max_points=8)
    g = rng.standard_normal((len(patterns), d + bias))
    expected = lp_count(kronecker_rows(patterns, g))
    assert pattern_dichotomies(d, patterns, bias=bias) == expected
    distinct, counts = np.unique(patterns, axis=0, return_counts=True)
    assert pattern_dichotomies(d, distinct, counts, bias=bias) == expected
    monkeypatch.setattr(dichotomies, "_MAX_CLASSES", 0)  # the count_regions branch
    assert pattern_dichotomies(d, patterns, bias=bias, seed=seed) == expected


@pytest.mark.parametrize("bias", [False, True])
def test_pattern_dichotomies_of_relu_network_features(bias):
    """The features of real data: x Gaussian in R^d, x~ = (x, beta), patterns of a ReLU
    layer with Gaussian weights (and biases)."""
    rng = np.random.default_rng(7 + bias)
    for d, h, n in [(1, 3, 7), (2, 2, 8), (2, 3, 8), (3, 2, 8)]:
        x = rng.standard_normal((n, d))
        patterns = x @ rng.standard_normal((h, d)).T + bias * rng.standard_normal(h) > 0
        features = kronecker_rows(patterns, np.hstack([x, np.ones((n, int(bias)))]))
        assert pattern_dichotomies(d, patterns, bias=bias) == lp_count(features)


@pytest.mark.parametrize(("d", "h", "n"), [(3, 3, 14), (4, 3, 17), (2, 4, 14), (3, 4, 16)])
def test_class_sum_agrees_with_deletion_contraction(d, h, n, monkeypatch):
    """Beyond the LP brute force: the exact class sum against count_regions of generic rows."""
    rng = np.random.default_rng(n)
    for _ in range(4):
        x = rng.standard_normal((n, d))
        patterns = x @ rng.standard_normal((h, d)).T > 0
        patterns = patterns[patterns.any(axis=1)]
        exact = pattern_dichotomies(d, patterns)
        monkeypatch.setattr(dichotomies, "_MAX_CLASSES", 0)
        assert pattern_dichotomies(d, patterns, seed=1) == exact
        monkeypatch.undo()
        assert 0 < exact <= 2 ** len(patterns)


def test_single_pattern_and_independent_patterns_are_cover_counts():
    for n in range(1, 10):
        assert pattern_dichotomies(3, [[True, False]], [n]) == cover_count(n, 3)
        assert pattern_separability_bound(3, [[True, False]], [n]) == cover_probability(n, 3)
    assert pattern_dichotomies(3, [[True, False]], [70]) == cover_count(70, 3)  # beyond int64
    independent = np.eye(3, dtype=bool)
    assert pattern_dichotomies(2, independent, [3, 4, 5]) == 6 * 8 * 10
    assert pattern_separability_bound(2, independent, [3, 4, 5]) == (6 * 8 * 10) / 2**12
    assert pattern_dichotomies(2, independent, [30, 20, 1]) == cover_count(30, 2) * 40 * 2
    # dependent patterns {1}, {2}, {1, 2}, k = 1: three lines in R^2, the rank term binds
    dependent = [[True, False], [False, True], [True, True]]
    assert pattern_dichotomies(1, dependent) == 6
    assert pattern_separability_bound(1, dependent) == 6 / 8


@pytest.mark.parametrize("seed", range(30))
def test_bound_is_above_the_exact_probability(seed):
    rng = np.random.default_rng(1000 + seed)
    d, bias, patterns = random_pattern_set(rng, max_points=16)
    exact = pattern_dichotomies(d, patterns, bias=bias) / 2 ** len(patterns)
    assert exact <= pattern_separability_bound(d, patterns, bias=bias) <= 1.0


def test_empty_pattern_or_no_point():
    patterns = [[True, False], [False, False], [True, True]]
    assert pattern_dichotomies(3, patterns) == 0
    assert pattern_separability_bound(3, patterns) == 0.0
    assert pattern_dichotomies(3, patterns, [2, 0, 1]) == 8  # no point with it
    assert pattern_dichotomies(3, patterns, [0, 0, 0]) == 1
    assert pattern_separability_bound(3, patterns, [0, 0, 0]) == 1.0


@pytest.mark.parametrize("function", [pattern_dichotomies, pattern_separability_bound])
@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    ((0, [[True]]), {}, ValueError, "input_dim must be an integer >= 1"),
    ((2, [[1, 0]]), {}, ValueError, "patterns must be a 2-d bool array"),
    ((2, [[True]], [-1]), {}, ValueError, "counts must be 1 non-negative integers"),
    ((2, [[True]]), {"bias": 1}, TypeError, "bias must be a bool"),
])
def test_pattern_functions_refuse_invalid_input(function, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
