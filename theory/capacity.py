r"""Storage capacity of linear models: Cover's function-counting theorem.

Conventions
-----------
``n_data`` (N_data) points in general position in :math:`\mathbb{R}^{N_\mathrm{eff}}`
(``n_eff``) carry independent, uniformly random labels :math:`y_\mu = \pm 1`. The labelled
set is *linearly separable through the origin* when some :math:`w` has
:math:`y_\mu\, w\cdot x_\mu > 0` for every :math:`\mu`. The load is
:math:`\alpha = N_\mathrm{data}/N_\mathrm{eff}` (:math:`\phi` in seed 001; in the
Spigler/Geiger notation :math:`P/N` with :math:`P` data and :math:`N` parameters).

Cover (1965) counts the dichotomies realisable by a homogeneous linear threshold function,
:math:`C(N_\mathrm{data}, N_\mathrm{eff}) =
2\sum_{k=0}^{N_\mathrm{eff}-1}\binom{N_\mathrm{data}-1}{k}`,
so that the probability of separability is

.. math::

    p(N_\mathrm{data}, N_\mathrm{eff})
      = 2^{1-N_\mathrm{data}} \sum_{k=0}^{N_\mathrm{eff}-1} \binom{N_\mathrm{data}-1}{k}
      = \Pr\left[\mathrm{Bin}(N_\mathrm{data}-1, \tfrac12) \le N_\mathrm{eff}-1\right].

It equals 1 for :math:`N_\mathrm{data}\le N_\mathrm{eff}`, 1/2 at
:math:`N_\mathrm{data} = 2N_\mathrm{eff}`, and tends to the step :math:`\Theta(2-\alpha)` as
:math:`N_\mathrm{eff}\to\infty`: the critical load (the SAT/UNSAT or jamming point of the
hinge losses with random labels) is :math:`\alpha_c = \phi_c = 2`.

References
----------
T. M. Cover, "Geometrical and statistical properties of systems of linear inequalities with
applications in pattern recognition", IEEE Trans. Electron. Comput. EC-14, 326 (1965).
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from scipy.special import gammaln, logsumexp, ndtr

#: Critical load of linear separability with random labels (Cover 1965).
ALPHA_C_RANDOM_LABELS = 2.0


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


#: Largest ``n_data`` evaluated in exact integer arithmetic (at most ~30 ms a call).
EXACT_LIMIT = 20_000


def _binomial_partial_sum(m: int, n_terms: int) -> int:
    r"""Exact :math:`\sum_{k<n} \binom{m}{k}` by the recurrence C(m,k+1) = C(m,k)(m-k)/(k+1)."""
    term, total = 1, 0
    for k in range(n_terms):
        total += term
        term = term * (m - k) // (k + 1)
    return total


def _log_binomial_lower_tail(m: int, n_terms: int) -> float:
    r"""Log-space :math:`\log(2^{-m}\sum_{k<n}\binom{m}{k})`, by ``gammaln`` and ``logsumexp``."""
    k = np.arange(n_terms, dtype=np.float64)
    log_binomials = gammaln(m + 1.0) - gammaln(k + 1.0) - gammaln(m - k + 1.0)
    return float(min(0.0, logsumexp(log_binomials) - m * math.log(2.0)))


def log_cover_probability(n_data: int, n_eff: int) -> float:
    r"""Natural logarithm of Cover's separability probability, without overflow at any size.

    By the binomial symmetry, :math:`1-p(N_\mathrm{data}, N_\mathrm{eff}) =
    p(N_\mathrm{data}, N_\mathrm{data}-N_\mathrm{eff})`; the smaller of the two tails is
    summed, and :math:`\log p = \log(1 - q)` (``log1p``) when :math:`p > 1/2`, so that
    values near certainty keep their relative accuracy. For ``n_data <= EXACT_LIMIT`` the
    tail is an exact integer divided by :math:`2^{N_\mathrm{data}-1}` with correct rounding.
    Beyond, it is accumulated in log space (``gammaln`` and ``logsumexp``): no binomial
    coefficient or power of two is formed, cost and memory are :math:`O(N_\mathrm{eff})`, and
    the absolute error of a tail's logarithm grows like
    :math:`\epsilon\, N_\mathrm{data}\log N_\mathrm{data}` (measured:
    :math:`7\times10^{-10}` at :math:`N_\mathrm{eff} = 10^5`, against exact integers).

    Parameters
    ----------
    n_data : int
        Number of labelled points, :math:`N_\mathrm{data} \ge 1`.
    n_eff : int
        Dimension of the feature space (effective parameters), :math:`N_\mathrm{eff} \ge 1`.

    Returns
    -------
    float
        :math:`\log p(N_\mathrm{data}, N_\mathrm{eff}) \le 0`; exactly 0 when
        :math:`N_\mathrm{data} \le N_\mathrm{eff}`.
    """
    n_data = _check_count("n_data", n_data)
    n_eff = _check_count("n_eff", n_eff)
    if n_data <= n_eff:
        return 0.0
    m = n_data - 1
    upper_terms = n_data - n_eff  # 1 - p = 2^-m sum_{k < n_data - n_eff} C(m, k)
    if n_data <= EXACT_LIMIT:
        if upper_terms < n_eff:
            return math.log1p(-(_binomial_partial_sum(m, upper_terms) / 2**m))
        total = _binomial_partial_sum(m, n_eff)
        p = total / 2**m
        return math.log(p) if p > 1e-300 else math.log(total) - m * math.log(2.0)
    if upper_terms < n_eff:
        return math.log1p(-math.exp(_log_binomial_lower_tail(m, upper_terms)))
    return _log_binomial_lower_tail(m, n_eff)


def cover_probability(n_data: int, n_eff: int) -> float:
    r"""Cover's probability that random labels on points in general position are separable.

    :math:`p(N_\mathrm{data}, N_\mathrm{eff}) = 2^{1-N_\mathrm{data}}
    \sum_{k=0}^{N_\mathrm{eff}-1}\binom{N_\mathrm{data}-1}{k}`, for homogeneous
    (through the origin) linear separators in :math:`\mathbb{R}^{N_\mathrm{eff}}`.
    Correctly rounded for ``n_data <= EXACT_LIMIT``; beyond, ``exp`` of
    :func:`log_cover_probability`. It underflows to 0 only where :math:`p < 10^{-308}`.

    Parameters
    ----------
    n_data : int
        Number of labelled points, :math:`\ge 1`.
    n_eff : int
        Dimension of the feature space, :math:`\ge 1`.

    Returns
    -------
    float
        The probability, in [0, 1].

    Examples
    --------
    >>> cover_probability(20, 10)
    0.5
    >>> cover_probability(4, 3)
    0.875
    """
    n_data = _check_count("n_data", n_data)
    n_eff = _check_count("n_eff", n_eff)
    if n_data <= n_eff:
        return 1.0
    if n_data <= EXACT_LIMIT:
        m, upper_terms = n_data - 1, n_data - n_eff
        if upper_terms < n_eff:
            return (2**m - _binomial_partial_sum(m, upper_terms)) / 2**m
        return _binomial_partial_sum(m, n_eff) / 2**m
    return math.exp(log_cover_probability(n_data, n_eff))


def cover_curve(n_data, n_eff: int) -> np.ndarray:
    """:func:`cover_probability` over an array of ``n_data`` at one ``n_eff``.

    Parameters
    ----------
    n_data : array_like of int, shape (n,)
    n_eff : int

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    return np.array([cover_probability(int(n), int(n_eff)) for n in np.ravel(n_data)])


