r"""The activation functions of the theory layer and their Gaussian moments.

Registry
--------
:data:`REGISTRY` is the one table of the activations the theory modules know, by the names
the simulation side uses (``jamming.simulate``) and, where they overlap, with the layers
and parameters of ``neural_tangents.stax``:

================  ===================================  ==================================
name              :math:`\phi(x)`                      parameters (defaults)
================  ===================================  ==================================
``relu``          :math:`\max(x, 0)`
``leaky_relu``    :math:`\max(x,0) + \alpha\min(x,0)`  ``alpha`` (0.01)
``abs``           :math:`|x|`
``abrelu``        :math:`a\min(x,0) + b\max(x,0)`      ``a`` (0), ``b`` (1)
``identity``      :math:`x`
``erf``           :math:`a\,\mathrm{erf}(bx) + c`      ``a`` (1), ``b`` (1), ``c`` (0)
``sigmoid_like``  ``erf`` at :math:`a = c = 1/2`,
                  :math:`b = 1/2.4020563531719796`
``gelu``          :math:`x\Phi(x)` (exact, not the
                  tanh approximation)
``sin``           :math:`a\sin(bx + c)`                ``a`` (1), ``b`` (1), ``c`` (0)
``cos``           :math:`a\sin(bx + c + \pi/2)`        ``a`` (1), ``b`` (1), ``c`` (0)
``tanh``          :math:`\tanh x`
``sigmoid``       :math:`1/(1+e^{-x})` (logistic)
``softplus``      :math:`\log(1+e^x)`
``silu``          :math:`x/(1+e^{-x})`
``sign``          :math:`\operatorname{sign} x`        (no derivative)
================  ===================================  ==================================

Each entry belongs to a *family* whose functions are written once: ``abrelu`` (``relu``,
``leaky_relu``, ``abs``, ``identity`` are its slopes :math:`(a, b)` = (0, 1),
(:math:`\alpha`, 1), (-1, 1), (1, 1)), ``erf`` (with ``sigmoid_like``), ``sin`` (with
``cos``, whose phase is shifted by :math:`\pi/2`, as ``stax.Cos``), and one family per
other name. A module that supports only some activations takes its subset from the
registry (:func:`subset`); :mod:`jamming.theory.kernels` has closed-form dual kernels for
the families ``abrelu``, ``erf``, ``gelu`` and ``sin``.

The functions :math:`\phi, \phi'` are written in elementwise primitives of an array
library: :data:`NUMPY` (numpy and scipy) by default; the torch back end of
:mod:`jamming.theory.kernels` passes its own (same names), so that one definition serves
both.

Gaussian moments
----------------
For :math:`z\sim N(0, q)`, :func:`gaussian_moments` returns :math:`E\phi(z)`,
:math:`E\phi(z)^2`, :math:`E[z\phi(z)]`, :math:`E\phi'(z)` and the variance of the
nonlinear part,

.. math::

    \mu_\star^2 = E\phi(z)^2 - (E\phi(z))^2 - (E z\phi(z))^2/q,

the weight of the Hermite components of degree :math:`\ge 2`. By Stein's lemma
:math:`E[z\phi(z)] = q\,E\phi'(z)` (:math:`\phi'` in the sense of distributions:
:math:`2\delta` for sign). These are the Gaussian-equivalence coefficients
:math:`(\mu_0, \mu_1, \mu_\star)` of :mod:`jamming.theory.teacher` (:math:`q = 1`) and the
constants :math:`(E f, \eta, \zeta)` of the Pennington–Worah law in
:mod:`jamming.theory.random_matrix`. Closed forms (default parameters; :math:`s = \sqrt q`):

========  =====================  ===============  =====================
name      :math:`E\phi`          :math:`E\phi^2`  :math:`E z\phi`
========  =====================  ===============  =====================
relu      :math:`s/\sqrt{2\pi}`  :math:`q/2`      :math:`q/2`
abs       :math:`s\sqrt{2/\pi}`  :math:`q`        0
sign      0                      1                :math:`s\sqrt{2/\pi}`
identity  0                      :math:`q`        :math:`q`
========  =====================  ===============  =====================

and for erf :math:`E\phi = 0`, :math:`E\phi^2 = \frac2\pi\arcsin\frac{2q}{1+2q}`,
:math:`E z\phi = 2q/\sqrt{\pi(1+2q)}`; :math:`\mu_\star^2 = q(\frac14 - \frac1{2\pi})` (relu),
:math:`q(1-\frac2\pi)` (abs), :math:`1 - \frac2\pi` (sign), 0 (identity). Otherwise (other
names, parameters, callables) a Gauss–Hermite rule,

.. math::

    E f(z) \approx \pi^{-1/2}\sum_{i=1}^{n} w_i\, f\big(\sqrt{2q}\,x_i\big)
           = (2\pi)^{-1/2}\sum_{i=1}^{n} v_i\, f\big(\sqrt{q}\,y_i\big),

with :math:`(x_i, w_i)` the nodes and weights of the Hermite polynomial :math:`H_n`
(:func:`gaussian_expectation`, elementwise over arrays of variances: the diagonals of the
kernel recursions; ``scipy.special.roots_hermite``) or :math:`(y_i, v_i)` those of
:math:`He_n` (:func:`gaussian_moments`, one variance, all nodes at once;
``numpy.polynomial.hermite_e.hermegauss``). The two rules are the same quadrature; each
keeps the node generator and the order of operations its callers had before they shared this
module, so their values are unchanged to the last bit. (scipy's ``roots_hermite`` switches to
an asymptotic method above 150 nodes, with errors ~1e-14 in the nodes; numpy's rules are
accurate to rounding at every :math:`n`.) Both are exact for polynomials of degree
:math:`< 2n`,
exponentially accurate for analytic :math:`f` (at 201 nodes, 1e-13 relative for tanh,
sigmoid, softplus, silu, gelu at :math:`q \le 1`; the rule slows down as
:math:`\phi(\sqrt q\,\cdot)` gets steeper: 4e-11 for tanh at :math:`q = 2`), only
:math:`O(1/n)` for a kink (about 2e-3 on :math:`E\,\mathrm{relu}` at 201 nodes); or
scipy's adaptive ``quad`` on :math:`[-40, 0]` and :math:`[0, 40]` standard deviations
(~1e-12, robust to a kink at 0).

References
----------
C. Stein, "Estimation of the mean of a multivariate normal distribution", Ann. Statist. 9,
1135 (1981) (Stein's lemma). R. Novak et al., "Neural Tangents", ICLR (2020) (the ``stax``
layers and their parameters). G. H. Golub, J. H. Welsch, "Calculation of Gauss quadrature
rules", Math. Comp. 23, 221 (1969).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.integrate import quad
from scipy.special import erf, expit, roots_hermite

from jamming.validation import check_count as _check_count
from jamming.validation import check_positive as _check_positive

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_PHI0 = 1.0 / _SQRT_2PI
#: Half-width, in standard deviations, of the interval of the adaptive quadrature: past it
#: the Gaussian weight underflows (exactly 0 in float64).
_Z_MAX = 40.0


class ArrayFunctions:
    """The elementwise primitives the registry's functions are written in (numpy, scipy).

    Another array library (the torch back end of :mod:`jamming.theory.kernels`) provides
    an object with the same attributes: ``sqrt, exp, sin, cos, tanh, erf, sigmoid, sign,
    softplus, relu`` (:math:`\\max(x, 0)`) and ``step`` (:math:`1\\{x > 0\\}` as float64).
    """

    def __init__(self):
        self.sqrt, self.exp, self.sin, self.cos = np.sqrt, np.exp, np.sin, np.cos
        self.tanh, self.erf, self.sigmoid, self.sign = np.tanh, erf, expit, np.sign

    @staticmethod
    def softplus(x):
        return np.logaddexp(0.0, x)

    @staticmethod
    def relu(x):
        return np.maximum(x, 0.0)

    @staticmethod
    def step(x):
        return (x > 0).astype(np.float64)


#: The numpy primitives (the default of :meth:`Activation.functions`).
NUMPY = ArrayFunctions()


# --------------------------------------------------------------------------------------------
# the registry


@dataclass(frozen=True)
class RegistryEntry:
    """One activation of :data:`REGISTRY`.

    Attributes
    ----------
    family : str
        The family whose functions it uses (module docstring).
    defaults : mapping
        Its parameters and their defaults (``stax`` names and defaults).
    coefficients : callable
        ``params -> tuple``: the family's coefficients (slopes ``(a, b)`` of ``abrelu``,
        ``(a, b, c)`` of ``erf`` and ``sin``, ``()`` otherwise).
    differentiable : bool
        Whether :math:`\\phi'` is a function (false for sign).
    """

    family: str
    defaults: Mapping[str, float] = field(default_factory=dict)
    coefficients: Callable[[Mapping[str, float]], tuple] = lambda p: ()
    differentiable: bool = True


_ABC = {"a": 1.0, "b": 1.0, "c": 0.0}

#: Activation name -> :class:`RegistryEntry`, in the order of the module docstring.
REGISTRY: Mapping[str, RegistryEntry] = MappingProxyType({
    "relu": RegistryEntry("abrelu", {}, lambda p: (0.0, 1.0)),
    "leaky_relu": RegistryEntry("abrelu", {"alpha": 0.01}, lambda p: (p["alpha"], 1.0)),
    "abs": RegistryEntry("abrelu", {}, lambda p: (-1.0, 1.0)),
    "abrelu": RegistryEntry("abrelu", {"a": 0.0, "b": 1.0}, lambda p: (p["a"], p["b"])),
    "identity": RegistryEntry("abrelu", {}, lambda p: (1.0, 1.0)),
    "erf": RegistryEntry("erf", _ABC, lambda p: (p["a"], p["b"], p["c"])),
    "sigmoid_like": RegistryEntry("erf", {}, lambda p: (0.5, 1.0 / 2.4020563531719796, 0.5)),
    "gelu": RegistryEntry("gelu"),
    "sin": RegistryEntry("sin", _ABC, lambda p: (p["a"], p["b"], p["c"])),
    "cos": RegistryEntry("sin", _ABC, lambda p: (p["a"], p["b"], p["c"] + math.pi / 2.0)),
    "tanh": RegistryEntry("tanh"),
    "sigmoid": RegistryEntry("sigmoid"),
    "softplus": RegistryEntry("softplus"),
    "silu": RegistryEntry("silu"),
    "sign": RegistryEntry("sign", differentiable=False),
})

#: Every activation name of the registry.
ACTIVATIONS = tuple(REGISTRY)


def subset(*names: str) -> tuple[str, ...]:
    """The activations a module supports, checked against the registry.

    Raises
    ------
    KeyError
        If a name is not in :data:`REGISTRY` (at import of the module that asks).
    """
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise KeyError(f"not in the activation registry: {unknown}")
    return names


def _abrelu(coefficients, xp):
    lo, hi = coefficients
    return (lambda x: hi * xp.relu(x) - lo * xp.relu(-x),
            lambda x: lo + (hi - lo) * xp.step(x))


def _erf(coefficients, xp):
    a, b, c0 = coefficients
    return (lambda x: a * xp.erf(b * x) + c0,
            lambda x: a * b * (2.0 / math.sqrt(math.pi)) * xp.exp(-(b * x) ** 2))


def _sin(coefficients, xp):
    a, b, c0 = coefficients
    return lambda x: a * xp.sin(b * x + c0), lambda x: a * b * xp.cos(b * x + c0)


def _gelu(coefficients, xp):
    sq2 = math.sqrt(2.0)
    return (lambda x: 0.5 * x * (1.0 + xp.erf(x / sq2)),
            lambda x: 0.5 * (1.0 + xp.erf(x / sq2)) + x * xp.exp(-0.5 * x * x)
            / math.sqrt(2.0 * math.pi))


_FAMILIES = {
    "abrelu": _abrelu,
    "erf": _erf,
    "sin": _sin,
    "gelu": _gelu,
    "tanh": lambda _, xp: (xp.tanh, lambda x: 1.0 - xp.tanh(x) ** 2),
    "sigmoid": lambda _, xp: (xp.sigmoid, lambda x: xp.sigmoid(x) * (1.0 - xp.sigmoid(x))),
    "softplus": lambda _, xp: (xp.softplus, xp.sigmoid),
    "silu": lambda _, xp: (lambda x: x * xp.sigmoid(x),
                           lambda x: xp.sigmoid(x) * (1.0 + x * (1.0 - xp.sigmoid(x)))),
    "sign": lambda _, xp: (xp.sign, None),
}


@dataclass(frozen=True)
class Activation:
    """A resolved activation: a registry name with its parameters, or a custom pair.

    Attributes
    ----------
    name : str
        A key of :data:`REGISTRY`, or ``"custom"``.
    params : mapping
        The parameters, defaults filled in (empty for ``"custom"``).
    phi, dphi : callable or None
        The functions of a custom activation (``dphi`` may be ``None``); ``None`` for a
        registry name, whose functions come from :meth:`functions`.
    """

    name: str
    params: Mapping[str, float]
    phi: Callable | None = None
    dphi: Callable | None = None

    @property
    def family(self) -> str:
        """The registry family (``"custom"`` for a custom pair)."""
        return "custom" if self.name == "custom" else REGISTRY[self.name].family

    @property
    def coefficients(self) -> tuple:
        """The family's coefficients (slopes ``(a, b)``, or ``(a, b, c)``, or ``()``)."""
        return () if self.name == "custom" else REGISTRY[self.name].coefficients(self.params)

    def functions(self, xp=NUMPY) -> tuple[Callable, Callable | None]:
        """:math:`(\\phi, \\phi')`, vectorized over the arrays of ``xp`` (:data:`NUMPY`).

        :math:`\\phi'` is ``None`` where it is not a function (sign, or a custom
        activation given without derivative).
        """
        if self.name == "custom":
            return self.phi, self.dphi
        return _FAMILIES[self.family](self.coefficients, xp)


