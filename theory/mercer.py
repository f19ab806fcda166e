r"""Mercer eigenvalues of dot-product kernels on the sphere (Funk–Hecke) and their decay.

Mercer eigenvalues on the sphere (Funk–Hecke)
---------------------------------------------
:math:`\sigma` is the uniform *probability* measure on :math:`S^{d-1}\subset\mathbb{R}^d`
(:math:`d \ge 2`), :math:`\omega_{d-1} = 2\pi^{d/2}/\Gamma(d/2)` the area of
:math:`S^{d-1}`. :math:`P_k = P_k^{(d)}` is the Legendre polynomial of dimension :math:`d`,
the Gegenbauer polynomial normalised to :math:`P_k(1) = 1`:
:math:`P_k^{(d)}(t) = C_k^{(d-2)/2}(t)/C_k^{(d-2)/2}(1)` for :math:`d\ge3` (Legendre
:math:`P_k` for :math:`d = 3`), Chebyshev :math:`T_k` for :math:`d = 2`; it obeys
:math:`(k+d-2)P_{k+1} = (2k+d-2)\,t\,P_k - k P_{k-1}`. With :math:`\{Y_{kj}\}_{j\le N(d,k)}` an
:math:`L^2(\sigma)`-orthonormal basis of the spherical harmonics of degree :math:`k`, the
addition theorem reads :math:`\sum_j Y_{kj}(x)Y_{kj}(y) = N(d,k)\,P_k(x\cdot y)` (so
:math:`\sum_j Y_{kj}(x)^2 = N(d,k)`), with multiplicities
:math:`N(d,0) = 1`, :math:`N(d,k) = \frac{2k+d-2}{k}\binom{k+d-3}{d-2}`. A dot-product kernel
then has the Mercer decomposition

.. math::

    \kappa(x\cdot y) = \sum_{k\ge0} \mu_k \sum_{j=1}^{N(d,k)} Y_{kj}(x)Y_{kj}(y)
                     = \sum_{k\ge0} \mu_k N(d,k) P_k(x\cdot y),
    \qquad
    \int \kappa(x\cdot y) Y_{kj}(y)\, d\sigma(y) = \mu_k Y_{kj}(x),

and the Funk–Hecke formula gives each distinct eigenvalue :math:`\mu_k` (multiplicity
:math:`N(d,k)`):

.. math::

    \mu_k = \frac{\omega_{d-2}}{\omega_{d-1}} \int_{-1}^{1} \kappa(t) P_k(t)
            (1-t^2)^{(d-3)/2}\, dt,
    \qquad \frac{\omega_{d-2}}{\omega_{d-1}} = \frac{\Gamma(d/2)}{\sqrt\pi\,\Gamma((d-1)/2)}.

In particular :math:`\sum_k N(d,k)\mu_k = \kappa(1)` and :math:`\mu_0 = E_\sigma[\kappa]`.

Kernels of a one-hidden-layer ReLU network. With :math:`u = x\cdot x'` on the sphere,
the arc-cosine kernels of order 0 and 1 (Cho & Saul 2009, normalised to 1 at
:math:`u = 1`) are :math:`\kappa_0(u) = 1 - \arccos(u)/\pi` and
:math:`\kappa_1(u) = (\sqrt{1-u^2} + u(\pi - \arccos u))/\pi`. The NTK of
:math:`f(x) = \sqrt{2/m}\sum_{j=1}^m v_j \max(0, w_j\cdot x)` (:math:`w_j\sim N(0, I_d)`,
:math:`v_j\sim N(0,1)`, both layers trained, no biases, NTK parametrization) is, as
:math:`m\to\infty`, :math:`\kappa_\mathrm{NTK}(u) = u\,\kappa_0(u) + \kappa_1(u)`
(Bietti & Mairal 2019, eq. (8); :math:`\kappa_\mathrm{NTK}(1) = 2`). In ``neural_tangents``
terms this is ``stax.serial(Dense(m, W_std=1), Relu(), Dense(1, W_std=sqrt(2)))`` without
biases applied to :math:`\sqrt{d}\,x` (its first layer divides by the fan-in :math:`d`).

Decay. If near the ends :math:`\kappa(t) = p_\pm(t) + c_\pm (1\mp t)^\nu + o((1\mp t)^\nu)`
with :math:`p_\pm` polynomials and :math:`\nu>0` not an integer, then

.. math::

    \mu_k \simeq \left(c_+ + (-1)^k c_-\right) A(d,\nu)\, k^{-(d-1+2\nu)}, \qquad
    A(d,\nu) = \frac{2^{d-2+\nu}\,\Gamma(d/2)\,\Gamma(\nu+(d-1)/2)}{\sqrt\pi\,\Gamma(-\nu)},

because the Funk–Hecke transform of :math:`(1-t)^\nu` is exactly
:math:`\mu_k = A(d,\nu)\,\Gamma(k-\nu)/\Gamma(k+\nu+d-1)` (:func:`power_kernel_eigenvalue`;
Gradshteyn–Ryzhik 7.391.4) and :math:`P_k(-t) = (-1)^kP_k(t)`; cf. Bietti & Bach 2021,
Theorem 1. For :math:`\kappa_0` (:math:`\nu = 1/2`, :math:`c_\pm = \mp\sqrt2/\pi`) the even
:math:`\mu_{k\ge2}` vanish and :math:`\mu_k \simeq 2^{d-1}\Gamma(d/2)^2\pi^{-2}k^{-d}` for odd
:math:`k`; for :math:`\kappa_1` (:math:`\nu = 3/2`, :math:`c_\pm = 2\sqrt2/(3\pi)`) the odd
:math:`\mu_{k\ge3}` vanish and :math:`\mu_k\simeq 2^d\Gamma(d/2)\Gamma(d/2+1)\pi^{-2}k^{-(d+2)}`
for even :math:`k`; for the NTK (:math:`\nu = 1/2`, :math:`c_\pm = -\sqrt2/\pi`) the odd
:math:`\mu_{k\ge3}` vanish and :math:`\mu_k \simeq 2^{d-1}\Gamma(d/2)^2\pi^{-2}k^{-d}` for even
:math:`k` (Bietti & Mairal 2019, Prop. 5: :math:`\mu_k \asymp k^{-d}`, zero for odd
:math:`k\ge3`; Geifman et al. 2020: the same :math:`k^{-d}` decay as the Laplace kernel).

References
----------
K. Atkinson, W. Han, "Spherical Harmonics and Approximations on the Unit Sphere", Lecture
Notes in Math. 2044, Springer (2012), ch. 2 (addition theorem, Funk–Hecke, N(d, k)).
Y. Cho, L. K. Saul, "Kernel methods for deep learning", NeurIPS (2009).
A. Bietti, J. Mairal, "On the inductive bias of neural tangent kernels", NeurIPS (2019).
A. Geifman et al., "On the similarity between the Laplace and neural tangent kernels",
NeurIPS (2020).
A. Bietti, F. Bach, "Deep equals shallow for ReLU networks in kernel regimes", ICLR (2021).
I. S. Gradshteyn, I. M. Ryzhik, "Table of Integrals", 7.391.4 (Jacobi-polynomial moments).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from jamming.validation import check_count as _check_count
from jamming.validation import check_real as _check_real
from jamming.validation import elementwise as _elementwise

#: Names of the one-hidden-layer ReLU kernels known to this module (see the module docstring).
RELU_KERNELS = ("arccos0", "arccos1", "relu_ntk")


# --------------------------------------------------------------------------------------------
# Mercer eigenvalues of dot-product kernels on S^{d-1} (Funk–Hecke)
# --------------------------------------------------------------------------------------------


def multiplicity(d: int, k: int) -> int:
    r"""Dimension :math:`N(d,k)` of the spherical harmonics of degree ``k`` on :math:`S^{d-1}`.

    :math:`N(d,0) = 1` and :math:`N(d,k) = \frac{2k+d-2}{k}\binom{k+d-3}{d-2}` for
    :math:`k\ge1` (so :math:`N(2,k) = 2`, :math:`N(3,k) = 2k+1`). Exact integer arithmetic.

    Parameters
    ----------
    d : int
        Ambient dimension, :math:`d\ge2` (the sphere is :math:`S^{d-1}`).
    k : int
        Degree, :math:`k\ge0`.
    """
    d = _check_count("d", d, 2)
    k = _check_count("k", k, 0)
    if k == 0:
        return 1
    return (2 * k + d - 2) * math.comb(k + d - 3, d - 2) // k


def funk_hecke_constant(d: int) -> mpmath.mpf:
    r""":math:`\omega_{d-2}/\omega_{d-1} = \Gamma(d/2)/(\sqrt\pi\,\Gamma((d-1)/2))` at mpmath's
    current precision (:math:`1/\pi` for :math:`d = 2`, :math:`1/2` for :math:`d = 3`)."""
    d = _check_count("d", d, 2)
    return mpmath.gamma(mpmath.mpf(d) / 2) / (
        mpmath.sqrt(mpmath.pi) * mpmath.gamma(mpmath.mpf(d - 1) / 2))


def sphere_legendre(k: int, d: int, t):
    r"""Legendre polynomial of dimension ``d``, :math:`P_k^{(d)}(t)`, with :math:`P_k(1) = 1`.

    Three-term recurrence :math:`(j+d-2)P_{j+1} = (2j+d-2)\,t\,P_j - jP_{j-1}`,
    :math:`P_0 = 1`, :math:`P_1 = t`, in the arithmetic of ``t`` (float, numpy array or mpmath).

    Parameters
    ----------
    k : int
        Degree, :math:`\ge0`.
    d : int
        Dimension, :math:`\ge2`.
    t : float, numpy.ndarray of any shape, or mpmath number
    """
    k = _check_count("k", k, 0)
    d = _check_count("d", d, 2)
    previous, current = t * 0 + 1, t
    if k == 0:
        return previous
    for j in range(1, k):
        previous, current = current, ((2 * j + d - 2) * t * current - j * previous) / (j + d - 2)
    return current


@_elementwise("t")
def arccos_kernel_0(t):
    r"""Arc-cosine kernel of order 0, :math:`\kappa_0(t) = 1 - \arccos(t)/\pi`, in mpmath.

    ``t`` in :math:`[-1, 1]`: a number (an ``mpf`` is returned) or an array (a float64 array
    of its shape), as for the other kernels of this module.
    """
    return 1 - mpmath.acos(t) / mpmath.pi


@_elementwise("t")
def arccos_kernel_1(t):
    r""":math:`\kappa_1(t) = (\sqrt{1-t^2} + t(\pi - \arccos t))/\pi`, in mpmath (``t`` as in
    :func:`arccos_kernel_0`)."""
    return (mpmath.sqrt(1 - t * t) + t * (mpmath.pi - mpmath.acos(t))) / mpmath.pi


@_elementwise("t")
def relu_ntk_kernel(t):
    r"""NTK of the two-layer ReLU network, :math:`t\,\kappa_0(t) + \kappa_1(t)`, in mpmath.

    Normalisation of Bietti & Mairal (2019), :math:`\kappa(1) = 2`; see the module docstring.
    ``t`` as in :func:`arccos_kernel_0`.
    """
    angle = mpmath.acos(t)  # t kappa_0 + kappa_1 = (2 t (pi - angle) + sqrt(1 - t^2)) / pi
    return (2 * t * (mpmath.pi - angle) + mpmath.sqrt(1 - t * t)) / mpmath.pi


_KERNEL_FUNCTIONS = {"arccos0": arccos_kernel_0, "arccos1": arccos_kernel_1,
                     "relu_ntk": relu_ntk_kernel}


def relu_kernel(name: str) -> Callable:
    """The mpmath callable of one of :data:`RELU_KERNELS`."""
    if name not in _KERNEL_FUNCTIONS:
        raise ValueError(f"kernel must be one of {', '.join(RELU_KERNELS)}; got {name!r}")
    return _KERNEL_FUNCTIONS[name]


def _tanh_sinh_level(level: int, h0: float, u_max: float):
    """Abscissae ``u = j h`` of one level of the nested tanh-sinh rule (new nodes only)."""
    h = h0 / 2**level
    n = int(u_max / h) + 1
    if level == 0:
        return h, range(-n, n + 1)
    return h, range(-n + (n + 1) % 2, n + 1, 2)  # odd j only


def _funk_hecke_pass(kappa, d: int, k_max: int, wp: int, dps: int, zero_digits: int,
                     max_level: int):
    """One evaluation of all mu_k at working precision ``wp`` (decimal digits).

    Returns the values (mpf), the scales ``M_even, M_odd`` (integrals of the absolute even and
    odd parts times the weight) and the roundoff bound per k, all at precision ``wp``.
    """
    with mpmath.workdps(wp):
        prec = mpmath.mp.prec + 16
        pi = mpmath.pi
        const = 2 * funk_hecke_constant(d)
        # truncate |u| where the tanh-sinh weight ~ exp(-pi sinh u) is below 10^-wp
        u_max = float(mpmath.asinh((wp * mpmath.log(10) + 20) / pi))
        h0 = 0.5
        one = 1 << prec
        coeffs = [(2 * j + d - 2, j, j + d - 2) for j in range(k_max)]
        raw = [0] * (k_max + 1)           # running sums of w * kappa_par * P_k (fixed point)
        scale = [0, 0]                    # running sums of |w * kappa_par| (even, odd)
        previous = None
        for level in range(max_level + 1):
            h, js = _tanh_sinh_level(level, h0, u_max)
            t_fix, w_even, w_odd = [], [], []
            for j in js:
                u = mpmath.mpf(j) * h
                s = pi / 2 * mpmath.sinh(u)
                # theta in (0, pi/2): theta = (pi/4)(1 + tanh s), dtheta/du below
                theta = (pi / 2) / (1 + mpmath.exp(-2 * s))
                weight = (pi * pi / 8) * mpmath.cosh(u) / mpmath.cosh(s) ** 2
                t = mpmath.cos(theta)
                weight *= mpmath.sin(theta) ** (d - 2) * const
                plus, minus = kappa(t), kappa(-t)
                t_fix.append(int(mpmath.ldexp(t, prec)))
                w_even.append(int(mpmath.ldexp(weight * (plus + minus) / 2, prec)))
                w_odd.append(int(mpmath.ldexp(weight * (plus - minus) / 2, prec)))
            t_arr = np.array(t_fix, dtype=object)
            w_arr = (np.array(w_even, dtype=object), np.array(w_odd, dtype=object))
            scale[0] += sum(abs(w) for w in w_even)
            scale[1] += sum(abs(w) for w in w_odd)
            p_prev = np.array([one] * len(t_fix), dtype=object)   # P_0
            p_cur = t_arr                                           # P_1
            raw[0] += int(w_arr[0].sum())
            for k in range(1, k_max + 1):
                if k > 1:
                    a, b, c = coeffs[k - 1]
                    p_prev, p_cur = p_cur, (a * ((t_arr * p_cur) >> prec) - b * p_prev) // c
                raw[k] += int((w_arr[k % 2] * p_cur).sum()) >> prec
            values = [mpmath.ldexp(r, -prec) * h for r in raw]
            scales = [mpmath.ldexp(s_, -prec) * h for s_ in scale]
            noise = [(k + 10) * mpmath.mpf(10) ** (-wp) * scales[k % 2] for k in range(k_max + 1)]
            if previous is not None and level >= 2:
                tolerance = [max(abs(v) * mpmath.mpf(10) ** (-(dps + 5)),
                                 scales[k % 2] * mpmath.mpf(10) ** (-(zero_digits + 3)),
                                 10 * noise[k]) for k, v in enumerate(values)]
                if all(abs(v - p) <= tol for v, p, tol in zip(values, previous, tolerance,
                                                              strict=True)):
                    return values, scales, noise
            previous = values
    raise ArithmeticError(
        f"mercer_eigenvalues: tanh-sinh quadrature did not converge in {max_level} levels "
        f"(d={d}, k_max={k_max}, {wp} digits); is kappa smooth inside (-1, 1)?")


def mercer_eigenvalues(kappa: Callable, d: int, k_max: int, dps: int = 30, *,
                       zero_digits: int | None = None, max_level: int = 14,
                       as_mpf: bool = False) -> np.ndarray | list:
    r"""Mercer eigenvalues :math:`\mu_0,\dots,\mu_{k_\mathrm{max}}` of :math:`\kappa(x\cdot y)`
    on :math:`S^{d-1}` with the uniform probability measure (Funk–Hecke formula).

    :math:`\mu_k = \frac{\omega_{d-2}}{\omega_{d-1}}\int_{-1}^1\kappa(t)P_k(t)
    (1-t^2)^{(d-3)/2}dt` with the normalisation :math:`P_k(1) = 1` (conventions in the module
    docstring): :math:`\kappa(x\cdot y) = \sum_k\mu_k N(d,k)P_k(x\cdot y)`.

    Method. With :math:`t = \cos\theta` and :math:`P_k(-t) = (-1)^kP_k(t)`,
    :math:`\mu_k = 2\frac{\omega_{d-2}}{\omega_{d-1}}\int_0^{\pi/2}\kappa_\pm(\cos\theta)
    P_k(\cos\theta)\sin^{d-2}\theta\,d\theta`, with :math:`\kappa_\pm` the even part of
    :math:`\kappa` for even :math:`k` and the odd part for odd :math:`k` (the interval is split
    at :math:`t = 0`). The substitution turns square-root end-point singularities in :math:`t`
    (arc-cosine kernels and NTKs, :math:`\sqrt{1-t}`; Laplace kernel
    :math:`e^{-\sqrt{2-2t}}`) into analytic functions of :math:`\theta`; other algebraic
    end-point singularities are handled by the tanh-sinh (double-exponential) rule used on
    :math:`[0, \pi/2]`. One nested rule serves all :math:`k`: :math:`\kappa` is evaluated twice
    per node, :math:`P_k` by the three-term recurrence in fixed-point integer arithmetic, and
    the step is halved until every :math:`\mu_k` changes by less than its tolerance. The
    working precision starts at ``dps + 20`` digits and is raised until each
    :math:`\mu_k` is resolved to ``dps`` significant digits (cancellation in the integral of
    :math:`\kappa P_k` costs :math:`\log_{10}(M/|\mu_k|)` digits, :math:`M` below).

    Parameters
    ----------
    kappa : callable
        :math:`t\mapsto\kappa(t)` on :math:`[-1, 1]`, called with mpmath ``mpf`` arguments at
        the working precision (use ``mpmath`` functions inside, e.g. :func:`relu_ntk_kernel`)
        and returning a real number. It must be smooth on :math:`(-1, 1)`; at
        :math:`t = \pm1` it may have integrable algebraic singularities.
    d : int
        Dimension of the ambient space, :math:`d\ge2` (sphere :math:`S^{d-1}`).
    k_max : int
        Largest degree, :math:`\ge0`.
    dps : int
        Significant decimal digits requested for every non-zero :math:`\mu_k`, :math:`\ge1`.
    zero_digits : int, optional
        :math:`\mu_k` is returned as exactly ``mpf(0)`` when
        :math:`|\mu_k| < 10^{-\mathrm{zero\_digits}} M_\pm` with
        :math:`M_\pm = \int|\kappa_\pm(x\cdot e)|\,d\sigma(x)` (the even part for even
        :math:`k`, the odd part for odd :math:`k`), e.g. the odd :math:`\mu_{k\ge3}` of the
        ReLU NTK. Default ``dps + 10``.
    max_level : int
        Most halvings of the quadrature step (default 14) before ``ArithmeticError``.
    as_mpf : bool
        Return the ``mpf`` values at the final working precision instead of float64 (for
        comparisons beyond double precision, or logarithms of neighbouring eigenvalues).

    Returns
    -------
    numpy.ndarray, shape (k_max + 1,), float64; or list of mpmath.mpf if ``as_mpf``
        :math:`\mu_0,\dots,\mu_{k_\mathrm{max}}`, each with ``dps`` correct significant
        digits (or exactly 0 as above) before rounding to float64.

    Examples
    --------
    >>> mercer_eigenvalues(relu_ntk_kernel, 3, 4).tolist()
    [0.5, 0.3333333333333333, 0.078125, 0.0, 0.005208333333333333]
    >>> mpmath.nstr(mercer_eigenvalues(relu_ntk_kernel, 3, 4, as_mpf=True)[1], 20)
    '0.33333333333333333333'
    """
    if not isinstance(as_mpf, bool):
        raise TypeError(f"as_mpf must be a bool; got {as_mpf!r}")
    if not callable(kappa):
        raise TypeError(f"kappa must be a callable t -> kappa(t); got {kappa!r}")
    d = _check_count("d", d, 2)
    k_max = _check_count("k_max", k_max, 0)
    dps = _check_count("dps", dps, 1)
    zero_digits = dps + 10 if zero_digits is None else _check_count("zero_digits",
                                                                     zero_digits, 1)
    max_level = _check_count("max_level", max_level, 3)
    wp = dps + 20
    for _ in range(8):
        values, scales, noise = _funk_hecke_pass(kappa, d, k_max, wp, dps, zero_digits,
                                                 max_level)
        with mpmath.workdps(wp):
            needed = wp
            result = []
            for k, value in enumerate(values):
                scale = scales[k % 2]
                floor = scale * mpmath.mpf(10) ** (-zero_digits)
                if abs(value) <= 10 * noise[k] * mpmath.mpf(10) ** dps:  # not resolved yet
                    if abs(value) < floor and 10 * noise[k] < floor:
                        result.append(mpmath.mpf(0))
                        continue
                    size = max(abs(value), noise[k], floor)
                    lost = int(mpmath.ceil(mpmath.log10((k + 10) * scale / size)))
                    needed = max(needed, dps + lost + 3, wp + 5)
                result.append(value)
        if needed == wp:
            return result if as_mpf else np.array([float(m) for m in result])
        wp = needed
    raise ArithmeticError("mercer_eigenvalues: working precision did not settle")


@_elementwise("nu", "k")
def power_kernel_eigenvalue(nu, d: int, k: int, dps: int = 30) -> mpmath.mpf:
    r"""Exact Funk–Hecke eigenvalue of :math:`\kappa(t) = (1-t)^\nu` on :math:`S^{d-1}`.

    :math:`\mu_k = \frac{2^{d-2+\nu}\Gamma(d/2)\Gamma(\nu+(d-1)/2)}{\sqrt\pi}\,
    \frac{\Gamma(k-\nu)}{\Gamma(-\nu)\Gamma(k+\nu+d-1)}` (from Gradshteyn–Ryzhik 7.391.4 with
    :math:`\alpha=\beta=(d-3)/2`); zero for integer :math:`\nu < k`. It is the exact
    eigenvalue behind :func:`endpoint_decay_law`.

    Parameters
    ----------
    nu : float, mpmath number or array_like
        Exponent, :math:`\nu > -(d-1)/2` (integrability).
    d : int
        Dimension, :math:`\ge2`.
    k : int or array_like of int
        Degree, :math:`\ge0`.
    dps : int
        Working decimal digits.

    Returns
    -------
    mpmath.mpf, or a float64 array of the broadcast shape of array ``nu`` and ``k``
    """
    d = _check_count("d", d, 2)
    k = _check_count("k", k, 0)
    dps = _check_count("dps", dps, 1)
    _check_real("nu", nu, -(d - 1) / 2, strict=True)
    with mpmath.workdps(dps + 10):
        nu = mpmath.mpf(nu)
        prefactor = (mpmath.mpf(2) ** (d - 2 + nu) * mpmath.gamma(mpmath.mpf(d) / 2)
                     * mpmath.gamma(nu + mpmath.mpf(d - 1) / 2) / mpmath.sqrt(mpmath.pi))
        # Gamma(k - nu)/Gamma(-nu) = rising factorial (-nu)_k, exact zero for integer nu < k
        return prefactor * mpmath.rf(-nu, k) / mpmath.gamma(k + nu + d - 1)


# ---- exact rational eigenvalues of the ReLU kernels (odd d) ---------------------------------


def _inverse_sqrt_moment_over_pi(m: int) -> sympy.Rational:
    r""":math:`\frac1\pi\int_{-1}^1 t^m (1-t^2)^{-1/2}dt = \binom{m}{m/2}2^{-m}` (m even)."""
    if m % 2:
        return sympy.Integer(0)
    return sympy.Rational(math.comb(m, m // 2), 2**m)


def _relu_kernel_moments(name: str, n_max: int) -> list:
    r"""Exact :math:`\int_{-1}^1\kappa(t)t^n dt` for n = 0..n_max (sympy Rationals).

    From :math:`\frac1\pi\int\arccos(t)t^n dt = \frac{(-1)^n}{n+1} + \frac{J_{n+1}}{n+1}`
    (integration by parts) and :math:`\frac1\pi\int\sqrt{1-t^2}\,t^n dt = J_n - J_{n+2}`, with
    :math:`J_m` of :func:`_inverse_sqrt_moment_over_pi`.
    """
    def plain(n):           # int t^n
        return sympy.Rational(2, n + 1) if n % 2 == 0 else sympy.Integer(0)

    def arccos_(n):         # (1/pi) int arccos(t) t^n
        return (sympy.Rational((-1) ** n, n + 1)
                + _inverse_sqrt_moment_over_pi(n + 1) / (n + 1))

    def sqrt_(n):           # (1/pi) int sqrt(1 - t^2) t^n
        return _inverse_sqrt_moment_over_pi(n) - _inverse_sqrt_moment_over_pi(n + 2)

    def order0(n):
        return plain(n) - arccos_(n)

    def order1(n):
        return sqrt_(n) + plain(n + 1) - arccos_(n + 1)

    moment = {"arccos0": order0, "arccos1": order1,
              "relu_ntk": lambda n: order0(n + 1) + order1(n)}[name]
    return [moment(n) for n in range(n_max + 1)]


def relu_kernel_eigenvalues_exact(name: str, d: int, k_max: int) -> list:
    r"""Exact Mercer eigenvalues of a ReLU kernel on :math:`S^{d-1}` for odd :math:`d` (sympy).

    For odd :math:`d` the weight :math:`(1-t^2)^{(d-3)/2}`, the constant
    :math:`\omega_{d-2}/\omega_{d-1}` and every moment :math:`\int\kappa(t)t^n dt` of the
    arc-cosine kernels are rational (the :math:`\pi` of :math:`\arccos` and
    :math:`\sqrt{1-t^2}` cancels), so each :math:`\mu_k` is a rational number. Derivation:
    expand :math:`P_k(t)(1-t^2)^{(d-3)/2}` (``sympy.gegenbauer`` normalised by its value at
    1) in monomials and combine with the exact moments. E.g. for the ReLU NTK on
    :math:`S^2` (:math:`d = 3`): :math:`\mu_0 = 1/2`, :math:`\mu_1 = 1/3`,
    :math:`\mu_2 = 5/64`, :math:`\mu_3 = 0`, :math:`\mu_4 = 1/192`.

    Parameters
    ----------
    name : str
        One of :data:`RELU_KERNELS`: ``"arccos0"`` (:math:`\kappa_0`), ``"arccos1"``
        (:math:`\kappa_1`) or ``"relu_ntk"`` (:math:`t\kappa_0 + \kappa_1`).
    d : int
        Odd dimension :math:`\ge3`.
    k_max : int
        Largest degree, :math:`\ge0`.

    Returns
    -------
    list of sympy.Rational, length k_max + 1
    """
    relu_kernel(name)  # validates the name
    d = _check_count("d", d, 3)
    if d % 2 == 0:
        raise ValueError(f"d must be an odd integer >= 3 (rational eigenvalues); got {d}")
    k_max = _check_count("k_max", k_max, 0)
    t = sympy.Symbol("t")
    constant = sympy.nsimplify(sympy.gamma(sympy.Rational(d, 2))
                               / (sympy.sqrt(sympy.pi) * sympy.gamma(sympy.Rational(d - 1, 2))))
    if not constant.is_Rational:
        raise ArithmeticError(f"omega ratio not rational for d={d}: {constant}")
    weight = sympy.Poly((1 - t**2) ** ((d - 3) // 2), t)
    moments = _relu_kernel_moments(name, k_max + d - 3)
    lam = sympy.Rational(d - 2, 2)
    result = []
    for k in range(k_max + 1):
        gegenbauer = sympy.Poly(sympy.gegenbauer(k, lam, t), t)
        legendre = gegenbauer * (1 / gegenbauer.eval(1))
        coefficients = (legendre * weight).all_coeffs()[::-1]
        result.append(constant * sum(c * moments[n] for n, c in enumerate(coefficients)))
    return result


# ---- decay laws ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecayLaw:
    r"""Asymptotic law :math:`\mu_k \simeq C\,k^{-s}` on one parity class of :math:`k`.

    Attributes
    ----------
    exponent : float
        :math:`s = d - 1 + 2\nu`.
    constant : float
        :math:`C` on the class ``parity`` (the other class has constant ``other_constant``).
    parity : str
        ``"even"``, ``"odd"`` or ``"all"``: the class on which the law holds with ``constant``
        (``"all"`` when both classes share it).
    other_constant : float
        Constant of the other class (0.0 for the ReLU kernels: their :math:`\mu_k` vanish
        there beyond a fixed degree).
    nu, c_plus, c_minus : float
        End-point exponent and coefficients: :math:`\kappa(t) = p_\pm(t) + c_\pm(1\mp t)^\nu
        + \dots` near :math:`t = \pm1`.
    """

    exponent: float
    constant: float
    parity: str
    other_constant: float
    nu: float
    c_plus: float
    c_minus: float

    def __call__(self, k):
        """Predicted :math:`\\mu_k` (float or numpy array) for ``k`` in the class."""
        return self.constant * np.asarray(k, dtype=np.float64) ** (-self.exponent)


def endpoint_decay_law(d: int, nu: float, c_plus: float, c_minus: float) -> DecayLaw:
    r"""Leading decay of :math:`\mu_k` from the end-point singularities of :math:`\kappa`.

    :math:`\mu_k \simeq (c_+ + (-1)^kc_-)A(d,\nu)\,k^{-(d-1+2\nu)}` with
    :math:`A(d,\nu) = 2^{d-2+\nu}\Gamma(d/2)\Gamma(\nu+(d-1)/2)/(\sqrt\pi\,\Gamma(-\nu))`
    (module docstring; Bietti & Bach 2021, Theorem 1).

    Parameters
    ----------
    d : int
        Dimension, :math:`\ge2`.
    nu : float
        Non-integer exponent :math:`\nu > 0`.
    c_plus, c_minus : float
        Coefficients of :math:`(1-t)^\nu` near :math:`t = 1` and :math:`(1+t)^\nu` near
        :math:`t = -1`.
    """
    d = _check_count("d", d, 2)
    nu = _check_real("nu", nu, 0.0, strict=True)
    if float(nu).is_integer():
        raise ValueError(f"nu must be a non-integer number > 0; got {nu}")
    c_plus = _check_real("c_plus", c_plus)
    c_minus = _check_real("c_minus", c_minus)
    amplitude = float(mpmath.mpf(2) ** (d - 2 + nu) * mpmath.gamma(d / 2)
                      * mpmath.gamma(nu + (d - 1) / 2)
                      / (mpmath.sqrt(mpmath.pi) * mpmath.gamma(-nu)))
    even, odd = (c_plus + c_minus) * amplitude, (c_plus - c_minus) * amplitude
    if even == odd:
        parity, constant, other = "all", even, odd
    elif abs(even) >= abs(odd):
        parity, constant, other = "even", even, odd
    else:
        parity, constant, other = "odd", odd, even
    return DecayLaw(exponent=d - 1 + 2 * nu, constant=constant, parity=parity,
                    other_constant=other, nu=nu, c_plus=c_plus, c_minus=c_minus)


def predicted_decay(name: str, d: int) -> DecayLaw:
    r"""Predicted decay of the Mercer eigenvalues of a ReLU kernel on :math:`S^{d-1}`.

    =============  ===========  =========================================  ==========
    kernel         exponent     constant                                   non-zero k
    =============  ===========  =========================================  ==========
    ``arccos0``    :math:`d`    :math:`2^{d-1}\Gamma(d/2)^2/\pi^2`         odd
    ``arccos1``    :math:`d+2`  :math:`2^d\Gamma(d/2)\Gamma(d/2+1)/\pi^2`   even
    ``relu_ntk``   :math:`d`    :math:`2^{d-1}\Gamma(d/2)^2/\pi^2`         even
    =============  ===========  =========================================  ==========

    On the other parity class the eigenvalues vanish exactly beyond :math:`k = 1` (the odd
    parts of :math:`\kappa_1` and of the NTK are :math:`t/2` and :math:`t`; the even part of
    :math:`\kappa_0` is 1/2). Exponents: Bietti & Mairal (2019), Prop. 5 (NTK,
    :math:`k^{-d}`), Bach (2017) and Bietti & Bach (2021) (arc-cosine kernels of order
    :math:`\alpha`: :math:`k^{-d-2\alpha}`), Geifman et al. (2020) (NTK and Laplace kernel,
    both :math:`k^{-d}`); constants from :func:`endpoint_decay_law`.
    """
    relu_kernel(name)
    d = _check_count("d", d, 2)
    root2_pi = math.sqrt(2.0) / math.pi
    if name == "arccos0":
        return endpoint_decay_law(d, 0.5, -root2_pi, root2_pi)
    if name == "arccos1":
        return endpoint_decay_law(d, 1.5, 2 * root2_pi / 3, 2 * root2_pi / 3)
    return endpoint_decay_law(d, 0.5, -root2_pi, -root2_pi)


@dataclass(frozen=True)
class DecayFit:
    r"""Least-squares fit :math:`\log\mu_k = \log C - s\log k` on one parity class.

    Attributes
    ----------
    exponent : float
        :math:`s`.
    exponent_stderr : float
        Standard error of :math:`s` from the regression residuals (ordinary least squares).
        The :math:`O(1/k)` corrections to the power law are systematic, so this measures the
        curvature of :math:`\log\mu_k` over the range, not a statistical error; the fitted
        :math:`s` approaches the asymptotic exponent like :math:`1/k_\mathrm{min}`.
    constant : float
        :math:`C`.
    degrees : numpy.ndarray of int, shape (n,)
        The degrees used.
    local_exponents : numpy.ndarray, shape (n - 1,)
        :math:`-\Delta\log\mu/\Delta\log k` between consecutive degrees used.
    """

    exponent: float
    exponent_stderr: float
    constant: float
    degrees: np.ndarray
    local_exponents: np.ndarray


def fit_decay_exponent(mu: Sequence, k_min: int, k_max: int | None = None,
                       parity: str | None = None) -> DecayFit:
    r"""Fit the decay exponent of Mercer eigenvalues on a range of degrees.

    Parameters
    ----------
    mu : sequence of numbers, length >= k_max + 1
        :math:`\mu_0, \mu_1, \dots` (mpmath numbers or floats), indexed by degree.
    k_min : int
        Smallest degree used, :math:`\ge1`.
    k_max : int, optional
        Largest degree used (default ``len(mu) - 1``).
    parity : {"even", "odd", "all"}, optional
        Class of degrees used. Default: the class (``"even"`` or ``"odd"``) whose
        :math:`\mu_k` on the range are all non-zero, or ``"all"`` when both are.

    Returns
    -------
    DecayFit
        Uses only the non-zero :math:`\mu_k` of the class; at least 3 are required and they
        must have one sign.
    """
    k_min = _check_count("k_min", k_min, 1)
    k_max = len(mu) - 1 if k_max is None else _check_count("k_max", k_max, k_min)
    if k_max >= len(mu):
        raise ValueError(f"k_max must be <= len(mu) - 1 = {len(mu) - 1}; got {k_max}")
    values = {k: mpmath.mpf(mu[k]) for k in range(k_min, k_max + 1)}
    if parity is None:
        nonzero_even = all(values[k] != 0 for k in values if k % 2 == 0)
        nonzero_odd = all(values[k] != 0 for k in values if k % 2 == 1)
        parity = ("all" if nonzero_even and nonzero_odd
                  else "even" if nonzero_even else "odd" if nonzero_odd else None)
        if parity is None:
            raise ValueError("mu has zeros in both parity classes on the range; pass parity")
    if parity not in ("even", "odd", "all"):
        raise ValueError(f"parity must be 'even', 'odd' or 'all'; got {parity!r}")
    degrees = [k for k in values if values[k] != 0
               and (parity == "all" or k % 2 == (0 if parity == "even" else 1))]
    if len(degrees) < 3:
        raise ValueError(f"need at least 3 non-zero mu_k of parity {parity!r} in "
                         f"[{k_min}, {k_max}]; got {len(degrees)}")
    signs = {mpmath.sign(values[k]) for k in degrees}
    if len(signs) != 1:
        raise ValueError("mu_k change sign on the range; fit |mu_k| explicitly if intended")
    x = np.log(np.array(degrees, dtype=np.float64))
    y = np.array([float(mpmath.log(abs(values[k]))) for k in degrees])
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    dof = len(x) - 2
    variance = float(residual @ residual) / dof if dof > 0 else 0.0
    stderr = math.sqrt(variance / float(((x - x.mean()) ** 2).sum()))
    local = -np.diff(y) / np.diff(x)
    return DecayFit(exponent=float(-coef[1]), exponent_stderr=stderr,
                    constant=float(np.exp(coef[0])) * float(next(iter(signs))),
                    degrees=np.array(degrees), local_exponents=local)
