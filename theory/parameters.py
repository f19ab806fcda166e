r"""Effective number of parameters of a network linearised at its initialisation.

Conventions
-----------
A fully connected network with input dimension :math:`d`, :math:`L` hidden layers of width
:math:`h`, activation :math:`\phi` and a scalar output without bias, in the NTK
parametrisation (the convention of ``jamming.simulate.features``; the constant factors
:math:`\sigma_w/\sqrt{n_{l-1}}` and :math:`\sigma_b` change no rank):

.. math::

    z^l = W^l h^{l-1} + b^l,\quad h^l = \phi(z^l),\quad h^0 = x,\quad
    f(x;\theta) = a\cdot h^L,

with :math:`W^l` of shape :math:`h\times n_{l-1}` (:math:`n_0 = d`, :math:`n_l = h`),
biases :math:`b^l` only when ``bias=True`` (:math:`\beta = 1`, else :math:`\beta = 0`), and

.. math::

    P = dh + (L-1)h^2 + h + \beta L h

parameters (:func:`parameter_count`). The model linearised at :math:`\theta_0` is linear in
the features :math:`J_{\mu a} = \partial f(x_\mu;\theta_0)/\partial\theta_a` (the empirical
NTK features), and its number of effective parameters is

.. math::

    N_\mathrm{eff} = \operatorname{rank} J \le \min(P - s,\ N_\mathrm{data}),

where :math:`s` is the dimension of the null space that the parametrisation forces on the
Jacobian for every data set: continuous symmetries of :math:`\theta\mapsto f(\cdot;\theta)`
(and, for the linear activation, the collapse of the function space). A symmetry
:math:`\theta\mapsto g_t(\theta)` with :math:`f(x; g_t\theta) = f(x;\theta)` for all
:math:`x` gives :math:`J(x)\,\dot g_0 = 0`: its generator is a null vector of every row.
"Generic" below means generic data (a density on :math:`\mathbb{R}^d`, or on the sphere
:math:`S^{d-1}`, :math:`d\ge2`) and parameters outside an exceptional set.

Results (:func:`effective_parameters`)
--------------------------------------
*ReLU*, :math:`s = Lh`: ReLU is positively homogeneous, so rescaling the incoming weights and
bias of a hidden neuron by :math:`c > 0` and its outgoing weights by :math:`1/c` leaves
:math:`f` unchanged, :math:`Lh` independent null directions and :math:`N_\mathrm{eff}\le
P - Lh`. At :math:`L = 1` the bound is attained when every neuron's hyperplane cuts the data
(always without bias, :math:`d\ge2`); stable neurons (dead or always active) lower it
(:func:`relu_rank_bound`, :func:`shallow_relu_rank`, :func:`stable_neuron_probability`).
At :math:`L\ge2`, :math:`P - Lh` is the maximal rank, but a Gaussian initialisation has a
positive probability of further degeneracy, with no closed form. :math:`d = 1` without
bias: :math:`N_\mathrm{eff}\le 2`.

*tanh, erf*, :math:`s = 0`: analytic, not homogeneous, only discrete symmetries (Sussmann
1992, Fefferman 1994 for tanh with biases): :math:`N_\mathrm{eff} = \min(P, N_\mathrm{data})`
generically.

*identity*, :math:`s = P - (d+\beta)`: the network computes an affine function.

The proofs, and the measured ranks of random initialisations, are in
``docs/derivations/parameters.md``.

References
----------
H. J. Sussmann, "Uniqueness of the weights for minimal feedforward nets with a given
input-output map", Neural Networks 5, 589 (1992). C. Fefferman, "Reconstructing a neural net
from its output", Rev. Mat. Iberoam. 10, 507 (1994). L. Dinh, R. Pascanu, S. Bengio,
Y. Bengio, "Sharp minima can generalize for deep nets", ICML (2017) (ReLU rescaling).
J. E. Grigsby, K. Lindsey, R. Meyerhoff, C. Wu, "Functional dimension of feedforward ReLU
neural networks", arXiv:2209.04036 (2022); J. E. Grigsby, K. Lindsey, D. Rolnick, "Hidden
symmetries of ReLU networks", ICML (2023). S. Spigler, M. Geiger *et al.*, J. Phys. A 52,
474001 (2019) (the effective number of parameters at the jamming transition).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import f as f_distribution

from jamming.theory.activations import subset
from jamming.validation import check_count as _check_count
from jamming.validation import check_real as _check_real
from jamming.validation import elementwise as _elementwise

#: Activations covered by :func:`effective_parameters`.
ACTIVATIONS = subset("relu", "tanh", "erf", "identity")


@dataclass(frozen=True)
class EffectiveParameters:
    r"""Rank of the Jacobian of a linearised network, with its bookkeeping.

    Attributes
    ----------
    n_eff : int
        :math:`N_\mathrm{eff} = \min(P - s, N_\mathrm{data})` (no cap when ``n_data`` is
        ``None``).
    n_weights : int
        :math:`P`, the number of parameters (weights and biases).
    n_symmetries : int
        :math:`s`, the dimension of the null space every data set leaves in the Jacobian:
        continuous symmetries of the parametrisation plus other forced degeneracies.
    explanation : str
        How :math:`s` arises in this case.
    """

    n_eff: int
    n_weights: int
    n_symmetries: int
    explanation: str

    @property
    def rank(self) -> int:
        r""":math:`P - s`, the rank for :math:`N_\mathrm{data}\to\infty` (before the cap)."""
        return self.n_weights - self.n_symmetries


def _check_bias(bias) -> int:
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool; got {bias!r}")
    return int(bias)


def _cap(rank: int, n_data) -> int:
    if n_data is None:
        return rank
    return min(rank, _check_count("n_data", n_data))


def parameter_count(input_dim: int, width: int, *, depth: int = 1, bias: bool = False) -> int:
    r"""Number of parameters :math:`P = dh + (L-1)h^2 + h + \beta Lh`.

    Parameters
    ----------
    input_dim, width, depth : int
        :math:`d, h, L \ge 1`.
    bias : bool
        Biases in the hidden layers (there is never an output bias).
    """
    d = _check_count("input_dim", input_dim)
    h = _check_count("width", width)
    depth = _check_count("depth", depth)
    beta = _check_bias(bias)
    return d * h + (depth - 1) * h * h + h + beta * depth * h


def effective_parameters(input_dim: int, width: int, *, depth: int = 1,
                         activation: str = "relu", bias: bool = False,
                         n_data: int | None = None) -> EffectiveParameters:
    r"""Generic rank of the Jacobian of a network linearised at its initialisation.

    See ``docs/derivations/parameters.md`` for the derivations. In short, with :math:`P` from
    :func:`parameter_count` and :math:`\beta` = ``bias``:

    ============  ==========================  ===============================================
    activation    :math:`P - s`               status
    ============  ==========================  ===============================================
    relu          :math:`P - Lh`              exact at :math:`L = 1` when no neuron is stable
                                              and the data resolve every neuron (see
                                              :func:`relu_rank_bound`); maximal value for
                                              :math:`L\ge2` (see :func:`relu_rank_bound`)
    relu, d = 1,  :math:`\min(2, P - Lh)`     :math:`f` is positively homogeneous in
    no bias                                   :math:`x`: spanned by :math:`x_\pm`
    tanh, erf     :math:`P`                   exact, generic (numerical rank may be lower
                                              in small :math:`d`)
    identity      :math:`d + \beta`           exact (affine functions)
    ============  ==========================  ===============================================

    and :math:`N_\mathrm{eff} = \min(P - s, N_\mathrm{data})`. The cap is attained with
    probability one for analytic activations. For ReLU, count in :math:`N_\mathrm{data}`
    only the points where some neuron of the last hidden layer is active: the others have
    an all-zero Jacobian row (at :math:`L = 1` without bias, probability :math:`2^{-h}`
    per point over the initialisation); and the data must populate enough activation
    regions, each of which contributes at most :math:`d+\beta` dimensions.

    Parameters
    ----------
    input_dim : int
        :math:`d \ge 1`.
    width : int
        :math:`h \ge 1`, the width of every hidden layer.
    depth : int
        :math:`L \ge 1`, the number of hidden layers.
    activation : {"relu", "tanh", "erf", "identity"}
    bias : bool
        Biases in the hidden layers; the output has none.
    n_data : int or None
        :math:`N_\mathrm{data} \ge 1`, or ``None`` for the data-independent rank.

    Returns
    -------
    EffectiveParameters

    Examples
    --------
    >>> effective_parameters(10, 100).n_eff                 # one-hidden-layer ReLU: h d
    1000
    >>> effective_parameters(10, 100, activation="tanh", bias=True).n_eff
    1200
    >>> effective_parameters(10, 100, depth=3, activation="identity", bias=True).n_eff
    11
    """
    n_weights = parameter_count(input_dim, width, depth=depth, bias=bias)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got "
                         f"{activation!r}")
    d, h, beta = int(input_dim), int(width), int(bias)
    if activation == "relu":
        rank = n_weights - depth * h
        explanation = (
            f"ReLU is positively homogeneous: rescaling the incoming weights{' and bias' * beta}"
            f" of each of the {depth} x {h} hidden neurons by c and its outgoing weights by "
            f"1/c leaves f unchanged, {depth * h} independent null directions. "
        )
        if d == 1 and not bias:
            rank = min(rank, 2)
            explanation += ("With d = 1 and no bias f(x) = f(1) x_+ + f(-1) (-x)_+ is "
                            "positively homogeneous in x: at most 2 functions.")
        elif depth == 1:
            explanation += ("Exact for one hidden layer when every neuron's hyperplane cuts "
                            "the data" + (" (always, without bias)." if not bias else
                                          "; stable neurons and small caps: see "
                                          "relu_rank_bound and shallow_relu_rank."))
        else:
            explanation += ("For depth >= 2 this is the maximal rank; stable or locally "
                            "stable neurons of a random initialisation can lower it "
                            "(see relu_rank_bound).")
    elif activation in ("tanh", "erf"):
        rank = n_weights
        explanation = (f"{activation} is analytic and not homogeneous: the symmetries of the "
                       "parametrisation are discrete (permutations, sign flips) and the "
                       "Jacobian has full rank generically.")
    else:
        rank = d + beta
        explanation = (f"A linear network computes an affine function v.x{' + c' * beta}: "
                       f"its function space has dimension d{' + 1' * beta} = {rank} and the "
                       f"other {n_weights - rank} directions are degenerate.")
    return EffectiveParameters(n_eff=_cap(rank, n_data), n_weights=n_weights,
                               n_symmetries=n_weights - rank, explanation=explanation)


def _low_rank_dimension(k: int, m: int, n: int) -> int:
    r"""Dimension of the :math:`m\times n` matrices of rank at most :math:`k`."""
    r = min(k, m, n)
    return r * (m + n - r)


def _layer_counts(name: str, value, depth: int) -> tuple[int, ...]:
    if value is None:
        return (0,) * depth
    counts = tuple(value)
    if len(counts) != depth:
        raise ValueError(f"{name} must give one count per hidden layer ({depth}); got "
                         f"{value!r}")
    return tuple(_check_count(f"{name}[{i}]", c, 0) for i, c in enumerate(counts))


def relu_rank_bound(input_dim: int, width: int, *, depth: int = 1, bias: bool = False,
                    dead=None, always_active=None,
                    n_data: int | None = None) -> EffectiveParameters:
    r"""Rank of a ReLU network's Jacobian given its stable neurons: exact at depth 1 when the
    data resolve every neuron, an upper bound otherwise.

    A hidden neuron is *dead* if its pre-activation is :math:`\le 0` on every data point,
    *always active* if it is :math:`> 0` on every data point, and *crossing* otherwise
    (counts :math:`D_l, A_l, C_l = h - D_l - A_l` in layer :math:`l`).

    - A dead neuron has zero derivatives for all its parameters: remove it.
    - :math:`L = 1`: crossing neurons give :math:`d+\beta` dimensions each (proof in
      ``docs/derivations/parameters.md``); always-active neurons are linear and together give the
      :math:`d+\beta` affine functions once:

      .. math:: N = (d+\beta)\,\big(C_1 + \mathbb{1}[A_1\ge1]\big).

    - :math:`L = 2`: with :math:`U = W^2_{\cdot A_1}`, :math:`V = W^1_{A_1\cdot}`, the
      always-active neurons of layer 1 feed layer 2 through :math:`UVx + Ub^1_{A_1}`: a
      matrix of rank :math:`\le A_1` (symmetry :math:`GL(A_1)` instead of
      :math:`A_1` rescalings), and :math:`Ub^1_{A_1}` is absorbed by :math:`b^2`. The
      always-active neurons of layer 2 sum to one linear readout
      :math:`u\cdot\phi(z^1_{C_1}) + g\cdot x + s` with :math:`g` in the row space of
      :math:`V`. Counting the coordinates of this factorisation and subtracting the
      :math:`C_1 + C_2` rescalings,

      .. math::

          N \le C_1(d+\beta) - C_1 + C_2(C_1+\beta)
              + \dim\mathcal{M}_{A_1}\big(C_2 + \mathbb{1}[A_2\ge1],\ d\big)
              + \mathbb{1}[A_2\ge1]\,(C_1 + \beta),

      with :math:`\dim\mathcal{M}_k(m, n) = r(m+n-r)`, :math:`r = \min(k, m, n)`, the
      dimension of the :math:`m\times n` matrices of rank :math:`\le k`; :math:`N = 0` when
      layer 2 has no live neuron. This is an upper bound: a layer-1 neuron that is stable
      on the active region of a layer-2 neuron removes further directions.

    With no stable neuron both reduce to :math:`P - Lh` (:func:`effective_parameters`).
    Both assume that the data resolve every crossing neuron (at least :math:`d+\beta`
    points on each side); :func:`shallow_relu_rank` drops that assumption at depth 1.

    Parameters
    ----------
    input_dim, width : int
        :math:`d, h \ge 1`.
    depth : {1, 2}
        Number of hidden layers (the bound is derived for one and two).
    bias : bool
    dead, always_active : sequence of int, length ``depth``, or None
        Stable-neuron counts per hidden layer, measured on the data; ``None``: none.
    n_data : int or None
        Caps the result at :math:`N_\mathrm{data}`.

    Returns
    -------
    EffectiveParameters
        ``n_eff`` the (bound on the) rank; ``n_symmetries`` = :math:`P` minus the rank.
    """
    n_weights = parameter_count(input_dim, width, depth=depth, bias=bias)
    if depth > 2:
        raise ValueError(f"depth must be 1 or 2 (the bound is derived for these); got {depth}")
    d, h, beta = int(input_dim), int(width), int(bias)
    dead = _layer_counts("dead", dead, depth)
    active = _layer_counts("always_active", always_active, depth)
    crossing = []
    for layer, (n_dead, n_active) in enumerate(zip(dead, active, strict=True), start=1):
        if n_dead + n_active > h:
            raise ValueError(f"dead + always_active must be <= width = {h} in layer {layer}; "
                             f"got {n_dead} + {n_active}")
        crossing.append(h - n_dead - n_active)
    if depth == 1:
        rank = (d + beta) * (crossing[0] + min(active[0], 1))
        explanation = (f"{crossing[0]} crossing neurons give d + beta = {d + beta} dimensions "
                       f"each; {active[0]} always-active neurons give the affine functions "
                       f"once; {dead[0]} dead neurons give nothing.")
    else:
        c1, a1, c2, a2 = crossing[0], active[0], crossing[1], active[1]
        has_linear = min(a2, 1)
        if c2 + a2 == 0:
            rank = 0
        elif c1 + a1 == 0:
            if c2:
                raise ValueError("layer 2 cannot have crossing neurons when every layer-1 "
                                 "neuron is dead (their inputs are constant)")
            rank = beta * has_linear
        else:
            rank = (c1 * (d + beta) - c1 + c2 * (c1 + beta)
                    + _low_rank_dimension(a1, c2 + has_linear, d)
                    + has_linear * (c1 + beta))
        explanation = (f"Upper bound from the factorisation with C = ({c1}, {c2}) crossing, "
                       f"A = ({a1}, {a2}) always-active and D = {dead} dead neurons; locally "
                       "stable neurons can lower the rank further.")
    return EffectiveParameters(n_eff=_cap(rank, n_data), n_weights=n_weights,
                               n_symmetries=n_weights - rank, explanation=explanation)


def shallow_relu_rank(input_dim: int, active_counts, n_data: int, *,
                      bias: bool = False) -> EffectiveParameters:
    r"""Rank of a one-hidden-layer ReLU network's Jacobian on a finite data set.

    The finite-data refinement of :func:`relu_rank_bound` (:math:`L = 1`), for neurons
    whose active or inactive side holds fewer than :math:`k = d+\beta` of the
    :math:`N_\mathrm{data}` points. On the data, neuron :math:`i` (active on :math:`a_i`
    points) has the features :math:`\mathbb{1}[z_i>0]\,(x, 1)`, i.e. the :math:`k`
    affine functions restricted to its active set :math:`S_i^+`, and restricting them to
    :math:`m` points in general position leaves :math:`\min(k, m)` of them independent.

    - A mostly inactive neuron (:math:`a_i \le N_\mathrm{data} - a_i`) spans the cap space
      :math:`C_i^+` of dimension :math:`c_i = \min(k, a_i)`.
    - A mostly active neuron spans :math:`\{v - \mathbb{1}[S_i^-]v : v\ \text{affine}\}`,
      :math:`c_i = \min(k, N_\mathrm{data} - a_i)`; an always-active neuron is the case
      :math:`c_i = 0`.

    For generic caps, the span of the mostly-active family :math:`M` (always-active
    included) has dimension :math:`\sum_{i\in M} c_i + \min(k, \sum_{i\in M}(k - c_i))`
    (the kernel of :math:`(v_i)\mapsto(\sum_i v_i, (\mathbb{1}[S_i^-]v_i)_i)` is
    :math:`\{v_i\in\ker P_i, \sum v_i = 0\}`), so

    .. math::

        N = \sum_{i\ \mathrm{crossing}} \min(k, a_i, N_\mathrm{data} - a_i)
            + \min\Big(k,\ k A + \sum_{i\ \mathrm{mostly\ active}}
              \big(k - \min(k, N_\mathrm{data} - a_i)\big)\Big),

    :math:`A` the number of always-active neurons. With every cap of :math:`k` points or
    more it is :math:`k\,(C + \mathbb{1}[A \ge 1])`, :func:`relu_rank_bound`.

    **Theorem (upper bound).** The rank is at most :math:`N`. *Proof.* With :math:`X =
    [x, \beta]` (shape :math:`N_\mathrm{data}\times k`) and :math:`D_i` the diagonal of
    :math:`\mathbb{1}[S_i^+]`, every Jacobian column of neuron :math:`i` (its input weights,
    bias and readout weight) lies in :math:`V_i = \operatorname{range}(D_iX)`, so the rank is
    :math:`\dim\sum_i V_i \le \sum_{i\notin M}\dim V_i + \dim\sum_{i\in M}V_i`. For a mostly
    inactive neuron, :math:`D_iX` has :math:`a_i` non-zero rows and :math:`k` columns:
    :math:`\dim V_i \le c_i`. For the family :math:`M`, :math:`D_iXa = Xa - (I-D_i)Xa`
    puts :math:`\sum_{i\in M}V_i` inside :math:`\operatorname{range}X + \sum_{i\in M}
    \operatorname{range}((I-D_i)X)`, of dimension at most :math:`k + \sum_{i\in M}c_i`,
    and also :math:`\dim\sum_{i\in M}V_i \le k|M| = \sum_{i\in M}c_i + kA +
    \sum_{i\ \mathrm{mostly\ active}}(k - c_i)`; the smaller of the two is the second
    term of :math:`N`. :math:`\square` It is not exact: the subspaces of different neurons
    can intersect beyond the generic count (two neurons whose active sets differ on fewer
    than :math:`k` points, sparsely populated regions), and the measured rank of fresh
    networks falls below it (``S1.relu-rank-finite-data``).

    Parameters
    ----------
    input_dim : int
        :math:`d \ge 1`.
    active_counts : sequence of int, length h
        For each hidden neuron, the number of data points where its pre-activation is
        :math:`> 0` (between 0 and ``n_data``).
    n_data : int
        :math:`N_\mathrm{data} \ge 1`; the result is also capped at it.
    bias : bool

    Returns
    -------
    EffectiveParameters
    """
    d = _check_count("input_dim", input_dim)
    n_data = _check_count("n_data", n_data)
    beta = _check_bias(bias)
    counts = [_check_count(f"active_counts[{i}]", c, 0) for i, c in enumerate(active_counts)]
    if not counts:
        raise ValueError("active_counts must give one count per hidden neuron; got none")
    if max(counts) > n_data:
        raise ValueError(f"active_counts must be <= n_data = {n_data}; got {max(counts)}")
    k = d + beta
    caps, spare, always = 0, 0, 0
    for active in counts:
        inactive = n_data - active
        if active == 0:
            continue
        if inactive == 0:
            always += 1
            spare += k
            continue
        caps += min(k, active, inactive)
        if inactive < active:
            spare += k - min(k, inactive)
    rank = caps + min(k, spare)
    n_weights = parameter_count(d, len(counts), bias=bias)
    explanation = (f"{len(counts) - counts.count(0) - always} crossing neurons give "
                   f"{caps} dimensions (min(d + beta, cap size) each); {always} always-active "
                   f"and the mostly active ones give {min(k, spare)} of the affine functions.")
    return EffectiveParameters(n_eff=min(rank, n_data), n_weights=n_weights,
                               n_symmetries=n_weights - rank, explanation=explanation)


#: The prime of :func:`activation_pattern_rank`'s exact arithmetic, the largest below
#: :math:`2^{62}` (FLINT's ``nmod_mat`` works modulo any word-size integer).
PATTERN_RANK_PRIME = 2**62 - 57


def pattern_classes(patterns, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct activation patterns and how many points carry each.

    Parameters
    ----------
    patterns : array_like of bool, shape (m, h)
        One row per point, or per pattern with ``counts``.
    counts : array_like of int, shape (m,), optional
        Multiplicities (default: one each); rows with count 0 are dropped.

    Returns
    -------
    distinct : numpy.ndarray of bool, shape (c, h)
        Sorted distinct rows.
    points : numpy.ndarray of int64, shape (c,)
        Positive counts.
    """
    table = np.asarray(patterns)
    multiplicity = (np.ones(len(table), dtype=np.int64) if counts is None
                    else np.asarray(counts, dtype=np.int64))
    distinct, inverse = np.unique(table[multiplicity > 0], axis=0, return_inverse=True)
    points = np.bincount(inverse.ravel(), weights=multiplicity[multiplicity > 0],
                         minlength=len(distinct)).astype(np.int64)
    return distinct, points


