r"""Random-matrix laws of Gram matrices: Marchenko–Pastur, Edelman, Pennington–Worah.

Marchenko–Pastur and Edelman
----------------------------
For :math:`\Phi \in \mathbb{R}^{N_\mathrm{data}\times N_\mathrm{eff}}` with i.i.d.
:math:`N(0,1)` entries and :math:`\phi = N_\mathrm{data}/N_\mathrm{eff}`, the non-zero
eigenvalues of :math:`K/N_\mathrm{eff} = \Phi\Phi^\top/N_\mathrm{eff}` (equivalently of
:math:`\Phi^\top\Phi/N_\mathrm{eff}`) follow the Marchenko–Pastur law with edges
:math:`(1\pm\sqrt\phi)^2`; there are :math:`\min(N_\mathrm{data}, N_\mathrm{eff})` of them.
The smallest non-zero eigenvalue therefore tends to :math:`(1-\sqrt\phi)^2`, which closes at
the interpolation threshold :math:`\phi = 1` of the square loss: below it
(:math:`\phi<1`) the Gram matrix is invertible and the data are interpolated; above it the
rank is :math:`N_\mathrm{eff} < N_\mathrm{data}`. At :math:`\phi = 1` (square
:math:`N\times N` matrices) the edge is hard: :math:`N\sigma_\mathrm{min}^2 = N^2
\lambda_\mathrm{min}` has Edelman's limit law
:math:`P(N^2\lambda_\mathrm{min}\le x) = 1 - e^{-x/2-\sqrt{x}}`.

Pennington–Worah
----------------
:math:`X\in\mathbb{R}^{n_0\times m}` and :math:`W\in\mathbb{R}^{n_1\times n_0}` have i.i.d.
:math:`N(0,1)` entries, :math:`Y = f(WX/\sqrt{n_0}) \in\mathbb{R}^{n_1\times m}` (entrywise),
:math:`M = YY^\top/m` (:math:`n_1\times n_1`), and :math:`n_0, n_1, m\to\infty` with
:math:`\phi = n_0/m` and :math:`\psi = n_0/n_1` fixed. With :math:`z\sim N(0,1)`, the
activation is centred, :math:`E[f(z)] = 0`, and :math:`\eta = E[f(z)^2]`,
:math:`\zeta = E[f'(z)]^2` (:math:`0\le\zeta\le\eta`). The Stieltjes transform
:math:`G(z) = \int \rho(\lambda)\,d\lambda/(z-\lambda)` of the limiting spectrum of
:math:`M` is :math:`G(z) = \frac{\psi}{z}P\!\left(\frac{1}{z\psi}\right) + \frac{1-\psi}{z}`,
where :math:`P = P(t)` solves the quartic

.. math::

    P = 1 + (\eta-\zeta)\,t\,P_\phi P_\psi + \frac{P_\phi P_\psi\, t\,\zeta}
        {1 - P_\phi P_\psi\, t\,\zeta}, \qquad P_\phi = 1 + (P-1)\phi,\
        P_\psi = 1 + (P-1)\psi

(Pennington & Worah 2017, Theorem 1). In code their :math:`\phi` and :math:`\psi` are
``dim_per_sample`` (:math:`n_0/m = d/N_\mathrm{data}`) and ``dim_per_feature``
(:math:`n_0/n_1 = d/N_\mathrm{eff}`): elsewhere in the package ``phi`` is the load
:math:`N_\mathrm{data}/N_\mathrm{eff}` (as in :func:`marchenko_pastur_edges`) and ``psi`` is
:math:`N_\mathrm{eff}/d` (features per input dimension, :mod:`jamming.theory.teacher`), the
reciprocal of theirs. The density is
:math:`\rho(\lambda) = -\operatorname{Im} G(\lambda + i0^+)/\pi` on the branch with
:math:`G(z)\sim 1/z` at infinity (followed down from :math:`\lambda + i\infty`). Special
cases: :math:`\zeta = 0` gives Marchenko–Pastur with ratio :math:`n_1/m = \phi/\psi` scaled
by :math:`\eta`; :math:`\zeta = \eta` (linear :math:`f`) gives the spectrum of the product
:math:`WXX^\top W^\top/(n_0 m)` of two Wishart matrices, not Marchenko–Pastur. For
:math:`\zeta<\eta` the rank is :math:`\min(n_1, m)`, the atom at zero has mass
:math:`\max(0, 1-\psi/\phi)`, and the lower edge reaches 0 at :math:`\phi = \psi`
(:math:`n_1 = m`): the interpolation threshold of random-features regression with
:math:`N_\mathrm{eff} = n_1` features and :math:`N_\mathrm{data} = m` samples, load
:math:`N_\mathrm{data}/N_\mathrm{eff} = \psi/\phi = 1`.

References
----------
V. A. Marchenko, L. A. Pastur, Math. USSR Sbornik 1, 457 (1967).
A. Edelman, "Eigenvalues and condition numbers of random matrices", SIAM J. Matrix Anal.
Appl. 9, 543 (1988).
J. Pennington, P. Worah, "Nonlinear random matrix theory for deep learning", NeurIPS (2017).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import sympy
from numpy.polynomial import polynomial as _poly
from scipy.integrate import quad

from jamming.theory.activations import gaussian_moments
from jamming.validation import check_real as _check_real
from jamming.validation import elementwise as _elementwise

# --------------------------------------------------------------------------------------------
# Marchenko–Pastur and Edelman
# --------------------------------------------------------------------------------------------


@_elementwise("phi")
def marchenko_pastur_edges(phi: float) -> tuple[float, float]:
    """Edges :math:`(1\\mp\\sqrt\\phi)^2` of the non-zero spectrum of ``K / N_eff``.

    ``phi`` is :math:`N_\\mathrm{data}/N_\\mathrm{eff} > 0`, a float or an array; the edges
    are floats, or arrays of its shape.
    """
    phi = _check_real("phi", phi, 0.0, strict=True)
    root = math.sqrt(phi)
    return (1.0 - root) ** 2, (1.0 + root) ** 2


@_elementwise("phi")
def smallest_nonzero_eigenvalue(phi: float) -> float:
    """Limit of the smallest non-zero eigenvalue of ``K / N_eff``: :math:`(1-\\sqrt\\phi)^2`.

    ``phi`` as in :func:`marchenko_pastur_edges` (float or array).
    """
    return marchenko_pastur_edges(phi)[0]


def marchenko_pastur_density(x, phi: float) -> np.ndarray:
    r"""Continuous part of the limiting eigenvalue density of ``K / N_eff`` (N_data eigenvalues).

    :math:`\rho(x) = \sqrt{(b-x)(x-a)}/(2\pi\phi x)` on :math:`[a, b] = [(1-\sqrt\phi)^2,
    (1+\sqrt\phi)^2]`, zero outside. It integrates to :math:`\min(1, 1/\phi)`; the rest is
    the atom at 0 (:func:`marchenko_pastur_atom`). The density of the spectrum of
    :math:`\Phi^\top\Phi/N_\mathrm{eff}` (N_eff eigenvalues) is :math:`\phi\,\rho`.

    Parameters
    ----------
    x : array_like, shape (n,) or scalar
        Eigenvalue(s).
    phi : float
        :math:`N_\mathrm{data}/N_\mathrm{eff} > 0` (one value).

    Returns
    -------
    numpy.ndarray, shape of ``x``
    """
    phi = _check_real("phi", phi, 0.0, strict=True)
    low, high = marchenko_pastur_edges(phi)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > low) & (x < high)
    safe = np.where(inside, x, 1.0)
    value = np.sqrt(np.clip((high - safe) * (safe - low), 0.0, None)) / (2 * math.pi * phi * safe)
    return np.where(inside, value, 0.0)


@_elementwise("phi")
def marchenko_pastur_atom(phi: float) -> float:
    """Mass :math:`\\max(0, 1 - 1/\\phi)` of the zero eigenvalue in the spectrum of ``K/N_eff``.

    ``phi`` as in :func:`marchenko_pastur_edges` (float or array).
    """
    phi = _check_real("phi", phi, 0.0, strict=True)
    return max(0.0, 1.0 - 1.0 / phi)


def edelman_hard_edge_mean() -> float:
    """:math:`\\lim_N E[N^2\\lambda_\\mathrm{min}(\\Phi^\\top\\Phi/N)]` for square Gaussian Phi.

    The mean of Edelman's law, :math:`\\int_0^\\infty e^{-x/2-\\sqrt{x}}\\,dx`.
    """
    value, _ = quad(lambda x: math.exp(-x / 2.0 - math.sqrt(x)), 0.0, math.inf,
                    epsabs=1e-14, epsrel=1e-13)
    return value


# --------------------------------------------------------------------------------------------
# Pennington–Worah: nonlinear random-feature Gram matrices
# --------------------------------------------------------------------------------------------


def _check_pw(dim_per_sample, dim_per_feature, eta, zeta):
    """The checked :math:`(\\phi, \\psi, \\eta, \\zeta)` of Pennington & Worah."""
    phi = _check_real("dim_per_sample", dim_per_sample, 0.0, strict=True)
    psi = _check_real("dim_per_feature", dim_per_feature, 0.0, strict=True)
    eta = _check_real("eta", eta, 0.0, strict=True)
    zeta = _check_real("zeta", zeta, 0.0, high=eta)
    return phi, psi, eta, zeta


@cache
def _pw_symbolic(case: str):
    r"""The Pennington–Worah equation as a polynomial in :math:`G` with coefficients polynomial
    in :math:`z`, and its discriminant in :math:`z` (sympy once, then lambdified).

    With :math:`x = P - 1 = (zG - 1)/\psi` and :math:`t = 1/(z\psi)`, the equation times
    :math:`1 - t\zeta A` (:math:`A = (1+\phi x)(1+\psi x)`),
    :math:`x(1-t\zeta A) - (\eta-\zeta)tA(1-t\zeta A) - t\zeta A = 0`, is cleared of
    denominators. Degree 4 in :math:`G` (2 when :math:`\zeta = 0`, 3 when
    :math:`\zeta = \eta`). Working in :math:`G` rather than :math:`P` avoids the cancellation
    in :math:`G = (1+\psi x)/z` near :math:`z = 0`.

    Returns
    -------
    (callable, callable)
        ``coefficients(z, eta, zeta, phi, psi)``: coefficients in increasing powers of
        :math:`G`; ``discriminant(eta, zeta, phi, psi)``: coefficients in increasing powers of
        :math:`z` of the discriminant divided by its largest power of :math:`z`.
    """
    x, t, eta, zeta, phi, psi, z, g = sympy.symbols("x t eta zeta phi psi z G")
    a = (1 + phi * x) * (1 + psi * x)
    q = x * (1 - t * zeta * a) - (eta - zeta) * t * a * (1 - t * zeta * a) - t * zeta * a
    q = q.subs(zeta, {"general": zeta, "zero": sympy.Integer(0), "linear": eta}[case])
    numerator, _ = sympy.fraction(sympy.together(q.subs({x: (z * g - 1) / psi,
                                                         t: 1 / (z * psi)})))
    polynomial = sympy.Poly(sympy.expand(numerator), g)
    coefficients = sympy.lambdify((z, eta, zeta, phi, psi), polynomial.all_coeffs()[::-1],
                                  "numpy")
    disc = sympy.Poly(sympy.discriminant(polynomial), z).all_coeffs()[::-1]
    while disc and disc[0] == 0:
        disc.pop(0)
    return coefficients, sympy.lambdify((eta, zeta, phi, psi), disc, "math")


def _pw_case(eta: float, zeta: float) -> str:
    return "zero" if zeta == 0 else "linear" if zeta == eta else "general"


def _pw_roots(z: np.ndarray, phi, psi, eta, zeta) -> np.ndarray:
    r"""All roots :math:`G` of the Pennington–Worah equation at each spectral parameter
    (eigenvalues of the companion matrix of the polynomial of :func:`_pw_symbolic`).

    Parameters
    ----------
    z : numpy.ndarray of complex, shape (n,)

    Returns
    -------
    numpy.ndarray of complex, shape (n, degree)
    """
    coefficients, _ = _pw_symbolic(_pw_case(eta, zeta))
    c = [np.broadcast_to(np.asarray(ci, dtype=complex), z.shape)
         for ci in coefficients(z, eta, zeta, phi, psi)]
    degree = len(c) - 1
    companion = np.zeros((len(z), degree, degree), dtype=complex)
    companion[:, 1:, :-1] = np.eye(degree - 1)
    companion[:, :, -1] = -np.stack([ci / c[degree] for ci in c[:degree]], axis=-1)
    return np.linalg.eigvals(companion)


def _pw_track(z: np.ndarray, phi, psi, eta, zeta) -> np.ndarray:
    """Physical root G at each ``z`` (Im z >= 0, z != 0), followed down from z + i Y."""
    top = 10.0 * (1.0 + np.abs(z).max() + eta * (1.0 + 1.0 / psi) * (1.0 + phi))
    floor = 1e-13 * (1.0 + np.abs(z.real))
    current = None
    for fraction in np.linspace(0.0, 1.0, 80):
        heights = np.maximum(z.imag, top ** (1 - fraction) * floor ** fraction)
        point = z.real + 1j * heights
        roots = _pw_roots(point, phi, psi, eta, zeta)
        target = 1.0 / point if current is None else current
        current = roots[np.arange(len(z)), np.argmin(np.abs(roots - target[:, None]), axis=1)]
    roots = _pw_roots(z, phi, psi, eta, zeta)
    return roots[np.arange(len(z)), np.argmin(np.abs(roots - current[:, None]), axis=1)]


def pennington_worah_stieltjes(z, dim_per_sample: float, dim_per_feature: float, eta: float,
                               zeta: float):
    r"""Stieltjes transform :math:`G(z) = \int\rho(\lambda)d\lambda/(z-\lambda)` of the limiting
    spectrum of :math:`M = YY^\top/m` (Pennington & Worah 2017; module docstring).

    The physical root of the quartic is followed from :math:`\operatorname{Re}z + iY`
    (:math:`Y` large, where :math:`G\approx 1/z`) down to the requested
    :math:`\operatorname{Im}z \ge 0` along a geometric path, choosing at each step the root
    nearest to the previous one. For real :math:`z` this is :math:`G(z + i0^+)`, with
    :math:`\operatorname{Im}G \le 0`.

    Parameters
    ----------
    z : complex or array_like of complex, shape (n,)
        Spectral parameter(s) with :math:`\operatorname{Im}z\ge0` and :math:`z\ne0`.
    dim_per_sample, dim_per_feature : float
        Pennington & Worah's :math:`\phi = n_0/m > 0` and :math:`\psi = n_0/n_1 > 0`: input
        dimensions per sample and per feature (module docstring).
    eta, zeta : float
        :math:`\eta = E f(z)^2 > 0`, :math:`0\le\zeta = (E f'(z))^2\le\eta`.

    Returns
    -------
    complex, or numpy.ndarray of complex of the shape of ``z``
    """
    phi, psi, eta, zeta = _check_pw(dim_per_sample, dim_per_feature, eta, zeta)
    array = np.asarray(z, dtype=complex)
    flat = array.reshape(-1)
    if np.any(flat.imag < 0) or np.any(flat == 0) or not np.all(np.isfinite(flat)):
        raise ValueError(f"z must be finite, non-zero, with Im z >= 0; got {z}")
    result = _pw_track(flat, phi, psi, eta, zeta).reshape(array.shape)
    return complex(result) if result.ndim == 0 else result


def pennington_worah_density(x, dim_per_sample: float, dim_per_feature: float, eta: float,
                             zeta: float) -> np.ndarray:
    r"""Continuous part :math:`\rho(\lambda) = -\operatorname{Im}G(\lambda+i0^+)/\pi` of the
    limiting spectral density of :math:`M = YY^\top/m` (:math:`n_1` eigenvalues).

    Zero for :math:`\lambda\le0` (the atom at 0 is :func:`pennington_worah_atom`); it
    integrates to ``1 - pennington_worah_atom(...)``.

    Parameters
    ----------
    x : array_like, shape (n,) or scalar
    dim_per_sample, dim_per_feature, eta, zeta : float
        As in :func:`pennington_worah_stieltjes` (one value each).

    Returns
    -------
    numpy.ndarray, shape of ``x``
    """
    phi, psi, eta, zeta = _check_pw(dim_per_sample, dim_per_feature, eta, zeta)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    out = np.zeros(flat.shape)
    positive = flat > 0
    if positive.any():
        g = _pw_track(flat[positive].astype(complex), phi, psi, eta, zeta)
        out[positive] = np.maximum(0.0, -g.imag / math.pi)
    return out.reshape(x.shape)


@_elementwise("dim_per_sample", "dim_per_feature", "eta", "zeta")
def pennington_worah_atom(dim_per_sample: float, dim_per_feature: float, eta: float,
                          zeta: float) -> float:
    r"""Mass of the eigenvalue 0 in the limiting spectrum of :math:`M = YY^\top/m`.

    :math:`1 - \mathrm{rank}/n_1`: :math:`\max(0, 1-\psi/\phi)` when :math:`\zeta<\eta`
    (rank :math:`\min(n_1, m)`), :math:`\max(0, 1-\psi, 1-\psi/\phi)` when
    :math:`\zeta = \eta` (linear :math:`f`, rank :math:`\min(n_0, n_1, m)`). Arguments as in
    :func:`pennington_worah_stieltjes`, floats or arrays (then an array of their broadcast
    shape).
    """
    phi, psi, eta, zeta = _check_pw(dim_per_sample, dim_per_feature, eta, zeta)
    if zeta == eta:
        return max(0.0, 1.0 - psi, 1.0 - psi / phi)
    return max(0.0, 1.0 - psi / phi)


def pennington_worah_edges(dim_per_sample: float, dim_per_feature: float, eta: float,
                           zeta: float) -> list[float]:
    r"""Edges of the support of the continuous part of the Pennington–Worah spectrum.

    The edges are among the real :math:`z > 0` at which the equation for :math:`G` has a
    double root, i.e. the positive roots of its discriminant in :math:`z` (computed
    symbolically once per case with sympy); a candidate is kept when the density
    (:func:`pennington_worah_density`) is positive on exactly one side of it.

    Parameters
    ----------
    dim_per_sample, dim_per_feature, eta, zeta : float
        As in :func:`pennington_worah_stieltjes` (one value each: the number of edges
        depends on them).

    Returns
    -------
    list of float
        Increasing edges :math:`[a_1, b_1, a_2, b_2, \dots]` of the intervals of the support
        (one interval in the cases met so far); ``edges[0]`` is the lower edge, the limit of
        the smallest non-zero eigenvalue of :math:`M`, and is 0.0 when the support reaches 0
        (then the density diverges there). Near the threshold, lower edges below about
        :math:`10^{-9}` times the upper edge are not resolved and read as 0.
    """
    phi, psi, eta, zeta = _check_pw(dim_per_sample, dim_per_feature, eta, zeta)
    _, discriminant = _pw_symbolic(_pw_case(eta, zeta))
    coefficients = np.array([float(c) for c in discriminant(eta, zeta, phi, psi)])
    roots = _poly.polyroots(_poly.polytrim(coefficients, tol=0.0))
    candidates = sorted(r.real for r in roots if abs(r.imag) <= 1e-9 * abs(r) and r.real > 0)
    if not candidates:
        return []
    candidates = np.array(candidates)
    offset = 1e-3 * np.minimum(1.0, np.diff(np.concatenate([[0.0], candidates, [np.inf]]))
                               .clip(max=np.inf)[:-1] / candidates)
    sides = pennington_worah_density(np.concatenate([candidates * (1 - offset),
                                                     candidates * (1 + offset)]),
                                     phi, psi, eta, zeta).reshape(2, -1)
    low, high = sides.min(axis=0), sides.max(axis=0)
    edges = [float(e) for e, small, large in zip(candidates, low, high, strict=True)
             if large > 1e-12 and large > 100 * small]
    if len(edges) % 2:
        edges.insert(0, 0.0)  # the support reaches 0: hard edge
    return edges


@_elementwise("dim_per_feature", "eta", "zeta")
def pennington_worah_interpolation_threshold(dim_per_feature: float, eta: float, zeta: float,
                                             bounds: tuple[float, float] | None = None
                                             ) -> tuple[float, float]:
    r"""Ratio :math:`\phi = n_0/m` (``dim_per_sample``) at which the lower spectral edge of
    :math:`M` reaches 0.

    The lower edge :math:`a_1(\phi)` (:func:`pennington_worah_edges`) is positive on both
    sides of the threshold and touches 0 there quadratically (like :math:`(1-\sqrt{c})^2`
    for Marchenko–Pastur), so :math:`\sqrt{a_1}` is locally linear in :math:`|\phi-\phi^*|`.
    The threshold is located on a grid of :math:`\phi`, then :math:`\sqrt{a_1}` is fitted by a
    straight line on the three resolved points on each side of the minimum (lower edges below
    about :math:`10^{-9}` times the upper edge read as 0 and are skipped), twice on a grid
    narrowed around the first estimate; the two zero crossings are averaged. For
    :math:`\zeta<\eta` the answer is :math:`\phi^* = \psi`, i.e. :math:`n_1 = m`: the
    interpolation threshold :math:`N_\mathrm{data}/N_\mathrm{eff} = m/n_1 = 1` of S1.

    Parameters
    ----------
    dim_per_feature : float or array_like
        :math:`\psi = n_0/n_1 > 0` (as in :func:`pennington_worah_stieltjes`).
    eta, zeta : float or array_like
        With :math:`0\le\zeta<\eta` (the linear case :math:`\zeta = \eta` is refused).
    bounds : (float, float), optional
        Search interval for :math:`\phi`, default :math:`(\psi/4, 4\psi)`.

    Returns
    -------
    (float, float), or two arrays of the broadcast shape of the array arguments
        The threshold :math:`\phi^*` and half the distance between the two one-sided
        zero crossings (a measure of its numerical uncertainty).
    """
    _, psi, eta, zeta = _check_pw(1.0, dim_per_feature, eta, zeta)
    if zeta == eta:
        raise ValueError("zeta must be < eta (a linear activation has rank min(n0, n1, m))")
    low, high = bounds if bounds is not None else (psi / 4, 4 * psi)
    low = _check_real("bounds[0]", low, 0.0, strict=True)
    high = _check_real("bounds[1]", high, low, strict=True)
    estimate, spread = math.sqrt(low * high), math.inf
    for width in (None, 0.05, 0.005):
        if width is None:
            grid = np.geomspace(low, high, 41)
        else:
            span = width * estimate
            grid = np.linspace(max(low, estimate - span), min(high, estimate + span), 41)
        roots = np.sqrt([pennington_worah_edges(phi, psi, eta, zeta)[0] for phi in grid])
        best = int(np.argmin(roots))
        left = [j for j in range(best + 1) if roots[j] > 0][-3:]
        right = [j for j in range(best, len(grid)) if roots[j] > 0][:3]
        if len(left) < 2 or len(right) < 2:
            raise ArithmeticError("the lower edge does not reach 0 inside bounds "
                                  f"({low}, {high}); widen them")
        crossings = []
        for side in (left, right):
            slope, intercept = np.polyfit(grid[side], roots[side], 1)
            crossings.append(-intercept / slope)
        estimate, spread = float(np.mean(crossings)), float(abs(np.diff(crossings)[0]) / 2)
    return estimate, spread


def gaussian_activation_constants(f: Callable, df: Callable,
                                  n_nodes: int = 120) -> tuple[float, float, float]:
    r""":math:`(E f(z),\ \eta = E f(z)^2,\ \zeta = (E f'(z))^2)` for :math:`z\sim N(0,1)`.

    The Gaussian moments of :func:`jamming.theory.activations.gaussian_moments`
    (Gauss–Hermite, ``n_nodes`` nodes); accurate for smooth activations. Pennington–Worah
    require :math:`E f(z) = 0`.

    Parameters
    ----------
    f, df : callable
        The activation and its derivative, vectorised over numpy arrays.
    n_nodes : int
        Number of quadrature nodes, :math:`\ge2`.
    """
    moments = gaussian_moments((f, df), n_nodes=n_nodes)
    return moments.mean, moments.second_moment, moments.derivative_mean ** 2