def cover_probability_normal(n_data, n_eff):
    r"""Large-size (central-limit) form of Cover's probability.

    :math:`p \simeq \Phi\big((2N_\mathrm{eff} - N_\mathrm{data})/\sqrt{N_\mathrm{data}-1}\big)`,
    the normal approximation of :math:`\Pr[\mathrm{Bin}(N_\mathrm{data}-1,\frac12)\le
    N_\mathrm{eff}-1]` with continuity correction; its error is :math:`O(1/N_\mathrm{eff})`
    near :math:`\alpha = 2`. At fixed :math:`x = (\alpha-2)\sqrt{N_\mathrm{eff}}` it tends to
    the finite-size scaling function :math:`\Phi(-x/\sqrt{2})` (see
    :func:`cover_scaling_function`).

    Parameters
    ----------
    n_data, n_eff : array_like
        Sizes (broadcast together), ``n_data >= 2``.

    Returns
    -------
    numpy.ndarray or float
        The approximate probability.
    """
    n_data = np.asarray(n_data, dtype=np.float64)
    n_eff = np.asarray(n_eff, dtype=np.float64)
    if np.any(n_data < 2) or np.any(n_eff < 1):
        raise ValueError("cover_probability_normal needs n_data >= 2 and n_eff >= 1")
    return ndtr((2.0 * n_eff - n_data) / np.sqrt(n_data - 1.0))


def cover_scaling_function(x):
    r"""Finite-size scaling function of Cover's probability, :math:`\Phi(-x/\sqrt{2})`.

    With :math:`x = (\alpha - 2)\sqrt{N_\mathrm{eff}}` held fixed as
    :math:`N_\mathrm{eff}\to\infty`, :math:`p(\alpha N_\mathrm{eff}, N_\mathrm{eff})\to
    \Phi(-x/\sqrt{2})`: the transition has width :math:`\propto N_\mathrm{eff}^{-1/2}`.

    Parameters
    ----------
    x : array_like
        Scaling variable :math:`(\alpha - 2)\sqrt{N_\mathrm{eff}}`.
    """
    return ndtr(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0))


def cover_probability_expr():
    r"""Sympy form of Cover's probability, the single source of the paper's equation.

    Returns
    -------
    tuple
        ``(expr, (n_data, n_eff, k))``: the unevaluated sum and its symbols. ``expr.subs``
        with integers and ``.doit()`` evaluates it exactly (rational arithmetic).
    """
    import sympy as sp

    n_data, n_eff, k = sp.symbols("N_data N_eff k", integer=True, positive=True)
    expr = 2 ** (1 - n_data) * sp.Sum(sp.binomial(n_data - 1, k), (k, 0, n_eff - 1))
    return expr, (n_data, n_eff, k)