def activation_pattern_rank(input_dim: int, patterns, counts=None, *, bias: bool = False,
                            seed: int = 0) -> EffectiveParameters:
    r"""Jacobian rank of a one-hidden-layer ReLU network from its activation patterns.

    Exact for data in general position given their patterns, where
    :func:`shallow_relu_rank` (which counts each neuron separately) is an upper bound.

    **Theorem.** Let the data points carry the activation patterns :math:`A(n)\subseteq
    \{1..h\}` (the neurons with a positive pre-activation at :math:`x_n`), and let
    :math:`\tilde x_n = (x_n, \beta)\in\mathbb{R}^k`, :math:`k = d+\beta`. Then

    .. math::

        \operatorname{rank} J \;\le\; N_\mathcal{A} = \min_{\mathcal{S}}\Big(
            k\,\operatorname{rank}_\mathbb{R}\{\mathbb{1}_A : A\in\mathcal{S}\}
            + \#\{n : A(n)\notin\mathcal{S}\}\Big),

    the minimum over sets :math:`\mathcal{S}` of patterns, with equality for almost every
    data set with these patterns (inputs on the sphere :math:`S^{d-1}`, :math:`d\ge2`, or
    with a density), and readout weights :math:`a_i\ne0`.

    *Proof.* The Jacobian columns of neuron :math:`i` (input weights and bias:
    :math:`a_iD_i\tilde X`; readout: :math:`D_i\tilde X\tilde w_i`) span
    :math:`\operatorname{range}(D_i\tilde X)`, so :math:`\operatorname{rank}J =
    \operatorname{rank}[D_1\tilde X,\dots,D_h\tilde X]`, whose row :math:`n` is
    :math:`\mathbb{1}_{A(n)}\otimes\tilde x_n`, a vector of the subspace
    :math:`W_{A(n)} = \mathbb{1}_{A(n)}\otimes\mathbb{R}^k` (no output bias). Vectors chosen
    generically in given subspaces :math:`W_1,\dots,W_N` have rank
    :math:`\min_{T}\big(\dim\sum_{n\in T}W_n + N - |T|\big)` (the matroid induced by the
    polymatroid :math:`T\mapsto\dim\sum_{n\in T}W_n`: Lovász 1977, Mason 1977), and
    :math:`\dim\sum_{n\in T}W_{A(n)} = k\operatorname{rank}\{\mathbb{1}_{A(n)}:n\in T\}`;
    a minimising :math:`T` contains all points of each pattern it meets. The rank is lower
    semicontinuous, so every data set has at most the generic rank. A maximal minor is
    multilinear in :math:`\tilde x_1,\dots,\tilde x_N`, and the points :math:`(x, \beta)`
    of an open piece of the sphere span :math:`\mathbb{R}^k`; so a minor not identically
    zero is not identically zero on any product of activation cells, and vanishes there on
    a null set only. :math:`\square`

    Two cases recover the counts before it: a neuron's own subspace has dimension
    :math:`\min(k, |S_i|)` (:math:`\mathcal{S}` the patterns outside :math:`S_i`), and two
    neurons share :math:`\max(0, k - |S_i\,\triangle\,S_j|)` dimensions, the pair deficit
    that :func:`shallow_relu_rank` misses.

    The minimum is evaluated as the rank, over the field :math:`\mathbb{F}_p`
    (:data:`PATTERN_RANK_PRIME`), of the rows :math:`\mathbb{1}_{A(n)}\otimes g_n` with
    :math:`g_n` uniform in :math:`\mathbb{F}_p^k` (at most :math:`k` rows per pattern
    matter), by FLINT's exact ``nmod_mat.rank`` (``python-flint``; chosen over a hand-written
    elimination for its speed, about 1 s at 2000 x 700). The result is never above
    :math:`N_\mathcal{A}` and, by the Schwartz–Zippel lemma, below it with probability at
    most :math:`N_\mathcal{A}/p < 10^{-15}` for :math:`N_\mathcal{A}\le 10^3`.

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
        Seed of the random field elements (the result does not depend on it, except with
        the probability above).

    Returns
    -------
    EffectiveParameters
        ``n_eff`` the rank :math:`N_\mathcal{A}` (at most the number of points),
        ``n_weights`` :math:`P = h(d+\beta+1)`.

    References
    ----------
    L. Lovász, "Flats in matroids and geometric graphs", in *Combinatorial Surveys*
    (Academic Press, 1977), pp. 45–86. J. H. Mason, "Matroids as the study of geometrical
    configurations", in *Higher Combinatorics* (Reidel, 1977), pp. 133–176.
    """
    d = _check_count("input_dim", input_dim)
    k = d + _check_bias(bias)
    table = np.asarray(patterns)
    if table.ndim != 2 or table.shape[1] < 1 or table.dtype != bool:
        raise ValueError(f"patterns must be a 2-d bool array with one column per hidden "
                         f"neuron; got dtype {table.dtype} and shape {table.shape}")
    multiplicity = (np.ones(len(table), dtype=np.int64) if counts is None
                    else np.asarray(counts, dtype=np.int64))
    if multiplicity.shape != (len(table),) or np.any(multiplicity < 0):
        raise ValueError(f"counts must be {len(table)} non-negative integers, one per "
                         f"pattern; got {counts!r}")
    width = table.shape[1]
    distinct, points = pattern_classes(table, multiplicity)
    live = distinct.any(axis=0)  # neurons active on some point; the others add nothing
    rows = np.repeat(distinct[:, live], np.minimum(points, k), axis=0).astype(np.int64)
    rank = 0
    if rows.size:
        from flint import nmod_mat  # lazy: only this function needs python-flint

        draws = np.random.default_rng(seed).integers(0, PATTERN_RANK_PRIME, size=(len(rows), k))
        matrix = (rows[:, :, None] * draws[:, None, :]).reshape(len(rows), -1)
        rank = nmod_mat(*matrix.shape, matrix.ravel().tolist(), PATTERN_RANK_PRIME).rank()
    n_weights = parameter_count(d, width, bias=bias)
    explanation = (f"generic rank of {len(rows)} rows 1_A (x) x over {len(distinct)} "
                   f"activation patterns of {int(live.sum())} live neurons (k = {k})")
    return EffectiveParameters(n_eff=rank, n_weights=n_weights,
                               n_symmetries=n_weights - rank, explanation=explanation)


