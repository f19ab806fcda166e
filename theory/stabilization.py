r"""Loss stabilisation of large-step SGD on the quadratic parametrisation (seed 003).

Conventions
-----------
One-dimensional data :math:`x \sim \hat\rho` with :math:`\mathrm{supp}\,\hat\rho \subset
[x_\mathrm{min}, x_\mathrm{max}]`, :math:`x_\mathrm{min} > 0`, labels :math:`y = x\theta_*^2`
and the loss :math:`F(\theta) = \tfrac14\,\mathbb{E}_{\hat\rho}(y - x\theta^2)^2`. The
per-sample gradient is :math:`-x\theta(y - x\theta^2)`, so SGD with step :math:`\eta` reads

.. math::

    \theta_{t+1} = \theta_t + \eta\, x_{i_t}^2\, \theta_t(\theta_*^2 - \theta_t^2).

With the **normalised parameter** :math:`z = \theta/\theta_*` (dividing by :math:`\theta_*`)
and :math:`\gamma = \eta\,\theta_*^2 x^2` this is the random map

.. math::

    z_{t+1} = h_{\gamma_t}(z_t), \qquad h_\gamma(z) = z + \gamma z (1 - z^2),
    \qquad \gamma_t = \eta\theta_*^2 x_{i_t}^2 \in [\eta\theta_*^2x_\mathrm{min}^2,
    \eta\theta_*^2x_\mathrm{max}^2]

(the seed writes the push-forward as :math:`z\mapsto\eta\theta_* z^2`; the exponent of
:math:`\theta_*` must be 2, as :func:`symbolic_normalisation` checks with sympy). The loss is
:math:`F(\theta) = \tfrac14\theta_*^4\,\mathbb{E}[x^2]\,(1 - z^2)^2`.

Deterministic map (fixed :math:`\gamma > 0`)
---------------------------------------------
* Fixed points :math:`z = 0` (:math:`h' = 1+\gamma`, unstable) and :math:`z = \pm1`
  (:math:`h' = 1 - 2\gamma`, stable iff :math:`\gamma < 1`); the fixed point :math:`z=1`
  (:math:`\theta = \theta_*`) period-doubles at :math:`\gamma = 1`.
* :math:`h_\gamma(h_\gamma(z)) - z = \gamma z(z^2-1)(\gamma z^2-\gamma-2)
  (\gamma^2 z^4 - \gamma(\gamma+1) z^2 + 1)`. The last factor gives the **2-cycle**
  straddling 1,

  .. math::

      z_\mp^2 = \frac{\gamma + 1 \mp \sqrt{(\gamma-1)(\gamma+3)}}{2\gamma},
      \qquad z_-^2 z_+^2 = \gamma^{-2},

  real for :math:`\gamma > 1` (:func:`two_cycle`); the factor :math:`\gamma z^2 = \gamma+2`
  is the symmetric cycle :math:`\pm\sqrt{1+2/\gamma}` (sign changing, irrelevant for
  :math:`\theta > 0`).
* Its multiplier is :math:`h'(z_-)h'(z_+) = 9 - 2(1+\gamma)^2`, so the cycle is stable for
  :math:`1 < \gamma < \sqrt5 - 1 \approx 1.236` and period-doubles at :math:`\sqrt5 - 1`
  (:data:`GAMMA_TWO_CYCLE_STABLE_MAX`).
* The maximum of :math:`h_\gamma` on :math:`z>0` is at
  :math:`z_m = \sqrt{(1+\gamma)/(3\gamma)}` and equals
  :math:`M(\gamma) = \tfrac23(1+\gamma) z_m`; :math:`M(1.25) = 1.16190`, and
  :math:`h_{1.25}(1.162) = 0.6527`: the seed's constants 1.162 and 0.65.

Loss-stabilisation proposition (precise normalised version)
-----------------------------------------------------------
The seed (Andriushchenko et al. 2023, Prop. 1, as summarised) states: for
:math:`\eta \in ((\theta_*x_\mathrm{min})^{-2}, 1.25(\theta_*x_\mathrm{max})^{-2})` and
:math:`\theta_0 \in (0,\theta_*)`, almost surely :math:`F(\theta_t) \in
(\varepsilon_0\theta_*^2, 0.17\theta_*^2)` and eventually :math:`\theta_{t+2k} \in
(0.65\theta_*, (1-\varepsilon_0)\theta_*)`, :math:`\theta_{t+2k+1} \in
((1+\varepsilon_0)\theta_*, 1.162\theta_*)`, with
:math:`\varepsilon_0 = \min\{(\eta(\theta_*x_\mathrm{min})^2-1)/3, 0.02\}`. The seed is
vague about the loss constants (its bound is not dimensionally consistent, and no lower
bound can hold for *every* t when :math:`\theta_0` is close to :math:`\theta_*`), so the
version stated and proved here is:

**Proposition.** Let :math:`1 < \gamma_\mathrm{min} \le \gamma_\mathrm{max}`,
:math:`a = 0.65`, :math:`b = 1.162`, :math:`0 < \varepsilon \le \varepsilon_0 =
\min\{(\gamma_\mathrm{min}-1)/3, 0.02\}`, and let every :math:`\gamma_t \in
[\gamma_\mathrm{min}, \gamma_\mathrm{max}]`. If the following properties (P1)–(P6) hold
for all :math:`\gamma \in [\gamma_\mathrm{min}, \gamma_\mathrm{max}]`

* (P1) :math:`1 + \gamma(1 - z^2) > 0` on :math:`[0, b]` (so :math:`h_\gamma(z) > 0` for
  :math:`z \in (0, b]`);
* (P2) :math:`h_\gamma(z) < b` on :math:`[0, b]`;
* (P3) :math:`\gamma z(1+z) > 1` on :math:`[1, b]` (so, as
  :math:`h_\gamma(z) - 1 = (1-z)(\gamma z(1+z) - 1)`, :math:`z > 1 \Rightarrow h(z) < 1`);
* (P4) :math:`h_\gamma(z) > a` on :math:`[1, b]`;
* (P5) :math:`h_\gamma(z) > 1 + \varepsilon` on :math:`[a, 1-\varepsilon]`;
* (P6) :math:`h_\gamma(z) < 1 - \varepsilon` on :math:`[1+\varepsilon, b]`;
* (P7) :math:`\gamma z(1+z) > 2` on :math:`[1-\varepsilon, 1+\varepsilon]` (so
  :math:`|h(z) - 1| \ge \lambda |z - 1|` there with :math:`\lambda > 1` by compactness),

then for every :math:`z_0 \in (0, b)` whose orbit never hits 1 exactly (all but countably
many :math:`z_0` for each realised sequence :math:`\gamma_t`; hence almost surely under a
continuous :math:`\hat\rho`): :math:`z_t \in (0, b)` for all :math:`t`; the orbit leaves
:math:`(0, a)` (where :math:`h(z)/z \ge 1 + \gamma_\mathrm{min}(1-a^2)`) and
:math:`(1-\varepsilon, 1+\varepsilon)` (P7) after finitely many steps; and once in
:math:`J = [a, 1-\varepsilon] \cup [1+\varepsilon, b]` it stays in :math:`J` and
**alternates sides**: :math:`z_{t+2k} \in [a, 1-\varepsilon]`,
:math:`z_{t+2k+1} \in [1+\varepsilon, b]` (P2, P4, P5, P6). From then on

.. math::

    \tfrac14\theta_*^4\,\mathbb{E}[x^2]\,(2\varepsilon - \varepsilon^2)^2
    \le F(\theta_t) \le \tfrac14\theta_*^4\,\mathbb{E}[x^2]\,(1 - a^2)^2
    \approx 0.0834\,\theta_*^4\,\mathbb{E}[x^2]

(:func:`loss_bounds`; before that only the upper bound holds). :func:`verify_stabilization`
**proves** (P1)–(P7) over the whole rectangle of :math:`(\gamma, z)` by interval arithmetic
(``mpmath.iv``) with adaptive bisection. (P5) and (P7) hold for every
:math:`\gamma \in (1, 2)` once :math:`\varepsilon \le (\gamma-1)/3` because
:math:`\gamma(1-\varepsilon)(2-\varepsilon) - 2 \ge (\gamma-1)(2-\gamma) > 0`; the binding
constraints are (P2) (:math:`M(\gamma) < b`) and (P4) (:math:`h_\gamma(b) > a`), which hold
up to :func:`critical_gamma` :math:`\approx 1.25032` for the seed's constants and fail
beyond it. In original units :math:`\gamma \in (1, 1.25]` is the step-size interval
:math:`(\theta_*x_\mathrm{min})^{-2} < \eta \le 1.25(\theta_*x_\mathrm{max})^{-2}`
(:func:`step_size_interval`), non-empty only if :math:`x_\mathrm{max}^2 < 1.25\,
x_\mathrm{min}^2`.

References
----------
M. Andriushchenko, A. Varre, L. Pillaud-Vivien, N. Flammarion, "SGD with large step sizes
learns sparse features", ICML 2023, Proposition 1 (arXiv:2210.05337).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from scipy.optimize import brentq

from jamming.validation import check_count as _check_count
from jamming.validation import check_real as _check_real
from jamming.validation import elementwise as _elementwise

#: Upper end of the stability range of the 2-cycle: :math:`h'(z_-)h'(z_+) = -1`.
GAMMA_TWO_CYCLE_STABLE_MAX = math.sqrt(5.0) - 1.0

#: The seed's constants: lower edge of the bouncing interval and its upper edge.
A_SEED = 0.65
B_SEED = 1.162
#: The seed's largest normalised step.
GAMMA_MAX_SEED = 1.25


def _check_gamma(name: str, gamma, minimum: float = 0.0, strict: bool = True) -> float:
    """``gamma`` as a float if it is a finite number > ``minimum`` (>= if not ``strict``)."""
    return _check_real(name, gamma, minimum, strict=strict)


def h_map(z, gamma):
    r"""The normalised SGD map :math:`h_\gamma(z) = z + \gamma z(1 - z^2)` (numpy broadcast)."""
    z = np.asarray(z, dtype=np.float64)
    return z + gamma * z * (1.0 - z * z)


def h_prime(z, gamma):
    r""":math:`h_\gamma'(z) = 1 + \gamma - 3\gamma z^2`."""
    z = np.asarray(z, dtype=np.float64)
    return 1.0 + gamma - 3.0 * gamma * z * z


def normalised_gamma(eta, theta_star, x):
    r""":math:`\gamma = \eta\,\theta_*^2 x^2`, the normalised step of sample ``x``."""
    return eta * theta_star**2 * np.asarray(x, dtype=np.float64) ** 2


def step_size_interval(theta_star: float, x_min: float, x_max: float,
                       gamma_max: float = GAMMA_MAX_SEED) -> tuple[float, float]:
    r"""The seed's step sizes :math:`((\theta_*x_\mathrm{min})^{-2},
    \gamma_\mathrm{max}(\theta_*x_\mathrm{max})^{-2})`, i.e. :math:`\gamma \in
    (1, \gamma_\mathrm{max})` for every sample.

    Raises
    ------
    ValueError
        If ``theta_star``, ``x_min`` are not > 0, ``x_max < x_min``, or the interval is
        empty (:math:`x_\mathrm{max}^2 \ge \gamma_\mathrm{max} x_\mathrm{min}^2`).
    """
    _check_gamma("theta_star", theta_star)
    _check_gamma("x_min", x_min)
    if not _check_gamma("x_max", x_max) >= x_min:
        raise ValueError(f"x_max must be >= x_min = {x_min}; got {x_max!r}")
    lo = (theta_star * x_min) ** -2
    hi = gamma_max * (theta_star * x_max) ** -2
    if not lo < hi:
        raise ValueError(
            f"empty step-size interval: need x_max**2 < gamma_max * x_min**2 "
            f"(x_max/x_min < {math.sqrt(gamma_max):.4f}); got x_min={x_min}, x_max={x_max}")
    return lo, hi


def symbolic_normalisation() -> dict:
    r"""Sympy derivation of the normalisation and of the 2-cycle.

    Returns a dict with ``'normalised_step_residual'`` (the SGD step divided by
    :math:`\theta_*` minus :math:`h_\gamma(\theta/\theta_*)` at
    :math:`\gamma = \eta\theta_*^2x^2`; simplifies to 0), ``'h2_minus_z'`` (factored
    :math:`h(h(z)) - z`), ``'cycle_factor'`` (the quartic whose positive roots are the
    2-cycle), ``'cycle_roots'`` (:math:`z_-`, :math:`z_+` as expressions in
    :math:`\gamma`) and ``'multiplier'`` (:math:`h'(z_-)h'(z_+)` simplified).
    """
    theta, theta_s, eta, x, z, g = sp.symbols("theta theta_star eta x z gamma", positive=True)
    loss_i = sp.Rational(1, 4) * (x * theta_s**2 - x * theta**2) ** 2
    step = theta - eta * sp.diff(loss_i, theta)
    h = z + g * z * (1 - z**2)
    resid = sp.simplify(step / theta_s - h.subs({z: theta / theta_s, g: eta * theta_s**2 * x**2}))
    h2 = sp.factor(sp.expand(h.subs(z, h) - z))
    quartic = sp.expand(g**2 * z**4 - g * (g + 1) * z**2 + 1)
    disc = sp.sqrt((g - 1) * (g + 3))
    z_lo = sp.sqrt((g + 1 - disc) / (2 * g))
    z_hi = sp.sqrt((g + 1 + disc) / (2 * g))
    hp = sp.diff(h, z)
    mult = sp.simplify(sp.expand(hp.subs(z, z_lo) * hp.subs(z, z_hi)))
    return {"normalised_step_residual": resid, "h2_minus_z": h2, "cycle_factor": quartic,
            "cycle_roots": (z_lo, z_hi), "multiplier": mult, "symbols": (g, z)}


@_elementwise("gamma")
def two_cycle(gamma) -> tuple[float, float]:
    r"""The exact 2-cycle :math:`(z_-, z_+)`, :math:`z_- < 1 < z_+`, of :math:`h_\gamma`.

    :math:`z_\mp = \sqrt{(\gamma + 1 \mp \sqrt{(\gamma-1)(\gamma+3)})/(2\gamma)}`, the
    positive roots of :math:`\gamma^2z^4 - \gamma(\gamma+1)z^2 + 1` (a factor of
    :math:`h(h(z)) - z` after removing the fixed points; see :func:`symbolic_normalisation`).
    ``gamma`` is a float or an array (then :math:`z_\mp` are arrays of its shape).

    Raises
    ------
    ValueError
        If ``gamma`` is not a finite number > 1 (the cycle exists only for gamma > 1; it
        is born from z = 1 at gamma = 1).
    """
    g = _check_gamma("gamma", gamma, minimum=1.0)
    disc = math.sqrt((g - 1.0) * (g + 3.0))
    z_hi2 = (g + 1.0 + disc) / (2.0 * g)
    z_lo2 = 1.0 / (g * g * z_hi2)  # product of the roots is gamma**-2 (no cancellation)
    return math.sqrt(z_lo2), math.sqrt(z_hi2)


@_elementwise("gamma")
def two_cycle_multiplier(gamma) -> float:
    r""":math:`h'(z_-)h'(z_+) = 9 - 2(1+\gamma)^2` (gamma > 1; a float or an array)."""
    g = _check_gamma("gamma", gamma, minimum=1.0)
    return 9.0 - 2.0 * (1.0 + g) ** 2


def two_cycle_stability_range() -> tuple[float, float]:
    r"""The open range :math:`(1, \sqrt5 - 1)` where :math:`|h'(z_-)h'(z_+)| < 1`."""
    return 1.0, GAMMA_TWO_CYCLE_STABLE_MAX


@_elementwise("gamma")
def map_maximum(gamma) -> tuple[float, float]:
    r"""Location and value :math:`(z_m, M(\gamma))` of the maximum of :math:`h_\gamma` on z > 0.

    ``gamma`` > 0 is a float or an array (then both are arrays of its shape).
    """
    g = _check_gamma("gamma", gamma)
    zm = math.sqrt((1.0 + g) / (3.0 * g))
    return zm, 2.0 / 3.0 * (1.0 + g) * zm


@_elementwise("a", "b")
def critical_gamma(a: float = A_SEED, b: float = B_SEED) -> float:
    r"""Largest :math:`\gamma` for which (P2) and (P4) hold with the edges ``a``, ``b``:
    :math:`\min\{\gamma: M(\gamma) = b,\ \gamma: h_\gamma(b) = a\}` (both monotone in
    :math:`\gamma` for :math:`\gamma > 1/2`, :math:`b > 1`); about 1.25032 for the seed's
    constants, where (P2) binds. ``a`` and ``b`` are floats or arrays (then so is the
    result, of their broadcast shape).

    Raises
    ------
    ValueError
        Unless ``0 < a < 1`` and ``b > M(1) = 1.0887`` (otherwise (P2) fails for every
        gamma > 1).
    """
    a = _check_gamma("a", a)
    b = _check_gamma("b", b, minimum=1.0)
    if not a < 1.0:
        raise ValueError(f"a must be in (0, 1); got {a!r}")
    m1 = map_maximum(1.0)[1]
    if not b > m1:
        raise ValueError(
            f"b must exceed M(1) = {m1:.6f} for (P2) to hold near gamma = 1; got {b!r}")
    g_b = brentq(lambda g: map_maximum(g)[1] - b, 1.0, 1e3, xtol=1e-15)
    g_a = (a - b) / (b * (1.0 - b * b))  # h_gamma(b) = a, linear in gamma
    return min(g_b, g_a)


@_elementwise("gamma_min")
def epsilon0(gamma_min) -> float:
    r""":math:`\varepsilon_0 = \min\{(\gamma_\mathrm{min} - 1)/3, 0.02\}` (gamma_min > 1; a
    float or an array)."""
    g = _check_gamma("gamma_min", gamma_min, minimum=1.0)
    return min((g - 1.0) / 3.0, 0.02)


@_elementwise("eps", "a")
def loss_bounds(eps: float, a: float = A_SEED) -> tuple[float, float]:
    r"""Bounds of :math:`(1 - z^2)^2` on :math:`J = [a, 1-\varepsilon]\cup[1+\varepsilon, b]`
    for :math:`b \le \sqrt{2 - a^2}`: :math:`((2\varepsilon-\varepsilon^2)^2, (1-a^2)^2)`.
    Multiply by :math:`\tfrac14\theta_*^4\mathbb{E}[x^2]` for :math:`F`. ``eps`` and ``a``
    are floats or arrays (then both bounds are arrays of their broadcast shape)."""
    e = _check_gamma("eps", eps)
    a = _check_gamma("a", a)
    if not e < 1.0 - a:
        raise ValueError(f"eps must be in (0, 1 - a) = (0, {1.0 - a}); got {eps!r}")
    return (2 * e - e * e) ** 2, (1.0 - a * a) ** 2


def bifurcation_diagram(gammas, z0: float = 0.5, n_transient: int = 2000,
                        n_keep: int = 64) -> np.ndarray:
    r"""Long-time orbit points of :math:`h_\gamma` for a grid of :math:`\gamma`.

    Returns an array of shape ``(len(gammas), n_keep)``: the iterates
    :math:`z_{T+1}, \dots, z_{T+n_\mathrm{keep}}` after ``n_transient`` = T steps from
    ``z0``, all :math:`\gamma` iterated together (numpy). Orbits that escape (for large
    :math:`\gamma`) give ``inf``/``nan`` entries.
    """
    g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    if g.ndim != 1 or not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gammas must be a 1-D array of finite numbers > 0")
    n_transient = _check_count("n_transient", n_transient, minimum=0)
    n_keep = _check_count("n_keep", n_keep, minimum=1)
    z = np.full(g.shape, _check_real("z0", z0))
    out = np.empty((g.size, n_keep))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_transient):
            z = z + g * z * (1.0 - z * z)
        for k in range(n_keep):
            z = z + g * z * (1.0 - z * z)
            out[:, k] = z
    return out


# ----------------------------------------------------------------------------------------
# Interval-arithmetic certificate
# ----------------------------------------------------------------------------------------

iv = mpmath.iv


def _h(g, z):
    return z + g * z * (1 - z * z)


def _hz(g, z):
    return 1 + g - 3 * g * z * z


def _hg(g, z):
    return z - z * z * z


def _make_properties(a, b, e):
    """Properties (P1)-(P7) with the constants bound (ints/floats turned into intervals)."""
    A, B, E = iv.mpf(a), iv.mpf(b), iv.mpf(e)
    one = iv.mpf(1)
    return [
        ("P1: 1 + gamma(1 - z^2) > 0 on [0, b]", (0.0, b),
         lambda g, z: 1 + g * (1 - z * z), lambda g, z: 1 - z * z, lambda g, z: -2 * g * z),
        ("P2: h(z) < b on [0, b]", (0.0, b),
         lambda g, z: B - _h(g, z), lambda g, z: -_hg(g, z), lambda g, z: -_hz(g, z)),
        ("P3: gamma z(1+z) > 1 on [1, b]", (1.0, b),
         lambda g, z: g * z * (1 + z) - 1, lambda g, z: z * (1 + z),
         lambda g, z: g * (1 + 2 * z)),
        ("P4: h(z) > a on [1, b]", (1.0, b),
         lambda g, z: _h(g, z) - A, _hg, _hz),
        ("P5: h(z) > 1 + eps on [a, 1 - eps]", (a, 1.0 - e),
         lambda g, z: (one - z) * (g * z * (1 + z) - 1) - E,
         lambda g, z: (one - z) * z * (1 + z),
         lambda g, z: -(g * z * (1 + z) - 1) + (one - z) * g * (1 + 2 * z)),
        ("P6: h(z) < 1 - eps on [1 + eps, b]", (1.0 + e, b),
         lambda g, z: (z - 1) * (g * z * (1 + z) - 1) - E,
         lambda g, z: (z - 1) * z * (1 + z),
         lambda g, z: (g * z * (1 + z) - 1) + (z - 1) * g * (1 + 2 * z)),
        ("P7: gamma z(1+z) > 2 on [1 - eps, 1 + eps]", (1.0 - e, 1.0 + e),
         lambda g, z: g * z * (1 + z) - 2, lambda g, z: z * (1 + z),
         lambda g, z: g * (1 + 2 * z)),
    ]


def _lower_bound(f, fg, fz, g, z):
    """Rigorous lower bound of f over the box g x z (mpmath intervals).

    Variables in which the derivative enclosure has a sign are fixed at the minimising
    endpoint; then the natural extension is intersected with the mean-value form.
    """
    dg = fg(g, z)
    if dg.a >= 0:
        g = iv.mpf(g.a)
    elif dg.b <= 0:
        g = iv.mpf(g.b)
    dz = fz(g, z)
    if dz.a >= 0:
        z = iv.mpf(z.a)
    elif dz.b <= 0:
        z = iv.mpf(z.b)
    nat = f(g, z)
    gc, zc = iv.mpf(g.mid), iv.mpf(z.mid)
    mv = f(gc, zc) + fg(g, z) * (g - gc) + fz(g, z) * (z - zc)
    return max(nat.a, mv.a)


@dataclass
class StabilizationCertificate:
    """Result of :func:`verify_stabilization`.

    Attributes
    ----------
    holds : bool
        True iff every property (P1)-(P7) was certified on its whole (gamma, z) rectangle.
    gamma_min, gamma_max, a, b, eps : float
        The constants of the statement.
    rectangles : dict
        Per property examined, its z-interval ``(z_lo, z_hi)`` (the gamma range is
        ``[gamma_min, gamma_max]`` for all).
    boxes : dict
        Per property, the list of certified boxes ``((g_lo, g_hi), (z_lo, z_hi))``.
    n_boxes : int
        Total number of certified boxes.
    measure : dict
        Per property, the total area of the certified boxes (equals the rectangle's area when
        the property holds).
    failing_property, failing_box, counterexample, reason
        When ``holds`` is False: the property, the box where certification stopped, a point
        ``(gamma, z)`` where the property is violated (rigorously: the interval value at the
        point is <= 0) or None, and ``'counterexample'``, ``'box too small'`` or
        ``'box budget exhausted'``.
    """

    holds: bool
    gamma_min: float
    gamma_max: float
    a: float
    b: float
    eps: float
    rectangles: dict = field(default_factory=dict)
    boxes: dict = field(default_factory=dict)
    n_boxes: int = 0
    measure: dict = field(default_factory=dict)
    failing_property: str | None = None
    failing_box: tuple | None = None
    counterexample: tuple | None = None
    reason: str | None = None


def verify_stabilization(gamma_min: float, gamma_max: float, a: float = A_SEED,
                         b: float = B_SEED, eps: float | None = None,
                         min_width: float = 1e-9, max_boxes: int = 200_000
                         ) -> StabilizationCertificate:
    r"""Prove (P1)-(P7) of the module's proposition for all
    :math:`\gamma\in[\gamma_\mathrm{min},\gamma_\mathrm{max}]` by interval arithmetic.

    Each property :math:`f(\gamma, z) > 0` on its rectangle is checked by adaptive bisection:
    a box is certified when a rigorous lower bound of :math:`f` (``mpmath.iv``, outward
    rounding; monotonicity in a variable whose derivative enclosure has a sign, then the
    natural extension intersected with the mean-value form) is > 0; otherwise the box is
    split along the coordinate contributing more to the enclosure width. A box whose centre
    or a corner violates :math:`f > 0` rigorously (upper bound of the point enclosure
    :math:`\le 0`) stops the search with a counterexample; so do boxes narrower than
    ``min_width`` in both coordinates or more than ``max_boxes`` boxes (undecided, reported
    as failure). The constants ``a``, ``b``, ``eps`` and the rectangle edges (``1 - eps``,
    ``1 + eps``) are the binary doubles given or computed; the statement proved is the one
    with those exact values, and the z-rectangles of (P5), (P7), (P6) share their edges, so
    together they cover ``[a, b]`` without gaps.

    Parameters
    ----------
    gamma_min, gamma_max : float
        The range of normalised steps, ``0 < gamma_min <= gamma_max``.
    a, b : float
        Edges of the bouncing interval, ``0 < a < 1 - eps``, ``b > 1 + eps``
        (default: the seed's 0.65 and 1.162).
    eps : float, optional
        Width of the excluded neighbourhood of 1; default :func:`epsilon0` of ``gamma_min``
        (which needs ``gamma_min > 1``).
    min_width : float
        Smallest box side before the search gives up.
    max_boxes : int
        Budget of boxes examined over all properties.

    Returns
    -------
    StabilizationCertificate

    Raises
    ------
    ValueError
        If ``gamma_min`` is not > 0, ``gamma_max < gamma_min``, ``eps`` is None with
        ``gamma_min <= 1``, ``eps <= 0``, or ``a``, ``b`` violate ``0 < a < 1 - eps``,
        ``1 + eps < b``.
    """
    gmin = _check_gamma("gamma_min", gamma_min)
    gmax = _check_gamma("gamma_max", gamma_max)
    if gmax < gmin:
        raise ValueError(f"gamma_max must be >= gamma_min = {gmin}; got {gamma_max!r}")
    if eps is None:
        if gmin <= 1.0:
            raise ValueError(f"gamma_min must be > 1 when eps is not given "
                             f"(eps0 = min((gamma_min-1)/3, 0.02)); got {gamma_min!r}")
        eps = epsilon0(gmin)
    e = _check_gamma("eps", eps)
    a = _check_gamma("a", a)
    b = _check_gamma("b", b)
    if not a < 1.0 - e:
        raise ValueError(f"a must be in (0, 1 - eps) = (0, {1.0 - e}); got {a!r}")
    if not b > 1.0 + e:
        raise ValueError(f"b must be > 1 + eps = {1.0 + e}; got {b!r}")
    max_boxes = _check_count("max_boxes", max_boxes)
    cert = StabilizationCertificate(True, gmin, gmax, a, b, e)
    budget = max_boxes
    with mpmath.workprec(53):
        for name, (zlo, zhi), f, fg, fz in _make_properties(a, b, e):
            cert.rectangles[name] = (zlo, zhi)
            done, area = [], 0.0
            stack = [((gmin, gmax), (zlo, zhi))]
            while stack:
                (g0, g1), (z0, z1) = box = stack.pop()
                budget -= 1
                if budget < 0:
                    return _fail(cert, name, box, None, "box budget exhausted", done, area)
                G, Z = iv.mpf([g0, g1]), iv.mpf([z0, z1])
                if _lower_bound(f, fg, fz, G, Z) > 0:
                    done.append(box)
                    area += (g1 - g0) * (z1 - z0)
                    continue
                for pg, pz in ((0.5 * (g0 + g1), 0.5 * (z0 + z1)), (g0, z0), (g0, z1),
                               (g1, z0), (g1, z1)):
                    if f(iv.mpf(pg), iv.mpf(pz)).b <= 0:
                        return _fail(cert, name, box, (pg, pz), "counterexample", done, area)
                wg, wz = g1 - g0, z1 - z0
                if wg <= min_width and wz <= min_width:
                    return _fail(cert, name, box, None, "box too small", done, area)
                # split where the derivative enclosure times the width is larger
                cg = float(abs(fg(G, Z)).b) * wg
                cz = float(abs(fz(G, Z)).b) * wz
                if (cg >= cz and wg > min_width) or wz <= min_width:
                    gm = 0.5 * (g0 + g1)
                    stack += [((g0, gm), (z0, z1)), ((gm, g1), (z0, z1))]
                else:
                    zm = 0.5 * (z0 + z1)
                    stack += [((g0, g1), (z0, zm)), ((g0, g1), (zm, z1))]
            cert.boxes[name] = done
            cert.measure[name] = area
            cert.n_boxes += len(done)
    return cert


def _fail(cert, name, box, point, reason, done, area):
    cert.holds = False
    cert.failing_property = name
    cert.failing_box = box
    cert.counterexample = point
    cert.reason = reason
    cert.boxes[name] = done
    cert.measure[name] = area
    cert.n_boxes += len(done)
    return cert