def resolve_activation(activation, params: Mapping[str, float] | None = None, *,
                       names: tuple[str, ...] = ACTIVATIONS) -> Activation:
    """Check an activation name (or ``(phi, dphi)`` pair) and fill in default parameters.

    Parameters
    ----------
    activation : str or tuple of two callables
        One of ``names``, or ``(phi, dphi)``: vectorized callables for the activation and
        its derivative.
    params : mapping, optional
        ``alpha`` for ``"leaky_relu"`` (default 0.01; ``stax.LeakyRelu`` has no default, so
        the value must match the one given there); ``a, b`` for ``"abrelu"``; ``a, b, c``
        for ``"erf"``, ``"sin"``, ``"cos"`` (the ``stax`` meanings, see the module
        docstring).
    names : tuple of str
        The names the caller supports (a subset of :data:`ACTIVATIONS`).

    Returns
    -------
    Activation
    """
    params = dict(params or {})
    if isinstance(activation, tuple):
        if len(activation) != 2 or not all(callable(f) for f in activation):
            raise TypeError("activation as a tuple must be (phi, dphi), two callables")
        if params:
            raise ValueError("params must be empty for a callable activation")
        return Activation("custom", {}, activation[0], activation[1])
    if not isinstance(activation, str) or activation not in names:
        raise ValueError(f"activation must be one of {names} or a (phi, dphi) pair; "
                         f"got {activation!r}")
    allowed = REGISTRY[activation].defaults
    unknown = set(params) - set(allowed)
    if unknown:
        raise ValueError(f"params for activation {activation!r} must be among "
                         f"{sorted(allowed)}; got {sorted(unknown)}")
    full = {**allowed, **{k: float(v) for k, v in params.items()}}
    for key, value in full.items():
        if not math.isfinite(value):
            raise ValueError(f"activation parameter {key} must be finite; got {value}")
    return Activation(activation, full)