@_elementwise("input_dim", "W_std", "b_std")
def stable_neuron_probability(input_dim: int, *, W_std: float = 1.0,
                              b_std: float = 1.0) -> float:
    r"""Probability that a first-layer ReLU neuron with bias is stable on the data sphere.

    The neuron's pre-activation is :math:`z = \sigma_w\,w\cdot x/\sqrt d + \sigma_b b` with
    :math:`w\sim N(0, I_d)`, :math:`b\sim N(0,1)`; on the sphere :math:`\|x\| = \sqrt d`,
    :math:`w\cdot x/\sqrt d` ranges over :math:`[-\|w\|, \|w\|]`, so the neuron is dead or
    always active iff :math:`\sigma_b|b| \ge \sigma_w\|w\|`, with probability

    .. math::

        p = \Pr[\sigma_b^2\chi^2_1 > \sigma_w^2\chi^2_d]
          = \Pr\big[F_{1,d} > d\,\sigma_w^2/\sigma_b^2\big],

    half of it dead and half always active (the sign of :math:`b`). For :math:`d = 2`,
    :math:`p = 1 - (1+\sigma_b^2/\sigma_w^2)^{-1/2}`. At :math:`\sigma_b = \sigma_w`:
    0.29 (:math:`d=2`), 0.076 (5), 0.010 (10), 2.3e-4 (20).

    Parameters
    ----------
    input_dim : int or array_like of int
        :math:`d \ge 1`.
    W_std, b_std : float or array_like
        :math:`\sigma_w, \sigma_b > 0` (``stax.Dense(W_std, b_std)``).

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of the array arguments
        :math:`p`.
    """
    d = _check_count("input_dim", input_dim)
    W_std = _check_real("W_std", W_std, 0.0, strict=True)
    b_std = _check_real("b_std", b_std, 0.0, strict=True)
    return float(f_distribution.sf(d * (W_std / b_std) ** 2, 1, d))


