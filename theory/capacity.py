r"""Storage capacity of linear models: Cover's function counting, Gardner's capacity and the
UNSAT branch of the quadratic hinge.

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

With a margin :math:`\kappa`, Gardner's replica computation moves the capacity to
:math:`\alpha_c(\kappa)` (:func:`gardner_capacity`). Beyond :math:`\alpha = 2` the quadratic
hinge has a positive minimum: :func:`quadratic_hinge_unsat` gives it in closed parametric
form (convex Gaussian min-max theorem; derivation in ``docs/derivations/capacity.md``), with
its expansion at :math:`\alpha\to2^+`.

References
----------
T. M. Cover, "Geometrical and statistical properties of systems of linear inequalities with
applications in pattern recognition", IEEE Trans. Electron. Comput. EC-14, 326 (1965).
E. Gardner, "The space of interactions in neural network models", J. Phys. A 21, 257 (1988).
C. Thrampoulidis, E. Abbasi, B. Hassibi, IEEE Trans. Inf. Theory 64, 5592 (2018) (CGMT).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp, ndtr

from jamming.validation import check_count as _check_count
from jamming.validation import check_finite as _check_finite
from jamming.validation import check_scalar as _check_scalar
from jamming.validation import elementwise as _elementwise

#: Critical load of linear separability with random labels (Cover 1965).
ALPHA_C_RANDOM_LABELS = 2.0


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


@_elementwise("n_data", "n_eff")
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
    n_data : int or array_like of int
        Number of labelled points, :math:`N_\mathrm{data} \ge 1`.
    n_eff : int or array_like of int
        Dimension of the feature space (effective parameters), :math:`N_\mathrm{eff} \ge 1`.

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of ``n_data`` and ``n_eff``
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


@_elementwise("n_data", "n_eff")
def cover_probability(n_data: int, n_eff: int) -> float:
    r"""Cover's probability that random labels on points in general position are separable.

    :math:`p(N_\mathrm{data}, N_\mathrm{eff}) = 2^{1-N_\mathrm{data}}
    \sum_{k=0}^{N_\mathrm{eff}-1}\binom{N_\mathrm{data}-1}{k}`, for homogeneous
    (through the origin) linear separators in :math:`\mathbb{R}^{N_\mathrm{eff}}`.
    Correctly rounded for ``n_data <= EXACT_LIMIT``; beyond, ``exp`` of
    :func:`log_cover_probability`. It underflows to 0 only where :math:`p < 10^{-308}`.

    Parameters
    ----------
    n_data : int or array_like of int
        Number of labelled points, :math:`\ge 1`.
    n_eff : int or array_like of int
        Dimension of the feature space, :math:`\ge 1`.

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of ``n_data`` and ``n_eff``
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
    """:func:`cover_probability` over ``n_data`` flattened and truncated to integers.

    Parameters
    ----------
    n_data : array_like, shape (n,)
    n_eff : int

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    return cover_probability(np.ravel(n_data).astype(np.int64), int(n_eff))


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


# --------------------------------------------------------------------------------------
# Gardner capacity of the spherical perceptron
# --------------------------------------------------------------------------------------


class ReplicaSymmetryWarning(UserWarning):
    """A replica-symmetric value was returned where replica symmetry is broken."""


@_elementwise("kappa")
def gardner_capacity(kappa: float) -> float:
    r"""Critical load of the spherical perceptron with stability (margin) :math:`\kappa`.

    Gardner's replica-symmetric result,

    .. math::

        \frac{1}{\alpha_c(\kappa)} = \int_{-\kappa}^{\infty} Dt\,(t+\kappa)^2
        = (1+\kappa^2)\,\Phi(\kappa) + \kappa\,\varphi(\kappa),

    with :math:`Dt` the standard Gaussian measure, :math:`\Phi` and :math:`\varphi` its cdf
    and density. :math:`\alpha_c(0) = 2` is Cover's value. For :math:`\kappa \ge 0` the
    space of solutions is convex, replica symmetry holds and the value is exact. For
    :math:`\kappa < 0` the problem is non-convex and replica symmetry is broken; the
    replica-symmetric value is then only an upper bound on the true capacity (Stojnic 2013),
    and a :class:`ReplicaSymmetryWarning` is issued.

    Parameters
    ----------
    kappa : float or array_like
        Margin :math:`\kappa` (finite), for weights normalised as :math:`\|w\|^2 = N` and
        patterns with unit-variance entries: constraints :math:`y_\mu w\cdot x_\mu/\sqrt{N}
        \ge \kappa`.

    Returns
    -------
    float, or numpy.ndarray of the shape of ``kappa``
        :math:`\alpha_c(\kappa)`.

    References
    ----------
    E. Gardner, "The space of interactions in neural network models", J. Phys. A 21, 257
    (1988). M. Stojnic, "Negative spherical perceptron", arXiv:1306.3979 (2013).
    """
    kappa = _check_scalar("kappa", kappa)
    if not math.isfinite(kappa):
        raise ValueError(f"kappa must be a finite number; got {kappa}")
    if kappa < 0:
        warnings.warn(
            f"gardner_capacity(kappa={kappa}): replica symmetry is broken for kappa < 0; "
            "the replica-symmetric value returned is an upper bound, not exact",
            ReplicaSymmetryWarning,
            stacklevel=2,
        )
    return 1.0 / _second_moment_above(kappa)


def _second_moment_above(s: float) -> float:
    r""":math:`I_2(s) = \int_{-\infty}^{s} Dt\,(s-t)^2 = (1+s^2)\Phi(s) + s\varphi(s)`."""
    return (1.0 + s * s) * float(ndtr(s)) + s * _normal_pdf(s)


def _normal_pdf(s: float) -> float:
    return math.exp(-0.5 * s * s) / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------
# The SAT phase: the hard-margin (optimal-stability) solution and its support vectors
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HardMarginSat:
    r"""The minimum-norm separating :math:`w` at load :math:`\alpha < 2` (random labels).

    Attributes
    ----------
    alpha : float
        :math:`N_\mathrm{data}/N_\mathrm{eff}`.
    kappa : float
        The optimal stability :math:`\kappa(\alpha) > 0`, the root of
        :math:`\alpha\,I_2(\kappa) = 1`: the largest margin of a unit-norm :math:`w`
        (:math:`\|w\|^2 = N_\mathrm{eff}`, patterns of unit-variance entries, constraints
        :math:`y_\mu w\cdot x_\mu/\sqrt{N_\mathrm{eff}} \ge \kappa`).
    n_sv_over_n_eff : float
        :math:`n_\mathrm{SV}/N_\mathrm{eff} = \alpha\,\Phi(\kappa)`: support vectors
        (points on the margin) per parameter.
    n_sv_over_n_data : float
        :math:`n_\mathrm{SV}/N_\mathrm{data} = \Phi(\kappa)`.
    w_norm_sq : float
        :math:`\|w\|^2 = 1/\kappa^2` of the hard-margin SVM
        :math:`\min\|w\|` subject to :math:`y_\mu w\cdot x_\mu \ge 1` on patterns of
        unit-variance entries.
    """

    alpha: float
    kappa: float
    n_sv_over_n_eff: float
    n_sv_over_n_data: float
    w_norm_sq: float


def _second_moment_above_excess(s: float) -> float:
    r""":math:`I_2(s) - \frac12 = E + s^2\Phi(s) + s\varphi(s)` with
    :math:`E = \frac12\operatorname{erf}(s/\sqrt2)`: no cancellation for small :math:`s \ge 0`."""
    return 0.5 * math.erf(s / math.sqrt(2.0)) + s * s * float(ndtr(s)) + s * _normal_pdf(s)


@_elementwise("alpha")
def hard_margin_sat(alpha: float) -> HardMarginSat:
    r"""The SAT phase of random labels: optimal stability, support vectors and :math:`\|w\|`.

    For :math:`\alpha = N_\mathrm{data}/N_\mathrm{eff} < 2` the data are separable, and the
    vanishing-ridge limit of the (quadratic) hinge minimiser is the hard-margin SVM, the
    perceptron of optimal stability. Gardner's theory of that perceptron gives its stability
    :math:`\kappa` as the margin at which :math:`\alpha` is the capacity,
    :math:`\alpha\,I_2(\kappa) = 1` (the inverse of :func:`gardner_capacity`), and the
    distribution of the stabilities: a point whose Gaussian field :math:`t` is below
    :math:`\kappa` is pulled onto the margin, so a fraction :math:`\Phi(\kappa)` of the
    points are support vectors,

    .. math::

        \frac{n_\mathrm{SV}}{N_\mathrm{eff}} = \alpha\,\Phi(\kappa(\alpha)),\qquad
        \|w\|^2 = \frac{1}{\kappa^2}.

    As :math:`\alpha\to0` every point is a support vector (:math:`n_\mathrm{SV}\to
    N_\mathrm{data}`); as :math:`\alpha\to2^-`, :math:`\kappa\to0`,
    :math:`n_\mathrm{SV}/N_\mathrm{eff}\to1` and :math:`\|w\|\to\infty`, meeting the
    UNSAT branch (:func:`quadratic_hinge_unsat`: :math:`N_\Delta/N_\mathrm{eff}\to1`,
    :math:`\|w\| = 1/s \to \infty`).

    *Status*: follows from Gardner's replica-symmetric theory, exact here
    (:math:`\kappa > 0`, a convex problem), whose stabilities have a point mass
    :math:`\Phi(\kappa)` at :math:`\kappa`; the fraction appears in the statistical mechanics
    of support-vector machines (Dietrich, Opper, Sompolinsky 1999). Tested against
    simulations by claim ``S2.support-vectors``.

    Parameters
    ----------
    alpha : float or array_like
        Load :math:`0 < \alpha < 2`.

    Returns
    -------
    HardMarginSat
        For an array ``alpha`` every field is an array of its shape. :math:`\kappa` from
        Brent's method on a cancellation-free form of :math:`\alpha I_2(\kappa) - 1`,
        accurate to about 1e-14 relative.

    Raises
    ------
    ValueError
        If ``alpha`` is not a finite number in :math:`(0, 2)`.

    References
    ----------
    E. Gardner, J. Phys. A 21, 257 (1988); E. Gardner, B. Derrida, J. Phys. A 21, 271 (1988).
    R. Dietrich, M. Opper, H. Sompolinsky, Phys. Rev. Lett. 82, 2975 (1999).
    """
    alpha = _check_scalar("alpha", alpha)
    if not (math.isfinite(alpha) and 0.0 < alpha < ALPHA_C_RANDOM_LABELS):
        raise ValueError(f"alpha must be a finite number in (0, 2) (the SAT phase); got {alpha}")
    # alpha I_2(kappa) - 1 = alpha (I_2 - 1/2) - (2 - alpha)/2, increasing in kappa >= 0
    deficit = 0.5 * (ALPHA_C_RANDOM_LABELS - alpha)
    upper = math.sqrt(2.0 / alpha) + 1.0  # alpha I_2 >= alpha kappa^2 / 2 > 1 there
    kappa = brentq(lambda k: alpha * _second_moment_above_excess(k) - deficit, 0.0, upper,
                   xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    if kappa == 0.0:
        raise ValueError(f"alpha = {alpha!r} is too close to 2 to resolve in float64")
    cdf = float(ndtr(kappa))
    return HardMarginSat(alpha=alpha, kappa=kappa, n_sv_over_n_eff=alpha * cdf,
                         n_sv_over_n_data=cdf, w_norm_sq=1.0 / (kappa * kappa))


@_elementwise("alpha")
def support_vector_fraction(alpha: float) -> float:
    r"""Support vectors per parameter, :math:`n_\mathrm{SV}/N_\mathrm{eff} =
    \alpha\,\Phi(\kappa(\alpha))`, of the hard-margin SVM with random labels at
    :math:`0 < \alpha < 2`.

    See :func:`hard_margin_sat`; ``alpha`` may be an array (the result is then an array of
    its shape).

    Examples
    --------
    >>> round(support_vector_fraction(1.0), 6)
    0.681057

    Raises
    ------
    ValueError
        If ``alpha`` is not in :math:`(0, 2)`.
    """
    return hard_margin_sat(alpha).n_sv_over_n_eff


# --------------------------------------------------------------------------------------
# The UNSAT branch of the quadratic hinge with random labels
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuadraticHingeUnsat:
    r"""Minimum of :math:`\sum_\mu \frac12(1-y_\mu w\cdot x_\mu)_+^2` at load :math:`\alpha > 2`.

    Attributes
    ----------
    alpha : float
        :math:`N_\mathrm{data}/N_\mathrm{eff}`.
    s : float
        The parameter :math:`s = 1/\|w\| > 0` of the parametric solution.
    n_delta_over_n_eff : float
        :math:`N_\Delta/N_\mathrm{eff} = I_2(s)/\Phi(s)` (unsatisfied points per parameter).
    n_delta_over_n_data : float
        :math:`N_\Delta/N_\mathrm{data} = \Phi(s)`.
    loss_over_n_eff : float
        :math:`\mathcal{L}_\mathrm{min}/N_\mathrm{eff} = \frac12 (s + \varphi(s)/\Phi(s))^2`.
    w_norm_sq : float
        :math:`\|w\|^2 = 1/s^2` at the minimum.
    """

    alpha: float
    s: float
    n_delta_over_n_eff: float
    n_delta_over_n_data: float
    loss_over_n_eff: float
    w_norm_sq: float


@_elementwise("s")
def unsat_load(s: float) -> float:
    r"""The load :math:`\alpha(s) = I_2(s)/\Phi(s)^2` of the UNSAT branch at parameter ``s``.

    ``s`` is a finite float or an array (then so is the result, of its shape).
    """
    s = _check_finite("s", s)
    return _second_moment_above(s) / float(ndtr(s)) ** 2


def _unsat_load_excess(s: float) -> float:
    r""":math:`\alpha(s) - 2`, free of cancellation for small ``s``.

    With :math:`\Phi = \frac12 + E`, :math:`I_2 - 2\Phi^2 = s\varphi - E + s^2/2 + s^2E - 2E^2`
    where :math:`E = \frac12\operatorname{erf}(s/\sqrt2)`; the leading terms of
    :math:`s\varphi` and :math:`E` cancel exactly in the formula rather than in floating point.
    """
    e = 0.5 * math.erf(s / math.sqrt(2.0))
    numerator = s * _normal_pdf(s) - e + 0.5 * s * s + s * s * e - 2.0 * e * e
    return numerator / (0.5 + e) ** 2


@_elementwise("alpha")
def quadratic_hinge_unsat(alpha: float) -> QuadraticHingeUnsat:
    r"""The UNSAT branch of the linear model with the quadratic hinge and random labels.

    For :math:`w\in\mathbb{R}^{N_\mathrm{eff}}`, Gaussian inputs :math:`x_\mu` with i.i.d.
    :math:`N(0,1)` entries, random labels and
    :math:`\mathcal{L}(w) = \sum_{\mu\le N_\mathrm{data}} \frac12 (1 - y_\mu w\cdot x_\mu)_+^2`
    (no regularisation), in the limit :math:`N_\mathrm{data}, N_\mathrm{eff}\to\infty` at
    fixed :math:`\alpha = N_\mathrm{data}/N_\mathrm{eff} > 2`, the minimum is given in
    parametric form by :math:`s > 0`:

    .. math::

        \alpha = \frac{I_2(s)}{\Phi(s)^2},\quad
        \frac{N_\Delta}{N_\mathrm{eff}} = \frac{I_2(s)}{\Phi(s)},\quad
        \frac{\mathcal{L}_\mathrm{min}}{N_\mathrm{eff}} =
            \frac12\Big(s + \frac{\varphi(s)}{\Phi(s)}\Big)^2,\quad
        \|w\|^2 = \frac{1}{s^2},

    with :math:`I_2(s) = (1+s^2)\Phi(s) + s\varphi(s)`. For :math:`\alpha \le 2` the data are
    separable (Cover) and the minimum is 0.

    The problem is convex, so the convex Gaussian min-max theorem makes the result exact in
    the limit; the derivation is in ``docs/derivations/capacity.md``. The simulations of
    claim ``S1.unsat-branch`` test it.

    At :math:`\alpha\to2^+` (:math:`s\to0^+`): :math:`N_\Delta/N_\mathrm{eff}\to1`, the loss
    jumps from 0 to :math:`N_\mathrm{eff}/\pi` and :math:`\|w\|\to\infty`; see
    :func:`quadratic_hinge_unsat_expansion`.

    Parameters
    ----------
    alpha : float or array_like
        Load :math:`\alpha > 2`.

    Returns
    -------
    QuadraticHingeUnsat
        For an array ``alpha`` every field is an array of its shape (the branch as a curve).
        Accurate to about 1e-12 relative (``s`` from Brent's method on a cancellation-free
        form of :math:`\alpha(s) - 2`).

    References
    ----------
    C. Thrampoulidis, E. Abbasi, B. Hassibi, "Precise error analysis of regularized
    M-estimators in high dimensions", IEEE Trans. Inf. Theory 64, 5592 (2018) (CGMT).
    S. Franz, G. Parisi, "The simplest model of jamming", J. Phys. A 49, 145001 (2016).
    """
    alpha = _check_scalar("alpha", alpha)
    if not (math.isfinite(alpha) and alpha > ALPHA_C_RANDOM_LABELS):
        raise ValueError(f"alpha must be a finite number > 2 (the UNSAT phase); got {alpha}")
    excess = alpha - ALPHA_C_RANDOM_LABELS
    upper = 1.0
    while _unsat_load_excess(upper) < excess:
        upper *= 2.0
    s = brentq(lambda t: _unsat_load_excess(t) - excess, 0.0, upper, xtol=1e-300,
               rtol=4 * np.finfo(float).eps, maxiter=500)
    if s == 0.0:
        raise ValueError(f"alpha = {alpha!r} is too close to 2 to resolve in float64")
    return _unsat_point(alpha, s)


def _unsat_point(alpha: float, s: float) -> QuadraticHingeUnsat:
    cdf = float(ndtr(s))
    return QuadraticHingeUnsat(
        alpha=alpha,
        s=s,
        n_delta_over_n_eff=_second_moment_above(s) / cdf,
        n_delta_over_n_data=cdf,
        loss_over_n_eff=0.5 * (s + _normal_pdf(s) / cdf) ** 2,
        w_norm_sq=1.0 / (s * s),
    )


@_elementwise("alpha")
def quadratic_hinge_unsat_expansion(alpha: float) -> QuadraticHingeUnsat:
    r"""Leading behaviour of :func:`quadratic_hinge_unsat` as :math:`\alpha \to 2^+`.

    With :math:`\epsilon = \alpha - 2`:

    .. math::

        \frac{N_\Delta}{N_\mathrm{eff}} \simeq 1 + \sqrt{\frac{\epsilon}{\pi-2}},\qquad
        \frac{\mathcal{L}_\mathrm{min}}{N_\mathrm{eff}} \simeq
            \frac{1 + \sqrt{(\pi-2)\,\epsilon}}{\pi},\qquad
        \|w\|^2 \simeq \frac{2(\pi-2)}{\pi\,\epsilon},

    from :math:`\alpha - 2 = 2(1-2/\pi)s^2 + O(s^3)`. The square-root rise of
    :math:`N_\Delta/N_\mathrm{eff}` from the isostatic value 1 and the jump of the loss to
    :math:`1/\pi` are the signatures of the jamming transition of this model; the
    coefficients are checked against a sympy series in the tests (see
    :func:`unsat_branch_series`). Relative error :math:`O(\sqrt\epsilon)`. ``alpha`` as in
    :func:`quadratic_hinge_unsat` (a float or an array).
    """
    alpha = _check_scalar("alpha", alpha)
    if not (math.isfinite(alpha) and alpha > ALPHA_C_RANDOM_LABELS):
        raise ValueError(f"alpha must be a finite number > 2 (the UNSAT phase); got {alpha}")
    eps = alpha - ALPHA_C_RANDOM_LABELS
    s = math.sqrt(math.pi * eps / (2.0 * (math.pi - 2.0)))
    return QuadraticHingeUnsat(
        alpha=alpha,
        s=s,
        n_delta_over_n_eff=1.0 + math.sqrt(eps / (math.pi - 2.0)),
        n_delta_over_n_data=0.5 + s / math.sqrt(2.0 * math.pi),
        loss_over_n_eff=(1.0 + math.sqrt((math.pi - 2.0) * eps)) / math.pi,
        w_norm_sq=2.0 * (math.pi - 2.0) / (math.pi * eps),
    )


def unsat_branch_series(order: int = 3):
    r"""Sympy series of the UNSAT branch in :math:`\sqrt{\alpha - 2}`.

    Inverts :math:`\alpha(s) - 2` order by order and substitutes into
    :math:`N_\Delta/N_\mathrm{eff}` and :math:`\mathcal{L}/N_\mathrm{eff}`.

    Parameters
    ----------
    order : int
        Number of terms beyond the constant (powers :math:`\epsilon^{k/2}`, ``k <= order``).

    Returns
    -------
    dict
        ``{"s": [...], "n_delta_over_n_eff": [...], "loss_over_n_eff": [...]}``: for each
        quantity the exact sympy coefficients :math:`a_0, \dots, a_\mathrm{order}` of
        :math:`\sum_k a_k \epsilon^{k/2}`, :math:`\epsilon = \alpha - 2`.
    """
    import sympy as sp

    n = order + 3  # working precision: coefficients of s^0 ... s^(n-1)
    c = 1 / sp.sqrt(2 * sp.pi)
    # Taylor coefficients of the normal density and cdf, and of I_2 = (1+s^2) Phi + s phi
    pdf = [c * (-sp.Rational(1, 2)) ** (k // 2) / sp.factorial(k // 2) if k % 2 == 0 else 0
           for k in range(n)]
    cdf = [sp.Rational(1, 2)] + [
        c * (-1) ** (k // 2) / (2 ** (k // 2) * sp.factorial(k // 2) * k) if k % 2 else 0
        for k in range(1, n)
    ]
    second = _series_add(_series_add(cdf, _series_shift(cdf, 2, n)), _series_shift(pdf, 1, n))
    excess = _series_mul(second, _series_inverse(_series_mul(cdf, cdf, n), n), n)
    excess[0] -= 2  # alpha(s) - 2 = a_2 s^2 + a_3 s^3 + ...
    # invert r^2 = alpha(s) - 2 for s = sum_k b_k r^k, b_1 > 0
    b = [sp.Integer(0), sp.sqrt(1 / excess[2])]
    for k in range(2, order + 1):
        trial = [*b, sp.Symbol("b")]
        composed = _series_compose(excess, trial + [0] * (n - len(trial)), n)
        b.append(sp.solve(composed[k + 1], sp.Symbol("b"))[0])
    s_series = [sp.simplify(x) for x in b] + [0] * (n - len(b))

    def in_epsilon(coefficients):
        composed = _series_compose(coefficients, s_series, n)[: order + 1]
        return [sp.factor(sp.radsimp(sp.simplify(a))) for a in composed]

    identity = [0, 1] + [0] * (n - 2)
    gap = _series_add(identity, _series_mul(pdf, _series_inverse(cdf, n), n))  # s + phi/Phi
    return {
        "s": [sp.factor(sp.radsimp(sp.simplify(a))) for a in s_series[: order + 1]],
        "n_delta_over_n_eff": in_epsilon(_series_mul(second, _series_inverse(cdf, n), n)),
        "loss_over_n_eff": in_epsilon([x / 2 for x in _series_mul(gap, gap, n)]),
    }


def _series_add(a, b):
    return [x + y for x, y in zip(a, b, strict=True)]


def _series_shift(a, k, n):
    return ([0] * k + list(a))[:n]


def _series_mul(a, b, n):
    import sympy as sp

    return [sp.expand(sum(a[i] * b[k - i] for i in range(k + 1))) for k in range(n)]


def _series_inverse(a, n):
    import sympy as sp

    inverse = [1 / a[0]]
    for k in range(1, n):
        inverse.append(sp.expand(-sum(a[i] * inverse[k - i] for i in range(1, k + 1)) / a[0]))
    return inverse


def _series_compose(a, b, n):
    """Coefficients of a(b(r)) for b(0) = 0, truncated to n terms."""
    result, power = [a[0]] + [0] * (n - 1), [1] + [0] * (n - 1)
    for k in range(1, n):
        power = _series_mul(power, b, n)
        result = [x + a[k] * y for x, y in zip(result, power, strict=True)]
    return result