# --------------------------------------------------------------------------------------------
# Gaussian moments


def gaussian_expectation(f: Callable, variance, degree: int, xp=NUMPY):
    r""":math:`\mathbb{E}f(z)`, :math:`z\sim N(0, q)`, by the ``degree``-point Gauss–Hermite rule.

    :math:`\pi^{-1/2}\sum_i w_i f(\sqrt{2q}\,x_i)` over the roots :math:`x_i` of
    :math:`H_\mathrm{degree}` (``scipy.special.roots_hermite``; module docstring), one node
    at a time so that ``f`` may be a scalar function when ``variance`` is a number.

    Parameters
    ----------
    f : callable
        Elementwise function of an array (or number) of the shape of ``variance``.
    variance : float or array of any shape
        :math:`q` (negative values are read as 0), elementwise.
    degree : int
        Number of nodes, :math:`\ge 1`.
    xp : ArrayFunctions-like
        Provides ``sqrt`` and ``relu`` for the arrays of ``variance`` (:data:`NUMPY`).

    Returns
    -------
    float or array, the shape of ``variance``
    """
    degree = _check_count("degree", degree)
    xs, ws = roots_hermite(degree)
    root = xp.sqrt(2.0 * xp.relu(variance))
    total = 0.0 * variance
    for x, w in zip(xs, ws, strict=True):
        total = total + float(w) * f(root * float(x))
    return total / math.sqrt(math.pi)