@_elementwise("input_dim", "width", "W_std", "b_std")
def expected_shallow_relu_rank(input_dim: int, width: int, *,
                               W_std: float = 1.0,
                               b_std: float = 1.0) -> float:
    r"""Mean rank of a one-hidden-layer ReLU network with bias, data dense on the sphere.

    With :math:`p` = :func:`stable_neuron_probability`, the crossing neurons are
    :math:`\mathrm{Bin}(h, 1-p)` and the always-active ones :math:`\mathrm{Bin}(h, p/2)`, so
    by :func:`relu_rank_bound` (:math:`L = 1`)

    .. math::

        \mathbb{E}\,N_\mathrm{eff} = (d+1)\,\big[h(1-p) + 1 - (1-p/2)^h\big]

    for :math:`N_\mathrm{data}\to\infty` (without bias the rank is :math:`hd` exactly).
    Arguments as in :func:`stable_neuron_probability`, and ``width`` :math:`h\ge1` (int or
    array_like of int); a float, or an array of the broadcast shape of the array arguments.
    """
    h = _check_count("width", width)
    p = stable_neuron_probability(input_dim, W_std=W_std, b_std=b_std)
    return (input_dim + 1) * (h * (1.0 - p) + 1.0 - (1.0 - p / 2.0) ** h)


def effective_parameters_expr(activation: str = "relu"):
    r"""Sympy form of :math:`P - s` (the paper's equation), for :math:`d \ge 2`.

    Returns
    -------
    tuple
        ``(expr, (d, h, L, beta))``; ``beta`` is 1 with biases and 0 without.
    """
    import sympy as sp

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got "
                         f"{activation!r}")
    d, h, depth, beta = sp.symbols("d h L beta", integer=True, nonnegative=True)
    n_weights = d * h + (depth - 1) * h**2 + h + beta * depth * h
    expr = {"relu": n_weights - depth * h, "tanh": n_weights, "erf": n_weights,
            "identity": d + beta}[activation]
    return expr, (d, h, depth, beta)
