r"""Linear separability with teacher labels: where the SAT/UNSAT (jamming) point moves.

The derivations, limits, numbers and Monte Carlo checks behind the statements below are in
``docs/derivations/teacher.md`` (same equation numbers).

Conventions
-----------
``n_data`` (:math:`N_\mathrm{data} = n`) points :math:`u_\mu\in\mathbb{R}^{N_\mathrm{eff}}`
(:math:`N_\mathrm{eff} = p` features, the parameters of a linear model) with labels
:math:`y_\mu=\pm1` are *separable* when some :math:`w` has :math:`y_\mu\,w\cdot u_\mu > 0` for
every :math:`\mu` (through the origin, no bias). The load is
:math:`\phi = N_\mathrm{data}/N_\mathrm{eff}` (:math:`\alpha` in
:mod:`jamming.theory.capacity`). The critical load :math:`\phi_c` is the point where, as
:math:`n, p\to\infty` at fixed ratios, the probability of separability drops from 1 to 0; it
is the jamming (SAT/UNSAT) point of the hinge-type losses. With random labels
:math:`\phi_c = 2` (Cover). :math:`\Phi`, :math:`\varphi` are the standard normal cdf and
density, :math:`X, V, \varepsilon` independent :math:`N(0,1)` variables, and

.. math::

    I_1(s) = \mathbb{E}(s - X)_+ = s\Phi(s) + \varphi(s),\qquad
    I_2(s) = \mathbb{E}(s - X)_+^2 = (1+s^2)\Phi(s) + s\varphi(s),\qquad I_2' = 2 I_1.

1. Gaussian covariates, single-index teacher (Candès & Sur 2020)
-----------------------------------------------------------------
Let :math:`u_\mu \sim N(0, I_p)` i.i.d. and :math:`\Pr(y_\mu = 1\mid u_\mu) =
\rho(\gamma\, \hat\beta\cdot u_\mu)` for a unit vector :math:`\hat\beta` and a *link*
:math:`\rho`: logistic :math:`\rho(s) = 1/(1+e^{-s})` (Candès & Sur's model) or probit
:math:`\rho = \Phi`; the noiseless sign teacher is the limit :math:`\gamma\to\infty`. With
:math:`V\sim N(0,1)`, :math:`\Pr(Y = 1\mid V) = \rho(\gamma V)` and :math:`X\sim N(0,1)`
independent of both,

.. math::

    h(\gamma) = \min_{t\in\mathbb{R}} \mathcal{E}(t),\qquad
    \mathcal{E}(t) = \mathbb{E}\,(X - tYV)_+^2
      = \int_0^\infty \varphi(v)\,\big[a(v)\, I_2(-tv) + b(v)\, I_2(tv)\big]\,dv,
    \tag{1}

with :math:`a(v) = \rho(\gamma v) + 1 - \rho(-\gamma v)` and :math:`b = 2 - a`. The data
are separable with probability tending to 1 if :math:`p/n > h(\gamma)` and not if
:math:`p/n < h(\gamma)` (Candès & Sur, a theorem for the logistic link; used here for the
probit link as well), so :math:`\phi_c(\gamma) = 1/h(\gamma)`: 2 at :math:`\gamma = 0`,
growing linearly in :math:`\gamma` (:math:`\phi_c\simeq(\pi/\sqrt3)\gamma` for the probit).

2. Gaussian features correlated with a sign teacher
---------------------------------------------------
Features :math:`z\sim N(0,\Sigma)` jointly Gaussian with a teacher field :math:`\nu\sim
N(0,1)`, labels :math:`y = \operatorname{sign}\nu`, :math:`c = \mathbb{E}[z\nu]` and
:math:`R^2 = c^\top\Sigma^{-1}c`, the fraction of :math:`\nu` explained linearly by the
features. Whitening the features (exact at every :math:`n, p`) gives the probit problem of
part 1 with

.. math::

    \gamma_\mathrm{eff} = \frac{R}{\sqrt{1-R^2}},\qquad
    \phi_c = \frac{1}{h_\mathrm{probit}(\gamma_\mathrm{eff})};
    \tag{2}

a noisy teacher :math:`y = \operatorname{sign}(\nu + \sigma\eta)` replaces :math:`R^2` by
:math:`R^2/(1+\sigma^2)`.

3. Random features with a sign teacher
--------------------------------------
Inputs :math:`x_\mu\sim N(0, I_d)`, :math:`W\in\mathbb{R}^{p\times d}` with i.i.d.
:math:`N(0,1)` entries, features :math:`u = \sigma(Wx/\sqrt d)`, labels
:math:`y = \operatorname{sign}(\beta\cdot x)`, :math:`p/d\to\psi`, :math:`n/p\to\phi`.
*Assuming Gaussian equivalence* (Mei & Montanari, Goldt et al., Hu & Lu, Montanari & Saeed;
proven for related empirical risks, not for this threshold, and supported by Monte Carlo),
:math:`u\simeq\mu_0\mathbf 1 + \mu_1 Wx/\sqrt d + \mu_\star\xi` with the Gaussian moments
:math:`\mu_0 = \mathbb{E}\sigma(G)`, :math:`\mu_1 = \mathbb{E}[G\sigma(G)]`,
:math:`\mu_\star^2 = \mathbb{E}\sigma(G)^2 - \mu_0^2 - \mu_1^2` of
:func:`jamming.theory.activations.gaussian_moments`. The bias :math:`\mu_0` drops out, and
(2) applies with, for :math:`\kappa = \mu_\star^2/\mu_1^2` and the Marchenko–Pastur law of
:math:`WW^\top/d`,

.. math::

    R^2 \to \psi\int\frac{\lambda}{\lambda+\kappa}\,d\mu_\mathrm{MP}^{(\psi)}(\lambda)
      = \frac{1 + \psi + \kappa - \sqrt{(1+\psi+\kappa)^2 - 4\psi}}{2}.
    \tag{3}

The activation enters only through :math:`\kappa`. ReLU (:math:`\kappa = 0.36338`):
:math:`\phi_c = 2.3597, 2.8333, 3.8834, 5.6624` at :math:`\psi = 0.5, 1, 2, 4`; without a
linear part (:math:`\mu_1 = 0`) Cover's 2; identity features are separable at every load for
:math:`\psi\ge1`. Finite-size corrections grow with :math:`\psi` at fixed :math:`d`
(Gaussian equivalence needs :math:`N_\mathrm{data}\ll d^2`).

References
----------
E. J. Candès, P. Sur, "The phase transition for the existence of the maximum likelihood
estimate in high-dimensional logistic regression", Ann. Statist. 48, 27 (2020).
T. M. Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965).
C. Thrampoulidis, S. Oymak, B. Hassibi, "Regularized linear regression: a precise analysis of
the estimation error", COLT (2015) (the convex Gaussian min-max theorem).
S. Mei, A. Montanari, "The generalization error of random features regression: precise
asymptotics and double descent curve", Comm. Pure Appl. Math. 75, 667 (2022) (arXiv 2019).
S. Goldt, M. Mézard, F. Krzakala, L. Zdeborová, "Modeling the influence of data structure on
learning in neural networks: the hidden manifold model", Phys. Rev. X 10, 041044 (2020);
S. Goldt et al., "The Gaussian equivalence of generative models for learning with shallow
neural networks", MSML (2022) (arXiv 2020).
H. Hu, Y. M. Lu, "Universality laws for high-dimensional learning with random features",
IEEE Trans. Inf. Theory 69, 1932 (2023) (arXiv 2020).
F. Gerace, B. Loureiro, F. Krzakala, M. Mézard, L. Zdeborová, "Generalisation error in
learning with random features and the hidden manifold model", ICML (2020).
A. Montanari, F. Ruan, Y. Sohn, J. Yan, "The generalization error of max-margin linear
classifiers: high-dimensional asymptotics in the overparametrized regime", arXiv:1911.01544
(2019).
A. Montanari, B. N. Saeed, "Universality of empirical risk minimization", COLT (2022).
V. A. Marchenko, L. A. Pastur, Math. USSR Sb. 1, 457 (1967).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import expit, ndtr

from jamming.theory.activations import gaussian_moments, subset
from jamming.validation import check_finite as _check_finite
from jamming.validation import check_real as _check_real
from jamming.validation import check_scalar as _check_scalar
from jamming.validation import elementwise as _elementwise

#: Named links :math:`\rho` of the teacher, :math:`\Pr(y=1\mid V) = \rho(\gamma V)`.
LINKS = ("logistic", "probit")

#: Named activations of :func:`gaussian_equivalence_coefficients`.
ACTIVATIONS = subset("relu", "tanh", "erf", "sign", "abs", "identity")

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_PHI0 = 1.0 / _SQRT_2PI
#: Past this :math:`|v|` the Gaussian weight :math:`\varphi(v)` underflows (exactly 0 in float64).
_V_MAX = 40.0
#: The minimiser :math:`t^*` is taken as infinite (noiseless labels) past this value.
_T_MAX = 1e12


# --------------------------------------------------------------------------------------
# Gaussian integrals
# --------------------------------------------------------------------------------------


def _i1(s: float) -> float:
    r""":math:`I_1(s) = \mathbb{E}(s - X)_+ = s\Phi(s) + \varphi(s)`."""
    return s * float(ndtr(s)) + math.exp(-0.5 * s * s) * _PHI0


def _i2(s: float) -> float:
    r""":math:`I_2(s) = \mathbb{E}(s - X)_+^2 = (1+s^2)\Phi(s) + s\varphi(s)`."""
    return (1.0 + s * s) * float(ndtr(s)) + s * math.exp(-0.5 * s * s) * _PHI0


def _link_weights(link) -> tuple[Callable[[float], float], Callable[[float], float]]:
    r""":math:`s\mapsto\rho(s)` and :math:`s\mapsto 1-\rho(s)`, each accurate in its tail."""
    if isinstance(link, str):
        if link == "logistic":
            return (lambda s: float(expit(s))), (lambda s: float(expit(-s)))
        if link == "probit":
            return (lambda s: float(ndtr(s))), (lambda s: float(ndtr(-s)))
        raise ValueError(f"link must be one of {LINKS} or a callable; got {link!r}")
    if not callable(link):
        raise ValueError(f"link must be one of {LINKS} or a callable; got {link!r}")

    def rho(s: float) -> float:
        value = float(link(s))
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"link({s}) must be a probability in [0, 1]; got {value}")
        return value

    return rho, (lambda s: 1.0 - rho(s))


def _check_gamma(gamma) -> float:
    gamma = _check_scalar("gamma", gamma)
    if math.isnan(gamma) or gamma < 0.0:
        raise ValueError(f"gamma must be a number >= 0 (math.inf allowed); got {gamma}")
    return gamma


class _Objective:
    r""":math:`\mathcal{E}(t)` of eq. (1) and its derivative, by adaptive quadrature on [0, 40].

    :math:`\mathcal{E}(t) = \int_0^\infty\varphi(v)[a(v)I_2(-tv) + b(v)I_2(tv)]dv`,
    :math:`\mathcal{E}'(t) = 2\int_0^\infty\varphi(v)\,v\,[b(v)I_1(tv) - a(v)I_1(-tv)]dv`, with
    :math:`a(v) = \rho(\gamma v) + \bar\rho(-\gamma v)`, :math:`b(v) = \bar\rho(\gamma v) +
    \rho(-\gamma v)` (:math:`\bar\rho = 1-\rho`). The interval is split at the scales
    :math:`1/\gamma` (the width of the label noise) and :math:`1/|t|`.
    """

    def __init__(self, gamma: float, link):
        self.gamma = gamma
        self.rho, self.rho_bar = _link_weights(link)

    def _a_b(self, v: float) -> tuple[float, float]:
        s = self.gamma * v
        return self.rho(s) + self.rho_bar(-s), self.rho_bar(s) + self.rho(-s)

    def _integrate(self, integrand, t: float) -> float:
        scales = [1.0]
        if self.gamma > 0:
            scales.append(1.0 / self.gamma)
        if t != 0:
            scales.append(1.0 / abs(t))
        points = sorted({min(f * s, 0.5 * _V_MAX) for s in scales for f in (0.3, 1.0, 3.0, 10.0)})
        value, _ = quad(integrand, 0.0, _V_MAX, points=points, limit=400, epsabs=1e-15,
                        epsrel=1e-12)
        return value

    def value(self, t: float) -> float:
        def integrand(v):
            a, b = self._a_b(v)
            return math.exp(-0.5 * v * v) * _PHI0 * (a * _i2(-t * v) + b * _i2(t * v))

        return self._integrate(integrand, t)

    def derivative(self, t: float) -> float:
        def integrand(v):
            a, b = self._a_b(v)
            return 2.0 * math.exp(-0.5 * v * v) * _PHI0 * v * (b * _i1(t * v) - a * _i1(-t * v))

        return self._integrate(integrand, t)


@_elementwise("t", "gamma")
def teacher_objective(t: float, gamma: float, link="logistic") -> float:
    r"""The function :math:`\mathcal{E}(t) = \mathbb{E}(X - tYV)_+^2` minimised by :math:`h`.

    Parameters
    ----------
    t : float or array_like
        Weight of the teacher direction (finite).
    gamma : float or array_like
        Signal strength :math:`\gamma \ge 0` (finite here).
    link : {"logistic", "probit"} or callable
        :math:`\rho` in :math:`\Pr(Y=1\mid V) = \rho(\gamma V)`; a callable maps a float to a
        probability.

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of ``t`` and ``gamma``
        :math:`\mathcal{E}(t)`, eq. (1) of the module docstring (relative accuracy ~1e-12).
    """
    t = _check_finite("t", t)
    gamma = _check_gamma(gamma)
    if math.isinf(gamma):
        raise ValueError("gamma must be finite in teacher_objective")
    return _Objective(gamma, link).value(t)


@dataclass(frozen=True)
class TeacherThreshold:
    r"""Separability threshold of Gaussian covariates with a single-index teacher.

    Attributes
    ----------
    gamma : float
        Signal strength :math:`\gamma` (``math.inf``: noiseless sign teacher).
    h : float
        :math:`h(\gamma) = \min_t\mathbb{E}(X - tYV)_+^2`: separable iff
        :math:`N_\mathrm{eff}/N_\mathrm{data} > h`.
    t_star : float
        The minimiser :math:`t^*` (``math.inf`` for noiseless labels).
    phi_c : float
        Critical load :math:`N_\mathrm{data}/N_\mathrm{eff} = 1/h` (``math.inf`` when
        :math:`h = 0`).
    """

    gamma: float
    h: float
    t_star: float
    phi_c: float


@_elementwise("gamma")
def candes_sur_threshold(gamma: float, link="logistic") -> TeacherThreshold:
    r"""Candès–Sur separability threshold :math:`h(\gamma)` and its minimiser.

    :math:`h(\gamma) = \min_t\mathcal{E}(t)`, eq. (1) of the module docstring, for
    :math:`u\sim N(0, I_p)` and :math:`\Pr(y=1\mid u) = \rho(\gamma\hat\beta\cdot u)`. The
    function :math:`\mathcal{E}` is convex, so :math:`t^*` is the root of
    :math:`\mathcal{E}'` (Brent's method on a bracket grown by doubling); both are
    evaluated by adaptive quadrature. At :math:`\gamma = 0`, :math:`h = 1/2`. For
    :math:`\gamma = \infty` (noiseless sign teacher), or a link that never flips a label
    (:math:`b = 0`), :math:`h = 0` and :math:`t^* = \infty`.

    Parameters
    ----------
    gamma : float or array_like
        :math:`\gamma \ge 0`; ``math.inf`` allowed.
    link : {"logistic", "probit"} or callable
        The link :math:`\rho`. Logistic is the model of Candès & Sur.

    Returns
    -------
    TeacherThreshold
        :math:`h`, :math:`t^*` and :math:`\phi_c = 1/h`; :math:`h` to ~1e-12 relative.
        For an array ``gamma`` every field is an array of its shape.

    References
    ----------
    E. J. Candès, P. Sur, Ann. Statist. 48, 27 (2020).
    """
    gamma = _check_gamma(gamma)
    if math.isinf(gamma):
        _link_weights(link)  # validate
        return TeacherThreshold(gamma=gamma, h=0.0, t_star=math.inf, phi_c=math.inf)
    objective = _Objective(gamma, link)
    slope0 = objective.derivative(0.0)
    if slope0 == 0.0:
        t_star = 0.0
    else:
        direction = -math.copysign(1.0, slope0)  # move downhill
        inner, outer = 0.0, direction
        while objective.derivative(outer) * direction < 0:
            inner, outer = outer, 2.0 * outer
            if abs(outer) > _T_MAX:
                return TeacherThreshold(gamma=gamma, h=0.0, t_star=math.copysign(math.inf, outer),
                                        phi_c=math.inf)
        t_star = brentq(objective.derivative, min(inner, outer), max(inner, outer), xtol=1e-14,
                        rtol=4 * np.finfo(float).eps, maxiter=200)
    h = objective.value(t_star)
    return TeacherThreshold(gamma=gamma, h=h, t_star=t_star,
                            phi_c=1.0 / h if h > 0 else math.inf)


def candes_sur_h(gamma: float, link="logistic") -> float:
    r""":math:`h(\gamma) = \min_t\mathbb{E}(X - tYV)_+^2` (see :func:`candes_sur_threshold`).

    A float, or an array of the shape of an array ``gamma``.

    Examples
    --------
    >>> round(candes_sur_h(0.0), 12)
    0.5
    """
    return candes_sur_threshold(gamma, link).h


def candes_sur_phi_c(gamma: float, link="logistic") -> float:
    r"""Critical load :math:`\phi_c = N_\mathrm{data}/N_\mathrm{eff} = 1/h(\gamma)`.

    Separable (SAT) below, not separable (UNSAT) above, for Gaussian covariates and a
    teacher of strength :math:`\gamma` (see :func:`candes_sur_threshold`); 2 at
    :math:`\gamma = 0`, ``math.inf`` at :math:`\gamma = \infty`. A float, or an array of the
    shape of an array ``gamma``.
    """
    return candes_sur_threshold(gamma, link).phi_c


# --------------------------------------------------------------------------------------
# Gaussian features correlated with a sign teacher
# --------------------------------------------------------------------------------------


def _check_unit_interval(name: str, value) -> float:
    value = _check_scalar(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {value}")
    return value


@_elementwise("r_squared")
def effective_signal_strength(r_squared: float) -> float:
    r""":math:`\gamma_\mathrm{eff} = R/\sqrt{1-R^2}`: the probit teacher equivalent to :math:`R^2`.

    See eq. (2) of the module docstring; ``math.inf`` at :math:`R^2 = 1`. ``r_squared`` is a
    float or an array (then so is the result, of its shape).
    """
    r_squared = _check_unit_interval("r_squared", r_squared)
    if r_squared == 1.0:
        return math.inf
    return math.sqrt(r_squared / (1.0 - r_squared))


@_elementwise("r_squared", "teacher_noise")
def gaussian_features_sign_teacher_phi_c(r_squared: float, teacher_noise: float = 0.0) -> float:
    r"""Critical load of Gaussian features with a sign teacher they explain to :math:`R^2`.

    Features :math:`z\sim N(0,\Sigma)` and labels :math:`y = \operatorname{sign}(\nu +
    \sigma\eta)` with :math:`\nu\sim N(0,1)` jointly Gaussian with :math:`z`,
    :math:`R^2 = c^\top\Sigma^{-1}c` (:math:`c = \mathbb{E}z\nu`) and :math:`\eta\sim N(0,1)`
    independent: by the whitening lemma (module docstring, eq. (2)),
    :math:`\phi_c = 1/h_\mathrm{probit}(\gamma_\mathrm{eff})` with
    :math:`\gamma_\mathrm{eff}^2 = R^2/(1 + \sigma^2 - R^2)`.

    Parameters
    ----------
    r_squared : float or array_like
        :math:`R^2\in[0, 1]`, the fraction of the teacher field :math:`\nu` explained by the
        best linear function of the features.
    teacher_noise : float or array_like
        :math:`\sigma\ge0`, the standard deviation of the noise added to the teacher field.

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of the array arguments
        :math:`\phi_c = N_\mathrm{data}/N_\mathrm{eff}` (2 at :math:`R^2 = 0`, ``math.inf`` at
        :math:`R^2 = 1` without noise).
    """
    r_squared = _check_unit_interval("r_squared", r_squared)
    teacher_noise = _check_real("teacher_noise", teacher_noise, 0.0)
    return candes_sur_phi_c(
        effective_signal_strength(r_squared / (1.0 + teacher_noise**2)), "probit")


# --------------------------------------------------------------------------------------
# Random features: Gaussian equivalence and Marchenko-Pastur
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianEquivalence:
    r"""Coefficients of the Gaussian-equivalent features
    :math:`\sigma(Wx/\sqrt d)\simeq\mu_0\mathbf 1 + \mu_1 Wx/\sqrt d + \mu_\star\xi`.

    Attributes
    ----------
    mu_0 : float
        :math:`\mathbb{E}\sigma(G)`, :math:`G\sim N(0,1)`.
    mu_1 : float
        :math:`\mathbb{E}[G\sigma(G)]`.
    mu_star : float
        :math:`\mu_\star = (\mathbb{E}\sigma(G)^2 - \mu_0^2 - \mu_1^2)^{1/2} \ge 0`.
    """

    mu_0: float
    mu_1: float
    mu_star: float

    @property
    def kappa(self) -> float:
        r""":math:`\kappa = \mu_\star^2/\mu_1^2` (``math.inf`` when :math:`\mu_1 = 0`)."""
        if self.mu_1 == 0.0:
            return math.inf
        return (self.mu_star / self.mu_1) ** 2


def gaussian_equivalence_coefficients(activation="relu", *, method: str = "hermite",
                                      n_nodes: int = 201) -> GaussianEquivalence:
    r"""Gaussian-equivalence coefficients :math:`(\mu_0, \mu_1, \mu_\star)` of an activation.

    :math:`\mu_0 = \mathbb{E}\sigma(G)`, :math:`\mu_1 = \mathbb{E}G\sigma(G)`,
    :math:`\mu_\star^2 = \mathbb{E}\sigma(G)^2 - \mu_0^2 - \mu_1^2` for :math:`G\sim N(0,1)`:
    the Gaussian moments of :func:`jamming.theory.activations.gaussian_moments` at
    :math:`q = 1`. Closed forms: ReLU :math:`(1/\sqrt{2\pi},\ 1/2,\ \sqrt{1/4 - 1/(2\pi)})`
    [:math:`\mu_\star^2 = \frac12 - \frac1{2\pi} - \frac14`]; erf
    :math:`(0,\ 2/\sqrt{3\pi},\ \sqrt{(2/\pi)\arcsin(2/3) - 4/(3\pi)})`; sign
    :math:`(0, \sqrt{2/\pi}, \sqrt{1-2/\pi})`; abs :math:`(\sqrt{2/\pi}, 0, \sqrt{1-2/\pi})`;
    identity :math:`(0, 1, 0)`. tanh (no closed form; :math:`\mu_0 = 0` by parity) and
    callables use quadrature.

    Parameters
    ----------
    activation : str, callable or GaussianEquivalence
        One of :data:`ACTIVATIONS`, a function :math:`\sigma` (vectorised over numpy arrays, or
        scalar), or coefficients (returned unchanged).
    method : {"hermite", "adaptive"}
        Quadrature for tanh and callables (see
        :func:`jamming.theory.activations.gaussian_moments`). ``"hermite"``:
        ``n_nodes``-point Gauss–Hermite (exponentially accurate for smooth :math:`\sigma`;
        only :math:`O(1/n)` for a kink, e.g. about 2e-3 on :math:`\mu_0` of ReLU at 201
        nodes). ``"adaptive"``: scipy's ``quad`` on :math:`[-40, 0]` and :math:`[0, 40]`
        (~1e-12, robust to a kink at 0; scalar calls).
    n_nodes : int
        Number of Gauss–Hermite nodes, in [2, 300].

    Returns
    -------
    GaussianEquivalence
    """
    if isinstance(activation, GaussianEquivalence):
        return activation
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or not 2 <= n_nodes <= 300:
        raise ValueError(f"n_nodes must be an integer in [2, 300]; got {n_nodes!r}")
    if not (activation in ACTIVATIONS if isinstance(activation, str) else callable(activation)):
        raise ValueError(f"activation must be one of {ACTIVATIONS} or a callable; got "
                         f"{activation!r}")
    moments = gaussian_moments(activation, method=method, n_nodes=n_nodes)
    return GaussianEquivalence(moments.mean, moments.cross_moment,
                               math.sqrt(moments.nonlinear_variance))


def _check_psi(psi) -> float:
    psi = _check_scalar("psi", psi)
    if not (math.isfinite(psi) and psi > 0):
        raise ValueError(f"psi = N_eff/d must be a finite number > 0; got {psi}")
    return psi


def _check_kappa(kappa) -> float:
    kappa = _check_scalar("kappa", kappa)
    if math.isnan(kappa) or kappa < 0:
        raise ValueError(f"kappa must be a number >= 0 (math.inf allowed); got {kappa}")
    return kappa


@_elementwise("psi", "kappa")
def marchenko_pastur_explained_variance(psi: float, kappa: float) -> float:
    r""":math:`R^2 = \psi\int\lambda/(\lambda+\kappa)\,d\mu_\mathrm{MP}^{(\psi)}(\lambda)`.

    Closed form (eq. (3) of the module docstring), written without cancellation:

    .. math::

        R^2 = \frac{1+\psi+\kappa - \sqrt{(1+\psi+\kappa)^2 - 4\psi}}{2}
            = \frac{2\psi}{1+\psi+\kappa + \sqrt{(1+\psi+\kappa)^2 - 4\psi}},

    the smaller root of :math:`(1-R^2)(\psi-R^2) = \kappa R^2`.

    Parameters
    ----------
    psi : float or array_like
        :math:`\psi = N_\mathrm{eff}/d > 0`.
    kappa : float or array_like
        :math:`\kappa = \mu_\star^2/\mu_1^2 \ge 0` (``math.inf`` gives 0).

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of ``psi`` and ``kappa``
        :math:`R^2\in[0, \min(1,\psi)]`.
    """
    psi, kappa = _check_psi(psi), _check_kappa(kappa)
    if math.isinf(kappa):
        return 0.0
    s = 1.0 + psi + kappa
    # (1+psi+kappa)^2 - 4 psi = (1-psi)^2 + kappa (2 + 2 psi + kappa): no cancellation
    disc = (1.0 - psi) ** 2 + kappa * (2.0 + 2.0 * psi + kappa)
    return min(1.0, 2.0 * psi / (s + math.sqrt(disc)))


@_elementwise("psi", "kappa")
def marchenko_pastur_unexplained_variance(psi: float, kappa: float) -> float:
    r""":math:`1 - R^2`, the part of the teacher field the features leave unexplained.

    The positive root of :math:`u^2 + (\psi+\kappa-1)u - \kappa = 0` (the equation of
    :func:`marchenko_pastur_explained_variance` for :math:`u = 1-R^2`), written without
    cancellation, so that it keeps its relative precision where :math:`R^2 \to 1`
    (:math:`u \simeq \kappa/\psi` at large :math:`\psi`), where ``1 - R^2`` would not:

    .. math::

        u = \frac{2\kappa}{b + \sqrt{b^2 + 4\kappa}}\ (b \ge 0), \qquad
        u = \frac{-b + \sqrt{b^2 + 4\kappa}}{2}\ (b < 0), \qquad b = \psi+\kappa-1.

    Parameters
    ----------
    psi : float or array_like
        :math:`\psi = N_\mathrm{eff}/d > 0`.
    kappa : float or array_like
        :math:`\kappa = \mu_\star^2/\mu_1^2 \ge 0` (``math.inf`` gives 1).

    Returns
    -------
    float, or numpy.ndarray of the broadcast shape of ``psi`` and ``kappa``
        :math:`1-R^2 \in [\max(0, 1-\psi), 1]`.
    """
    psi, kappa = _check_psi(psi), _check_kappa(kappa)
    if math.isinf(kappa):
        return 1.0
    b = psi + kappa - 1.0
    root = math.hypot(b, 2.0 * math.sqrt(kappa))  # sqrt(b^2 + 4 kappa), no overflow
    return 2.0 * kappa / (b + root) if b > 0 else (root - b) / 2.0


@_elementwise("psi")
def random_features_explained_variance(psi: float, activation="relu") -> float:
    r"""Fraction :math:`R^2` of the teacher field explained linearly by random features.

    :math:`R^2 = \lim \mu_1^2\hat\beta^\top W^\top(\mu_1^2WW^\top/d +
    \mu_\star^2 I)^{-1}W\hat\beta/d` (module docstring, eq. (3)), i.e.
    :func:`marchenko_pastur_explained_variance` at :math:`\kappa = \mu_\star^2/\mu_1^2`.

    Parameters
    ----------
    psi : float or array_like
        :math:`\psi = N_\mathrm{eff}/d > 0`.
    activation : str, callable or GaussianEquivalence
        See :func:`gaussian_equivalence_coefficients`.

    Returns
    -------
    float, or numpy.ndarray of the shape of ``psi``
    """
    coefficients = gaussian_equivalence_coefficients(activation)
    return marchenko_pastur_explained_variance(psi, coefficients.kappa)


@dataclass(frozen=True)
class RandomFeaturesThreshold:
    r"""Separability threshold of random features labelled by a sign teacher.

    Attributes
    ----------
    psi : float
        :math:`N_\mathrm{eff}/d`.
    coefficients : GaussianEquivalence
        :math:`(\mu_0, \mu_1, \mu_\star)` of the activation.
    r_squared : float
        :math:`R^2`, eq. (3).
    gamma_eff : float
        :math:`\gamma_\mathrm{eff} = R/\sqrt{1-R^2}` (with teacher noise,
        :math:`R^2/(1+\sigma^2)` in place of :math:`R^2`).
    h : float
        :math:`h_\mathrm{probit}(\gamma_\mathrm{eff})`.
    phi_c : float
        :math:`N_\mathrm{data}/N_\mathrm{eff}` at the transition, :math:`1/h`.
    """

    psi: float
    coefficients: GaussianEquivalence
    r_squared: float
    gamma_eff: float
    h: float
    phi_c: float


def random_features_sign_teacher_threshold(psi: float, activation="relu", *,
                                           teacher_noise: float = 0.0
                                           ) -> RandomFeaturesThreshold:
    r"""SAT/UNSAT threshold of random features :math:`\sigma(Wx/\sqrt d)` with a sign teacher.

    Inputs :math:`x\sim N(0, I_d)`, :math:`W` with i.i.d. :math:`N(0,1)` entries,
    :math:`N_\mathrm{eff}/d = \psi`, labels :math:`y = \operatorname{sign}(\beta\cdot x +
    \sigma\|\beta\|\eta)` (:math:`\sigma` = ``teacher_noise``, :math:`\eta\sim N(0,1)`). Under
    Gaussian equivalence (module docstring, part 3):
    :math:`\phi_c = 1/h_\mathrm{probit}(\gamma_\mathrm{eff})`,
    :math:`\gamma_\mathrm{eff}^2 = R^2/(1+\sigma^2-R^2)`, :math:`R^2` from eq. (3).

    Parameters
    ----------
    psi : float
        :math:`\psi = N_\mathrm{eff}/d > 0` (one value: for several, use
        :func:`random_features_sign_teacher_phi_c`, which takes arrays).
    activation : str, callable or GaussianEquivalence
        See :func:`gaussian_equivalence_coefficients`.
    teacher_noise : float
        :math:`\sigma \ge 0`.

    Returns
    -------
    RandomFeaturesThreshold
    """
    psi = _check_psi(psi)
    teacher_noise = _check_real("teacher_noise", teacher_noise, 0.0)
    coefficients = gaussian_equivalence_coefficients(activation)
    if coefficients.mu_1 == 0.0 and coefficients.mu_star == 0.0:
        raise ValueError("the activation is constant on the Gaussian (mu_1 = mu_star = 0)")
    r_squared = marchenko_pastur_explained_variance(psi, coefficients.kappa)
    # gamma_eff^2 = R^2/(1 + sigma^2 - R^2), with 1 - R^2 computed without cancellation
    unexplained = marchenko_pastur_unexplained_variance(psi, coefficients.kappa)
    denominator = teacher_noise**2 + unexplained
    gamma = math.inf if denominator == 0 else math.sqrt(r_squared / denominator)
    threshold = candes_sur_threshold(gamma, "probit")
    return RandomFeaturesThreshold(psi=psi, coefficients=coefficients, r_squared=r_squared,
                                   gamma_eff=gamma, h=threshold.h, phi_c=threshold.phi_c)


@_elementwise("psi", "teacher_noise")
def random_features_sign_teacher_phi_c(psi: float, activation="relu", *,
                                       teacher_noise: float = 0.0) -> float:
    r"""Critical load :math:`\phi_c(\psi) = N_\mathrm{data}/N_\mathrm{eff}` of random features.

    See :func:`random_features_sign_teacher_threshold`; ``psi`` (:math:`N_\mathrm{eff}/d`)
    and ``teacher_noise`` may be arrays, and the result is then an array of their broadcast
    shape. ReLU: 2.3597, 2.8333, 3.8834, 5.6624 at
    :math:`\psi = 0.5, 1, 2, 4`; 2 whatever :math:`\psi` when :math:`\mu_1 = 0`; ``math.inf``
    for a linear activation at :math:`\psi \ge 1`.

    Examples
    --------
    >>> round(random_features_sign_teacher_phi_c(1.0, "relu"), 4)
    2.8333
    """
    return random_features_sign_teacher_threshold(psi, activation,
                                                  teacher_noise=teacher_noise).phi_c