@dataclass(frozen=True)
class GaussianMoments:
    r"""Moments of :math:`\phi(z)` for :math:`z\sim N(0, q)` (see :func:`gaussian_moments`).

    Attributes
    ----------
    variance : float
        :math:`q`.
    mean : float
        :math:`\mathbb{E}\phi(z)`.
    second_moment : float
        :math:`\mathbb{E}\phi(z)^2`.
    cross_moment : float
        :math:`\mathbb{E}[z\phi(z)]` (:math:`= q\,\mathbb{E}\phi'(z)`).
    nonlinear_variance : float
        :math:`\mu_\star^2 = \mathbb{E}\phi^2 - (\mathbb{E}\phi)^2 - (\mathbb{E}z\phi)^2/q
        \ge 0`.
    derivative_mean : float or None
        :math:`\mathbb{E}\phi'(z)`: from Stein's lemma for the closed forms, by quadrature
        of :math:`\phi'` otherwise; ``None`` when no derivative is known.
    """

    variance: float
    mean: float
    second_moment: float
    cross_moment: float
    nonlinear_variance: float
    derivative_mean: float | None


def _closed_form(mean, second, cross, nonlinear, q) -> GaussianMoments:
    return GaussianMoments(q, mean, second, cross, nonlinear, cross / q)


