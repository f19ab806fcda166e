r"""Linearly separable dichotomies of vector configurations not in general position.

Conventions
-----------
A configuration is a matrix :math:`V` of shape (N, P), one vector :math:`v_n` per row. A sign
vector :math:`y\in\{+1,-1\}^N` is a (homogeneous) dichotomy of :math:`V` if some
:math:`w\in\mathbb{R}^P` has :math:`y_n = \operatorname{sign}(w\cdot v_n)` and
:math:`w\cdot v_n\ne0` for every :math:`n`. The set of such :math:`w` is a region (a
connected component of the complement) of the central arrangement of the hyperplanes
:math:`v_n^\perp`, so the dichotomies are counted by the regions :math:`r(V)`, and random
labels (uniform, independent) are separable with probability :math:`r(V)/2^N`. By Zaslavsky's
theorem, with Whitney's expansion of the characteristic polynomial,

.. math::

    r(V) = T_M(2, 0) = \sum_{S\subseteq\{1,\dots,N\}} (-1)^{|S| - \operatorname{rank}S},

which depends only on the matroid :math:`M` of the rows (which subsets are linearly
independent). A zero row (a loop of :math:`M`) gives :math:`r = 0`. Rows in general position
of rank :math:`r` give Cover's count :math:`C(N, r) = 2\sum_{i<r}\binom{N-1}{i}`
(:func:`jamming.theory.capacity.cover_probability` is :math:`C/2^N`), the largest possible
(:func:`pattern_separability_bound`).

Matroids are computed exactly over the field :math:`\mathbb{F}_p`; the count is the real one
when the matroid over :math:`\mathbb{F}_p` is the real matroid: for an integer matrix, when
:math:`p` divides no non-zero minor (always if the minors are below :math:`p` in absolute
value); for vectors drawn generically in :math:`\mathbb{F}_p`, as in
:func:`jamming.theory.parameters.activation_pattern_rank`, with high probability.

References
----------
R. C. Buck, "Partition of space", Amer. Math. Monthly 50, 541 (1943). T. M. Cover, "Geometrical
and statistical properties of systems of linear inequalities with applications in pattern
recognition", IEEE Trans. Electron. Comput. EC-14, 326 (1965). T. Zaslavsky, "Facing up to
arrangements: face-count formulas for partitions of space by hyperplanes", Mem. Amer. Math.
Soc. 154 (1975). J. G. Oxley, *Matroid Theory*, 2nd ed. (Oxford University Press, 2011).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from jamming.theory.capacity import cover_probability
from jamming.theory.parameters import PATTERN_RANK_PRIME, activation_pattern_rank, pattern_classes
from jamming.validation import check_count

#: The class sum of :func:`pattern_dichotomies` is used up to this many distinct patterns
#: (2^m integer ranks) and this many (count vector, flat) pairs (about 1 s for N < 63); beyond,
#: it calls :func:`count_regions`.
_MAX_CLASSES = 12
_CLASS_SUM_BUDGET = 2**26


def count_regions(matrix, prime: int = PATTERN_RANK_PRIME) -> int:
    r"""Number of regions of the central arrangement of the rows of an integer matrix.

    The rows are read over :math:`\mathbb{F}_p` (``prime``), and the result is
    :math:`T_M(2,0)` of their matroid :math:`M` (module docstring): the number of
    dichotomies of the rows when this matroid is the real one.

    **Method.** Deletion-contraction: for an element :math:`e` that is not a loop,
    :math:`r(M) = r(M\setminus e) + r(M/e)` (Zaslavsky 1975: the hyperplane :math:`e^\perp`
    cuts in two exactly the regions of the other hyperplanes that it meets, and these are the
    regions of their restriction to :math:`e^\perp`, whose matroid is :math:`M/e`). The
    matroid is held in standard form :math:`M[I_r\,|\,A]` over :math:`\mathbb{F}_p`
    (:math:`r` the rank; rows of :math:`A` the elements of a basis, columns the others,
    holding their coordinates in that basis), from the reduced row echelon form of
    :math:`V^\top` (FLINT's ``nmod_mat.rref``). Deleting a column drops it; contracting
    column :math:`j` pivots on a non-zero :math:`A_{ij}` and drops basis row :math:`i`: the
    quotient by :math:`v_j` maps :math:`b_i` to :math:`-\sum_{k\ne i}(A_{kj}/A_{ij})b_k`
    and column :math:`j'` to :math:`A_{kj'} - A_{kj}A_{ij'}/A_{ij}`. The branching column is
    the one with the most non-zero entries. Exact shortcuts, each a proof in one line:

    * a loop (zero column of :math:`A`, or zero row of :math:`V`): :math:`r = 0`; no rows:
      :math:`r = 1`;
    * a column parallel to another element (proportional to another column, or with one
      non-zero entry: parallel to a basis element) is deleted: :math:`M/e` then has a loop,
      so :math:`r(M) = r(M\setminus e)` (the same hyperplane twice);
    * a coloop (zero row of :math:`A`) doubles the count and is removed:
      :math:`M\setminus e = M/e` (the arrangement is a product with a line); so rows that
      are all independent give :math:`2^N` at once;
    * a block-diagonal :math:`A` (the bipartite graph of its non-zero entries disconnected) is
      a direct sum of the blocks' matroids, whose arrangements are a product: the counts
      multiply;
    * the remaining matroid is simple (no loop, no parallel pair), connected, of rank
      :math:`r` on :math:`n = r + c` elements. Rank 2: :math:`n` distinct lines through
      the origin of the plane, :math:`2n` regions. Corank 1 (:math:`c = 1`): one circuit
      :math:`\sum_e\lambda_ev_e = 0` with every :math:`\lambda_e\ne0`; by Gordan's
      alternative :math:`y` is realisable unless :math:`y_e\lambda_e` all have one sign,
      so :math:`2^n - 2` (both are Cover's counts of the uniform matroids
      :math:`U_{2,n}` and :math:`U_{n-1,n}`). Corank 2 (:math:`c = 2`): with the dual
      :math:`M^*` (represented by the vectors :math:`-A_{i\cdot}` and the unit vectors of
      :math:`\mathbb{F}_p^2`), loopless of rank 2, with parallel classes of sizes
      :math:`a_1,\dots,a_q`, :math:`T_M(2,0) = T_{M^*}(0,2) = \sum_S(-1)^{\operatorname
      {rank}^*S} = 1 - \sum_i(2^{a_i} - 1) + (2^n - 1 - \sum_i(2^{a_i} - 1))
      = 2^n - 2\sum_i(2^{a_i} - 1)`.

    The run time grows like the number of leaves of the recursion, exponentially in
    :math:`\min(r, c)` in the worst case (the uniform matroid :math:`U_{10,20}` takes about
    1 s); configurations with many repeated activation patterns are faster by
    :func:`pattern_dichotomies`.

    Parameters
    ----------
    matrix : array_like of int, shape (N, P)
        One vector per row (any integers; read modulo ``prime``).
    prime : int
        A prime :math:`2\le p < 2^{64}` (default
        :data:`~jamming.theory.parameters.PATTERN_RANK_PRIME`).

    Returns
    -------
    int
        The number of regions, from 0 (a zero row) to :math:`2^N`.

    Examples
    --------
    >>> count_regions([[1, 0], [0, 1], [1, 1]])  # three lines in the plane
    6
    >>> count_regions([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])  # a coloop: 2 x 6
    12
    """
    from flint import fmpz, nmod_mat  # lazy: python-flint is needed only here

    p = check_count("prime", prime, 2)
    if p >= 2**64 or not fmpz(p).is_prime():
        raise ValueError(f"prime must be a prime number >= 2 and < 2**64; got {p}")
    table = np.asarray(matrix)
    if table.ndim != 2 or (table.size and table.dtype.kind not in "iu"):
        raise ValueError(f"matrix must be a 2-d integer array of shape (N, P); got dtype "
                         f"{table.dtype} and shape {table.shape}")
    rows = [[x % p for x in row] for row in table.tolist()]
    if not all(any(row) for row in rows):
        return 0
    if not rows:
        return 1
    transposed = [x for column in zip(*rows, strict=True) for x in column]  # V^T, row-major
    echelon, rank = nmod_mat(table.shape[1], len(rows), transposed, p).rref()
    echelon = [[int(x) for x in row] for row in echelon.tolist()[:rank]]
    pivots = {row.index(1) for row in echelon}  # the first non-zero entry of a row is 1
    others = [j for j in range(len(rows)) if j not in pivots]
    return _regions([[row[j] for j in others] for row in echelon], p)


def _regions(A: list, p: int) -> int:
    """:math:`T(2,0)` of :math:`M[I\\,|\\,A]` over F_p, ``A`` a list of r >= 1 rows of c
    residues (the shortcuts and branching of :func:`count_regions`)."""
    columns = {}
    for column in zip(*A, strict=True):
        support = [x for x in column if x]
        if not support:
            return 0
        if len(support) > 1:
            inverse = pow(support[0], -1, p)
            columns.setdefault(tuple(x * inverse % p for x in column))
    rows = [row for row in zip(*columns, strict=True) if any(row)]
    count = 2 ** (len(A) - len(rows))
    blocks = _blocks(rows)
    if len(blocks) != 1:
        for block, block_columns in blocks:
            count *= _regions([[rows[i][j] for j in block_columns] for i in block], p)
        return count
    r, c = len(rows), len(rows[0])
    if r == 2:
        return count * 2 * (r + c)
    if c == 1:
        return count * (2 ** (r + 1) - 2)
    if c == 2:
        dual = Counter((1, b * pow(a, -1, p) % p) if a else (0, 1) for a, b in rows)
        dual.update([(1, 0), (0, 1)])
        return count * (2 ** (r + 2) - 2 * sum(2**a - 1 for a in dual.values()))
    j = max(range(c), key=lambda j: sum(1 for row in rows if row[j]))
    i = next(i for i, row in enumerate(rows) if row[j])
    inverse = pow(rows[i][j], -1, p)
    contracted = []
    for k, row in enumerate(rows):
        if k != i:
            factor = row[j] * inverse % p
            reduced = [(x - factor * y) % p for x, y in zip(row, rows[i], strict=True)]
            reduced[j] = -factor % p  # column j now holds the old basis element i
            contracted.append(reduced)
    deleted = [row[:j] + row[j + 1:] for row in rows]
    return count * (_regions(deleted, p) + _regions(contracted, p))


def _blocks(A: list) -> list[tuple[list[int], list[int]]]:
    """Row and column indices of the connected components of the bipartite graph of the
    non-zero entries of ``A`` (a list of rows)."""
    unseen, blocks = set(range(len(A))), []
    while unseen:
        stack, block, block_columns = [unseen.pop()], [], set()
        while stack:
            i = stack.pop()
            block.append(i)
            for j in range(len(A[i])):
                if A[i][j] and j not in block_columns:
                    block_columns.add(j)
                    linked = [k for k in unseen if A[k][j]]
                    unseen.difference_update(linked)
                    stack += linked
        blocks.append((sorted(block), sorted(block_columns)))
    return blocks


def pattern_dichotomies(input_dim: int, patterns, counts=None, *, bias: bool = False,
                        seed: int = 0) -> int:
    r"""Number of dichotomies of generic points with given ReLU activation patterns.

    For a one-hidden-layer ReLU network, point :math:`n` has, up to an injective linear map,
    the empirical-NTK feature vector :math:`\mathbb{1}_{A(n)}\otimes\tilde x_n`, with
    :math:`A(n)` its activation pattern and :math:`\tilde x_n = (x_n, \beta)\in\mathbb{R}^k`
    (:func:`jamming.theory.parameters.activation_pattern_rank`). This returns the number of
    dichotomies of these vectors (module docstring) for data in general position given their
    patterns: 0 if a point has the empty pattern (a zero vector), 1 if there is no point.

    **Method.** For such data the matroid is that of generic vectors in the subspaces
    :math:`W_A = \mathbb{1}_A\otimes\mathbb{R}^k`, whose rank function (Lovász 1977; Mason
    1977, as in ``activation_pattern_rank``) gives to a set with :math:`s_A` points of
    pattern :math:`A`

    .. math::

        \operatorname{rank}(s) = |s| - \delta(s),\qquad
        \delta(s) = \max_{\mathcal{S}}\Big(\sum_{A\in\mathcal{S}}s_A
            - k\operatorname{rank}_\mathbb{R}\{\mathbb{1}_A : A\in\mathcal{S}\}\Big)\ge0,

    the maximum over the sets :math:`\mathcal{S}` of patterns (:math:`\mathcal{S}=\emptyset`
    included), attained on a flat (closed set) of the vectors :math:`\mathbb{1}_A`. The rank
    depends only on the counts :math:`s`, so Whitney's sum groups into

    .. math::

        r = \sum_{0\le s\le n}\ \prod_A\binom{n_A}{s_A}\,(-1)^{\delta(s)},

    with :math:`\prod_A(n_A + 1)` terms against :math:`2^N` (ranks of the
    :math:`\mathbb{1}_A` over the integers by FLINT's ``fmpz_mat``): exact, with no random
    draw. With more than 12 distinct patterns, or more than :math:`2^{26}` pairs (count
    vector, flat), about 1 s, the count is instead :func:`count_regions` of the rows
    :math:`\mathbb{1}_{A(n)}\otimes g_n`, :math:`g_n` uniform in :math:`\mathbb{F}_p^k`
    (:data:`~jamming.theory.parameters.PATTERN_RANK_PRIME`): their matroid is the generic
    one except with probability at most (number of rank tests) :math:`\times N/p`
    (Schwartz–Zippel).

    Parameters
    ----------
    input_dim : int
        :math:`d \ge 1`.
    patterns : array_like of bool, shape (m, h)
        Activation patterns, one row per data point, or one per distinct pattern with
        ``counts``.
    counts : array_like of int, shape (m,), optional
        How many data points carry each row's pattern (default: one each).
    bias : bool
        Hidden biases (:math:`\beta = 1`).
    seed : int
        Seed of the random field elements of the :func:`count_regions` case.

    Returns
    -------
    int
        The number of dichotomies, at most :math:`2^N` (:math:`N` the number of points).

    References
    ----------
    L. Lovász, "Flats in matroids and geometric graphs", in *Combinatorial Surveys*
    (Academic Press, 1977), pp. 45–86. J. H. Mason, "Matroids as the study of geometrical
    configurations", in *Higher Combinatorics* (Reidel, 1977), pp. 133–176.

    Examples
    --------
    >>> pattern_dichotomies(2, [[True, False], [False, True]], counts=[3, 3])  # 6 x 6
    36
    """
    rank = activation_pattern_rank(input_dim, patterns, counts, bias=bias, seed=seed).n_eff
    distinct, points = pattern_classes(patterns, counts)
    if not distinct.any(axis=1).all():
        return 0
    if rank == points.sum():  # free matroid (no point included: 2^0 = 1)
        return 2**rank
    k = input_dim + bias
    if len(distinct) <= _MAX_CLASSES:
        sets, ranks = _pattern_flats(distinct)
        if np.prod(points + 1.0) * len(sets) <= _CLASS_SUM_BUDGET:
            return _class_sum(points, sets, k * ranks)
    g = np.random.default_rng(seed).integers(0, PATTERN_RANK_PRIME, size=(points.sum(), k))
    rows = np.repeat(distinct, points, axis=0).astype(np.int64)
    return count_regions((rows[:, :, None] * g[:, None, :]).reshape(len(rows), -1))


def _pattern_flats(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flats of the vectors 1_A (rows of ``distinct``, shape (m, h)) as bool rows
    (F, m), and their ranks over the integers (F,); the maximum of delta(s) is attained on a
    flat (adding a pattern of the span adds s_A >= 0 and no rank)."""
    from flint import fmpz_mat  # lazy: python-flint is needed only here

    m = len(distinct)
    masks = np.arange(2**m)
    sets = (masks[:, None] >> np.arange(m) & 1).astype(bool)
    ranks = np.array([fmpz_mat(distinct[chosen].astype(int).tolist()).rank() if chosen.any()
                      else 0 for chosen in sets])
    closed = np.ones(2**m, dtype=bool)
    for a in range(m):
        closed &= sets[:, a] | (ranks[masks | 1 << a] > ranks)
    return sets[closed], ranks[closed]


def _class_sum(points: np.ndarray, sets: np.ndarray, costs: np.ndarray) -> int:
    """Whitney's sum grouped by count vectors s (0 <= s <= points), as 2^N - 2 x (weight of
    odd deficiency), in chunks of about 2^20 (count vector, flat) pairs."""
    radices = points + 1
    strides = np.cumprod(np.r_[1, radices[:-1]])
    dtype = np.int64 if points.sum() < 63 else object  # weights up to 2^N
    tables = [np.array([math.comb(int(n), s) for s in range(n + 1)], dtype=dtype)
              for n in points]
    odd, size, chunk = 0, int(np.prod(radices)), max(1, 2**20 // len(sets))
    for start in range(0, size, chunk):
        counts = np.arange(start, min(start + chunk, size))[:, None] // strides % radices
        deficiency = (counts @ sets.T - costs).max(axis=1)
        weights = np.prod([table[counts[:, a]] for a, table in enumerate(tables)], axis=0)
        odd += int(weights[deficiency % 2 == 1].sum())
    return 2 ** int(points.sum()) - 2 * odd


def pattern_separability_bound(input_dim: int, patterns, counts=None, *,
                               bias: bool = False) -> float:
    r"""Upper bound on the probability that random labels on points with given ReLU
    activation patterns are separable by the linearised network.

    With :math:`N` points, :math:`N_\mathcal{A}` the ``n_eff`` of
    :func:`jamming.theory.parameters.activation_pattern_rank` and :math:`n_A` the number of
    points of pattern :math:`A`, the bound is 0 if a point has the empty pattern (its
    feature vector is 0), 1 without points, and otherwise

    .. math::

        \min\Big(\frac{C(N, N_\mathcal{A})}{2^N},\
            \prod_A\frac{C(n_A, k)}{2^{n_A}}\Big)

    (:func:`jamming.theory.capacity.cover_probability`), for any data with these patterns
    (:func:`pattern_dichotomies` divided by :math:`2^N` is the exact value for data in
    general position given the patterns).

    *Proof.* (i) A central arrangement of :math:`N` hyperplanes whose normals have rank
    :math:`r` has at most :math:`C(N, r)` regions, with equality in general position (Buck
    1943; Zaslavsky 1975). By induction on :math:`N`, with :math:`C(n, 0) = 0` and
    :math:`C(n, r) = 2^n` for :math:`r\ge n`, both non-decreasing in :math:`n` and
    :math:`r`: one non-zero normal gives 2 regions; for :math:`N\ge2` and a non-loop
    :math:`e`, :math:`r(M) = r(M\setminus e) + r(M/e)` (:func:`count_regions`), where
    :math:`M\setminus e` has :math:`N - 1` elements of rank at most :math:`r` and
    :math:`M/e` at most :math:`N - 1` of rank :math:`r - 1` (and 0 regions if it has a
    loop), so :math:`r(M)\le C(N-1, r) + C(N-1, r-1) = C(N, r)` (Pascal's rule on Cover's
    sum). The feature rank of any data with these patterns is at most the generic rank
    :math:`N_\mathcal{A}`, whence the first term. (ii) If :math:`w = (w_1,\dots,w_h)`,
    :math:`w_i\in\mathbb{R}^k`, separates all points, then for each pattern :math:`A`,
    :math:`w\cdot(\mathbb{1}_A\otimes\tilde x_n) = u_A\cdot\tilde x_n` with
    :math:`u_A = \sum_{i\in A}w_i`, so :math:`u_A\in\mathbb{R}^k` separates the points of
    pattern :math:`A`, which happens with probability at most :math:`C(n_A, k)/2^{n_A}`
    by (i) (equality when their :math:`\tilde x_n` are in general position in
    :math:`\mathbb{R}^k`). These events involve the labels of disjoint sets of points,
    independent, so the probability that all hold is the product. :math:`\square`

    ``n_eff`` is the generic rank :math:`N_\mathcal{A}` except with probability below
    :math:`10^{-15}` (``activation_pattern_rank``).

    Parameters
    ----------
    input_dim : int
        :math:`d \ge 1`.
    patterns : array_like of bool, shape (m, h)
        Activation patterns, one row per data point, or one per distinct pattern with
        ``counts``.
    counts : array_like of int, shape (m,), optional
        How many data points carry each row's pattern (default: one each).
    bias : bool
        Hidden biases (:math:`\beta = 1`).

    Returns
    -------
    float
        The bound, in [0, 1].

    Examples
    --------
    >>> pattern_separability_bound(2, [[True, False], [False, True]], counts=[3, 3])
    0.5625
    """
    rank = activation_pattern_rank(input_dim, patterns, counts, bias=bias).n_eff
    distinct, points = pattern_classes(patterns, counts)
    if not distinct.any(axis=1).all():
        return 0.0
    if not len(distinct):
        return 1.0
    k = input_dim + bias
    product = math.prod(cover_probability(int(n), k) for n in points)
    return min(cover_probability(int(points.sum()), rank), product)