def _relu_moments(q, s):
    return _closed_form(s / _SQRT_2PI, 0.5 * q, 0.5 * q, q * (0.25 - 0.5 / math.pi), q)


def _abs_moments(q, s):
    return _closed_form(s * math.sqrt(2.0 / math.pi), q, 0.0, q * (1.0 - 2.0 / math.pi), q)


def _sign_moments(q, s):
    return _closed_form(0.0, 1.0, s * math.sqrt(2.0 / math.pi), 1.0 - 2.0 / math.pi, q)


def _identity_moments(q, s):
    return _closed_form(0.0, q, q, 0.0, q)


def _erf_moments(q, s):
    # E erf(z)^2 = (2/pi) arcsin(2q/(1+2q)); E z erf(z) = q E erf'(z) = 2q/sqrt(pi(1+2q))
    cross = 2.0 * q / math.sqrt((1.0 + 2.0 * q) * math.pi)
    second = 2.0 / math.pi * math.asin(2.0 * q / (1.0 + 2.0 * q))
    return _closed_form(0.0, second, cross, second - cross * cross / q, q)


_CLOSED_FORMS = {"relu": _relu_moments, "abs": _abs_moments, "sign": _sign_moments,
                 "identity": _identity_moments, "erf": _erf_moments}

#: Activations whose moments have closed forms (at their default parameters).
CLOSED_FORM_MOMENTS = subset(*_CLOSED_FORMS)

#: Default number of Gauss–Hermite nodes of :func:`gaussian_moments`.
DEFAULT_NODES = 201


def _values_at(function: Callable, nodes: np.ndarray) -> np.ndarray:
    """``function`` at every node, shape of ``nodes``: vectorised, or one scalar call a node."""
    try:
        values = np.asarray(function(nodes), dtype=np.float64)
    except TypeError:  # a scalar-only function
        values = None
    if values is None or values.shape != nodes.shape:
        values = np.array([float(function(float(x))) for x in nodes])
    return values


def gaussian_moments(activation, variance: float = 1.0, *,
                     params: Mapping[str, float] | None = None, method: str = "hermite",
                     n_nodes: int = DEFAULT_NODES) -> GaussianMoments:
    r"""Gaussian moments of an activation: :math:`\mathbb{E}\phi`, :math:`\mathbb{E}\phi^2`,
    :math:`\mathbb{E}z\phi`, :math:`\mathbb{E}\phi'`, :math:`\mu_\star^2` for
    :math:`z\sim N(0, q)`.

    Closed forms (:data:`CLOSED_FORM_MOMENTS`, when no ``params`` are given) where they
    exist, else quadrature (module docstring).

    Parameters
    ----------
    activation : str, callable or tuple of two callables
        A name of :data:`ACTIVATIONS`; a function :math:`\phi` (vectorized over numpy
        arrays, or scalar); or :math:`(\phi, \phi')`.
    variance : float
        :math:`q > 0`.
    params : mapping, optional
        Parameters of a named activation (:func:`resolve_activation`).
    method : {"hermite", "adaptive"}
        Quadrature where no closed form exists: ``n_nodes``-point Gauss–Hermite
        (:func:`gaussian_expectation`), or scipy's adaptive ``quad`` (scalar calls).
    n_nodes : int
        Gauss–Hermite nodes, :math:`\ge 2`.

    Returns
    -------
    GaussianMoments

    Raises
    ------
    ValueError
        If :math:`\phi` is not finite at a node, or the quadrature gives
        :math:`\mu_\star^2 < -10^{-10}\max(\mathbb{E}\phi^2, 1)`.

    Examples
    --------
    >>> gaussian_moments("relu").cross_moment
    0.5
    """
    q = _check_positive("variance", variance)
    if method not in ("hermite", "adaptive"):
        raise ValueError(f"method must be 'hermite' or 'adaptive'; got {method!r}")
    n_nodes = _check_count("n_nodes", n_nodes, 2)
    if callable(activation):
        act = Activation("custom", {}, activation, None)
    else:
        act = resolve_activation(activation, params)
    if act.name in _CLOSED_FORMS and not params:
        return _CLOSED_FORMS[act.name](q, math.sqrt(q))
    phi, dphi = act.functions()
    if method == "hermite":
        nodes, weights = hermegauss(n_nodes)
        weights = weights / _SQRT_2PI
        nodes = math.sqrt(q) * nodes
        values = _values_at(phi, nodes)

        def expectation(g):
            return float(weights @ g(nodes, values))

        def derivative_at(z, v):
            return _values_at(dphi, z)
    else:
        s = math.sqrt(q)

        def expectation(g):
            def integrand(t):
                z = s * t
                return math.exp(-0.5 * t * t) * _PHI0 * g(z, float(phi(z)))

            return sum(quad(integrand, a, b, limit=400, epsabs=1e-15, epsrel=1e-13)[0]
                       for a, b in ((-_Z_MAX, 0.0), (0.0, _Z_MAX)))

        def derivative_at(z, v):
            return dphi(z)

    mean = expectation(lambda z, v: v)
    cross = expectation(lambda z, v: z * v)
    second = expectation(lambda z, v: v * v)
    derivative = None if dphi is None else expectation(derivative_at)
    if not all(math.isfinite(m) for m in (mean, cross, second, derivative or 0.0)):
        raise ValueError("the activation returned non-finite values at the quadrature nodes")
    rest = second - mean * mean - cross * cross / q
    if rest < -1e-10 * max(second, 1.0):
        raise ValueError(f"inconsistent moments: E phi^2 - (E phi)^2 - (E z phi)^2/q = {rest} "
                         "< 0")
    return GaussianMoments(q, mean, second, cross, max(rest, 0.0), derivative)


__all__ = [
    "ACTIVATIONS", "CLOSED_FORM_MOMENTS", "DEFAULT_NODES", "NUMPY", "REGISTRY", "Activation",
    "ArrayFunctions", "GaussianMoments", "RegistryEntry", "gaussian_expectation",
    "gaussian_moments", "resolve_activation", "subset",
]
